/*
 * db_sqlite.c: the embedded engine, one file beside the programs.
 *
 * Creating the file ourselves with O_CREAT and mode 0600 (rather than
 * trusting the umask) is what keeps visitors' messages unreadable to
 * other accounts on a shared host.  Migrations run inside BEGIN
 * IMMEDIATE, so two processes starting at once apply them once.  Every
 * write transaction is BEGIN IMMEDIATE: the one write lock serialises
 * all writers, so db_lock has nothing to add.
 *
 * Prepared statements are kept per handle (SQ_CACHE of them, found by
 * their text): a turn or an extraction runs the same few statements
 * again and again, and preparing is most of what a short one costs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "db_impl.h"
#include "log.h"
#include "util.h"

#define SQ_CACHE	64	/* statements kept per handle */

struct sq_stmt {
	struct db_stmt	 head;
	sqlite3_stmt	*st;
	uint32_t	 hash;
	int		 in_use;
	int		 cached;
};

struct sq_db {
	struct db	 head;
	sqlite3		*h;
	struct sq_stmt	*cache[SQ_CACHE];
	int		 ncache;
	int		 gated;		/* holds sq_gate: in BEGIN IMMEDIATE */
};

/*
 * The write gate.  This process's writers queue on one mutex before
 * BEGIN IMMEDIATE and hold it to COMMIT or ROLLBACK, instead of polling
 * SQLite's lock: a waiter blocked on the mutex is woken when the writer
 * before it lets go, where a poller sleeping 1-10 ms misses a lock that
 * is free only between another writer's transactions (the saver's
 * batches) and, with a thousand streams, could starve past the busy
 * timeout.  SQLite takes one writer at a time anyway, so nothing is lost.
 * The wait is bounded by the same deadline as the lock's.  Other
 * processes (the extractors) still meet SQLite's lock and the busy
 * handler.
 */
static pthread_mutex_t	sq_gate = PTHREAD_MUTEX_INITIALIZER;

static const struct db_ops sq_ops;

/*
 * A handle belongs to one thread, so the busy handler's state is the
 * thread's: when this wait began, and the deadline of the statement
 * being run through sq_exec_wait (0: none, the busy timeout applies).
 */
static _Thread_local int64_t	sq_busy_since;
static _Thread_local int64_t	sq_deadline;

#define SQ_WRITABLE_WAIT_MS	1000

static sqlite3 *
sq_h(struct db *db)
{
	return ((struct sq_db *)db)->h;
}

static struct sq_stmt *
sq_st(struct db_stmt *st)
{
	return (struct sq_stmt *)st;
}

/*
 * Wait for the write lock in short steps (1 ms, growing to 10 ms) up to
 * the busy timeout, or the caller's deadline.  SQLite's own handler
 * sleeps up to 100 ms between tries, so a writer that queued behind a
 * burst of others could sleep long after the lock was free: measured
 * under 32 concurrent mergers, p99 137 ms to 1 s per transaction
 * (bench/results.md).
 */
static int
sq_busy(void *arg, int count)
{
	int64_t	now = util_mono_ms(), limit = (int64_t)(intptr_t)arg, until;
	int64_t	step = count < 10 ? count + 1 : 10;

	if (count == 0)
		sq_busy_since = now;
	until = sq_deadline != 0 ? sq_deadline : sq_busy_since + limit;
	if (now >= until)
		return 0;
	util_sleep_ms(step < until - now ? step : until - now);
	return 1;
}

void
db_init(void)
{
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
	sqlite3_initialize();
}

