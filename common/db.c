/*
 * db.c: the one entrance to the database, whichever engine is behind it.
 *
 * INTAKE_DB picks the engine (db_engine_of); from then on every call goes
 * to that engine's table of operations (db_impl.h): db_sqlite.c for a
 * file, db_pg.c for a PostgreSQL URI.  What is the same on both lives
 * here.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "db_impl.h"
#include "log.h"

enum db_engine
db_engine_of(const char *uri)
{
	if (uri != NULL && (strncasecmp(uri, "postgresql://", 13) == 0 ||
	    strncasecmp(uri, "postgres://", 11) == 0))
		return DB_POSTGRES;
	return DB_SQLITE;
}

uint32_t
db_text_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int
db_schema_version(void)
{
	return db_migrations[db_n_migrations - 1].version;
}

struct db *
db_open(const char *uri, long busy_timeout_ms)
{
	if (db_engine_of(uri) == DB_POSTGRES)
		return db_pg_open(uri, busy_timeout_ms);
	return db_sqlite_open(uri, busy_timeout_ms);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->engine;
}

int
db_unavailable(const struct db *db)
{
	return db != NULL && db->unavailable;
}

int
db_writable(struct db *db)
{
	return db->ops->writable(db);
}

int
db_begin_within(struct db *db, long wait_ms)
{
	return db->ops->begin(db, wait_ms > 0 ? wait_ms : 0);
}

int
db_try_begin(struct db *db)
{
	return db_begin_within(db, 0);
}

int
db_begin(struct db *db)
{
	switch (db->ops->begin(db, db->wait_ms)) {
	case 0:
		return 0;
	case 1:
		log_warnx("begin: the database stayed locked for %ld ms",
		    db->wait_ms);
		return -1;
	default:
		return -1;
	}
}

int
db_begin_read(struct db *db)
{
	return db->ops->begin_read(db);
}

int
db_lock(struct db *db, const char *key)
{
	return db->ops->lock(db, key);
}

int
db_begin_for(struct db *db, const char *what, const char *key)
{
	char	buf[256];

	if (db_begin(db) == -1)
		return -1;
	if (db->engine == DB_SQLITE)
		return 0;	/* BEGIN IMMEDIATE: the one write lock */
	snprintf(buf, sizeof(buf), "%s:%s", what, key != NULL ? key : "");
	if (db_lock(db, buf) == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
db_commit(struct db *db)
{
	return db->ops->commit(db);
}

void
db_rollback(struct db *db)
{
	db->ops->rollback(db);
}

int
db_exec(struct db *db, const char *sql, const char *what)
{
	return db->ops->exec(db, sql, what);
}

struct db_stmt *
db_prepare(struct db *db, const char *sql)
{
	return db->ops->prepare(db, sql);
}

void
db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

void
db_reset(struct db_stmt *st)
{
	st->db->ops->reset(st);
}

int
db_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
	if (s == NULL)
		return st->db->ops->bind_null(st, idx);
	if (len == (size_t)-1)
		len = strlen(s);
	if (len > 0x7fffffff)
		return DB_TOOBIG;	/* never cut, never wrapped */
	return st->db->ops->bind_text(st, idx, s, len);
}

int
db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return st->db->ops->bind_int64(st, idx, v);
}

int
db_bind_null(struct db_stmt *st, int idx)
{
	return st->db->ops->bind_null(st, idx);
}

int
db_step(struct db_stmt *st)
{
	return st->db->ops->step(st);
}

int64_t
db_column_int64(struct db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

int
db_column_int(struct db_stmt *st, int i)
{
	return (int)st->db->ops->column_int64(st, i);
}

const char *
db_column_text(struct db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

size_t
db_column_bytes(struct db_stmt *st, int i)
{
	return st->db->ops->column_bytes(st, i);
}

int
db_column_null(struct db_stmt *st, int i)
{
	return st->db->ops->column_null(st, i);
}

int
db_changes(struct db *db)
{
	return db->ops->changes(db);
}

const char *
db_errmsg(struct db *db)
{
	return db->ops->errmsg(db);
}

int
db_compact(struct db *db)
{
	return db->ops->compact(db);
}

const char *
db_version(struct db *db)
{
	return db->ops->version(db);
}

json_t *
db_json_rows(struct db *db, const char *sql, const char *arg,
    json_t *(*row)(struct db_stmt *))
{
	struct db_stmt	*st;
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
	while ((step = db_step(st)) == DB_ROW)
		if ((e = row(st)) == NULL ||
		    json_array_append_new(arr, e) == -1) {
			step = DB_ERROR;
			break;
		}
	db_finalize(st);
	if (step != DB_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
