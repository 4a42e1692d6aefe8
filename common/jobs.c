/*
 * jobs.c: the job table's transitions.  Each is one short BEGIN
 * IMMEDIATE transaction (or a statement inside the caller's), so two
 * extractors, the web program and a cron sweep can all work the table at
 * once without a job being run twice at the same time or lost.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "util.h"

#define NOW_SQL	"strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* Run one bound statement to completion; changes, or -1. */
static int
jobs_step(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int	rc = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db);
	else
		log_warnx("%s: %s", what, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int
jobs_add(sqlite3 *db, const char *conv_id, int turn)
{
	sqlite3_stmt	*st;

	st = db_prepare(db, "INSERT OR IGNORE INTO jobs (conversation_id, "
	    "turn, state, created_at, updated_at) VALUES (?, ?, 'pending', "
	    NOW_SQL ", " NOW_SQL ")");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	sqlite3_bind_int(st, 2, turn);
	return jobs_step(db, st, "jobs_add") == -1 ? -1 : 0;
}

/* Inside a transaction: how many jobs run now, or -1. */
static int
jobs_running(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 n = -1;

	if ((st = db_prepare(db, "SELECT count(*) FROM jobs "
	    "WHERE state = 'running'")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Step st, an UPDATE … RETURNING id, conversation_id, turn, tries that
 * changes at most one job, and fill j from it.  1 with j filled, 0 when
 * it changed none, -1 on error (logged with what).
 */
static int
jobs_returning(sqlite3 *db, sqlite3_stmt *st, struct job *j,
    const char *what)
{
	const char	*conv;

	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		j->id = sqlite3_column_int64(st, 0);
		if ((conv = (const char *)sqlite3_column_text(st, 1)) == NULL) {
			log_warnx("%s: job %lld has no conversation", what,
			    (long long)j->id);
			return -1;
		}
		snprintf(j->conv_id, sizeof(j->conv_id), "%s", conv);
		j->turn = sqlite3_column_int(st, 2);
		j->tries = sqlite3_column_int(st, 3);
		return sqlite3_step(st) == SQLITE_DONE ? 1 : -1;
	case SQLITE_DONE:
		return 0;
	default:
		log_warnx("%s: %s", what, sqlite3_errmsg(db));
		return -1;
	}
}

/*
 * The claim both ways share: in one BEGIN IMMEDIATE, if fewer than cap
 * jobs run, step st (an UPDATE … RETURNING id, conversation_id, turn,
 * tries, already bound) and fill j.  st is finalized.  1 claimed, 0 cap
 * full or nothing to claim, -1 on error.
 */
static int	jobs_reclaim_locked(sqlite3 *, long);

static int
jobs_claim(sqlite3 *db, sqlite3_stmt *st, long cap, long stale_ms,
    struct job *j, const char *what)
{
	int	n, rc = -1;

	memset(j, 0, sizeof(*j));
	if (st == NULL)
		return -1;
	if (db_begin(db) == -1) {
		sqlite3_finalize(st);
		return -1;
	}
	if ((n = jobs_running(db)) == -1)
		goto out;
	/*
	 * The cap looks full: some of its slots may be held by extractors
	 * that died (a restart, a kill).  Give those back first, or with no
	 * sweep running no extractor would ever start again.
	 */
	if (n >= cap && jobs_reclaim_locked(db, stale_ms) > 0 &&
	    (n = jobs_running(db)) == -1)
		goto out;
	if (n >= cap) {
		rc = 0;
		goto out;
	}
	rc = jobs_returning(db, st, j, what);
out:
	sqlite3_finalize(st);
	if (rc == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) == -1 ? -1 : rc;
}

int
jobs_claim_turn(sqlite3 *db, const char *conv_id, int turn, long cap,
    long stale_ms, int64_t *id)
{
	sqlite3_stmt	*st;
	struct job	 j;
	int		 rc;

	st = db_prepare(db, "UPDATE jobs SET state = 'running', pid = NULL, "
	    "claimed_at = ?, tries = tries + 1, updated_at = " NOW_SQL
	    " WHERE conversation_id = ? AND turn = ? AND state = 'pending' "
	    "RETURNING id, conversation_id, turn, tries");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, util_wall_ms());
		db_bind_text(st, 2, conv_id, -1);
		sqlite3_bind_int(st, 3, turn);
	}
	rc = jobs_claim(db, st, cap, stale_ms, &j, "jobs_claim_turn");
	*id = j.id;
	return rc;
}

int
jobs_unclaim(sqlite3 *db, int64_t id)
{
	sqlite3_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'pending', pid = NULL, "
	    "tries = max(tries - 1, 0), updated_at = " NOW_SQL
	    " WHERE id = ? AND state = 'running'");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return jobs_step(db, st, "jobs_unclaim") == -1 ? -1 : 0;
}

