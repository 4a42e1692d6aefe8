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

/*
 * A job running on another node is judged by its age alone (its pid
 * means nothing here): one older than this is that node's extractor
 * gone, and runs again (a merge twice is harmless; a job lost is not).
 */
#define JOBS_REMOTE_MS	(10 * 60 * 1000)


/* Run one bound statement to completion; changes, or -1. */
static int
jobs_step(struct db *db, struct db_stmt *st, const char *what)
{
	int	rc = -1;

	if (st == NULL)
		return -1;
	if (db_step(st) == DB_DONE)
		rc = db_changes(db);
	else
		log_warnx("%s: %s", what, db_errmsg(db));
	db_finalize(st);
	return rc;
}

int
jobs_add(struct db *db, const char *conv_id, int turn)
{
	struct db_stmt	*st;

	st = db_prepare(db, "INSERT INTO jobs (conversation_id, turn, "
	    "state, created_at, updated_at) VALUES (?, ?, 'pending', "
	    DB_NOW ", " DB_NOW ") ON CONFLICT DO NOTHING");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, turn);
	return jobs_step(db, st, "jobs_add") == -1 ? -1 : 0;
}

/* Inside a transaction: how many jobs run now, or -1. */
static int
jobs_running(struct db *db)
{
	struct db_stmt	*st;
	int		 n = -1;

	if ((st = db_prepare(db, "SELECT count(*) FROM jobs "
	    "WHERE state = 'running' AND (node IS NULL OR node = ?)")) == NULL)
		return -1;
	db_bind_text(st, 1, util_node(), -1);
	if (db_step(st) == DB_ROW)
		n = db_column_int(st, 0);
	db_finalize(st);
	return n;
}

/*
 * Step st, an UPDATE … RETURNING id, conversation_id, turn, tries that
 * changes at most one job, and fill j from it.  1 with j filled, 0 when
 * it changed none, -1 on error (logged with what).
 */
static int
jobs_returning(struct db *db, struct db_stmt *st, struct job *j,
    const char *what)
{
	const char	*conv;

	switch (db_step(st)) {
	case DB_ROW:
		j->id = db_column_int64(st, 0);
		if ((conv = db_column_text(st, 1)) == NULL) {
			log_warnx("%s: job %lld has no conversation", what,
			    (long long)j->id);
			return -1;
		}
		snprintf(j->conv_id, sizeof(j->conv_id), "%s", conv);
		j->turn = db_column_int(st, 2);
		j->tries = db_column_int(st, 3);
		return db_step(st) == DB_DONE ? 1 : -1;
	case DB_DONE:
		return 0;
	default:
		log_warnx("%s: %s", what, db_errmsg(db));
		return -1;
	}
}

/*
 * The claim both ways share: in one BEGIN IMMEDIATE, if fewer than cap
 * jobs run, step st (an UPDATE … RETURNING id, conversation_id, turn,
 * tries, already bound) and fill j.  st is finalized.  1 claimed, 0 cap
 * full or nothing to claim, -1 on error.
 */
static int	jobs_reclaim_locked(struct db *, long);

static int
jobs_claim(struct db *db, struct db_stmt *st, long cap, long stale_ms,
    struct job *j, const char *what)
{
	int	n, rc = -1;

	memset(j, 0, sizeof(*j));
	if (st == NULL)
		return -1;
	if (db_begin_for(db, "jobs", util_node()) == -1) {
		db_finalize(st);
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
	db_finalize(st);
	if (rc == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) == -1 ? -1 : rc;
}

/* A claim's 1 / 0 / -1 (jobs_claim, jobs_returning) as the callers'. */
static enum claim_rc
jobs_claim_rc(int rc)
{
	return rc == 1 ? CLAIMED : rc == 0 ? CLAIM_NONE : CLAIM_ERROR;
}

enum claim_rc
jobs_claim_turn(struct db *db, const char *conv_id, int turn, long cap,
    long stale_ms, int64_t *id)
{
	struct db_stmt	*st;
	struct job	 j;
	int		 rc;

	st = db_prepare(db, "UPDATE jobs SET state = 'running', pid = NULL, "
	    "claimed_at = ?, tries = tries + 1, updated_at = " DB_NOW
	    ", node = ? WHERE conversation_id = ? AND turn = ? AND "
	    "state = 'pending' RETURNING id, conversation_id, turn, tries");
	if (st != NULL) {
		db_bind_int64(st, 1, util_wall_ms());
		db_bind_text(st, 2, util_node(), -1);
		db_bind_text(st, 3, conv_id, -1);
		db_bind_int64(st, 4, turn);
	}
	rc = jobs_claim(db, st, cap, stale_ms, &j, "jobs_claim_turn");
	*id = j.id;
	return jobs_claim_rc(rc);
}

int
jobs_unclaim(struct db *db, int64_t id)
{
	struct db_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'pending', pid = NULL, "
	    "tries = CASE WHEN tries > 0 THEN tries - 1 ELSE 0 END, "
	    "updated_at = " DB_NOW
	    " WHERE id = ? AND state = 'running'");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, id);
	return jobs_step(db, st, "jobs_unclaim") == -1 ? -1 : 0;
}

