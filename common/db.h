/*
 * db.h: opening the database the one right way, and the transaction
 * helpers every writer uses.
 *
 * WAL, a busy timeout, foreign keys; the file created 0600 before SQLite
 * sees it (its -wal and -shm take the same mode); the schema applied or
 * migrated under PRAGMA user_version.  A handle belongs to one thread
 * and never crosses fork().
 */
#ifndef DB_H
#define DB_H

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
 * Close a handle (NULL is fine).  A statement left unfinalized is a bug:
 * it is logged, finalized, and the handle closed all the same.
 */
void		db_close(sqlite3 *db);

/*
 * BEGIN IMMEDIATE, retried while the database stays busy beyond the busy
 * timeout, up to about tries * busy timeout.  0, or -1 (logged).
 */
int		db_begin(sqlite3 *db);

/*
 * BEGIN IMMEDIATE only if the write lock is free now: 0 when begun, 1
 * when another writer holds it (nothing begun; try again later), -1 on
 * error (logged).  For work that can wait its turn, such as a streaming
 * reply's periodic save, which must not stall the stream.
 */
int		db_try_begin(sqlite3 *db);

/* COMMIT (retried while busy), or ROLLBACK.  0, or -1 (logged). */
int		db_commit(sqlite3 *db);
void		db_rollback(sqlite3 *db);

/* Run sql with no result rows.  0, or -1 (logged with what). */
int		db_exec(sqlite3 *db, const char *sql, const char *what);

/*
 * Prepare sql; NULL (logged) on failure.  The caller finalizes.
 */
sqlite3_stmt	*db_prepare(sqlite3 *db, const char *sql);

/* Bind helpers for text that may be NULL (binds NULL) and lengths. */
int		db_bind_text(sqlite3_stmt *st, int idx, const char *s, int len);

#endif
