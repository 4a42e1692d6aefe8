/*
 * notify.c: the outbox of lead notifications (notify.h).
 *
 * Every write is a short BEGIN IMMEDIATE transaction, and nothing is
 * sent while one is open: claim (a lease, attempts + 1), send with no
 * lock held, record (only if the lease is still ours).  The clock is the
 * wall clock in unix ms, bound as a parameter, because leases and due
 * times are compared across processes.
 */
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "deliver.h"
#include "fields.h"
#include "lead.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "store.h"
#include "util.h"
#include "webhook.h"


/* A lease outlives the try it covers by this much. */
#define NOTIFY_LEASE_SLACK_MS	5000

/*
 * The rows a sender may claim at ?1 (unix ms): pending, due, no live
 * lease, and not a lead.updated whose lead.ready (same lead and target)
 * has not gone out yet: the firm hears of a lead before its updates.
 */
#define NOTIFY_CLAIMABLE \
	"n.status = 'pending' AND n.due_at <= ?1 AND " \
	"(n.lease_until IS NULL OR n.lease_until <= ?1) AND " \
	"NOT (n.type = 'lead.updated' AND EXISTS (SELECT 1 FROM " \
	"notifications r WHERE r.conversation_id = n.conversation_id AND " \
	"r.target = n.target AND r.type = 'lead.ready' AND " \
	"r.status = 'pending'))"

static const char *const target_names[NOTIFY__MAX] = {
	"email", "webhook",
};

static const unsigned target_bits[NOTIFY__MAX] = {
	CONFIG_TARGET_EMAIL, CONFIG_TARGET_WEBHOOK,
};

const char *
notify_target_name(enum notify_target t)
{
	return (unsigned)t < NOTIFY__MAX ? target_names[t] : "?";
}

/* Inside the caller's transaction: a new row of type for target. */
static int
notify_insert(struct db *db, const char *conv_id, const char *type,
    enum notify_target t)
{
	struct db_stmt	*st;
	char		 id[48];
	int		 rc = -1;

	memcpy(id, "msg_", 4);
	if (util_random_id(16, id + 4, sizeof(id) - 4) == -1)
		return -1;
	if ((st = db_prepare(db, "INSERT INTO notifications (id, "
	    "conversation_id, type, target, status, due_at, event_at, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, "
	    DB_NOW ", " DB_NOW ", " DB_NOW ") ON CONFLICT DO NOTHING"))
	    == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, conv_id, -1);
	db_bind_text(st, 3, type, -1);
	db_bind_text(st, 4, target_names[t], -1);
	db_bind_int64(st, 5, util_wall_ms());
	if (db_step(st) == DB_DONE)
		rc = 0;
	db_finalize(st);
	return rc;
}

/*
 * Inside the caller's transaction: a change joins what is pending for
 * the lead and target: its lead.ready (read when it is sent, so a change
 * before that is in it; one made while it is in flight is counted and
 * becomes a lead.updated when it is recorded), else its lead.updated.
 * 1 when something pending took it, 0 when nothing is pending, -1.
 */
static int
notify_join(struct db *db, const char *conv_id, enum notify_target t)
{
	struct db_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "UPDATE notifications SET changes = "
	    "changes + 1, event_at = CASE type WHEN 'lead.updated' THEN "
	    DB_NOW " ELSE event_at END, updated_at = " DB_NOW
	    " WHERE conversation_id = ? AND target = ? AND status = "
	    "'pending'")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_text(st, 2, target_names[t], -1);
	if (db_step(st) == DB_DONE)
		rc = db_changes(db) > 0;
	db_finalize(st);
	return rc;
}

int
notify_queue(struct db *db, const struct config *cfg, const char *conv_id,
    enum ready_event ev)
{
	int	t, joined;