enum claim_rc
jobs_attach(struct db *db, int64_t id, long pid, int64_t start, struct job *j)
{
	struct db_stmt	*st;
	int		 rc;

	memset(j, 0, sizeof(*j));
	st = db_prepare(db, "UPDATE jobs SET pid = ?, pid_start = ?, "
	    "updated_at = " DB_NOW " WHERE id = ? AND state = 'running' AND "
	    "(pid IS NULL OR pid = ?1) RETURNING id, conversation_id, turn, "
	    "tries");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, pid);
	db_bind_int64(st, 2, start);
	db_bind_int64(st, 3, id);
	rc = jobs_returning(db, st, j, "jobs_attach");
	db_finalize(st);
	return jobs_claim_rc(rc);
}

enum claim_rc
jobs_claim_next(struct db *db, long pid, int64_t start, long cap,
    long stale_ms, struct job *j)
{
	struct db_stmt	*st;

#define NEXT_SQL(lock) "UPDATE jobs SET state = 'running', pid = ?, " \
	    "pid_start = ?, claimed_at = ?, tries = tries + 1, updated_at = " \
	    DB_NOW ", node = ? WHERE id = (SELECT id FROM jobs WHERE " \
	    "state = 'pending' ORDER BY id LIMIT 1" lock ") AND " \
	    "state = 'pending' RETURNING id, conversation_id, turn, tries"
	st = db_prepare(db, db_engine(db) == DB_POSTGRES ?
	    NEXT_SQL(DB_SKIP_LOCKED) : NEXT_SQL(""));
#undef NEXT_SQL
	if (st != NULL) {
		db_bind_int64(st, 1, pid);
		db_bind_int64(st, 2, start);
		db_bind_int64(st, 3, util_wall_ms());
		db_bind_text(st, 4, util_node(), -1);
	}
	return jobs_claim_rc(jobs_claim(db, st, cap, stale_ms, j,
	    "jobs_claim_next"));
}

int
jobs_done(struct db *db, int64_t id)
{
	struct db_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'done', error = NULL, "
	    "updated_at = " DB_NOW " WHERE id = ?");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, id);
	return jobs_step(db, st, "jobs_done") == -1 ? -1 : 0;
}

int
jobs_fail(struct db *db, int64_t id, const char *error)
{
	struct db_stmt	*st;

	st = db_prepare(db, "UPDATE jobs SET state = 'failed', error = ?, "
	    "updated_at = " DB_NOW " WHERE id = ?");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, error, -1);
	db_bind_int64(st, 2, id);
	return jobs_step(db, st, "jobs_fail") == -1 ? -1 : 0;
}

/*
 * Inside a write transaction: running jobs whose extractor is gone (a
 * dead or zombie pid, or never attached within stale_ms) go back to
 * pending.  Returns how many, or -1.
 */
static int
jobs_reclaim_locked(struct db *db, long stale_ms)
{
	struct db_stmt	*st = NULL, *up = NULL;
	int64_t		 now = util_wall_ms(), claimed, id;
	int		 n = 0, step;
	long		 pid;

	st = db_prepare(db, "SELECT id, pid, pid_start, claimed_at, "
	    "(node IS NULL OR node = ?) FROM jobs WHERE state = 'running'");
	up = db_prepare(db, "UPDATE jobs SET state = 'pending', pid = NULL, "
	    "updated_at = " DB_NOW " WHERE id = ?");
	if (st == NULL || up == NULL)
		goto fail;
	db_bind_text(st, 1, util_node(), -1);
	while ((step = db_step(st)) == DB_ROW) {
		id = db_column_int64(st, 0);
		pid = (long)db_column_int64(st, 1);
		claimed = db_column_int64(st, 3);
		/* Another node's extractor: only time says it is gone. */
		if (!db_column_int(st, 4) ? now - claimed <= JOBS_REMOTE_MS :
		    pid > 0 ? util_pid_alive(pid, db_column_int64(st, 2)) :
		    now - claimed <= stale_ms)
			continue;
		log_info("job %lld: its extractor is gone; pending again",
		    (long long)id);
		db_reset(up);
		db_bind_int64(up, 1, id);
		if (db_step(up) != DB_DONE)
			goto fail;
		n++;
	}
	if (step != DB_DONE)
		goto fail;
	db_finalize(st);
	db_finalize(up);
	return n;
fail:
	log_warnx("jobs_reclaim: %s", db_errmsg(db));
	db_finalize(st);
	db_finalize(up);
	return -1;
}

int
jobs_reclaim(struct db *db, long stale_ms, int retry_failed)
{
	struct db_stmt	*st = NULL;
	int		 n;

	if (db_begin(db) == -1)
		return -1;
	if ((n = jobs_reclaim_locked(db, stale_ms)) == -1)
		goto fail;
	if (!retry_failed)
		return db_commit(db) == -1 ? -1 : n;
	st = db_prepare(db, "UPDATE jobs SET state = 'pending', updated_at = "
	    DB_NOW " WHERE state = 'failed' AND tries < ?");
	if (st == NULL)
		goto fail;
	db_bind_int64(st, 1, JOBS_TRIES_MAX);
	if (db_step(st) != DB_DONE) {
		log_warnx("jobs_reclaim: %s", db_errmsg(db));
		goto fail;
	}
	n += db_changes(db);
	db_finalize(st);
	return db_commit(db) == -1 ? -1 : n;
fail:
	db_finalize(st);
	db_rollback(db);
	return -1;
}

int
jobs_stranded(struct db *db, long settle_ms)
{
	struct db_stmt	*st;
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
	if (db_step(st) == DB_ROW)
		n = db_column_int(st, 0);
	else
		log_warnx("jobs_stranded: %s", db_errmsg(db));
	db_finalize(st);
	return n;
}

int
jobs_nrunning(struct db *db)
{
	return jobs_running(db);
}
