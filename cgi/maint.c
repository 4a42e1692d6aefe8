/*
 * maint.c: one round of maint.h's work.  Reads first, writes only when
 * something was found, so a round that finds nothing costs two indexed
 * reads (a plain CGI request pays it after its response has ended).
 */
#include "finals.h"
#include "jobs.h"
#include "log.h"
#include "maint.h"
#include "notify.h"
#include "spawn.h"

/* Pending this long without a reply being written: nobody's job. */
#define MAINT_SETTLE_MS	5000

void
maint_run(struct db *db, const struct config *cfg,
    const struct store_owner *self)
{
	int	n, running;

	if (db == NULL)
		return;
	if (finals_pending() > 0)
		finals_flush(db);
	if ((n = store_reap_all(db, self)) > 0)
		log_info("maintenance: %d conversation(s) had a reply whose "
		    "writer is gone", n);
	if ((running = jobs_nrunning(db)) > 0 &&
	    jobs_reclaim(db, cfg->stale_ms, 0) > 0)
		running = jobs_nrunning(db);
	/* An extractor that cannot run is said once (spawn.c), not here
	   every round. */
	if (running >= 0 && running < cfg->max_extractors && spawn_ready() &&
	    (n = jobs_stranded(db, MAINT_SETTLE_MS)) > 0) {
		log_info("maintenance: %d extraction job(s) waiting; starting "
		    "an extractor", n);
		spawn_drain();
	} else if (spawn_ready() && notify_stranded(db) == 1) {
		log_info("maintenance: a lead notification is due and nobody "
		    "is sending it; starting a sender");
		spawn_drain();
	}
}
