/*
 * lead.h: the lead of a conversation: merged under the no-downgrade rule
 * by the extractor, read by the firm's leads pages.
 */
#ifndef LEAD_H
#define LEAD_H

#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "rules.h"

struct db;

enum lead_source {
	LEAD_SOURCE_RULES,
	LEAD_SOURCE_MODEL,
	LEAD_SOURCE__MAX
};

/*
 * Merge one extraction of the conversation's turn into its lead, in one
 * transaction opened with BEGIN IMMEDIATE: read the lead, keep per field
 * the greater of stored and incoming (merge_wins), write, and record the
 * audit row (turn, source, latency, fields won and lost; error for a
 * model extraction that failed, with ex empty).  In the same
 * transaction, what the merge is worth to the firm (ready.c): the lead
 * marked ready and lead.ready queued for each target cfg configures, or
 * lead.updated queued or joined (notify.c); cfg NULL queues nothing.  A
 * merge that wins nothing queues nothing; a conversation erased since
 * its job began gets nothing (0).  Returns 0, or -1 when the database
 * stayed busy or failed (nothing was written: run it again).
 */
int	lead_merge(struct db *, const struct config *cfg, const char *conv_id,
	    int turn, enum lead_source, const struct extraction *ex,
	    long latency_ms, const char *error);

/*
 * lead_merge inside the caller's transaction, which it opened with
 * db_begin_for(db, "conv", conv_id) and may go on with (the extractor
 * ends the job in it and takes the next, jobs_next_locked): one
 * transaction where there would be several.  *queued (when not NULL) is
 * set to 1 when a notification was queued.  0, or -1: the caller rolls
 * back.
 */
int	lead_merge_in(struct db *, const struct config *cfg,
	    const char *conv_id, int turn, enum lead_source,
	    const struct extraction *ex, long latency_ms, const char *error,
	    int *queued);

/* The lead's fields into ex (strength 0 for a field not captured). */
int	lead_load(struct db *, const char *conv_id, struct extraction *ex,
	    int turns[]);

#endif
