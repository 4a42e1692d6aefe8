/*
 * store_reap.c: replies whose writer is gone (owner.c says when) are marked
 * interrupted, their saved text kept: by a reader who finds one, and by
 * the programs' periodic check when nobody reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "owner.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"


/* 1 when the owner_node in column i is this node (or none). */
int
store_ours(struct db_stmt *st, int i)
{
	return owner_same_node(db_column_text(st, i), util_node());
}

int
store_writer_gone(int64_t msg_id, int same_node, long pid, int64_t start,
    int64_t heartbeat_at, const struct store_owner *self)
{
	struct owner_seen	w;
	struct owner_self	me;

	w.same_node = same_node;
	w.pid = pid;
	w.start = start;
	w.heartbeat_at = heartbeat_at;
	me.pid = self->pid;
	me.start = self->start;
	me.stale_ms = self->stale_ms;
	me.alive = util_pid_alive;
	me.gave_up = self->gave_up;
	return owner_gone(&w, &me, msg_id, util_wall_ms());
}

/*
 * Inside a write transaction: mark the conversation's streaming replies
 * whose owner is gone as interrupted, their saved text kept.  Returns
 * how many streaming replies are left alive, or -1.
 */
int
store_reap_locked(struct db *db, const char *conv_id,
    const struct store_owner *self)
{
	struct db_stmt	*st;
	int64_t		 gone[8], id;
	int		 ngone = 0, alive = 0, i, step;

	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at, owner_node FROM messages WHERE "
	    "conversation_id = ? AND status = 'streaming'")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	while ((step = db_step(st)) == DB_ROW) {
		id = db_column_int64(st, 0);
		if (!store_writer_gone(id, store_ours(st, 4),
		    (long)db_column_int64(st, 1),
		    db_column_int64(st, 2), db_column_int64(st, 3),
		    self))
			alive++;
		else if (ngone < (int)(sizeof(gone) / sizeof(gone[0])))
			gone[ngone++] = id;
	}
	db_finalize(st);
	if (step != DB_DONE)
		return -1;
	for (i = 0; i < ngone; i++) {
		log_warnx("reply %lld: its writer is gone; marked "
		    "interrupted", (long long)gone[i]);
		if (store_finish_locked(db, gone[i], MSG_INTERRUPTED, NULL, 0,
		    "The reply was interrupted.") == -1)
			return -1;
	}
	return alive;
}

/* 1 when the conversation has a reply streaming whose owner is gone. */
static int
store_has_orphan(struct db *db, const char *conv_id,
    const struct store_owner *self)
{
	struct db_stmt	*st;
	int		 orphan = 0;

	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at, owner_node FROM messages WHERE "
	    "conversation_id = ? AND status = 'streaming'")) == NULL)
		return 0;
	db_bind_text(st, 1, conv_id, -1);
	while (db_step(st) == DB_ROW)
		if (store_writer_gone(db_column_int64(st, 0),
		    store_ours(st, 4), (long)db_column_int64(st, 1),
		    db_column_int64(st, 2), db_column_int64(st, 3),
		    self))
			orphan = 1;
	db_finalize(st);
	return orphan;
}

/* Reap orphans of conv_id in a write transaction of its own, if any. */
int
store_reap(struct db *db, const char *conv_id, const struct store_owner *self)
{
	if (!store_has_orphan(db, conv_id, self))
		return 0;
	if (db_begin(db) == -1)
		return -1;
	if (store_reap_locked(db, conv_id, self) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

int
store_reap_all(struct db *db, const struct store_owner *self)
{
	struct db_stmt	*st;
	char		 convs[8][72];
	int		 n = 0, i, step, total = 0;
	const char	*conv;

	/* Read first, outside any write lock: usually nothing is found. */
	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at, conversation_id, owner_node FROM messages "
	    "WHERE status = 'streaming'")) == NULL)
		return -1;
	while ((step = db_step(st)) == DB_ROW && n < 8) {
		conv = db_column_text(st, 4);
		if (conv != NULL && store_writer_gone(db_column_int64(st,
		    0), store_ours(st, 5), (long)db_column_int64(st, 1),
		    db_column_int64(st, 2), db_column_int64(st, 3),
		    self))
			snprintf(convs[n++], sizeof(convs[0]), "%s", conv);
	}
	db_finalize(st);
	if (step != DB_DONE && step != DB_ROW)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_reap(db, convs[i], self) == -1)
			return -1;
		total++;
	}
	return total;
}
