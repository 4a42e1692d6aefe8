/*
 * test_outbox.c: the outbox of lead notifications (notify.c) on a real
 * SQLite database, step by step: what a merge queues and joins, claims
 * and their leases, the backoff to 'failed', a lease that ran out, a
 * change made while a notification was in flight, and a failed row
 * sent again.  Nothing is sent: the rows are claimed and recorded by
 * hand, as a sender would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"
#include "util.h"
#include "config.h"
#include "db.h"
#include "notify.h"
#include "store.h"

static struct db	*db;
static struct config	 cfg;

/* The one integer sql gives (with a text bound to ?1), or -1. */
static int
q_int(const char *sql, const char *arg)
{
	struct db_stmt	*st;
	int		 v = -1;

	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	if (arg != NULL)
		db_bind_text(st, 1, arg, -1);
	if (db_step(st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	return v;
}

static int
count(const char *type, const char *target, const char *status)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM notifications "
	    "WHERE type = '%s' AND target = '%s' AND status = '%s'", type,
	    target, status);
	return q_int(sql, NULL);
}

/* Make every pending row due now (as if its backoff had passed). */
static void
all_due(void)
{
	db_exec(db, "UPDATE notifications SET due_at = 0 WHERE status = "
	    "'pending'", "test");
}

static void
test_queue_and_join(void)
{
	struct notice	a, b, c;

	CHECK(notify_queue(db, &cfg, "c1", READY_ANNOUNCE) == 0, "announce");
	CHECK(count("lead.ready", "email", "pending") == 1 &&
	    count("lead.ready", "webhook", "pending") == 1,
	    "one lead.ready per target");
	/* Announcing twice (two merges racing) still gives one each. */
	CHECK(notify_queue(db, &cfg, "c1", READY_ANNOUNCE) == 0 &&
	    q_int("SELECT count(*) FROM notifications", NULL) == 2,
	    "a second announce adds nothing");
	/* A change while lead.ready waits is carried by it. */
	CHECK(notify_queue(db, &cfg, "c1", READY_UPDATE) == 0 &&
	    q_int("SELECT count(*) FROM notifications WHERE type = "
	    "'lead.updated'", NULL) == 0, "a change joins the waiting ready");

	CHECK(notify_claim(db, "A", 60000, &a) == CLAIMED, "claim one");
	CHECK(notify_claim(db, "B", 60000, &b) == CLAIMED, "claim the other");
	CHECK(notify_claim(db, "C", 60000, &c) == CLAIM_NONE, "nothing left to claim");
	CHECK(strcmp(a.type, "lead.ready") == 0 && a.attempts == 1 &&
	    a.tries == 1 && strcmp(a.id, b.id) != 0 && a.target != b.target,
	    "two claims, two rows");
	CHECK(strncmp(a.id, "msg_", 4) == 0 && strlen(a.id) == 4 + 22,
	    "id msg_ + 128 bits: %s", a.id);
	CHECK(notify_stranded(db) == 0, "leases held: nobody is stranded");

	/* A change while a's lead.ready is in flight ... */
	CHECK(notify_queue(db, &cfg, "c1", READY_UPDATE) == 0, "update");
	CHECK(q_int("SELECT count(*) FROM notifications WHERE type = "
	    "'lead.updated'", NULL) == 0, "in flight: counted, not queued");
	/* ... becomes a lead.updated when a is recorded as sent. */
	CHECK(notify_record(db, &cfg, &a, NULL) == 0, "record a sent");
	CHECK(q_int("SELECT status = 'sent' AND sent_at IS NOT NULL AND "
	    "lease_owner IS NULL AND last_error IS NULL FROM notifications "
	    "WHERE id = ?1", a.id) == 1, "a is sent");
	CHECK(q_int("SELECT count(*) FROM notifications WHERE type = "
	    "'lead.updated' AND status = 'pending' AND target = ?1",
	    notify_target_name(a.target)) == 1,
	    "the change made in flight is a pending lead.updated");
	/* b's target: its lead.ready is still out, so its update waits. */
	CHECK(notify_record(db, &cfg, &b, "the webhook answered HTTP 500") ==
	    0, "record b failed");
	all_due();
	CHECK(notify_claim(db, "D", 60000, &c) == CLAIMED && strcmp(c.type,
	    b.type) == 0 && c.target == b.target && c.tries == 2 &&
	    c.attempts == 2, "b's target: its lead.ready again, try 2");
	CHECK(notify_record(db, &cfg, &c, NULL) == 0, "record c sent");
	/* The email update (its change came while a was in flight); none
	   for the webhook: c, its second try, read the lead after the
	   change, so the change is in what it sent. */
	all_due();
	CHECK(notify_claim(db, "E", 60000, &a) == CLAIMED &&
	    strcmp(a.type, "lead.updated") == 0 && a.target == NOTIFY_EMAIL,
	    "the email update claimed");
	CHECK(notify_record(db, &cfg, &a, NULL) == 0, "update sent");
	CHECK(notify_claim(db, "F", 60000, &a) == CLAIM_NONE, "all sent");
}

