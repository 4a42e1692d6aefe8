/*
 * db_pg.c: PostgreSQL, for several web nodes on one database.
 *
 * A process keeps a small pool of connections (db_set_pool, default
 * PG_POOL_DEFAULT) shared by all its handles.  A handle takes one only
 * while a statement runs (its rows are read whole into the handle, so
 * the connection goes back before the caller looks at the first) or a
 * transaction is open; a thread that streams a reply for a minute holds
 * none between its saves, and 600 worker threads need a few connections,
 * not 600.  A thread that finds every connection taken waits for one up
 * to the busy timeout, then its request answers 503.
 *
 * A connection that breaks (the server restarted, the network dropped)
 * is thrown away and the failure marked as the database out of reach
 * (db_unavailable); the next statement connects again, so a node
 * recovers by itself when the server is back.  lock_timeout is the busy
 * timeout, so no lock wait (db_lock, a row lock) outlasts it.
 *
 * Statements are prepared once per connection, by name, found by their
 * text; the text is translated from the programs' SQL by db_sql.c once
 * per handle.  The schema is created or migrated under an advisory lock
 * by the first process of a node that opens the database, and its
 * version is schema_version's row.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "db_impl.h"
#include "db_sql.h"
#include "log.h"
#include "util.h"

#ifdef INTAKE_NO_POSTGRES
/*
 * A build without libpq: the shared-host bundle (one machine, SQLite;
 * a shared host has no libpq to load).
 */
void
db_set_pool(int max)
{
	(void)max;
}

void
db_pool_stats(int *open, int *peak)
{
	*open = *peak = 0;
}

struct db *
db_pg_open(const char *uri, long busy_timeout_ms)
{
	(void)uri;
	(void)busy_timeout_ms;
	log_warnx("database: INTAKE_DB is a PostgreSQL URI, and this build "
	    "has no PostgreSQL (the shared-host bundle): name a SQLite file");
	return NULL;
}
#else

#include <libpq-fe.h>

#define PG_POOL_DEFAULT	4
#define PG_POOL_MAX	256
#define PG_PREPARED	128	/* statements prepared per connection */
#define PG_CACHE	64	/* statements kept per handle */
#define PG_MIGRATE_LOCK	726354101	/* the advisory lock of migrations */
#define PG_BOOLOID	16

struct pg_prep {
	uint32_t	 hash;
	char		*sql;
	char		 name[16];
};

struct pg_conn {
	PGconn		*c;
	int		 busy;
	struct pg_prep	 prep[PG_PREPARED];
	int		 nprep;
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*uri;
	int		 max;
	int		 open;		/* connected or connecting */
	int		 peak;
	int		 migrated;
	struct pg_conn	*conns[PG_POOL_MAX];
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
    PG_POOL_DEFAULT, 0, 0, 0, { NULL } };

struct pg_stmt {
	struct db_stmt	 head;
	uint32_t	 hash;
	char		*from;		/* the programs' text */
	char		*sql;		/* PostgreSQL's */
	int		 nparams;
	char		**vals;		/* nparams of them: NULL is NULL */
	int		*lens;
	PGresult	*res;
	int		 row;
	int		 nrows;
	int		 started;
	int		 in_use;
	int		 cached;
};

struct pg_db {
	struct db	 head;
	struct pg_conn	*pinned;	/* while a transaction is open */
	int		 changes;
	char		 err[256];
	char		 version[64];
	struct pg_stmt	*cache[PG_CACHE];
	int		 ncache;
};

static const struct db_ops pg_ops;

