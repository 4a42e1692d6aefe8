/*
 * owner.c: the liveness rule (see owner.h).  Pure.
 */
#include <string.h>

#include "owner.h"

int
owner_gone(const struct owner_seen *w, const struct owner_self *me,
    int64_t msg_id, int64_t now)
{
	if (now - w->heartbeat_at > me->stale_ms)
		return 1;
	if (!w->same_node)
		return 0;
	if (w->pid == me->pid && w->start == me->start)
		return me->gave_up != NULL && me->gave_up(msg_id);
	return !me->alive(w->pid, w->start);
}

int
owner_same_node(const char *node, const char *ours)
{
	return node == NULL || node[0] == '\0' || strcmp(node, ours) == 0;
}
