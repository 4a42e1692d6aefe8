/*
 * db.h: the one way the programs reach their database, on either engine.
 *
 * INTAKE_DB names a SQLite file (the embedded default) or, when it starts
 * with postgresql:// or postgres://, a PostgreSQL database shared by
 * several web nodes.  Everything above this file speaks one SQL (numbered
 * ?N parameters, quoted "offset" and "by"; db_sql.c carries it to
 * PostgreSQL) through one handle type, and gets the same guarantees:
 *
 *   db_begin	a write transaction.  SQLite: BEGIN IMMEDIATE, the one
 *		write lock, so every writer is serialised.  PostgreSQL:
 *		BEGIN; what must be serialised says so with db_lock.
 *   db_lock	inside db_begin: serialise with every other transaction
 *		that locks the same key (a conversation, an address).
 *		SQLite: nothing more to do.  PostgreSQL:
 *		pg_advisory_xact_lock, released at COMMIT or ROLLBACK.
 *   db_begin_read  a read that sees one moment (a row and its parts).
 *
 * SQLite: WAL, a busy timeout, foreign keys, secure_delete, the file
 * created 0600.  PostgreSQL: a small pool of connections per process
 * (INTAKE_DB_POOL), a connection taken only while a statement runs or a
 * transaction is open, so a thread that streams for a minute holds none
 * between its saves.  Both: the schema created or migrated from sql/ by
 * whichever program opens the database first; prepared statements kept
 * per handle (db_prepare finds the one it made before).
 *
 * A handle belongs to one thread at a time and never crosses fork().
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db;
struct db_stmt;

/*
 * A claim's SELECT on PostgreSQL ends with this, so two nodes claiming
 * at once take different rows; SQLite's BEGIN IMMEDIATE already keeps
 * every other claimer out (and SQLite has no such clause):
 *	db_engine(db) == DB_POSTGRES ? SQL(DB_SKIP_LOCKED) : SQL("")
 */
#define DB_SKIP_LOCKED	" FOR UPDATE SKIP LOCKED"

/* What a claim (a job, a notification) found. */
enum claim_rc {
	CLAIMED,		/* taken: the caller's now */
	CLAIM_NONE,		/* nothing to take: none due, the cap full, or
				   another has it */
	CLAIM_ERROR,		/* logged */
};

/* Now, as every time column holds it (ISO 8601 UTC, milliseconds). */
#define DB_NOW	"strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

enum db_engine {
	DB_SQLITE,
	DB_POSTGRES,
};

/* What db_step and the binds answer. */
enum db_rc {
	DB_OK,
	DB_ROW,		/* db_step: a row is ready */
	DB_DONE,	/* db_step: no more rows */
	DB_BUSY,	/* the lock or a connection stayed taken */
	DB_CONSTRAINT,	/* a unique, check or foreign key refused it */
	DB_TOOBIG,	/* a value longer than the engine takes */
	DB_ERROR,	/* anything else (logged) */
};

/*
 * Once, first thing in main, before any other database call: SQLite
 * connections allocate their page cache as they need it, not 20 pages
 * up front (a process with a handle per worker thread feels every
 * kilobyte).
 */
void		db_init(void);

/* Which engine a value of INTAKE_DB names (pure). */
enum db_engine	db_engine_of(const char *uri);

/* The schema version this build writes. */
int		db_schema_version(void);

/*
 * Open (SQLite: creating if need be, mode 0600) and migrate the database
 * uri names.  Returns the handle, or NULL (logged).  Close with db_close.
 * PostgreSQL: connections are made when first needed (the first open of
 * a process makes one to migrate), at most pool_max per process.
 */
struct db	*db_open(const char *uri, long busy_timeout_ms);
void		 db_close(struct db *);

enum db_engine	 db_engine(const struct db *);

/*
 * PostgreSQL: the most connections this process holds at once (every
 * handle shares them); 0 keeps the default (4).  Set before the first
 * db_open.  SQLite: no effect.
 */
void		 db_set_pool(int max);

/* PostgreSQL: connections open now, and the most ever open at once. */
void		 db_pool_stats(int *open, int *peak);

/*
 * 1 when this handle can write (SQLite: it begins a write transaction
 * and rolls it back, a lock held by another writer counting as
 * writable), 0 when it cannot (logged).  For health checks.
 */
