/*
 * db.h: opening the database the one right way, and the transaction
 * helpers every writer uses.
 *
 * WAL, a busy timeout, foreign keys, secure_delete (whatever any handle
 * deletes is overwritten with zeros: an erased conversation's words are
 * not left in free space); the file created 0600 before SQLite sees it
 * (its -wal and -shm take the same mode); the schema applied or migrated
 * under PRAGMA user_version.  A handle belongs to one thread
 * and never crosses fork().
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

/*
 * Once, first thing in main, before any other SQLite call: connections
 * allocate their page cache as they need it, not 20 pages up front (a
 * process with a handle per worker thread feels every kilobyte).
 */
void		db_init(void);

/* The schema version this build writes. */
int		db_schema_version(void);

/*
 * Open (creating if need be, mode 0600) and migrate the database at path.
 * Returns the handle, or NULL (logged).  Close with db_close.
 */
sqlite3		*db_open(const char *path, long busy_timeout_ms);

/*
 * 1 when this handle can write (it begins a write transaction and rolls
 * it back; a lock held by another writer also counts as writable), 0
 * when it cannot (read-only file, -shm or -wal; a full or broken disk:
 * logged).  For health checks, not for every request.
 */
int		db_writable(sqlite3 *db);

/*
 * Close a handle (NULL is fine).  A statement left unfinalized is a bug:
 * it is logged, finalized, and the handle closed all the same.
 */
void		db_close(sqlite3 *db);

/*
 * BEGIN IMMEDIATE, waiting for the write lock up to the busy timeout
 * (INTAKE_BUSY_TIMEOUT_MS), one deadline for all its tries.  0, or -1
 * (logged).
 */
int		db_begin(sqlite3 *db);

/*
 * BEGIN IMMEDIATE, waiting for the write lock at most wait_ms (0: only
 * if it is free now): 0 when begun, 1 when another writer still holds it
 * (nothing begun; try again later), -1 on error (logged).  For work that
 * can wait its turn, such as a streaming reply's periodic save, which
 * must not stall the stream.
 */
int		db_begin_within(sqlite3 *db, long wait_ms);
int		db_try_begin(sqlite3 *db);	/* db_begin_within(db, 0) */

/* COMMIT (within the busy timeout), or ROLLBACK.  0, or -1 (logged). */
int		db_commit(sqlite3 *db);
void		db_rollback(sqlite3 *db);

/* Run sql with no result rows.  0, or -1 (logged with what). */
int		db_exec(sqlite3 *db, const char *sql, const char *what);

/*
 * Prepare sql; NULL (logged) on failure.  The caller finalizes.
 */
sqlite3_stmt	*db_prepare(sqlite3 *db, const char *sql);

/*
 * Bind s, len bytes, or up to its NUL when len is (size_t)-1 (which -1
 * converts to); a NULL s binds NULL.  The text is copied.  SQLite counts
 * in int: a text longer than INT_MAX is refused with SQLITE_TOOBIG
 * (nothing bound), never cut.  Returns SQLite's result code.
 */
int		db_bind_text(sqlite3_stmt *st, int idx, const char *s,
		    size_t len);

/*
 * The rows of sql (arg bound to ?1 when not NULL) as a JSON array, each
 * row made by row (a new reference; NULL is an error).  A new reference,
 * or NULL on error (logged by db_prepare for the SQL).
 */
json_t		*db_json_rows(sqlite3 *db, const char *sql, const char *arg,
		    json_t *(*row)(sqlite3_stmt *));

#endif