static int
sq_exec(struct db *db, const char *sql, const char *what)
{
	char	*msg = NULL;

	if (sqlite3_exec(sq_h(db), sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("%s: %s", what, msg ? msg : sqlite3_errmsg(sq_h(db)));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static struct db_stmt *
sq_prepare(struct db *db, const char *sql)
{
	struct sq_db	*d = (struct sq_db *)db;
	struct sq_stmt	*s;
	sqlite3_stmt	*st = NULL;
	uint32_t	 hash = db_text_hash(sql);
	int		 i;

	for (i = 0; i < d->ncache; i++) {
		s = d->cache[i];
		if (!s->in_use && s->hash == hash &&
		    strcmp(sqlite3_sql(s->st), sql) == 0) {
			s->in_use = 1;
			return &s->head;
		}
	}
	if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("prepare: %s: %.60s", sqlite3_errmsg(d->h), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sqlite3_finalize(st);
		return NULL;
	}
	s->head.db = db;
	s->st = st;
	s->hash = hash;
	s->in_use = 1;
	if (d->ncache < SQ_CACHE) {
		s->cached = 1;
		d->cache[d->ncache++] = s;
	}
	return &s->head;
}

static void
sq_finalize(struct db_stmt *st)
{
	struct sq_stmt	*s = sq_st(st);

	if (s->cached) {
		sqlite3_reset(s->st);
		sqlite3_clear_bindings(s->st);
		s->in_use = 0;
		return;
	}
	sqlite3_finalize(s->st);
	free(s);
}

static void
sq_reset(struct db_stmt *st)
{
	sqlite3_reset(sq_st(st)->st);
}

static int
sq_rc(int rc)
{
	switch (rc) {
	case SQLITE_OK:
		return DB_OK;
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_BUSY;
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_TOOBIG:
		return DB_TOOBIG;
	default:
		return DB_ERROR;
	}
}

static int
sq_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
	return sq_rc(sqlite3_bind_text(sq_st(st)->st, idx, s, (int)len,
	    SQLITE_TRANSIENT));
}

static int
sq_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return sq_rc(sqlite3_bind_int64(sq_st(st)->st, idx, v));
}

static int
sq_bind_null(struct db_stmt *st, int idx)
{
	return sq_rc(sqlite3_bind_null(sq_st(st)->st, idx));
}

static int
sq_step(struct db_stmt *st)
{
	return sq_rc(sqlite3_step(sq_st(st)->st));
}

static int64_t
sq_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(sq_st(st)->st, i);
}

static const char *
sq_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(sq_st(st)->st, i);
}

static size_t
sq_column_bytes(struct db_stmt *st, int i)
{
	return (size_t)sqlite3_column_bytes(sq_st(st)->st, i);
}

static int
sq_column_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(sq_st(st)->st, i) == SQLITE_NULL;
}

static int
sq_changes(struct db *db)
{
	return sqlite3_changes(sq_h(db));
}

static const char *
sq_errmsg(struct db *db)
{
	return sqlite3_errmsg(sq_h(db));
}

/*
 * Run sql, which takes or needs the write lock, waiting for it at most
 * wait_ms in all (one deadline across the busy handler's waits and the
 * retries of a busy answer the handler is not asked about).  0 done, 1
 * still busy at the deadline (nothing done, not logged), -1 on error
 * (logged with what).
 */
