/*
 * jobs.h: extraction jobs, one per turn, in the database.
 *
 * pending -> running (claimed, with the extractor's pid) -> done | failed.
 * The cap on concurrent extractors is enforced when a job is claimed,
 * inside BEGIN IMMEDIATE, so no race can run more than the cap: the web
 * program claims a turn's job before it spawns an extractor for it, and
 * spawns none when the cap is full (the job stays pending for a running
 * extractor or the sweep to pick up).
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
 * Claim the turn's pending job for a new extractor, if fewer than cap
 * run (jobs of extractors that died, or never attached within stale_ms,
 * do not count: they are made pending again).  CLAIMED with *id set;
 * CLAIM_NONE when the cap is full or the job is not pending (someone
 * else has it).
 */
enum claim_rc	jobs_claim_turn(struct db *, const char *conv_id, int turn,
		    long cap, long stale_ms, int64_t *id);

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
 * Claim the oldest pending job for pid if fewer than cap run: CLAIMED
 * with j filled, CLAIM_NONE when there is none or the cap is full.
 */
enum claim_rc	jobs_claim_next(struct db *, long pid, int64_t start,
		    long cap, long stale_ms, struct job *j);

/* The job ended: done, or failed with a reason (tries counted). */
int	jobs_done(struct db *, int64_t id);
int	jobs_fail(struct db *, int64_t id, const char *error);

/*
 * Running jobs whose extractor is gone (dead pid, or never attached
 * within stale_ms) go back to pending; with retry_failed, so do failed
 * jobs with tries left (the sweep).  Returns how many, or -1.
 */
int	jobs_reclaim(struct db *, long stale_ms, int retry_failed);

/*
 * How many jobs are pending for longer than settle_ms while no reply of
 * their turn is being written: jobs nobody will start (the writer that
 * would have was killed, or the cap was full and every extractor has
 * left).  -1 on error.
 */
int	jobs_stranded(struct db *, long settle_ms);

/* How many jobs are running (some extractors may be dead), or -1. */
int	jobs_nrunning(struct db *);

#endif