static struct pg_db *
pg_db(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *
pg_st(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

/*
 * In a child of fork() the pool's connections are the parent's: the
 * child forgets them (never closes them, which would end the parent's
 * sessions) and makes its own.
 */
static struct pg_conn	*pg_inherited[PG_POOL_MAX];	/* the parent's */

/* What holds a slot while its connection is being made (never idle). */
static struct pg_conn	 pg_connecting = { NULL, 1, { { 0, NULL, "" } }, 0 };

static void
pg_atfork_child(void)
{
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.cv, NULL);
	/* Kept here, not freed and not lost (a leak checker sees them). */
	memcpy(pg_inherited, pool.conns, sizeof(pg_inherited));
	memset(pool.conns, 0, sizeof(pool.conns));
	pool.open = pool.peak = 0;
}

static void
db_pg_once(void)
{
	pthread_atfork(NULL, NULL, pg_atfork_child);
}

void
db_set_pool(int max)
{
	if (max > 0)
		pool.max = max < PG_POOL_MAX ? max : PG_POOL_MAX;
}

void
db_pool_stats(int *open, int *peak)
{
	pthread_mutex_lock(&pool.mu);
	*open = pool.open;
	*peak = pool.peak;
	pthread_mutex_unlock(&pool.mu);
}

static void
pg_seterr(struct db *db, const char *what, const char *msg)
{
	size_t	n;

	snprintf(pg_db(db)->err, sizeof(pg_db(db)->err), "%s%s%s",
	    what, *what != '\0' ? ": " : "", msg != NULL ? msg : "");
	/* libpq's messages end in a newline. */
	n = strlen(pg_db(db)->err);
	while (n > 0 && (pg_db(db)->err[n - 1] == '\n' ||
	    pg_db(db)->err[n - 1] == ' '))
		pg_db(db)->err[--n] = '\0';
}

static void
pg_conn_free(struct pg_conn *pc)
{
	int	i;

	if (pc == NULL)
		return;
	PQfinish(pc->c);
	for (i = 0; i < pc->nprep; i++)
		free(pc->prep[i].sql);
	free(pc);
}

/* A new connection, its session set, or NULL (db's error says why). */
static struct pg_conn *
pg_connect(struct db *db)
{
	const char	*keys[] = { "dbname", "application_name",
			    "connect_timeout", NULL };
	const char	*vals[4];
	struct pg_conn	*pc;
	PGresult	*res;
	char		 timeout[24], set[128];

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	snprintf(timeout, sizeof(timeout), "%ld",
	    db->wait_ms / 1000 > 2 ? db->wait_ms / 1000 : 2);
	vals[0] = pool.uri;
	vals[1] = "intake";
	vals[2] = timeout;
	vals[3] = NULL;
	/* The URI's own connect_timeout, if any, wins (expand_dbname). */
	pc->c = PQconnectdbParams(keys, vals, 1);
	if (pc->c == NULL || PQstatus(pc->c) != CONNECTION_OK) {
		pg_seterr(db, "connect", pc->c != NULL ?
		    PQerrorMessage(pc->c) : "out of memory");
		pg_conn_free(pc);
		return NULL;
	}
	snprintf(set, sizeof(set), "SET lock_timeout = %ld; SET TIME ZONE "
	    "'UTC'", db->wait_ms);
	res = PQexec(pc->c, set);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_seterr(db, "connect", PQerrorMessage(pc->c));
		PQclear(res);
		pg_conn_free(pc);
		return NULL;
	}
	PQclear(res);
	return pc;
}

/*
 * A connection of the pool for this thread alone, waiting up to wait_ms
 * for one to be free.  NULL when none came (db->unavailable: the server
 * could not be reached, or every connection stayed taken).
 */
static struct pg_conn *
pg_acquire(struct db *db, long wait_ms)
{
	struct timespec	 until;
	struct pg_conn	*pc = NULL;
	int		 i, slot = -1;

	util_deadline(&until, CLOCK_REALTIME, wait_ms);
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		for (i = 0; i < pool.max; i++)
			if (pool.conns[i] != NULL && !pool.conns[i]->busy) {
				pc = pool.conns[i];
				pc->busy = 1;
				break;
			}
		if (pc != NULL)
			break;
		if (pool.open < pool.max) {
			for (i = 0; i < pool.max; i++)
				if (pool.conns[i] == NULL)
					break;
			slot = i;
			pool.conns[slot] = &pg_connecting;
			pool.open++;
			if (pool.open > pool.peak)
				pool.peak = pool.open;
			break;
		}
		if (pthread_cond_timedwait(&pool.cv, &pool.mu, &until) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&pool.mu);
			pg_seterr(db, "", "every database connection of this "
			    "process stayed taken (INTAKE_DB_POOL)");
			db->unavailable = 1;
			return NULL;
		}
	}
	pthread_mutex_unlock(&pool.mu);
	if (pc != NULL) {
		db->unavailable = 0;
		return pc;
	}
	/* Connect outside the lock; the slot is held by pg_connecting. */
	pc = pg_connect(db);
	pthread_mutex_lock(&pool.mu);
	if (pc == NULL) {
		pool.conns[slot] = NULL;
		pool.open--;
	} else {
		pc->busy = 1;
		pool.conns[slot] = pc;
	}
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	db->unavailable = pc == NULL;
	return pc;
}