static void
test_update_waits_for_ready(void)
{
	struct notice	n;

	/* c2: its webhook ready failed for good, then a change. */
	CHECK(store_conv_create(db, "c2", "t", NULL) == 0, "conv c2");
	cfg.notify_targets = CONFIG_TARGET_WEBHOOK;
	CHECK(notify_queue(db, &cfg, "c2", READY_ANNOUNCE) == 0, "announce");
	db_exec(db, "UPDATE notifications SET status = 'failed' WHERE "
	    "conversation_id = 'c2'", "test");
	CHECK(notify_queue(db, &cfg, "c2", READY_UPDATE) == 0 &&
	    count("lead.updated", "webhook", "pending") == 1,
	    "ready failed: a change is a lead.updated");
	/* Staff send the ready again: the update waits behind it. */
	CHECK(notify_retry_failed(db, "c2", "msg_other") == 0 &&
	    q_int("SELECT count(*) FROM notifications WHERE status = "
	    "'failed'", NULL) == 1, "another id: nothing");
	CHECK(notify_retry_failed(db, NULL, NULL) == 1, "retry all failed");
	CHECK(notify_claim(db, "G", 60000, &n) == CLAIMED &&
	    strcmp(n.type, "lead.ready") == 0 && n.tries == 1 &&
	    n.attempts == 1, "the ready first, its tries afresh");
	CHECK(notify_claim(db, "H", 60000, &n) == CLAIM_NONE,
	    "the update waits while the ready is out");
	db_exec(db, "DELETE FROM notifications WHERE conversation_id = 'c2'",
	    "test");
	cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
}

static void
test_backoff_to_failed(void)
{
	struct notice	n;
	char		sql[160];
	int		i;

	CHECK(store_conv_create(db, "c3", "t", NULL) == 0, "conv c3");
	cfg.notify_targets = CONFIG_TARGET_EMAIL;
	CHECK(notify_queue(db, &cfg, "c3", READY_ANNOUNCE) == 0, "announce");
	/* Backoff "60,60": three tries, then failed. */
	for (i = 1; i <= 3; i++) {
		all_due();
		CHECK(notify_claim(db, "K", 60000, &n) == CLAIMED && n.tries == i,
		    "try %d claimed", i);
		CHECK(notify_record(db, &cfg, &n, "mail server refused: 451")
		    == 0, "try %d recorded", i);
		if (i < 3) {
			snprintf(sql, sizeof(sql), "SELECT status = 'pending' "
			    "AND due_at > %lld FROM notifications WHERE "
			    "id = ?1", (long long)util_wall_ms() + 50000);
			CHECK(q_int(sql, n.id) == 1,
			    "try %d: pending, due after its wait", i);
			CHECK(notify_claim(db, "L", 60000, &n) == CLAIM_NONE,
			    "not due during the wait");
			CHECK(notify_stranded(db) == 0, "waiting is not "
			    "stranded");
		}
	}
	CHECK(q_int("SELECT status = 'failed' AND attempts = 3 AND "
	    "last_error = 'mail server refused: 451' FROM notifications WHERE "
	    "id = ?1", n.id) == 1, "failed after the last, error kept");
	CHECK(notify_exists(db, "c3", n.id) == 1 &&
	    notify_exists(db, "c1", n.id) == 0 &&
	    notify_exists(db, "c3", "msg_nope") == 0, "exists");
	CHECK(notify_retry_failed(db, "c3", n.id) == 1, "sent again");
	CHECK(notify_stranded(db) == 1, "due with no sender: stranded");
	CHECK(notify_claim(db, "M", 60000, &n) == CLAIMED && n.tries == 1 &&
	    n.attempts == 4, "tries afresh, attempts go on");
	CHECK(notify_record(db, &cfg, &n, NULL) == 0, "sent");
	CHECK(notify_retry_failed(db, "c3", n.id) == 0, "a sent row is not "
	    "sent again");
	cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
}

