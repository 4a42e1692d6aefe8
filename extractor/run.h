/*
 * run.h: one extraction job, start to end: the rule-based floor first,
 * then the model when one is configured, each merged into the lead on
 * its own (so a model that fails or times out never costs what the rules
 * found).  The last merge's transaction also ends the job and takes the
 * extractor's next one: with the built-in provider a job is one write
 * transaction.
 */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jobs.h"

struct db;

/* The job's last transaction takes the extractor's next job too. */
struct run_next {
	long		 pid;		/* in: this extractor */
	int64_t		 start;		/* in: its start (util_proc_start) */
	int		 wait;		/* in: none pending: wait for one
					   (jobs_next_locked) */
	int		 looked;	/* out: 1 when got says what is next;
					   0 when the merge queued a
					   notification (sent first, then
					   the caller asks, jobs_next) */
	enum claim_rc	 got;		/* out: jobs_next_locked's answer */
	struct job	 job;		/* out: the next job, got CLAIMED */
};

/*
 * Run job j and record how it ended, done or failed (reason in err), in
 * the transaction of its last merge, which takes the next job as next
 * says.  Returns 0 when it is done, 1 when it failed in a way a later
 * try may fix, -1 when the database failed (the end not recorded, next
 * not looked at).  Never called with a SQLite handle from another
 * process.
 */
int	run_job(struct db *, const struct config *, const struct job *j,
	    struct run_next *next, char *err, size_t errsz);

/*
 * libcurl's global initialisation, once, in this process, when a model
 * extraction or a delivery is about to need it (nothing else does: a
 * built-in extraction loads no TLS).  0, or -1 (logged).
 */
int	run_curl(void);

/* At exit: undo run_curl, if it ran. */
void	run_curl_done(void);

#endif
