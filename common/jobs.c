/*
 * jobs.c: the job table's transitions.  Each is one short BEGIN
 * IMMEDIATE transaction (or a statement inside the caller's), so two
 * extractors, the web program and a cron sweep can all work the table at
 * once without a job being run twice at the same time or lost.  What
 * counts toward a node's cap (running jobs, waiting extractors) grows,
 * and a waiting extractor is handed a job or leaves, only under that
 * node's jobs lock, which on SQLite is the write lock itself.
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

/*
 * Inside a transaction: how many extractors this node counts, jobs
 * running and extractors waiting, leaving out the waiting extractor pid
 * (0: none), which asks for itself.  -1 on error.
 */
static int
jobs_running(struct db *db, long pid)
{
	struct db_stmt	*st;
	int		 n = -1;

	if ((st = db_prepare(db, "SELECT (SELECT count(*) FROM jobs "
	    "WHERE state = 'running' AND (node IS NULL OR node = ?1)) + "
	    "(SELECT count(*) FROM extractors WHERE node = ?1 AND "
	    "pid <> ?2)")) == NULL)
		return -1;
	db_bind_text(st, 1, util_node(), -1);
	db_bind_int64(st, 2, pid);
	if (db_step(st) == DB_ROW)
		n = db_column_int(st, 0);
	db_finalize(st);
	return n;
}

/*
 * Step st, an UPDATE … RETURNING id, conversation_id, turn, tries that
 * changes at most one job (or a SELECT of those columns, LIMIT 1), and
 * fill j from it.  1 with j filled, 0 when it changed none, -1 on error
 * (logged with what).
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

/* A claim's 1 / 0 / -1 (jobs_returning) as the callers'. */
static enum claim_rc
jobs_claim_rc(int rc)
{
	return rc == 1 ? CLAIMED : rc == 0 ? CLAIM_NONE : CLAIM_ERROR;
}

static int	jobs_reclaim_locked(struct db *, long);

/*
 * Inside the node's jobs lock: 1 when fewer than cap extractors are
 * counted (pid left out, as jobs_running), 0 when the cap is full, -1 on
 * error.
 */
static int
jobs_under_cap(struct db *db, long pid, long cap, long stale_ms)
{
	int	n;

	if ((n = jobs_running(db, pid)) == -1)
		return -1;
	/*
	 * The cap looks full: some of its slots may be held by extractors
	 * that died (a restart, a kill).  Give those back first, or with no
	 * sweep running no extractor would ever start again.
	 */
	if (n >= cap && (jobs_reclaim_locked(db, stale_ms) == -1 ||
	    (n = jobs_running(db, pid)) == -1))
		return -1;
	return n < cap;
}

/*
 * Inside the node's jobs lock: the pid of the extractor that began to
 * wait last on this node and still lives (*start its start), striking
 * off the dead ones met; 0 when none waits, -1 on error.
 */
static long
jobs_waiting(struct db *db, int64_t *start)
{
	struct db_stmt	*st, *del;
	long		 pid;
	int		 step, i;

	/* Bounded: a dead one is struck off, so each try finds another. */
	for (i = 0; i < 64; i++) {
		if ((st = db_prepare(db, "SELECT pid, pid_start FROM "
		    "extractors WHERE node = ? ORDER BY since DESC, pid "
		    "LIMIT 1")) == NULL)
			return -1;
		db_bind_text(st, 1, util_node(), -1);
		if ((step = db_step(st)) != DB_ROW) {
			db_finalize(st);
			if (step == DB_DONE)
				return 0;
			log_warnx("jobs_waiting: %s", db_errmsg(db));
			return -1;
		}
		pid = (long)db_column_int64(st, 0);
		*start = db_column_int64(st, 1);
		db_finalize(st);
		if (pid > 0 && util_pid_alive(pid, *start))
			return pid;
		log_info("extractor %ld: gone while it waited for a job", pid);
		if ((del = db_prepare(db, "DELETE FROM extractors WHERE "
		    "node = ? AND pid = ?")) == NULL)
			return -1;
		db_bind_text(del, 1, util_node(), -1);
		db_bind_int64(del, 2, pid);
		if (jobs_step(db, del, "jobs_waiting") == -1)
			return -1;
	}
	return 0;
}

/* Inside the node's jobs lock: pid waits no more.  0, or -1. */
static int
jobs_unwait(struct db *db, long pid)
{
	struct db_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM extractors WHERE node = ? AND "
	    "pid = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, util_node(), -1);
	db_bind_int64(st, 2, pid);
	return jobs_step(db, st, "jobs_unwait") == -1 ? -1 : 0;
}

