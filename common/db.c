/*
 * db.c: the one place a database is opened.
 *
 * Creating the file ourselves with O_CREAT and mode 0600 (rather than
 * trusting the umask) is what keeps visitors' messages unreadable to
 * other accounts on a shared host.  Migrations run inside BEGIN
 * IMMEDIATE, so two processes starting at once apply them once.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "util.h"

/* The files of sql/, compiled in by the Makefile (build/gen/schema_sql.c). */
struct db_migration {
	int		 version;
	const char	*sql;
};
extern const struct db_migration db_migrations[];
extern const int db_n_migrations;

/*
 * A handle belongs to one thread, so the busy handler's state is the
 * thread's: when this wait began, and the deadline of the statement
 * being run through db_exec_wait (0: none, the busy timeout applies).
 */
static _Thread_local int64_t	db_busy_since;
static _Thread_local int64_t	db_deadline;

#define DB_WRITABLE_WAIT_MS	1000

/* The busy timeout of every handle (INTAKE_BUSY_TIMEOUT_MS). */
static long			db_wait_ms = 5000;

/*
 * Wait for the write lock in short steps (1 ms, growing to 10 ms) up to
 * the busy timeout, or the caller's deadline.  SQLite's own handler
 * sleeps up to 100 ms between tries, so a writer that queued behind a
 * burst of others could sleep long after the lock was free: measured
 * under 32 concurrent mergers, p99 137 ms to 1 s per transaction
 * (bench/results.md).
 */
static int
db_busy(void *arg, int count)
{
	int64_t	now = util_mono_ms(), limit = (int64_t)(intptr_t)arg, until;
	int64_t	step = count < 10 ? count + 1 : 10;

	if (count == 0)
		db_busy_since = now;
	until = db_deadline != 0 ? db_deadline : db_busy_since + limit;
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

int
db_schema_version(void)
{
	return db_migrations[db_n_migrations - 1].version;
}

int
db_exec(sqlite3 *db, const char *sql, const char *what)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("prepare: %s: %.60s", sqlite3_errmsg(db), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s, size_t len)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	if (len == (size_t)-1)
		return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
	if (len > INT_MAX)
		return SQLITE_TOOBIG;	/* never cut, never wrapped */
	return sqlite3_bind_text(st, idx, s, (int)len, SQLITE_TRANSIENT);
}

/*
 * Run sql, which takes or needs the write lock, waiting for it at most
 * wait_ms in all (one deadline across the busy handler's waits and the
 * retries of a busy answer the handler is not asked about).  0 done, 1
 * still busy at the deadline (nothing done, not logged), -1 on error
 * (logged with what).
 */
static int
db_exec_wait(sqlite3 *db, const char *sql, const char *what, long wait_ms)
{
	int64_t	deadline = util_mono_ms() + (wait_ms > 0 ? wait_ms : 0), left;
	int	rc;

	/* A deadline of 0 means none: make "now" at least 1. */
	db_deadline = deadline > 0 ? deadline : 1;
	for (;;) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		if ((left = deadline - util_mono_ms()) <= 0)
			break;
		util_sleep_ms(left < 10 ? left : 10);
	}
	db_deadline = 0;
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 1;
	log_warnx("%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* db_exec_wait within the busy timeout; busy at the end is an error. */
static int
db_exec_busy(sqlite3 *db, const char *sql, const char *what)
{
	switch (db_exec_wait(db, sql, what, db_wait_ms)) {
	case 0:
		return 0;
	case 1:
		log_warnx("%s: the database stayed locked for %ld ms", what,
		    db_wait_ms);
		return -1;
	default:
		return -1;
	}
}

void
db_close(sqlite3 *db)
{
	sqlite3_stmt	*st;

	if (db == NULL)
		return;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL) {
		log_warnx("db_close: unfinalized statement: %.80s",
		    sqlite3_sql(st));
		sqlite3_finalize(st);
	}
	if (sqlite3_close(db) != SQLITE_OK)
		log_warnx("db_close: %s", sqlite3_errmsg(db));
}

int
db_try_begin(sqlite3 *db)
{
	return db_begin_within(db, 0);
}

int
db_begin_within(sqlite3 *db, long wait_ms)
{
	return db_exec_wait(db, "BEGIN IMMEDIATE", "begin", wait_ms);
}

int
db_begin(sqlite3 *db)
{
	return db_exec_busy(db, "BEGIN IMMEDIATE", "begin");
}

int
db_commit(sqlite3 *db)
{
	if (db_exec_busy(db, "COMMIT", "commit") == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

void
db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int
db_user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if ((st = db_prepare(db, "PRAGMA user_version")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bring the schema up to this build's version; 0, or -1 (logged). */
static int
db_migrate(sqlite3 *db)
{
	int	v, i;

	if ((v = db_user_version(db)) == -1)
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
	if ((v = db_user_version(db)) == -1)
		goto fail;
	for (i = 0; i < db_n_migrations; i++) {
		if (db_migrations[i].version <= v)
			continue;
		if (db_exec(db, db_migrations[i].sql, "migrate") == -1)
			goto fail;
		log_info("database migrated to schema %d",
		    db_migrations[i].version);
	}
	return db_commit(db);
fail:
	db_rollback(db);
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
db_create(const char *path)
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
db_sidecars(const char *path)
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

int
db_writable(sqlite3 *db)
{
	switch (db_exec_wait(db, "BEGIN IMMEDIATE", "db_writable",
	    DB_WRITABLE_WAIT_MS)) {
	case 0:
		db_rollback(db);
		return 1;
	case 1:
		return 1;	/* another writer has it: it can be written */
	default:
		return 0;
	}
}

sqlite3 *
db_open(const char *path, long busy_timeout_ms)
{
	sqlite3	*db = NULL;

	if (db_create(path) == -1 || db_sidecars(path) == -1)
		return NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("database %s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	db_wait_ms = busy_timeout_ms;
	sqlite3_busy_handler(db, db_busy, (void *)(intptr_t)busy_timeout_ms);
	sqlite3_extended_result_codes(db, 0);
	if (sqlite3_db_readonly(db, "main") == 1) {
		log_warnx("database %s cannot be written by this account (uid "
		    "%ld): give it mode 0600 and this account as its owner",
		    path, (long)geteuid());
		goto fail;
	}
	if (db_exec(db, "PRAGMA journal_mode=WAL", "wal") == -1 ||
	    db_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA cache_size=-128; PRAGMA secure_delete=ON", "pragmas") ==
	    -1 ||
	    db_migrate(db) == -1)
		goto fail;
	return db;
fail:
	db_close(db);
	return NULL;
}

json_t *
db_json_rows(sqlite3 *db, const char *sql, const char *arg,
    json_t *(*row)(sqlite3_stmt *))
{
	sqlite3_stmt	*st;
	json_t		*arr, *e;
	int		 step;

	if ((arr = json_array()) == NULL)
		return NULL;
	if ((st = db_prepare(db, sql)) == NULL) {
		json_decref(arr);
		return NULL;
	}
	if (arg != NULL)
		db_bind_text(st, 1, arg, -1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((e = row(st)) == NULL ||
		    json_array_append_new(arr, e) == -1) {
			step = SQLITE_ERROR;
			break;
		}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