/* Give pc back; a broken one is thrown away (the next use reconnects). */
static void
pg_release(struct pg_conn *pc)
{
	int	i, bad;

	bad = PQstatus(pc->c) != CONNECTION_OK ||
	    PQtransactionStatus(pc->c) != PQTRANS_IDLE;
	pthread_mutex_lock(&pool.mu);
	if (bad) {
		for (i = 0; i < PG_POOL_MAX; i++)
			if (pool.conns[i] == pc)
				pool.conns[i] = NULL;
		pool.open--;
	} else
		pc->busy = 0;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	if (bad)
		pg_conn_free(pc);
}

/* The connection for a statement: the transaction's, or one taken now. */
static struct pg_conn *
pg_conn_for(struct db *db)
{
	if (pg_db(db)->pinned != NULL)
		return pg_db(db)->pinned;
	return pg_acquire(db, db->wait_ms);
}

static void
pg_conn_done(struct db *db, struct pg_conn *pc)
{
	if (pc != pg_db(db)->pinned)
		pg_release(pc);
}

/*
 * What a failed result means to the caller; a connection gone is the
 * database out of reach.
 */
static int
pg_fail(struct db *db, struct pg_conn *pc, PGresult *res, const char *what)
{
	const char	*state = res != NULL ?
			    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	pg_seterr(db, what, res != NULL && PQresultErrorMessage(res)[0] ?
	    PQresultErrorMessage(res) : PQerrorMessage(pc->c));
	if (PQstatus(pc->c) != CONNECTION_OK) {
		db->unavailable = 1;
		return DB_ERROR;
	}
	if (state != NULL && strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	/* lock_timeout, deadlock, serialization, cannot lock now */
	if (state != NULL && (strcmp(state, "55P03") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0))
		return DB_BUSY;
	if (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0))
		db->unavailable = 1;
	return DB_ERROR;
}

/* Run sql (no parameters) on pc; 0, or what pg_fail says (logged). */
static int
pg_run(struct db *db, struct pg_conn *pc, const char *sql, const char *what)
{
	PGresult	*res;
	int		 rc = 0;

	res = PQexec(pc->c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_fail(db, pc, res, what);
		if (rc != DB_BUSY)
			log_warnx("%s", pg_db(db)->err);
	}
	PQclear(res);
	return rc;
}

static int
pg_exec(struct db *db, const char *sql, const char *what)
{
	struct pg_conn	*pc;
	int		 rc;

	if ((pc = pg_conn_for(db)) == NULL) {
		log_warnx("%s: %s", what, pg_db(db)->err);
		return -1;
	}
	rc = pg_run(db, pc, sql, what);
	pg_conn_done(db, pc);
	return rc == 0 ? 0 : -1;
}

static int
pg_begin_as(struct db *db, long wait_ms, const char *sql)
{
	struct pg_db	*d = pg_db(db);
	struct pg_conn	*pc;

	if (d->pinned != NULL) {
		log_warnx("begin: a transaction is open already");
		return -1;
	}
	if ((pc = pg_acquire(db, wait_ms)) == NULL) {
		if (!db->unavailable || wait_ms < db->wait_ms)
			return 1;	/* try again later */
		log_warnx("begin: %s", d->err);
		return -1;
	}
	if (pg_run(db, pc, sql, "begin") != 0) {
		pg_release(pc);
		return -1;
	}
	d->pinned = pc;
	return 0;
}

static int
pg_begin(struct db *db, long wait_ms)
{
	return pg_begin_as(db, wait_ms, "BEGIN");
}

static int
pg_begin_read(struct db *db)
{
	return pg_begin_as(db, db->wait_ms, "BEGIN ISOLATION LEVEL "
	    "REPEATABLE READ READ ONLY") == 0 ? 0 : -1;
}

static void
pg_unpin(struct db *db)
{
	struct pg_db	*d = pg_db(db);

	if (d->pinned != NULL) {
		pg_release(d->pinned);
		d->pinned = NULL;
	}
}

static void
pg_rollback(struct db *db)
{
	struct pg_db	*d = pg_db(db);
	PGresult	*res;

	if (d->pinned == NULL)
		return;
	if (PQstatus(d->pinned->c) == CONNECTION_OK) {
		res = PQexec(d->pinned->c, "ROLLBACK");
		PQclear(res);
	}
	pg_unpin(db);
}