/* 1 when the turn's job is pending, 0 when not (or none), -1. */
static int
jobs_pending(struct db *db, const char *conv_id, int turn)
{
	struct db_stmt	*st;
	int		 step, rc = -1;

	if ((st = db_prepare(db, "SELECT state = 'pending' FROM jobs WHERE "
	    "conversation_id = ? AND turn = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, turn);
	if ((step = db_step(st)) == DB_ROW)
		rc = db_column_int(st, 0);
	else if (step == DB_DONE)
		rc = 0;
	else
		log_warnx("jobs_pending: %s", db_errmsg(db));
	db_finalize(st);
	return rc;
}

enum claim_rc
jobs_claim_turn(struct db *db, const char *conv_id, int turn, long cap,
    long stale_ms, int64_t *id, long *handed)
{
	struct db_stmt	*st = NULL;
	struct job	 j;
	int64_t		 start = 0;
	long		 pid;
	int		 rc = -1;

	*id = 0;
	*handed = 0;
	memset(&j, 0, sizeof(j));
	/*
	 * Under load a running extractor has often taken the job already
	 * (jobs_next): a read says so without the write lock.  Once taken
	 * a job is pending again only when its extractor died, and then
	 * the maintenance round or the sweep runs it.
	 */
	if ((rc = jobs_pending(db, conv_id, turn)) != 1)
		return jobs_claim_rc(rc);
	if (db_begin_for(db, "jobs", util_node()) == -1)
		return CLAIM_ERROR;
	rc = -1;
	if ((pid = jobs_waiting(db, &start)) == -1)
		goto out;
	if (pid == 0) {
		switch (jobs_under_cap(db, 0, cap, stale_ms)) {
		case 1:
			break;
		case 0:
			rc = 0;
			/* FALLTHROUGH */
		default:
			goto out;
		}
	}
	/* pid NULL: the extractor started for it attaches (jobs_attach). */
	st = db_prepare(db, "UPDATE jobs SET state = 'running', pid = ?, "
	    "pid_start = ?, claimed_at = ?, tries = tries + 1, updated_at = "
	    DB_NOW ", node = ? WHERE conversation_id = ? AND turn = ? AND "
	    "state = 'pending' RETURNING id, conversation_id, turn, tries");
	if (st == NULL)
		goto out;
	if (pid > 0) {
		db_bind_int64(st, 1, pid);
		db_bind_int64(st, 2, start);
	} else {
		db_bind_null(st, 1);
		db_bind_null(st, 2);
	}
	db_bind_int64(st, 3, util_wall_ms());
	db_bind_text(st, 4, util_node(), -1);
	db_bind_text(st, 5, conv_id, -1);
	db_bind_int64(st, 6, turn);
	rc = jobs_returning(db, st, &j, "jobs_claim_turn");
	db_finalize(st);
	if (rc == 1 && pid > 0 && jobs_unwait(db, pid) == -1)
		rc = -1;
out:
	if (rc == -1) {
		db_rollback(db);
		return CLAIM_ERROR;
	}
	if (db_commit(db) == -1)
		return CLAIM_ERROR;
	if (rc == 1) {
		*id = j.id;
		*handed = pid;
	}
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
jobs_handed(struct db *db, long pid, int64_t start, struct job *j)
{
	struct db_stmt	*st;
	int		 rc;

	memset(j, 0, sizeof(*j));
	if ((st = db_prepare(db, "SELECT id, conversation_id, turn, tries "
	    "FROM jobs WHERE state = 'running' AND pid = ? AND pid_start = ? "
	    "AND node = ? ORDER BY id LIMIT 1")) == NULL)
		return CLAIM_ERROR;
	db_bind_int64(st, 1, pid);
	db_bind_int64(st, 2, start);
	db_bind_text(st, 3, util_node(), -1);
	rc = jobs_returning(db, st, j, "jobs_handed");
	db_finalize(st);
	return jobs_claim_rc(rc);
}

enum claim_rc
jobs_next_locked(struct db *db, long pid, int64_t start, long cap,
    long stale_ms, int wait, struct job *j)
{
	struct db_stmt	*st;
	enum claim_rc	 got;
	int		 rc;

	/* SQLite: the caller's BEGIN IMMEDIATE is the lock already. */
	if (db_engine(db) == DB_POSTGRES) {
		char	key[128];

		snprintf(key, sizeof(key), "jobs:%s", util_node());
		if (db_lock(db, key) == -1)
			return CLAIM_ERROR;
	}
	/* Handed one while it waited: it takes that first. */
	if ((got = jobs_handed(db, pid, start, j)) != CLAIM_NONE)
		goto out;
	if ((rc = jobs_under_cap(db, pid, cap, stale_ms)) == -1)
		return CLAIM_ERROR;
	if (rc == 1) {
#define NEXT_SQL(lock) "UPDATE jobs SET state = 'running', pid = ?, " \
	    "pid_start = ?, claimed_at = ?, tries = tries + 1, updated_at = " \
	    DB_NOW ", node = ? WHERE id = (SELECT id FROM jobs WHERE " \
	    "state = 'pending' ORDER BY id LIMIT 1" lock ") AND " \
	    "state = 'pending' RETURNING id, conversation_id, turn, tries"
		st = db_prepare(db, db_engine(db) == DB_POSTGRES ?
		    NEXT_SQL(DB_SKIP_LOCKED) : NEXT_SQL(""));
#undef NEXT_SQL
		if (st == NULL)
			return CLAIM_ERROR;
		db_bind_int64(st, 1, pid);
		db_bind_int64(st, 2, start);
		db_bind_int64(st, 3, util_wall_ms());
		db_bind_text(st, 4, util_node(), -1);
		got = jobs_claim_rc(jobs_returning(db, st, j,
		    "jobs_next"));
		db_finalize(st);
		if (got != CLAIM_NONE)
			goto out;
	}
	memset(j, 0, sizeof(*j));
	if (wait) {
		/* Waiting: counted toward the cap, handed the next turn. */
		st = db_prepare(db, "INSERT INTO extractors (node, pid, "
		    "pid_start, since) VALUES (?, ?, ?, ?) ON CONFLICT (node, "
		    "pid) DO UPDATE SET pid_start = excluded.pid_start, "
		    "since = excluded.since");
		if (st == NULL)
			return CLAIM_ERROR;
		db_bind_text(st, 1, util_node(), -1);
		db_bind_int64(st, 2, pid);
		db_bind_int64(st, 3, start);
		db_bind_int64(st, 4, util_wall_ms());
		return jobs_step(db, st, "jobs_next") == -1 ? CLAIM_ERROR :
		    CLAIM_NONE;
	}
	got = CLAIM_NONE;
out:
	/* Running a job, or leaving: not waiting. */
	if (got != CLAIM_ERROR && jobs_unwait(db, pid) == -1)
		return CLAIM_ERROR;
	return got;
}

enum claim_rc
jobs_next(struct db *db, long pid, int64_t start, long cap, long stale_ms,
    int wait, struct job *j)
{
	enum claim_rc	got;

	memset(j, 0, sizeof(*j));
	if (db_begin(db) == -1)
		return CLAIM_ERROR;
	if ((got = jobs_next_locked(db, pid, start, cap, stale_ms, wait,
	    j)) == CLAIM_ERROR) {
		db_rollback(db);
		return CLAIM_ERROR;
	}
	return db_commit(db) == -1 ? CLAIM_ERROR : got;
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
 * Inside a write transaction: this node's waiting extractors that are
 * gone (a dead or zombie pid) are struck off.  0, or -1.
 */
static int
jobs_unwait_dead(struct db *db)
{
	struct db_stmt	*st;
	long		 dead[64];
	size_t		 n = 0, i;
	int		 step;

	if ((st = db_prepare(db, "SELECT pid, pid_start FROM extractors "
	    "WHERE node = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, util_node(), -1);
	while ((step = db_step(st)) == DB_ROW && n < sizeof(dead) /
	    sizeof(dead[0]))
		if (!util_pid_alive((long)db_column_int64(st, 0),
		    db_column_int64(st, 1)))
			dead[n++] = (long)db_column_int64(st, 0);
	db_finalize(st);
	if (step != DB_ROW && step != DB_DONE) {
		log_warnx("jobs_reclaim: %s", db_errmsg(db));
		return -1;
	}
	for (i = 0; i < n; i++) {
		log_info("extractor %ld: gone while it waited for a job",
		    dead[i]);
		if (jobs_unwait(db, dead[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Inside a write transaction: running jobs whose extractor is gone (a
 * dead or zombie pid, or never attached within stale_ms) go back to
 * pending, and waiting extractors that are gone are struck off.
 * Returns how many jobs, or -1.
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
	return jobs_unwait_dead(db) == -1 ? -1 : n;
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
	return jobs_running(db, 0);
}