static int
sq_exec_wait(struct db *db, const char *sql, const char *what, long wait_ms)
{
	int64_t	deadline = util_mono_ms() + (wait_ms > 0 ? wait_ms : 0), left;
	int	rc;

	/* A deadline of 0 means none: make "now" at least 1. */
	sq_deadline = deadline > 0 ? deadline : 1;
	for (;;) {
		rc = sqlite3_exec(sq_h(db), sql, NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		if ((left = deadline - util_mono_ms()) <= 0)
			break;
		util_sleep_ms(left < 10 ? left : 10);
	}
	sq_deadline = 0;
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 1;
	log_warnx("%s: %s", what, sqlite3_errmsg(sq_h(db)));
	return -1;
}

static void
sq_close(struct db *db)
{
	struct sq_db	*d = (struct sq_db *)db;
	sqlite3_stmt	*st;
	int		 i;

	for (i = 0; i < d->ncache; i++) {
		if (d->cache[i]->in_use)
			log_warnx("db_close: a statement still in use: %.80s",
			    sqlite3_sql(d->cache[i]->st));
		sqlite3_finalize(d->cache[i]->st);
		free(d->cache[i]);
	}
	if (d->h != NULL) {
		while ((st = sqlite3_next_stmt(d->h, NULL)) != NULL) {
			log_warnx("db_close: unfinalized statement: %.80s",
			    sqlite3_sql(st));
			sqlite3_finalize(st);
		}
		if (sqlite3_close(d->h) != SQLITE_OK)
			log_warnx("db_close: %s", sqlite3_errmsg(d->h));
	}
	free(d);
}

/* Take the gate within wait_ms (0: only if free).  0, or 1 busy. */
static int
sq_gate_take(struct sq_db *d, long wait_ms)
{
	struct timespec	until;

	if (wait_ms <= 0) {
		if (pthread_mutex_trylock(&sq_gate) != 0)
			return 1;
	} else {
		util_deadline(&until, CLOCK_REALTIME, wait_ms);
		if (pthread_mutex_timedlock(&sq_gate, &until) != 0)
			return 1;
	}
	d->gated = 1;
	return 0;
}

static void
sq_gate_give(struct sq_db *d)
{
	if (d->gated) {
		d->gated = 0;
		pthread_mutex_unlock(&sq_gate);
	}
}

static int
sq_begin(struct db *db, long wait_ms)
{
	struct sq_db	*d = (struct sq_db *)db;
	int64_t		 t0 = util_mono_ms();
	long		 left;
	int		 rc;

	if (d->gated) {
		log_warnx("begin: a transaction is open on this handle");
		return -1;
	}
	if (sq_gate_take(d, wait_ms) != 0)
		return 1;
	left = wait_ms > 0 ? wait_ms - (long)(util_mono_ms() - t0) : 0;
	if ((rc = sq_exec_wait(db, "BEGIN IMMEDIATE", "begin",
	    left > 0 ? left : 0)) != 0)
		sq_gate_give(d);
	return rc;
}

static int
sq_begin_read(struct db *db)
{
	return sq_exec(db, "BEGIN", "begin");
}

static int
sq_lock(struct db *db, const char *key)
{
	(void)db;
	(void)key;
	return 0;	/* BEGIN IMMEDIATE holds the one write lock */
}

static void
sq_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(sq_h(db)))
		(void)sqlite3_exec(sq_h(db), "ROLLBACK", NULL, NULL, NULL);
	sq_gate_give((struct sq_db *)db);
}

static int
sq_commit(struct db *db)
{
	int	rc = sq_exec_wait(db, "COMMIT", "commit", db->wait_ms);

	if (rc == 1)
		log_warnx("commit: the database stayed locked for %ld ms",
		    db->wait_ms);
	if (rc != 0) {
		sq_rollback(db);
		return -1;
	}
	sq_gate_give((struct sq_db *)db);
	return 0;
}

static int
sq_user_version(struct db *db)
{
	struct db_stmt	*st;
	int		 v = -1;

	if ((st = sq_prepare(db, "PRAGMA user_version")) == NULL)
		return -1;
	if (sq_step(st) == DB_ROW)
		v = (int)sq_column_int64(st, 0);
	sq_finalize(st);
	return v;
}

/* Bring the schema up to this build's version; 0, or -1 (logged). */
static int
sq_migrate(struct db *db)
{
	int	v, i;

	if ((v = sq_user_version(db)) == -1)
		return -1;
	if (v == db_schema_version())
		return 0;
	if (v > db_schema_version()) {
		log_warnx("database schema %d is newer than this program's %d",
		    v, db_schema_version());
		return -1;
	}
	if (db_begin(db) == -1)
		return -1;
	/* Read again inside the lock: another process may have migrated. */
	if ((v = sq_user_version(db)) == -1)
		goto fail;
	for (i = 0; i < db_n_migrations; i++) {
		if (db_migrations[i].version <= v)
			continue;
		if (sq_exec(db, db_migrations[i].sql, "migrate") == -1)
			goto fail;
		log_info("database migrated to schema %d",
		    db_migrations[i].version);
	}
	return sq_commit(db);
fail:
	sq_rollback(db);
	return -1;
}

/*
 * Create the database file, mode 0600, if it does not exist (SQLite would
 * use 0644 less the umask).  Closing a descriptor drops every POSIX lock
 * the process holds on the file, the locks of other threads' open
 * connections included, so the file is only ever opened here when it is
 * missing (and so has no connection yet), under a lock that keeps the
 * other threads from opening it until the descriptor is closed.
 */
