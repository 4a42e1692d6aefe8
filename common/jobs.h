/*
 * jobs.h: extraction jobs, one per turn, in the database.
 *
 * pending -> running (claimed, with the extractor's pid) -> done | failed.
 * The cap on concurrent extractors is enforced when a job is claimed,
 * under the node's jobs lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
 * advisory lock), so no race can run more than the cap: the web program
 * claims a turn's job before it spawns an extractor for it, and spawns
 * none when the cap is full (the job stays pending for a running
 * extractor or the sweep to pick up).
 *
 * An extractor that runs out of jobs may wait a while for the next one
 * (jobs_next with wait): it is then on the node's list of waiting
 * extractors (the extractors table), counted toward the cap, and the web
 * program hands it the next turn's job instead of starting a process.
 * Joining, being handed a job and leaving that list all happen under the
 * same lock, so a job is never handed to an extractor that has left.
 */
#ifndef JOBS_H
#define JOBS_H

#include <stdint.h>

#include "db.h"


#define JOBS_TRIES_MAX	3

struct job {
	int64_t	id;
	char	conv_id[72];
	int	turn;
	int	tries;
};

/* Inside the caller's transaction: the pending job of a new turn.  0/-1. */
int	jobs_add(struct db *, const char *conv_id, int turn);

/*
 * Claim the turn's pending job, after its response.  An extractor
 * waiting on this node (jobs_next with wait) is handed it: the job runs
 * under that extractor's pid and *handed is that pid: nothing is to be
 * started.  Else it is claimed for a new extractor (*handed 0) if fewer
 * than cap extractors are counted on this node: jobs running and
 * extractors waiting (jobs of extractors that died, or never attached
 * within stale_ms, and waiting extractors that died do not count: they
 * are made pending again, or struck off).  CLAIMED with *id set;
 * CLAIM_NONE when the cap is full or the job is not pending (someone
 * else has it: a job that is not pending costs one read, no write).
 */
enum claim_rc	jobs_claim_turn(struct db *, const char *conv_id, int turn,
		    long cap, long stale_ms, int64_t *id, long *handed);

/* Give a claimed job back (its extractor could not be started). */
int	jobs_unclaim(struct db *, int64_t id);

/*
 * The extractor takes the job it was started for: records its pid.
 * CLAIMED with j filled; CLAIM_NONE when the job is not running unowned
 * (or already ours).
 */
enum claim_rc	jobs_attach(struct db *, int64_t id, long pid,
		    int64_t start, struct job *j);

/*
 * The extractor pid (started at start) takes its next job, inside the
 * caller's write transaction (the one that ended its last job; common
 * to both engines: on PostgreSQL this takes the node's jobs lock): a job
 * handed to it while it waited, else the oldest pending job if fewer
 * than cap other extractors are counted (as jobs_claim_turn counts):
 * CLAIMED with j filled, and it is no longer waiting.  Else CLAIM_NONE:
 * with wait set it is now waiting (jobs_handed finds what is handed to
 * it), without it is not (it may leave).
 */
enum claim_rc	jobs_next_locked(struct db *, long pid, int64_t start,
		    long cap, long stale_ms, int wait, struct job *j);

/* jobs_next_locked in a transaction of its own. */
enum claim_rc	jobs_next(struct db *, long pid, int64_t start, long cap,
		    long stale_ms, int wait, struct job *j);

/*
 * A read, for a waiting extractor: the job handed to it (CLAIMED, j
 * filled; it is running under pid and no longer waiting), or
 * CLAIM_NONE.
 */
enum claim_rc	jobs_handed(struct db *, long pid, int64_t start,
		    struct job *j);

/*
 * The job ended: done, or failed with a reason (tries counted).  On
 * their own or inside the caller's transaction.
 */
int	jobs_done(struct db *, int64_t id);
int	jobs_fail(struct db *, int64_t id, const char *error);

/*
 * Running jobs whose extractor is gone (dead pid, or never attached
 * within stale_ms) go back to pending, and waiting extractors that are
 * gone are struck off; with retry_failed, failed jobs with tries left
 * are made pending too (the sweep).  Returns how many jobs, or -1.
 */
int	jobs_reclaim(struct db *, long stale_ms, int retry_failed);

/*
 * How many jobs are pending for longer than settle_ms while no reply of
 * their turn is being written: jobs nobody will start (the writer that
 * would have was killed, or the cap was full and every extractor has
 * left).  -1 on error.
 */
int	jobs_stranded(struct db *, long settle_ms);

/*
 * How many extractors this node counts toward its cap: jobs running and
 * extractors waiting (some may be dead), or -1.
 */
int	jobs_nrunning(struct db *);

#endif
