/*
 * notify.h: the outbox of lead notifications (sql/005-notify.sql).
 *
 * Rows are written by the merge, in its transaction (notify_queue), and
 * sent by whoever runs notify_send_due: the extractor right after its
 * merge and after every job, intake-extract --sweep from cron, and the
 * --drain the web program starts when a row is due and nobody holds a
 * lease.  A row is claimed with a lease before it is sent, so two
 * senders never send one row at once; the outcome is recorded only by
 * the lease's holder.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "ready.h"

#include "db.h"

enum notify_target {
	NOTIFY_EMAIL,
	NOTIFY_WEBHOOK,
	NOTIFY__MAX
};

/* "email" or "webhook". */
const char	*notify_target_name(enum notify_target);

/*
 * Inside the merge's transaction: what ev asks for, for each target cfg
 * configures (cfg->notify_targets, a bit per target): READY_ANNOUNCE
 * writes one lead.ready each; READY_UPDATE joins what is pending for the
 * lead and target (its lead.ready or lead.updated: both read the lead
 * when they are sent), else writes one lead.updated.  0, or -1 (the
 * caller rolls back).
 */
int	notify_queue(struct db *, const struct config *cfg, const char *conv_id,
	    enum ready_event ev);

/* One claimed row. */
struct notice {
	char			id[48];
	char			conv_id[72];
	char			type[16];	/* "lead.ready", "lead.updated" */
	enum notify_target	target;
	int			attempts;	/* this one included */
	int			tries;		/* toward the backoff */
	char			event_at[32];
	char			owner[48];	/* our lease */
};

/*
 * Claim the next due row (pending, due, lease free or expired; a
 * lead.updated waits while its lead's lead.ready for the same target is
 * pending) for lease_ms: n filled when CLAIMED.
 */
enum claim_rc	notify_claim(struct db *, const char *owner, long lease_ms,
	    struct notice *n);

/*
 * Record how a claimed row's try ended: sent (err NULL), or failed with
 * err: due again after the backoff of its tries, or 'failed' after the
 * last.  A lead that changed while its notification was in flight gets
 * a pending lead.updated.  Nothing is written when the lease is no
 * longer ours.  0, or -1.
 */
int	notify_record(struct db *, const struct config *cfg,
	    const struct notice *n, const char *err);

/*
 * Claim and send due rows until none is left or max were sent; the
 * number sent (delivered or not), or -1 when the database failed.
 */
int	notify_send_due(struct db *, const struct config *cfg, int max);

/*
 * Failed rows pending again, due now, their tries reset: every failed
 * row (id NULL), or the one with id of conversation conv_id.  The
 * number made pending, or -1.
 */
int	notify_retry_failed(struct db *, const char *conv_id, const char *id);

/* 1 when notification id of conversation conv_id exists, 0, or -1. */
int	notify_exists(struct db *, const char *conv_id, const char *id);

/*
 * 1 when a row is due and no sender holds a live lease (nobody will send
 * it unless someone is started), 0, or -1.
 */
int	notify_stranded(struct db *);

/* The lead's notifications, oldest first, as the contract's array. */
json_t	*notify_list_json(struct db *, const char *conv_id);

#endif
