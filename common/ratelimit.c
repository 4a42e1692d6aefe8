/*
 * ratelimit.c: one upsert per counted request.  Rows of past minutes are
 * deleted by the first request of each new minute, so the table holds
 * about one minute of addresses.
 */
#include "db.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"

int
ratelimit_hit(sqlite3 *db, const char *addr, const char *kind, long limit,
    int *retry_after)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 now = util_wall_ms() / 1000, minute = now / 60;
	long		 count = 0;
	int		 rc = -1;

	*retry_after = 0;
	if (limit <= 0)
		return 0;
	if (addr == NULL)
		addr = "";
	if (db_begin(db) == -1)
		return -1;
	st = db_prepare(db, "INSERT INTO rate_limits (addr, kind, minute, "
	    "count) VALUES (?, ?, ?, 1) ON CONFLICT (addr, kind, minute) DO "
	    "UPDATE SET count = count + 1 RETURNING count");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, addr, -1);
	db_bind_text(st, 2, kind, -1);
	sqlite3_bind_int64(st, 3, minute);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	count = (long)sqlite3_column_int64(st, 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (count == 1) {
		st = db_prepare(db, "DELETE FROM rate_limits WHERE minute < ?");
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, minute);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc == -1) {
		log_warnx("ratelimit: %s", sqlite3_errmsg(db));
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1)
		return -1;
	if (count > limit) {
		*retry_after = (int)(60 - now % 60);
		return 1;
	}
	return 0;
}
