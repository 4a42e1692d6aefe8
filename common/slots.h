/*
 * slots.h: the streams each client holds, counted in SQLite.
 *
 * A stream (a turn, from before its body is read until its reply is
 * saved; a follow of /events) holds a worker for as long as it lasts, so
 * one address that opens many of them takes the service from everyone
 * else.  Each stream takes a slot row before it starts and gives it back
 * when it ends; the caps are checked against those rows, so they hold
 * across every process and thread (mod_fcgid's many processes, plain
 * CGI's process per request).  A slot names its owner (pid and start
 * time): the slots of a process that died are taken back when they are
 * in the way, and none outlives max_age_ms.
 */
#ifndef SLOTS_H
#define SLOTS_H

#include <stdint.h>


#include "store.h"

struct db;

enum slot_kind {
	SLOT_TURN,
	SLOT_FOLLOW,
	SLOT__MAX
};

struct slot_caps {
	long	per_addr;	/* streams per client address; 0: no cap */
	long	per_conv;	/* follows per conversation; 0: no cap */
	int64_t	max_age_ms;	/* a slot older than this was leaked */
};

enum slots_rc {
	SLOTS_TAKEN,		/* *id set: give it back with slots_give */
	SLOTS_FULL_ADDR,	/* the address holds per_addr streams */
	SLOTS_FULL_CONV,	/* the conversation has per_conv follows */
	SLOTS_ERROR,		/* logged; nothing taken */
};

/*
 * Take a slot for a stream of kind on conv_id from addr (REMOTE_ADDR,
 * counted as limit_rules.c keys it), owned by self, in one BEGIN IMMEDIATE.
 * When a cap is reached, the slots in the way whose owner is gone are
 * deleted and the caps checked again.  *id is 0 when no cap applies to
 * kind (nothing to give back).  On SLOTS_ERROR the caller lets the
 * stream go on: a broken counter must not lock visitors out.
 */
enum slots_rc	slots_take(struct db *, const struct slot_caps *,
		    const char *addr, const char *conv_id, enum slot_kind,
		    const struct store_owner *self, int64_t *id);

/*
 * Give back slot id (0: nothing).  Retried while the database is busy;
 * logged when it cannot be (the slot then lasts until its process ends
 * or max_age_ms passes).
 */
void		slots_give(struct db *, int64_t id);

#endif
