/*
 * spawn.h: starting the extractor after a turn's response has ended.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <sqlite3.h>

#include "config.h"

/*
 * Once, before any thread starts: find the extractor program (INTAKE_
 * EXTRACTOR, else intake-extract beside this program) and build its
 * environment (PATH and the INTAKE_* variables only).  With cgi set, the
 * extractor's stderr goes to INTAKE_LOG_FILE or /dev/null rather than to
 * the web server's pipe.  0, or -1 (logged).
 */
int	spawn_init(const struct config *, int cgi);

/*
 * Claim the turn's job if fewer than INTAKE_MAX_EXTRACTORS run, and
 * start an extractor for it, double-forked: it runs in its own session,
 * holds no descriptor of ours but stderr (the log), and is not our
 * child, so it leaves no zombie.  When the cap is full the job stays
 * pending for a running extractor or the sweep.  Only ever called after
 * the response has ended; waits on nothing but the intermediate child's
 * immediate exit.
 */
void	spawn_extractor(sqlite3 *, const struct config *, const char *conv_id,
	    int turn);

/*
 * Start an extractor that runs pending jobs under the cap and leaves
 * (intake-extract --drain), double-forked as above: for jobs nobody else
 * will start.  0, or -1.
 */
int	spawn_drain(void);

#endif
