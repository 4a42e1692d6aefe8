/*
 * run.h: one extraction job, start to end: the rule-based floor first,
 * then the model when one is configured, each merged into the lead on
 * its own (so a model that fails or times out never costs what the rules
 * found).
 */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>


#include "config.h"
#include "jobs.h"

struct db;

/*
 * Run job j.  Returns 0 when it is done, 1 when it failed in a way a
 * later try may fix (reason in err), -1 when the database failed.
 * Never called with a SQLite handle from another process.
 */
int	run_job(struct db *, const struct config *, const struct job *j,
	    char *err, size_t errsz);

#endif