static int
pg_commit(struct db *db)
{
	struct pg_db	*d = pg_db(db);
	PGresult	*res;
	int		 ok;

	if (d->pinned == NULL) {
		log_warnx("commit: no transaction is open");
		return -1;
	}
	res = PQexec(d->pinned->c, "COMMIT");
	/* A transaction that failed earlier answers ROLLBACK to COMMIT. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok) {
		(void)pg_fail(db, d->pinned, res, "commit");
		log_warnx("%s", d->err);
	}
	PQclear(res);
	if (!ok)
		pg_rollback(db);
	else
		pg_unpin(db);
	return ok ? 0 : -1;
}

static int
pg_lock(struct db *db, const char *key)
{
	struct pg_db	*d = pg_db(db);
	const char	*vals[1] = { key };
	PGresult	*res;
	int		 rc = 0;

	if (d->pinned == NULL) {
		log_warnx("db_lock: outside a transaction");
		return -1;
	}
	res = PQexecParams(d->pinned->c, "SELECT pg_advisory_xact_lock("
	    "hashtextextended($1, 0))", 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)pg_fail(db, d->pinned, res, "lock");
		log_warnx("%s", d->err);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static struct db_stmt *
pg_prepare(struct db *db, const char *sql)
{
	struct pg_db	*d = pg_db(db);
	struct pg_stmt	*s;
	uint32_t	 hash = db_text_hash(sql);
	int		 i;

	for (i = 0; i < d->ncache; i++) {
		s = d->cache[i];
		if (!s->in_use && s->hash == hash && strcmp(s->from, sql) == 0) {
			s->in_use = 1;
			return &s->head;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->head.db = db;
	s->hash = hash;
	if ((s->from = strdup(sql)) == NULL ||
	    (s->sql = db_sql_pg(sql, &s->nparams)) == NULL) {
		log_warnx("prepare: malformed SQL: %.60s", sql);
		free(s->from);
		free(s);
		return NULL;
	}
	if (s->nparams > 0 &&
	    ((s->vals = calloc((size_t)s->nparams, sizeof(*s->vals))) ==
	    NULL || (s->lens = calloc((size_t)s->nparams,
	    sizeof(*s->lens))) == NULL)) {
		free(s->vals);
		free(s->sql);
		free(s->from);
		free(s);
		return NULL;
	}
	s->in_use = 1;
	if (d->ncache < PG_CACHE) {
		s->cached = 1;
		d->cache[d->ncache++] = s;
	}
	return &s->head;
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt	*s = pg_st(st);

	PQclear(s->res);
	s->res = NULL;
	s->started = 0;
	s->row = -1;
	s->nrows = 0;
}

static void
pg_stmt_free(struct pg_stmt *s)
{
	int	i;

	pg_reset(&s->head);
	for (i = 0; i < s->nparams; i++)
		free(s->vals[i]);
	free(s->vals);
	free(s->lens);
	free(s->from);
	free(s->sql);
	free(s);
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt	*s = pg_st(st);
	int		 i;

	if (!s->cached) {
		pg_stmt_free(s);
		return;
	}
	pg_reset(st);
	for (i = 0; i < s->nparams; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
	}
	s->in_use = 0;
}

static int
pg_bind(struct db_stmt *st, int idx, const char *v, size_t len)
{
	struct pg_stmt	*s = pg_st(st);
	char		*copy = NULL;

	if (idx < 1 || idx > s->nparams)
		return DB_ERROR;
	if (v != NULL) {
		/* PostgreSQL text holds no NUL: what follows one is cut. */
		if ((copy = malloc(len + 1)) == NULL)
			return DB_ERROR;
		memcpy(copy, v, len);
		copy[len] = '\0';
	}
	free(s->vals[idx - 1]);
	s->vals[idx - 1] = copy;
	s->lens[idx - 1] = (int)len;
	return DB_OK;
}

static int
pg_bind_text(struct db_stmt *st, int idx, const char *v, size_t len)
{
	return pg_bind(st, idx, v, len);
}

static int
pg_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return pg_bind(st, idx, buf, strlen(buf));
}

static int
pg_bind_null(struct db_stmt *st, int idx)
{
	return pg_bind(st, idx, NULL, 0);
}

