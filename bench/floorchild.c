/*
 * floorchild.c: the floor's detached child (see floor.c): one
 * BEGIN IMMEDIATE upsert into INTAKE_DB, then leave.
 *
 *   floorchild [--detach] CONV
 *
 * --detach: fork first and let the parent leave at once (the floor's
 * posix_spawn variant makes its second fork here, in a small process).
 * A program of its own, linked with SQLite alone, so that what the floor
 * pays to exec it is the least a detached child can cost: the floor's own
 * binary drags in libcurl and its dependencies, whose dynamic relocation
 * alone costs several milliseconds per exec.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

int
main(int argc, char *argv[])
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	const char	*path = getenv("INTAKE_DB");
	int		 rc = 1;

	if (argc == 3 && strcmp(argv[1], "--detach") == 0) {
		if (fork() != 0)
			_exit(0);
		argv++;
		argc--;
	}
	if (argc != 2 || path == NULL || sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return 2;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO leads (conv, n) VALUES "
	    "(?, 1) ON CONFLICT (conv) DO UPDATE SET n = n + 1", -1, &st,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, argv[1], -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : 1;
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = 1;
out:
	sqlite3_close(db);
	return rc;
}
