/*
 * spawn.h: starting the extractor after a turn's response has ended.
 */
#ifndef SPAWN_H
#define SPAWN_H


#include "config.h"

struct db;

/*
 * Once, before any thread starts: find the extractor program
 * (config_extractor: INTAKE_EXTRACTOR, else intake-extract beside this
 * program, else beside the configuration file) and build its environment
 * (PATH and the INTAKE_* variables only, and INTAKE_CONFIG naming the
 * file this program found, so the extractor reads the same one).  With
 * cgi set, the extractor's stderr goes to INTAKE_LOG_FILE or /dev/null
 * rather than to the web server's pipe.  0, or -1 (logged, with what to
 * do) when the extractor cannot run: then no job is claimed
 * (spawn_extractor leaves them pending) until spawn_ready finds it
 * runnable.
 */
int	spawn_init(const struct config *, int cgi);

/*
 * 1 when the extractor can run (exists, executable), 0 when not.  Looks
 * again (access(2)) at most every SPAWN_RECHECK_MS, so an extractor
 * uploaded or given its execute bit later is used without a restart, and
 * one removed is noticed.  Thread-safe.
 */
int	spawn_ready(void);

/* The extractor's path ("" when none could be named), for messages. */
const char *spawn_program(void);

#define SPAWN_RECHECK_MS	10000

/*
 * Claim the turn's job if the extractor can run (spawn_ready): hand it
 * to an extractor waiting on this node for one (jobs_claim_turn), else,
 * if fewer than INTAKE_MAX_EXTRACTORS run, start an extractor for it,
 * double-forked: it runs in its own session, holds no descriptor of ours
 * but stderr (the log), and is not our child, so it leaves no zombie.
 * When the cap is full the job stays
 * pending for a running extractor or the sweep.  Only ever called after
 * the response has ended; waits on nothing but the intermediate child's
 * immediate exit.
 */
void	spawn_extractor(struct db *, const struct config *, const char *conv_id,
	    int turn);

/*
 * Start an extractor that runs pending jobs under the cap and leaves
 * (intake-extract --drain), double-forked as above: for jobs nobody else
 * will start.  0, or -1 (also when the extractor cannot run).
 */
int	spawn_drain(void);

#endif
