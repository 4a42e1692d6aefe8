/*
 * lead.h: the lead of a conversation: merged under the no-downgrade rule
 * by the extractor, read by the firm's leads pages.
 */
#ifndef LEAD_H
#define LEAD_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "rules.h"

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
 * merge that wins nothing queues nothing.  Returns 0, or -1 when the
 * database stayed busy or failed (nothing was written: run it again).
 */
int	lead_merge(sqlite3 *, const struct config *cfg, const char *conv_id,
	    int turn, enum lead_source, const struct extraction *ex,
	    long latency_ms, const char *error);

/*
 * Leads newest first, as the contract's {"leads":[…]} (new reference),
 * at most limit of them.  NULL on error.
 */
json_t	*lead_list_json(sqlite3 *, long limit);

/*
 * One lead as {"conversation_id", "fields":{NAME:{value,strength,turn,
 * updated_at}}, "extractions":[…], "notifications":[…]} (notify.h); NULL with *found 0 when there is no
 * such lead (or conversation), NULL with *found 1 on error.
 */
json_t	*lead_detail_json(sqlite3 *, const char *conv_id, int *found);

/* The lead's fields into ex (strength 0 for a field not captured). */
int	lead_load(sqlite3 *, const char *conv_id, struct extraction *ex,
	    int turns[]);

#endif