/* The name sql is prepared under on pc, preparing it if need be. */
static const char *
pg_prepared(struct db *db, struct pg_conn *pc, struct pg_stmt *s,
    int *rc)
{
	struct pg_prep	*p;
	PGresult	*res;
	int		 i;

	for (i = 0; i < pc->nprep; i++)
		if (pc->prep[i].hash == s->hash &&
		    strcmp(pc->prep[i].sql, s->sql) == 0)
			return pc->prep[i].name;
	if (pc->nprep == PG_PREPARED)
		return "";	/* the unnamed statement, prepared each time */
	p = &pc->prep[pc->nprep];
	snprintf(p->name, sizeof(p->name), "s%d", pc->nprep);
	res = PQprepare(pc->c, p->name, s->sql, s->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*rc = pg_fail(db, pc, res, "prepare");
		log_warnx("%s: %.80s", pg_db(db)->err, s->from);
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if ((p->sql = strdup(s->sql)) == NULL)
		return "";
	p->hash = s->hash;
	pc->nprep++;
	return p->name;
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt	*s = pg_st(st);
	struct db	*db = st->db;
	struct pg_conn	*pc;
	const char	*name;
	ExecStatusType	 status;
	int		 rc = DB_ERROR;

	if (!s->started) {
		if ((pc = pg_conn_for(db)) == NULL) {
			log_warnx("%s", pg_db(db)->err);
			return DB_ERROR;
		}
		if ((name = pg_prepared(db, pc, s, &rc)) == NULL) {
			pg_conn_done(db, pc);
			return rc;
		}
		if (*name == '\0')
			s->res = PQexecParams(pc->c, s->sql, s->nparams, NULL,
			    (const char *const *)s->vals, s->lens, NULL, 0);
		else
			s->res = PQexecPrepared(pc->c, name, s->nparams,
			    (const char *const *)s->vals, s->lens, NULL, 0);
		status = PQresultStatus(s->res);
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
			rc = pg_fail(db, pc, s->res, "");
			if (rc != DB_CONSTRAINT && rc != DB_BUSY)
				log_warnx("%s: %.80s", pg_db(db)->err,
				    s->from);
			pg_conn_done(db, pc);
			PQclear(s->res);
			s->res = NULL;
			return rc;
		}
		pg_conn_done(db, pc);
		pg_db(db)->changes = atoi(PQcmdTuples(s->res));
		s->nrows = status == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
		s->row = -1;
		s->started = 1;
	}
	if (s->row + 1 < s->nrows) {
		s->row++;
		return DB_ROW;
	}
	s->row = s->nrows;
	return DB_DONE;
}

static int
pg_has(struct pg_stmt *s, int i)
{
	return s->res != NULL && s->row >= 0 && s->row < s->nrows &&
	    i >= 0 && i < PQnfields(s->res) &&
	    !PQgetisnull(s->res, s->row, i);
}

