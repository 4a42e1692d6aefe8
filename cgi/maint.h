/*
 * maint.h: finishing what dead processes left behind.
 *
 * A writer killed mid-reply leaves its reply "streaming" and its turn's
 * extraction pending; neither should wait for a visitor to come back or
 * for cron.  Each start of the program and, in the long-lived process,
 * a periodic check make such replies interrupted and start an extractor
 * for jobs nobody will run, or for a lead notification that is due with
 * no sender at work (a receiver that was down is served when it is back,
 * with no cron); replies whose final save failed here are saved as soon
 * as the database takes a write.
 */
#ifndef MAINT_H
#define MAINT_H


#include "config.h"
#include "store.h"

struct db;

/*
 * One round on db (the caller's handle, no transaction open).  Never
 * called before spawn_init; may fork (an extractor).
 */
void	maint_run(struct db *db, const struct config *cfg,
	    const struct store_owner *self);

#endif
