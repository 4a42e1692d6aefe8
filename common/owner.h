/*
 * owner.h: the one rule for "the writer of a streaming reply is gone".
 *
 * A reply being written names its writer: a node (util_node), a process
 * on it (pid and start time, against a reused pid) and a heartbeat (unix
 * ms of its last save).  Every reader that finds a reply streaming asks
 * this, and marks it interrupted when the answer is yes:
 *
 *   1. the heartbeat is older than stale_ms: gone, wherever it ran;
 *   2. it runs on another node: alive (its pid means nothing here);
 *   3. it is this very process: gone only if this process gave up on it;
 *   4. else: gone when its process no longer runs.
 *
 * Pure: what needs the system (is a pid alive, did this process give up)
 * is asked through the callbacks, and only when the answer depends on it.
 */
#ifndef OWNER_H
#define OWNER_H

#include <stdint.h>

struct owner_seen {
	int		 same_node;	/* it ran on this node (or says none) */
	long		 pid;
	int64_t		 start;
	int64_t		 heartbeat_at;
};

struct owner_self {
	long		 pid;
	int64_t		 start;
	long		 stale_ms;
	int		(*alive)(long pid, int64_t start);
	int		(*gave_up)(int64_t msg_id);	/* may be NULL */
};

/* 1 when the writer of reply msg_id, as seen, is gone at now (unix ms). */
int	owner_gone(const struct owner_seen *, const struct owner_self *,
	    int64_t msg_id, int64_t now);

/* 1 when a row's node (NULL: written before nodes were kept) is ours. */
int	owner_same_node(const char *node, const char *ours);

#endif