int
jobs_attach(sqlite3 *db, int64_t id, long pid, int64_t start, struct job *j)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(j, 0, sizeof(*j));
	st = db_prepare(db, "UPDATE jobs SET pid = ?, pid_start = ?, "
	    "updated_at = " NOW_SQL " WHERE id = ? AND state = 'running' AND "
	    "(pid IS NULL OR pid = ?1) RETURNING id, conversation_id, turn, "
	    "tries");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, id);
	rc = jobs_returning(db, st, j, "jobs_attach");
	sqlite3_finalize(st);
	return rc;
}

int
jobs_claim_next(sqlite3 *db, long pid, int64_t start, long cap,
    long stale_ms, struct job *j)
{
	sqlite3_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'running', pid = ?, "
	    "pid_start = ?, claimed_at = ?, tries = tries + 1, updated_at = "
	    NOW_SQL " WHERE id = (SELECT id FROM jobs WHERE state = 'pending' "
	    "ORDER BY id LIMIT 1) RETURNING id, conversation_id, turn, tries");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int64(st, 2, start);
		sqlite3_bind_int64(st, 3, util_wall_ms());
	}
	return jobs_claim(db, st, cap, stale_ms, j, "jobs_claim_next");
}

int
jobs_done(sqlite3 *db, int64_t id)
{
	sqlite3_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'done', error = NULL, "
	    "updated_at = " NOW_SQL " WHERE id = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return jobs_step(db, st, "jobs_done") == -1 ? -1 : 0;
}

int
jobs_fail(sqlite3 *db, int64_t id, const char *error)
{
	sqlite3_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'failed', error = ?, "
	    "updated_at = " NOW_SQL " WHERE id = ?");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, error, -1);
	sqlite3_bind_int64(st, 2, id);
	return jobs_step(db, st, "jobs_fail") == -1 ? -1 : 0;
}

/*
 * Inside a write transaction: running jobs whose extractor is gone (a
 * dead or zombie pid, or never attached within stale_ms) go back to
 * pending.  Returns how many, or -1.
 */
static int
jobs_reclaim_locked(sqlite3 *db, long stale_ms)
{
	sqlite3_stmt	*st = NULL, *up = NULL;
	int64_t		 now = util_wall_ms(), claimed, id;
	int		 n = 0, step;
	long		 pid;

	st = db_prepare(db, "SELECT id, pid, pid_start, claimed_at FROM jobs "
	    "WHERE state = 'running'");
	up = db_prepare(db, "UPDATE jobs SET state = 'pending', pid = NULL, "
	    "updated_at = " NOW_SQL " WHERE id = ?");
	if (st == NULL || up == NULL)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		pid = (long)sqlite3_column_int64(st, 1);
		claimed = sqlite3_column_int64(st, 3);
		if (pid > 0 ? util_pid_alive(pid, sqlite3_column_int64(st, 2)) :
		    now - claimed <= stale_ms)
			continue;
		log_info("job %lld: its extractor is gone; pending again",
		    (long long)id);
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, id);
		if (sqlite3_step(up) != SQLITE_DONE)
			goto fail;
		n++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return n;
fail:
	log_warnx("jobs_reclaim: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return -1;
}

int
jobs_reclaim(sqlite3 *db, long stale_ms, int retry_failed)
{
	sqlite3_stmt	*st = NULL;
	int		 n;

	if (db_begin(db) == -1)
		return -1;
	if ((n = jobs_reclaim_locked(db, stale_ms)) == -1)
		goto fail;
	if (!retry_failed)
		return db_commit(db) == -1 ? -1 : n;
	st = db_prepare(db, "UPDATE jobs SET state = 'pending', updated_at = "
	    NOW_SQL " WHERE state = 'failed' AND tries < ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int(st, 1, JOBS_TRIES_MAX);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("jobs_reclaim: %s", sqlite3_errmsg(db));
		goto fail;
	}
	n += sqlite3_changes(db);
	sqlite3_finalize(st);
	return db_commit(db) == -1 ? -1 : n;
fail:
	sqlite3_finalize(st);
	db_rollback(db);
	return -1;
}

int
jobs_stranded(sqlite3 *db, long settle_ms)
{
	sqlite3_stmt	*st;
	char		 before[32];
	int		 n = -1;

	/*
	 * A job is the writer's to claim right after its reply ends: only
	 * one pending for longer than settle_ms, whose reply is not being
	 * written, is nobody's.
	 */
	util_iso_time(util_wall_ms() - settle_ms, before, sizeof(before));
	if ((st = db_prepare(db, "SELECT count(*) FROM jobs j WHERE "
	    "j.state = 'pending' AND j.updated_at < ? AND NOT EXISTS "
	    "(SELECT 1 FROM messages m WHERE m.conversation_id = "
	    "j.conversation_id AND m.turn = j.turn AND m.role = 'assistant' "
	    "AND m.status = 'streaming')")) == NULL)
		return -1;
	db_bind_text(st, 1, before, -1);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	else
		log_warnx("jobs_stranded: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return n;
}

int
jobs_nrunning(sqlite3 *db)
{
	return jobs_running(db);
}