static int
sq_create(const char *path)
{
	static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	int			 fd, rc = 0;

	pthread_mutex_lock(&lock);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1)
			close(fd);
		else if (errno != EEXIST) {
			log_warn("database %s", path);
			rc = -1;
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/*
 * The -wal and -shm files take the database file's mode when SQLite
 * creates them, so one made while the file was read-only (0400) stays
 * read-only after the file is fixed, and then every write fails while
 * reads work.  Repair one this account owns (0600); name one it cannot.
 * 0, or -1 (logged: what to do about it).
 */
static int
sq_sidecars(const char *path)
{
	static const char *const ext[] = { "-wal", "-shm" };
	struct stat	sb;
	char		side[PATH_MAX];
	size_t		i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		if (snprintf(side, sizeof(side), "%s%s", path, ext[i]) >=
		    (int)sizeof(side))
			return -1;
		if (stat(side, &sb) == -1 || access(side, R_OK | W_OK) == 0)
			continue;
		if (sb.st_uid == geteuid() && chmod(side, 0600) == 0) {
			log_warnx("database %s was mode %04o: repaired (0600)",
			    side, (unsigned)(sb.st_mode & 07777));
			continue;
		}
		log_warnx("database %s cannot be written by this account "
		    "(uid %ld; the file is uid %ld, mode %04o): every write "
		    "would fail.  Remove it while nothing uses the database, "
		    "or give it to uid %ld, mode 0600", side, (long)geteuid(),
		    (long)sb.st_uid, (unsigned)(sb.st_mode & 07777),
		    (long)geteuid());
		return -1;
	}
	return 0;
}

static int
sq_writable(struct db *db)
{
	switch (sq_exec_wait(db, "BEGIN IMMEDIATE", "db_writable",
	    SQ_WRITABLE_WAIT_MS)) {
	case 0:
		sq_rollback(db);
		return 1;
	case 1:
		return 1;	/* another writer has it: it can be written */
	default:
		return 0;
	}
}

/*
 * Copy the WAL into the database and truncate it, so no old page with
 * erased text stays in the -wal file.  Readers holding an old snapshot
 * keep it from completing: try again for a while, then say so (the
 * next erase, or SQLite's own checkpoints, finish it).
 */
#define SQ_COMPACT_TRIES	20

static int
sq_compact(struct db *db)
{
	int	i, logged, done;

	for (i = 0; i < SQ_COMPACT_TRIES; i++) {
		if (sqlite3_wal_checkpoint_v2(sq_h(db), NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, &logged, &done) == SQLITE_OK &&
		    logged == done)
			return 0;
		util_sleep_ms(50);
	}
	log_warnx("erase: the WAL could not be truncated (readers were "
	    "busy); erased text may stay in %s-wal until the next "
	    "checkpoint", sqlite3_db_filename(sq_h(db), "main"));
	return -1;
}

static const char *
sq_version(struct db *db)
{
	(void)db;
	return sqlite3_libversion();
}

static const struct db_ops sq_ops = {
	sq_close, sq_exec, sq_begin, sq_begin_read, sq_lock, sq_commit,
	sq_rollback, sq_prepare, sq_finalize, sq_reset, sq_bind_text,
	sq_bind_int64, sq_bind_null, sq_step, sq_column_int64,
	sq_column_text, sq_column_bytes, sq_column_null, sq_changes,
	sq_errmsg, sq_writable, sq_compact, sq_version,
};

struct db *
db_sqlite_open(const char *path, long busy_timeout_ms)
{
	struct sq_db	*d;
	struct db	*db;

	if (sq_create(path) == -1 || sq_sidecars(path) == -1)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	db = &d->head;
	db->ops = &sq_ops;
	db->engine = DB_SQLITE;
	db->wait_ms = busy_timeout_ms;
	if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("database %s: %s", path,
		    d->h ? sqlite3_errmsg(d->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_handler(d->h, sq_busy, (void *)(intptr_t)busy_timeout_ms);
	sqlite3_extended_result_codes(d->h, 0);
	if (sqlite3_db_readonly(d->h, "main") == 1) {
		log_warnx("database %s cannot be written by this account (uid "
		    "%ld): give it mode 0600 and this account as its owner",
		    path, (long)geteuid());
		goto fail;
	}
	if (sq_exec(db, "PRAGMA journal_mode=WAL", "wal") == -1 ||
	    sq_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA cache_size=-128; PRAGMA secure_delete=ON", "pragmas") ==
	    -1 ||
	    sq_migrate(db) == -1)
		goto fail;
	return db;
fail:
	sq_close(db);
	return NULL;
}
