/*
 * ready.h: when the firm is told of a lead.  Pure, table-tested; nothing
 * else in the code decides it.
 *
 * A lead is ready when it has a full_name (any strength) and a way to
 * reach the person: a phone of strength 2 (a complete number) or an
 * email of strength 2 (a valid address).  The merge that first makes a
 * lead ready announces it (lead.ready); once announced, a merge that
 * changes the value of any field is worth a lead.updated.  A merge that
 * changes nothing (every field lost, or won with the same value) is
 * worth nothing.
 */
#ifndef READY_H
#define READY_H

#include "rules.h"

enum ready_event {
	READY_NOTHING,		/* queue nothing */
	READY_ANNOUNCE,		/* queue lead.ready, mark the lead ready */
	READY_UPDATE,		/* queue (or join) lead.updated */
};

/* 1 when lead (values and strengths) is ready, else 0. */
int	ready_is(const struct extraction *lead);

/*
 * What the merge that turned before into after is worth; announced
 * says whether the lead was announced before it (leads.ready_at set).
 * A value is compared by its bytes: a field that keeps its value at a
 * new strength or turn has not changed.
 */
enum ready_event ready_event(int announced, const struct extraction *before,
	    const struct extraction *after);

/* "lead.ready" or "lead.updated" (READY_NOTHING: NULL). */
const char	*ready_type_name(enum ready_event);

#endif