static int64_t
pg_column_int64(struct db_stmt *st, int i)
{
	struct pg_stmt	*s = pg_st(st);
	const char	*v;

	if (!pg_has(s, i))
		return 0;
	v = PQgetvalue(s->res, s->row, i);
	if (PQftype(s->res, i) == PG_BOOLOID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *
pg_column_text(struct db_stmt *st, int i)
{
	struct pg_stmt	*s = pg_st(st);

	return pg_has(s, i) ? PQgetvalue(s->res, s->row, i) : NULL;
}

static size_t
pg_column_bytes(struct db_stmt *st, int i)
{
	struct pg_stmt	*s = pg_st(st);

	return pg_has(s, i) ? (size_t)PQgetlength(s->res, s->row, i) : 0;
}

static int
pg_column_null(struct db_stmt *st, int i)
{
	return !pg_has(pg_st(st), i);
}

static int
pg_changes(struct db *db)
{
	return pg_db(db)->changes;
}

static const char *
pg_errmsg(struct db *db)
{
	return pg_db(db)->err;
}

static int
pg_writable(struct db *db)
{
	struct db_stmt	*st;
	int		 ok = 0;

	if ((st = pg_prepare(db, "SELECT NOT pg_is_in_recovery()")) == NULL)
		return 0;
	if (pg_step(st) == DB_ROW)
		ok = pg_column_int64(st, 0) == 1;
	pg_finalize(st);
	return ok;
}

static int
pg_compact(struct db *db)
{
	(void)db;
	return 0;	/* the server's autovacuum reclaims erased rows */
}

static const char *
pg_version(struct db *db)
{
	struct pg_db	*d = pg_db(db);
	struct pg_conn	*pc;
	const char	*v;

	if (d->version[0] == '\0' && (pc = pg_conn_for(db)) != NULL) {
		v = PQparameterStatus(pc->c, "server_version");
		snprintf(d->version, sizeof(d->version), "PostgreSQL %s",
		    v != NULL ? v : "?");
		pg_conn_done(db, pc);
	}
	return d->version[0] != '\0' ? d->version : "PostgreSQL";
}

static void
pg_close(struct db *db)
{
	struct pg_db	*d = pg_db(db);
	int		 i;

	if (d->pinned != NULL) {
		log_warnx("db_close: a transaction was left open");
		pg_rollback(db);
	}
	for (i = 0; i < d->ncache; i++) {
		if (d->cache[i]->in_use)
			log_warnx("db_close: a statement still in use: %.80s",
			    d->cache[i]->from);
		pg_stmt_free(d->cache[i]);
	}
	free(d);
}

/* The schema's version (0: no schema yet), or -1 (logged). */
static int
pg_schema_version(struct db *db)
{
	struct db_stmt	*st;
	int		 v = -1;

	if ((st = pg_prepare(db, "SELECT CASE WHEN to_regclass("
	    "'schema_version') IS NULL THEN 0 ELSE 1 END")) == NULL)
		return -1;
	if (pg_step(st) == DB_ROW)
		v = (int)pg_column_int64(st, 0);
	pg_finalize(st);
	if (v != 1)
		return v;
	if ((st = pg_prepare(db, "SELECT max(version) FROM "
	    "schema_version")) == NULL)
		return -1;
	v = pg_step(st) == DB_ROW ? (int)pg_column_int64(st, 0) : -1;
	pg_finalize(st);
	return v;
}

/*
 * Create or migrate the schema, once per process.  A schema already at
 * this build's version is read and left (every extractor process opens
 * the database: it takes no lock for that); else under an advisory lock,
 * so nodes starting together apply it once.  0, or -1 (logged).
 */
static int
pg_migrate(struct db *db)
{
	char		 sql[128];
	int		 v, i;

	if (pool.migrated)
		return 0;
	if ((v = pg_schema_version(db)) == db_schema_version()) {
		pool.migrated = 1;
		return 0;
	}
	if (v == -1) {
		log_warnx("database: %s", pg_db(db)->err);
		return -1;
	}
	if (pg_begin(db, db->wait_ms) != 0) {
		log_warnx("database: %s", pg_db(db)->err);
		return -1;
	}
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)",
	    PG_MIGRATE_LOCK);
	/* Read again inside the lock: another node may have migrated. */
	if (pg_exec(db, sql, "migrate") == -1 ||
	    (v = pg_schema_version(db)) == -1)
		goto out;
	if (v > db_schema_version()) {
		log_warnx("database schema %d is newer than this program's %d",
		    v, db_schema_version());
		goto out;
	}
	for (i = 0; i < db_pg_n_migrations; i++) {
		if (db_pg_migrations[i].version <= v)
			continue;
		if (pg_exec(db, db_pg_migrations[i].sql, "migrate") == -1)
			goto out;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %d", db_pg_migrations[i].version);
		if (pg_exec(db, sql, "migrate") == -1)
			goto out;
		log_info("database migrated to schema %d",
		    db_pg_migrations[i].version);
	}
	if (pg_commit(db) == -1)
		return -1;
	pool.migrated = 1;
	return 0;
out:
	pg_rollback(db);
	return -1;
}

static const struct db_ops pg_ops = {
	pg_close, pg_exec, pg_begin, pg_begin_read, pg_lock, pg_commit,
	pg_rollback, pg_prepare, pg_finalize, pg_reset, pg_bind_text,
	pg_bind_int64, pg_bind_null, pg_step, pg_column_int64,
	pg_column_text, pg_column_bytes, pg_column_null, pg_changes,
	pg_errmsg, pg_writable, pg_compact, pg_version,
};

struct db *
db_pg_open(const char *uri, long busy_timeout_ms)
{
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;
	struct pg_db		*d;
	struct db		*db;

	pthread_once(&once, db_pg_once);
	pthread_mutex_lock(&pool.mu);
	if (pool.uri == NULL || strcmp(pool.uri, uri) != 0) {
		if (pool.open > 0) {
			pthread_mutex_unlock(&pool.mu);
			log_warnx("database: one PostgreSQL database per "
			    "process");
			return NULL;
		}
		free(pool.uri);
		if ((pool.uri = strdup(uri)) == NULL) {
			pthread_mutex_unlock(&pool.mu);
			return NULL;
		}
		pool.migrated = 0;
	}
	pthread_mutex_unlock(&pool.mu);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	db = &d->head;
	db->ops = &pg_ops;
	db->engine = DB_POSTGRES;
	db->wait_ms = busy_timeout_ms;
	if (pg_migrate(db) == -1) {
		pg_close(db);
		return NULL;
	}
	return db;
}
#endif /* INTAKE_NO_POSTGRES */
