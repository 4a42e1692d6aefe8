/*
 * ratelimit.c: the sliding window of limit_rules.c, counted in SQLite so that
 * it holds across every process and thread (and every plain CGI request).
 *
 * One row per admitted request, in one BEGIN IMMEDIATE with the count
 * that admitted it: the rows of this address and kind older than the
 * window go, the rest are counted, and a request under the limit adds its
 * own row.  An address seen for the first time in a minute also sweeps
 * every address's expired rows, so the table holds about a minute of
 * traffic.  A refused request writes nothing.
 */
#include "db.h"
#include "limit_rules.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"

/* Run st (bound) to its end.  0, or -1. */
static int
ratelimit_step(struct db_stmt *st)
{
	int	rc;

	while ((rc = db_step(st)) == DB_ROW)
		;
	return rc == DB_DONE ? 0 : -1;
}

int
ratelimit_hit(struct db *db, const char *addr, const char *kind, long limit,
    int *retry_after)
{
	struct db_stmt	*st = NULL;
	char		 key[LIMIT_ADDR_MAX];
	int64_t		 now = util_wall_ms(), expire_at = 0;
	int64_t		 since = now - LIMIT_WINDOW_MS;
	long		 count = 0;
	int		 rc = -1, over = 0;

	*retry_after = 0;
	if (limit <= 0)
		return 0;
	limit_addr_key(addr, key);
	if (db_begin_for(db, kind, key) == -1)
		return -1;
	if ((st = db_prepare(db, "DELETE FROM rate_limits WHERE addr = ? AND "
	    "kind = ? AND at_ms <= ?")) == NULL)
		goto out;
	db_bind_text(st, 1, key, -1);
	db_bind_text(st, 2, kind, -1);
	db_bind_int64(st, 3, since);
	if (ratelimit_step(st) == -1)
		goto out;
	db_finalize(st);
	if ((st = db_prepare(db, "SELECT count(*) FROM rate_limits WHERE "
	    "addr = ? AND kind = ?")) == NULL)
		goto out;
	db_bind_text(st, 1, key, -1);
	db_bind_text(st, 2, kind, -1);
	if (db_step(st) != DB_ROW)
		goto out;
	count = (long)db_column_int64(st, 0);
	db_finalize(st);
	st = NULL;
	if (count >= limit) {
		/* The admission that must leave the window first. */
		if ((st = db_prepare(db, "SELECT at_ms FROM rate_limits WHERE "
		    "addr = ? AND kind = ? ORDER BY at_ms LIMIT 1 OFFSET ?"))
		    == NULL)
			goto out;
		db_bind_text(st, 1, key, -1);
		db_bind_text(st, 2, kind, -1);
		db_bind_int64(st, 3, count - limit);
		if (db_step(st) != DB_ROW)
			goto out;
		expire_at = db_column_int64(st, 0);
		db_finalize(st);
		st = NULL;
	}
	if ((over = limit_rate(count, expire_at, now, limit, retry_after))
	    == 0) {
		if ((st = db_prepare(db, "INSERT INTO rate_limits (addr, kind, "
		    "at_ms) VALUES (?, ?, ?)")) == NULL)
			goto out;
		db_bind_text(st, 1, key, -1);
		db_bind_text(st, 2, kind, -1);
		db_bind_int64(st, 3, now);
		if (ratelimit_step(st) == -1)
			goto out;
		db_finalize(st);
		st = NULL;
	}
	if (count == 0) {
		if ((st = db_prepare(db, "DELETE FROM rate_limits WHERE "
		    "at_ms <= ?")) == NULL)
			goto out;
		db_bind_int64(st, 1, since);
		if (ratelimit_step(st) == -1)
			goto out;
	}
	rc = 0;
out:
	db_finalize(st);
	if (rc == -1) {
		log_warnx("ratelimit: %s", db_errmsg(db));
		db_rollback(db);
		*retry_after = 0;
		return -1;
	}
	if (db_commit(db) == -1) {
		*retry_after = 0;
		return -1;
	}
	return over;
}