int		db_writable(struct db *);

/*
 * 1 when the last failure on this handle was the database out of reach
 * (PostgreSQL down or restarting, every pooled connection taken for the
 * whole wait): the request answers 503 unavailable rather than 500.
 */
int		db_unavailable(const struct db *);

/*
 * A write transaction (see above), waiting up to the busy timeout
 * (INTAKE_BUSY_TIMEOUT_MS), one deadline for all its tries.  0, or -1
 * (logged).
 */
int		db_begin(struct db *);

/*
 * db_begin waiting at most wait_ms (0: only if free now): 0 when begun,
 * 1 when the lock stayed taken (nothing begun; try again later), -1 on
 * error (logged).  For work that can wait its turn, such as a streaming
 * reply's periodic save, which must not stall the stream.
 */
int		db_begin_within(struct db *, long wait_ms);
int		db_try_begin(struct db *);	/* db_begin_within(db, 0) */

/* A read transaction that sees one moment.  0, or -1 (logged). */
int		db_begin_read(struct db *);

/* Inside db_begin: serialise on key (see above).  0, or -1 (logged). */
int		db_lock(struct db *, const char *key);

/*
 * db_begin, then db_lock on what + ":" + key: the write transaction of
 * one thing (a conversation, an address, a node's jobs).  0, or -1
 * (logged; nothing begun).
 */
int		db_begin_for(struct db *, const char *what, const char *key);

/* COMMIT (within the busy timeout), or ROLLBACK.  0, or -1 (logged). */
int		db_commit(struct db *);
void		db_rollback(struct db *);

/* Run sql with no parameters and no result rows.  0, or -1 (logged). */
int		db_exec(struct db *, const char *sql, const char *what);

/*
 * A statement for sql, NULL (logged) on failure.  The handle keeps what
 * it prepared: the next db_prepare of the same text finds it again.
 * Give it back with db_finalize, whatever happened.
 */
struct db_stmt	*db_prepare(struct db *, const char *sql);
void		 db_finalize(struct db_stmt *);

/* Back to before its first step, values kept. */
void		 db_reset(struct db_stmt *);

/*
 * Bind parameter idx (from 1).  Text: len bytes, or up to its NUL when
 * len is (size_t)-1 (which -1 converts to); a NULL s binds NULL; the
 * text is copied; a text longer than INT_MAX is refused with DB_TOOBIG
 * (nothing bound), never cut.
 */
int		db_bind_text(struct db_stmt *, int idx, const char *s,
		    size_t len);
int		db_bind_int64(struct db_stmt *, int idx, int64_t v);
int		db_bind_null(struct db_stmt *, int idx);

/* DB_ROW, DB_DONE, or what failed (logged unless DB_CONSTRAINT). */
int		db_step(struct db_stmt *);

/*
 * Column i (from 0) of the current row.  Text stays valid until the next
 * step, reset or finalize; NULL reads as NULL text and 0.  A boolean
 * (PostgreSQL) reads as 1 or 0.
 */
int64_t		 db_column_int64(struct db_stmt *, int i);
int		 db_column_int(struct db_stmt *, int i);
const char	*db_column_text(struct db_stmt *, int i);
size_t		 db_column_bytes(struct db_stmt *, int i);
int		 db_column_null(struct db_stmt *, int i);

/* Rows the last INSERT, UPDATE or DELETE changed on this handle. */
int		 db_changes(struct db *);

/* The engine's words for the last failure on this handle. */
const char	*db_errmsg(struct db *);

/*
 * After an erase: give deleted pages back so no copy of them is left in
 * the write-ahead log (SQLite: a TRUNCATE checkpoint, retried while
 * readers hold it; PostgreSQL: nothing: VACUUM is the server's).
 * 0, or -1 (logged).
 */
int		 db_compact(struct db *);

/* The engine's version, for --check. */
const char	*db_version(struct db *);

/*
 * The rows of sql (arg bound to ?1 when not NULL) as a JSON array, each
 * row made by row (a new reference; NULL is an error).  A new reference,
 * or NULL on error (logged).
 */
json_t		*db_json_rows(struct db *, const char *sql, const char *arg,
		    json_t *(*row)(struct db_stmt *));

#endif