	for (t = 0; t < NOTIFY__MAX; t++) {
		if (!(cfg->notify_targets & target_bits[t]))
			continue;
		switch (ev) {
		case READY_ANNOUNCE:
			if (notify_insert(db, conv_id, "lead.ready",
			    (enum notify_target)t) == -1)
				return -1;
			break;
		case READY_UPDATE:
			if ((joined = notify_join(db, conv_id,
			    (enum notify_target)t)) == -1 || (joined == 0 &&
			    notify_insert(db, conv_id, "lead.updated",
			    (enum notify_target)t) == -1))
				return -1;
			break;
		case READY_NOTHING:
			break;
		}
	}
	return 0;
}

/* 1 when a row is claimable at now, 0 when none is, -1. */
static int
notify_any(struct db *db, int64_t now)
{
	struct db_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM notifications "
	    "n WHERE " NOTIFY_CLAIMABLE ")")) == NULL)
		return -1;
	db_bind_int64(st, 1, now);
	if (db_step(st) == DB_ROW)
		rc = db_column_int(st, 0);
	db_finalize(st);
	return rc;
}

enum claim_rc
notify_claim(struct db *db, const char *owner, long lease_ms, struct notice *n)
{
	struct db_stmt	*st = NULL;
	const char	*target;
	int64_t		 now = util_wall_ms();
	enum claim_rc	 rc = CLAIM_ERROR;
	int		 step;

	/* Most calls find nothing: a read says so without taking the
	   write lock (the extractor asks after every job). */
	if ((step = notify_any(db, now)) != 1)
		return step == 0 ? CLAIM_NONE : CLAIM_ERROR;
	if (db_begin(db) == -1)
		return CLAIM_ERROR;
#define CLAIM_SQL(lock) "SELECT id, conversation_id, type, target, " \
	    "attempts, tries, event_at FROM notifications n WHERE " \
	    NOTIFY_CLAIMABLE " ORDER BY due_at, created_at LIMIT 1" lock
	if ((st = db_prepare(db, db_engine(db) == DB_POSTGRES ?
	    CLAIM_SQL(DB_SKIP_LOCKED) : CLAIM_SQL(""))) == NULL)
		goto out;
#undef CLAIM_SQL
	db_bind_int64(st, 1, now);
	if ((step = db_step(st)) == DB_DONE) {
		rc = CLAIM_NONE;
		goto out;
	}
	if (step != DB_ROW)
		goto out;
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", db_column_text(st, 0));
	snprintf(n->conv_id, sizeof(n->conv_id), "%s",
	    db_column_text(st, 1));
	snprintf(n->type, sizeof(n->type), "%s", db_column_text(st, 2));
	target = db_column_text(st, 3);
	n->target = target != NULL && strcmp(target, "webhook") == 0 ?
	    NOTIFY_WEBHOOK : NOTIFY_EMAIL;
	n->attempts = db_column_int(st, 4) + 1;
	n->tries = db_column_int(st, 5) + 1;
	snprintf(n->event_at, sizeof(n->event_at), "%s",
	    db_column_text(st, 6));
	snprintf(n->owner, sizeof(n->owner), "%s", owner);
	db_finalize(st);
	if ((st = db_prepare(db, "UPDATE notifications SET lease_until = ?, "
	    "lease_owner = ?, attempts = attempts + 1, tries = tries + 1, "
	    "changes_sent = changes, updated_at = " DB_NOW " WHERE id = ?"))
	    == NULL)
		goto out;
	db_bind_int64(st, 1, now + lease_ms);
	db_bind_text(st, 2, owner, -1);
	db_bind_text(st, 3, n->id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	rc = CLAIMED;
out:
	db_finalize(st);
	if (rc == CLAIMED && db_commit(db) == -1)
		rc = CLAIM_ERROR;
	else if (rc != CLAIMED)
		db_rollback(db);
	return rc;
}

/* Inside the transaction: 1 when n's lease is still ours (and the row
   still pending), with *again set when it changed while in flight. */
static int
notify_ours(struct db *db, const struct notice *n, int *again)
{
	struct db_stmt	*st;
	int		 step, rc = -1;

	if ((st = db_prepare(db, "SELECT changes > changes_sent FROM "
	    "notifications WHERE id = ? AND lease_owner = ? AND status = "
	    "'pending'")) == NULL)
		return -1;
	db_bind_text(st, 1, n->id, -1);
	db_bind_text(st, 2, n->owner, -1);
	if ((step = db_step(st)) == DB_ROW) {
		*again = db_column_int(st, 0);
		rc = 1;
	} else if (step == DB_DONE)
		rc = 0;
	db_finalize(st);
	return rc;
}

int
notify_record(struct db *db, const struct config *cfg, const struct notice *n,
    const char *err)
{
	struct db_stmt	*st = NULL;
	int		 ours, again = 0, failed, rc = -1;
	int64_t		 due;

	if (db_begin(db) == -1)
		return -1;
	if ((ours = notify_ours(db, n, &again)) != 1) {
		/* Our lease ran out and another sender has the row. */
		if (ours == 0)
			log_info("notification %s: lease lost; its new holder "
			    "records it", n->id);
		rc = ours == 0 ? 0 : -1;
		goto out;
	}
	if (err == NULL) {
		st = db_prepare(db, "UPDATE notifications SET status = 'sent', "
		    "sent_at = " DB_NOW ", last_error = NULL, lease_until = "
		    "NULL, lease_owner = NULL, updated_at = " DB_NOW
		    " WHERE id = ?");
		if (st == NULL)
			goto out;
		db_bind_text(st, 1, n->id, -1);
		if (db_step(st) != DB_DONE)
			goto out;
		/* The lead changed after we read it: tell of it again (a
		   lead.updated of this lead and target may already wait:
		   ON CONFLICT DO NOTHING leaves it, and it is read when sent). */
		if (again && notify_insert(db, n->conv_id, "lead.updated",
		    n->target) == -1)
			goto out;
		rc = 0;
		goto out;
	}
	failed = (size_t)n->tries > cfg->nbackoff;
	due = util_wall_ms() + (failed ? 0 :
	    (int64_t)cfg->backoff_s[n->tries - 1] * 1000);
	st = db_prepare(db, "UPDATE notifications SET status = ?, due_at = ?, "
	    "last_error = ?, lease_until = NULL, lease_owner = NULL, "
	    "updated_at = " DB_NOW " WHERE id = ?");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, failed ? "failed" : "pending", -1);
	db_bind_int64(st, 2, due);
	db_bind_text(st, 3, err, -1);
	db_bind_text(st, 4, n->id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	rc = 0;
out:
	db_finalize(st);
	if (rc == 0 && ours == 1)
		rc = db_commit(db);
	else
		db_rollback(db);
	return rc;
}

/* "https://firm.example/leads.html#ID" into out, or "" without a base. */
static void
notify_url(const struct config *cfg, const char *conv_id, char *out,
    size_t outsz)
{
	size_t	len = strlen(cfg->public_url);

	while (len > 0 && cfg->public_url[len - 1] == '/')
		len--;
	if (len == 0 || snprintf(out, outsz, "%.*s/leads.html#%s", (int)len,
	    cfg->public_url, conv_id) >= (int)outsz)
		out[0] = '\0';
}

/* Build and send the e-mail of n.  0, or -1 with err. */
static int
notify_email(struct db *db, const struct config *cfg, const struct notice *n,
    const struct extraction *lead, const char *url, char *err, size_t errsz)
{
	struct store_texts	 hist;
	struct mail_line	*lines = NULL;
	struct mail		 m;
	char			*msg = NULL;
	size_t			 len, i;
	int			 f, rc = -1;

	memset(&hist, 0, sizeof(hist));
	memset(&m, 0, sizeof(m));
	m.type = n->type;
	m.id = n->id;
	m.from = cfg->smtp_from;
	m.to = cfg->notify_email;
	m.firm = cfg->firm_name;
	m.date_ms = util_wall_ms();
	m.conv_id = n->conv_id;
	for (f = 0; f < FIELD__MAX; f++)
		m.value[f] = lead->strength[f] > 0 ? lead->value[f] : NULL;
	m.url = url[0] != '\0' ? url : NULL;
	if (cfg->notify_transcript) {
		if (store_history(db, n->conv_id, INT_MAX, cfg->history_max, 1,
		    &hist) == -1) {
			snprintf(err, errsz, "could not read the conversation");
			goto out;
		}
		if (hist.n > 0 &&
		    (lines = calloc(hist.n, sizeof(*lines))) == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		for (i = 0; i < hist.n; i++) {
			lines[i].assistant = hist.roles[i];
			lines[i].text = hist.texts[i];
			lines[i].len = hist.lens[i];
		}
		m.lines = lines;
		m.nlines = hist.n;
	}
	if ((msg = mail_compose(&m, &len)) == NULL) {
		snprintf(err, errsz, "could not build the e-mail");
		goto out;
	}
	rc = deliver_email(cfg, msg, len, err, errsz);
out:
	free(msg);
	free(lines);
	store_texts_free(&hist);
	return rc;
}

/* Build and send the webhook of n.  0, or -1 with err. */
static int
notify_webhook(const struct config *cfg, const struct notice *n,
    const struct extraction *lead, const char *url, char *err, size_t errsz)
{
	const char	*value[FIELD__MAX];
	char		*body;
	int		 f, rc;

	for (f = 0; f < FIELD__MAX; f++)
		value[f] = lead->strength[f] > 0 ? lead->value[f] : NULL;
	if ((body = webhook_body(n->type, n->event_at, n->conv_id, value,
	    url[0] != '\0' ? url : NULL)) == NULL) {
		snprintf(err, errsz, "could not build the webhook's body");
		return -1;
	}
	rc = deliver_webhook(cfg, n->id, body, strlen(body), err, errsz);
	free(body);
	return rc;
}

/*
 * One try of claimed n: read the lead as it is now, send, and say how
 * it went in err ("" when delivered).  -1 when the database failed.
 */
static int
notify_try(struct db *db, const struct config *cfg, const struct notice *n,
    char *err, size_t errsz)
{
	struct extraction	*lead;
	char			 url[1024];
	int			 rc = 0;

	err[0] = '\0';
	if (!(cfg->notify_targets & target_bits[n->target])) {
		snprintf(err, errsz, "%s is no longer configured",
		    n->target == NOTIFY_EMAIL ? "e-mail" : "the webhook");
		return 0;
	}
	if ((lead = calloc(1, sizeof(*lead))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return 0;
	}
	if (lead_load(db, n->conv_id, lead, NULL) == -1) {
		free(lead);
		return -1;
	}
	notify_url(cfg, n->conv_id, url, sizeof(url));
	if (n->target == NOTIFY_EMAIL)
		rc = notify_email(db, cfg, n, lead, url, err, errsz);
	else
		rc = notify_webhook(cfg, n, lead, url, err, errsz);
	if (rc == 0)
		err[0] = '\0';
	else if (err[0] == '\0')
		snprintf(err, errsz, "not delivered");
	free(lead);
	return 0;
}

int
notify_send_due(struct db *db, const struct config *cfg, int max)
{
	static unsigned	 seq;
	struct notice	 n;
	char		 owner[48], err[256];
	long		 pid = (long)getpid();
	long long	 start = (long long)util_proc_start(pid);
	enum claim_rc	 got;
	int		 sent = 0;

	while (sent < max) {
		/* Unique per claim: pid, its start (pids are reused), count. */
		snprintf(owner, sizeof(owner), "%ld.%lld.%u", pid, start,
		    ++seq);
		if ((got = notify_claim(db, owner, cfg->notify_timeout_ms +
		    NOTIFY_LEASE_SLACK_MS, &n)) != CLAIMED)
			return got == CLAIM_NONE ? sent : -1;
		if (notify_try(db, cfg, &n, err, sizeof(err)) == -1)
			return -1;
		sent++;
		if (err[0] == '\0')
			log_info("notification %s (%s, %s of %s): delivered, "
			    "try %d", n.id, notify_target_name(n.target),
			    n.type, n.conv_id, n.attempts);
		else
			log_warnx("notification %s (%s, %s of %s): try %d: %s",
			    n.id, notify_target_name(n.target), n.type,
			    n.conv_id, n.attempts, err);
		if (notify_record(db, cfg, &n, err[0] ? err : NULL) == -1)
			return -1;
	}
	return sent;
}

int
notify_retry_failed(struct db *db, const char *conv_id, const char *id)
{
	struct db_stmt	*st = NULL;
	int		 rc = -1;

	if (db_begin(db) == -1)
		return -1;
	/*
	 * A failed lead.updated stays failed while another is pending, or
	 * a newer one failed too: one pending lead.updated per lead and
	 * target (the unique index), and the one sent reads the lead as it
	 * is now, so it carries every change the others announced.
	 */
	st = db_prepare(db, "UPDATE notifications SET status = 'pending', "
	    "tries = 0, due_at = ?1, lease_until = NULL, lease_owner = NULL, "
	    "updated_at = " DB_NOW " WHERE status = 'failed' AND "
	    "(CAST(?2 AS TEXT) IS NULL OR (id = ?2 AND conversation_id = ?3)) "
	    "AND (type = 'lead.ready' OR NOT EXISTS (SELECT 1 FROM notifications o WHERE "
	    "o.conversation_id = notifications.conversation_id AND "
	    "o.target = notifications.target AND o.type = 'lead.updated' AND "
	    "(o.status = 'pending' OR (o.status = 'failed' AND (o.created_at, "
	    "o.id) > (notifications.created_at, notifications.id)))))");
	if (st == NULL)
		goto out;
	db_bind_int64(st, 1, util_wall_ms());
	db_bind_text(st, 2, id, -1);
	db_bind_text(st, 3, conv_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	rc = db_changes(db);
out:
	db_finalize(st);
	if (rc >= 0 && db_commit(db) == -1)
		rc = -1;
	else if (rc < 0)
		db_rollback(db);
	return rc;
}

int
notify_exists(struct db *db, const char *conv_id, const char *id)
{
	struct db_stmt	*st;
	int		 step;

	if ((st = db_prepare(db, "SELECT 1 FROM notifications WHERE id = ? "
	    "AND conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, conv_id, -1);
	step = db_step(st);
	db_finalize(st);
	return step == DB_ROW ? 1 : step == DB_DONE ? 0 : -1;
}

int
notify_stranded(struct db *db)
{
	struct db_stmt	*st;

	int64_t		 now = util_wall_ms();
	int		 rc;

	if ((rc = notify_any(db, now)) != 1)
		return rc;
	if ((st = db_prepare(db, "SELECT NOT EXISTS (SELECT 1 FROM "
	    "notifications WHERE status = 'pending' AND lease_until > ?1)"))
	    == NULL)
		return -1;
	db_bind_int64(st, 1, now);
	rc = db_step(st) == DB_ROW ? db_column_int(st, 0) : -1;
	db_finalize(st);
	return rc;
}

/* One notification as the contract's object. */
static json_t *
notify_row_json(struct db_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s?, s:s?, s:s}",
	    "id", db_column_text(st, 0),
	    "type", db_column_text(st, 1),
	    "target", db_column_text(st, 2),
	    "status", db_column_text(st, 3),
	    "attempts", db_column_int(st, 4),
	    "last_error", db_column_text(st, 5),
	    "sent_at", db_column_text(st, 6),
	    "created_at", db_column_text(st, 7));
}

json_t *
notify_list_json(struct db *db, const char *conv_id)
{
	return db_json_rows(db, "SELECT id, type, target, status, attempts, "
	    "last_error, sent_at, created_at FROM notifications WHERE "
	    "conversation_id = ?1 ORDER BY created_at, id", conv_id,
	    notify_row_json);
}
