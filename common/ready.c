/*
 * ready.c: the one rule for telling the firm (ready.h).  Pure.
 */
#include <string.h>

#include "ready.h"

int
ready_is(const struct extraction *lead)
{
	return lead->strength[FIELD_FULL_NAME] > 0 &&
	    (lead->strength[FIELD_PHONE] >= 2 ||
	    lead->strength[FIELD_EMAIL] >= 2);
}

/* 1 when field f holds another value in a than in b (absent is ""). */
static int
ready_changed(const struct extraction *a, const struct extraction *b,
    enum field f)
{
	const char	*va = a->strength[f] > 0 ? a->value[f] : "";
	const char	*vb = b->strength[f] > 0 ? b->value[f] : "";

	return strcmp(va, vb) != 0;
}

enum ready_event
ready_event(int announced, const struct extraction *before,
    const struct extraction *after)
{
	int	f;

	if (!announced)
		return ready_is(after) ? READY_ANNOUNCE : READY_NOTHING;
	for (f = 0; f < FIELD__MAX; f++)
		if (ready_changed(before, after, (enum field)f))
			return READY_UPDATE;
	return READY_NOTHING;
}

const char *
ready_type_name(enum ready_event ev)
{
	switch (ev) {
	case READY_ANNOUNCE:
		return "lead.ready";
	case READY_UPDATE:
		return "lead.updated";
	case READY_NOTHING:
		break;
	}
	return NULL;
}
