/*
 * slots.c: stream slots as rows of stream_slots (sql/004-limits.sql).
 *
 * A take is one short BEGIN IMMEDIATE: drop slots older than any stream
 * can last, count the address's slots and the conversation's follows,
 * and insert a row when both are under their caps (limit_rules.c decides).
 * Only when a cap is reached are the owners of the rows in the way
 * looked at (a read of /proc each), so a full address costs a few
 * lookups and an address under its cap none.  A give is one DELETE.
 */
#include <string.h>

#include "db.h"
#include "limit_rules.h"
#include "log.h"
#include "slots.h"
#include "util.h"

#define SLOTS_REAP_MAX	64	/* dead owners' slots deleted per take */
#define SLOTS_GIVE_TRIES 3

static const char *const slot_kinds[SLOT__MAX] = { "turn", "follow" };

/* Run st (bound) to its end and finalize it.  0, or -1. */
static int
slots_run(struct db_stmt *st)
{
	int	rc;

	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW)
		;
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

/* The address's slots and the conversation's follows.  0, or -1. */
static int
slots_count(struct db *db, const char *key, const char *conv_id,
    long *addr_n, long *conv_n)
{
	struct db_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "SELECT (SELECT count(*) FROM stream_slots "
	    "WHERE addr = ?), (SELECT count(*) FROM stream_slots WHERE "
	    "conversation_id = ? AND kind = 'follow')")) == NULL)
		return -1;
	db_bind_text(st, 1, key, -1);
	db_bind_text(st, 2, conv_id, -1);
	if (db_step(st) == DB_ROW) {
		*addr_n = (long)db_column_int64(st, 0);
		*conv_n = (long)db_column_int64(st, 1);
		rc = 0;
	}
	db_finalize(st);
	return rc;
}

/*
 * Delete the slots of the address and the conversation's follows whose
 * owner is gone.  The number deleted, or -1.
 */
static int
slots_reap(struct db *db, const char *key, const char *conv_id,
    const struct store_owner *self)
{
	struct db_stmt	*st;
	int64_t		 dead[SLOTS_REAP_MAX], start;
	long		 pid;
	int		 n = 0, i, step = DB_DONE;

	/* Another node's processes cannot be looked at from here: their
	   slots go by age alone (caps->max_age_ms). */
	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start FROM "
	    "stream_slots WHERE (addr = ? OR (conversation_id = ? AND "
	    "kind = 'follow')) AND (owner_node IS NULL OR owner_node = ?)"))
	    == NULL)
		return -1;
	db_bind_text(st, 1, key, -1);
	db_bind_text(st, 2, conv_id, -1);
	db_bind_text(st, 3, util_node(), -1);
	while (n < SLOTS_REAP_MAX && (step = db_step(st)) == DB_ROW) {
		pid = (long)db_column_int64(st, 1);
		start = db_column_int64(st, 2);
		if (pid == self->pid && start == self->start)
			continue;
		if (!util_pid_alive(pid, start))
			dead[n++] = db_column_int64(st, 0);
	}
	db_finalize(st);
	if (n < SLOTS_REAP_MAX && step != DB_DONE)
		return -1;
	for (i = 0; i < n; i++) {
		if ((st = db_prepare(db, "DELETE FROM stream_slots WHERE "
		    "id = ?")) == NULL)
			return -1;
		db_bind_int64(st, 1, dead[i]);
		if (slots_run(st) == -1)
			return -1;
	}
	if (n > 0)
		log_info("stream slots: %d of dead processes taken back", n);
	return n;
}

static enum slots_rc
slots_rc_of(enum limit_streams v)
{
	switch (v) {
	case LIMIT_STREAMS_ADDR:
		return SLOTS_FULL_ADDR;
	case LIMIT_STREAMS_CONV:
		return SLOTS_FULL_CONV;
	default:
		return SLOTS_TAKEN;
	}
}

enum slots_rc
slots_take(struct db *db, const struct slot_caps *caps, const char *addr,
    const char *conv_id, enum slot_kind kind,
    const struct store_owner *self, int64_t *id)
{
	struct db_stmt		*st;
	char			 key[LIMIT_ADDR_MAX];
	long			 addr_n = 0, conv_n = 0;
	long			 per_conv = kind == SLOT_FOLLOW ? caps->per_conv : 0;
	enum limit_streams	 v;
	int			 reaped;

	*id = 0;
	if (caps->per_addr <= 0 && per_conv <= 0)
		return SLOTS_TAKEN;
	limit_addr_key(addr, key);
	/* Counted per address and per conversation: both are locked. */
	if (db_begin_for(db, "slots", key) == -1)
		return SLOTS_ERROR;
	if (per_conv > 0 && db_lock(db, conv_id) == -1)
		goto fail;
	if ((st = db_prepare(db, "DELETE FROM stream_slots WHERE "
	    "started_at <= ?")) != NULL)
		db_bind_int64(st, 1, util_wall_ms() - caps->max_age_ms);
	if (slots_run(st) == -1 ||
	    slots_count(db, key, conv_id, &addr_n, &conv_n) == -1)
		goto fail;
	v = limit_streams(addr_n, caps->per_addr, conv_n, per_conv);
	if (v != LIMIT_STREAMS_OK) {
		if ((reaped = slots_reap(db, key, conv_id, self)) == -1)
			goto fail;
		if (reaped > 0) {
			if (slots_count(db, key, conv_id, &addr_n,
			    &conv_n) == -1)
				goto fail;
			v = limit_streams(addr_n, caps->per_addr, conv_n,
			    per_conv);
		}
	}
	if (v == LIMIT_STREAMS_OK) {
		if ((st = db_prepare(db, "INSERT INTO stream_slots (addr, "
		    "conversation_id, kind, owner_pid, owner_start, "
		    "started_at, owner_node) VALUES (?, ?, ?, ?, ?, ?, ?) "
		    "RETURNING id")) ==
		    NULL)
			goto fail;
		db_bind_text(st, 1, key, -1);
		db_bind_text(st, 2, conv_id, -1);
		db_bind_text(st, 3, slot_kinds[kind], -1);
		db_bind_int64(st, 4, self->pid);
		db_bind_int64(st, 5, self->start);
		db_bind_int64(st, 6, util_wall_ms());
		db_bind_text(st, 7, util_node(), -1);
		if (db_step(st) != DB_ROW) {
			db_finalize(st);
			goto fail;
		}
		*id = db_column_int64(st, 0);
		db_finalize(st);
	}
	if (db_commit(db) == -1) {
		*id = 0;
		return SLOTS_ERROR;
	}
	return slots_rc_of(v);
fail:
	log_warnx("stream slots: %s", db_errmsg(db));
	db_rollback(db);
	*id = 0;
	return SLOTS_ERROR;
}

void
slots_give(struct db *db, int64_t id)
{
	struct db_stmt	*st;
	int		 i, rc = DB_ERROR;

	if (id == 0)
		return;
	for (i = 0; i < SLOTS_GIVE_TRIES; i++) {
		if ((st = db_prepare(db, "DELETE FROM stream_slots WHERE "
		    "id = ?")) == NULL)
			break;
		db_bind_int64(st, 1, id);
		rc = db_step(st);
		db_finalize(st);
		if (rc == DB_DONE)
			return;
		if (rc != DB_BUSY)
			break;
		util_sleep_ms(100 << i);
	}
	log_warnx("stream slot %lld: could not be given back: %s",
	    (long long)id, db_errmsg(db));
}