static void
test_lease_lost(void)
{
	struct notice	a, b;

	CHECK(store_conv_create(db, "c4", "t", NULL) == 0, "conv c4");
	cfg.notify_targets = CONFIG_TARGET_WEBHOOK;
	CHECK(notify_queue(db, &cfg, "c4", READY_ANNOUNCE) == 0, "announce");
	CHECK(notify_claim(db, "A", 60000, &a) == CLAIMED, "A claims");
	CHECK(notify_claim(db, "B", 60000, &b) == CLAIM_NONE, "B cannot while A's "
	    "lease lives");
	/* A was killed (or is slow): its lease runs out. */
	db_exec(db, "UPDATE notifications SET lease_until = 1", "test");
	CHECK(notify_stranded(db) == 1, "an expired lease: stranded");
	CHECK(notify_claim(db, "B", 60000, &b) == CLAIMED && strcmp(a.id, b.id) ==
	    0 && b.attempts == 2, "B takes the same row, same id");
	CHECK(notify_record(db, &cfg, &a, "too late") == 0 &&
	    q_int("SELECT lease_owner = 'B' AND last_error IS NULL FROM "
	    "notifications WHERE id = ?1", a.id) == 1,
	    "A's late record writes nothing");
	CHECK(notify_record(db, &cfg, &a, NULL) == 0 &&
	    q_int("SELECT status FROM notifications WHERE id = ?1 AND "
	    "status = 'pending'", a.id) != -1, "nor does a late success");
	CHECK(notify_record(db, &cfg, &b, NULL) == 0 &&
	    q_int("SELECT status = 'sent' FROM notifications WHERE id = ?1",
	    b.id) == 1, "B's record is taken");
	cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
}

static void
test_list(void)
{
	json_t	*arr, *e;
	size_t	 i;
	int	 ok = 1;

	arr = notify_list_json(db, "c3");
	CHECK(arr != NULL && json_array_size(arr) == 1, "c3: one row");
	json_array_foreach(arr, i, e)
		ok = ok && json_is_string(json_object_get(e, "id")) &&
		    strcmp(json_string_value(json_object_get(e, "type")),
		    "lead.ready") == 0 &&
		    strcmp(json_string_value(json_object_get(e, "target")),
		    "email") == 0 &&
		    strcmp(json_string_value(json_object_get(e, "status")),
		    "sent") == 0 &&
		    json_integer_value(json_object_get(e, "attempts")) == 4 &&
		    json_is_string(json_object_get(e, "sent_at")) &&
		    json_object_get(e, "last_error") != NULL;
	CHECK(ok, "row shape");
	json_decref(arr);
	arr = notify_list_json(db, "nope");
	CHECK(arr != NULL && json_array_size(arr) == 0, "no rows: []");
	json_decref(arr);
}

int
main(void)
{
	char	dir[] = "/tmp/intake-outbox-XXXXXX", path[128];
	char	err[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/o.db", dir);
	config_defaults(&cfg);
	cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
	snprintf(cfg.notify_backoff, sizeof(cfg.notify_backoff), "60,60");
	if (config_notify(&cfg, err, sizeof(err)) == -1)
		return 1;
	cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
	if ((db = testdb_fresh(path)) == NULL ||
	    store_conv_create(db, "c1", "t", NULL) == -1)
		return 1;
	test_queue_and_join();
	test_update_waits_for_ready();
	test_backoff_to_failed();
	test_lease_lost();
	test_list();
	db_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/o.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/o.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return check_done("outbox");
}
