/*
 * store_turn.c: beginning a turn: the visitor's message and the reply's
 * placeholder in one write transaction (a client_id seen before replays
 * its turn), and a visitor's cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"


/* Inside the turn's transaction: the turn a client_id already made. */
static int
store_find_client_id(struct db *db, const char *conv_id, const char *cid,
    struct turn_ids *ids)
{
	struct db_stmt	*st;
	int		 found = 0;

	if ((st = db_prepare(db, "SELECT u.turn, u.id, a.id FROM messages u "
	    "JOIN messages a ON a.conversation_id = u.conversation_id AND "
	    "a.turn = u.turn AND a.role = 'assistant' WHERE "
	    "u.conversation_id = ? AND u.client_id = ? AND "
	    "u.role = 'user'")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_text(st, 2, cid, -1);
	if (db_step(st) == DB_ROW) {
		ids->turn = db_column_int(st, 0);
		ids->user_id = db_column_int64(st, 1);
		ids->assistant_id = db_column_int64(st, 2);
		found = 1;
	}
	db_finalize(st);
	return found;
}

static int64_t
store_insert_message(struct db *db, const char *conv_id, int turn,
    const char *role, const char *status, const char *text, size_t len,
    const char *client_id, const struct store_owner *owner)
{
	struct db_stmt	*st;
	char		 now[32];
	int64_t		 id = -1;

	store_now(now, sizeof(now));
	if ((st = db_prepare(db, "INSERT INTO messages (conversation_id, "
	    "turn, role, status, text, length, client_id, owner_pid, "
	    "owner_start, heartbeat_at, created_at, updated_at, owner_node) "
	    "VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, turn);
	db_bind_text(st, 3, role, -1);
	db_bind_text(st, 4, status, -1);
	if (db_bind_text(st, 5, text, len) != DB_OK) {
		log_warnx("store_insert_message: a text of %zu bytes", len);
		db_finalize(st);
		return -1;
	}
	db_bind_int64(st, 6, len);
	db_bind_text(st, 7, client_id, -1);
	if (owner != NULL) {
		db_bind_int64(st, 8, owner->pid);
		db_bind_int64(st, 9, owner->start);
		db_bind_int64(st, 10, util_wall_ms());
		db_bind_text(st, 13, util_node(), -1);
	}
	db_bind_text(st, 11, now, -1);
	db_bind_text(st, 12, now, -1);
	if (db_step(st) == DB_ROW)
		id = db_column_int64(st, 0);
	else
		log_warnx("store_insert_message: %s", db_errmsg(db));
	db_finalize(st);
	return id;
}

enum turn_rc
store_turn_begin(struct db *db, const char *conv_id, const char *text,
    size_t len, const char *client_id, long turns_max,
    const struct store_owner *self, struct turn_ids *ids)
{
	struct db_stmt	*st = NULL;
	enum turn_rc	 rc = TURN_ERROR;
	int		 alive, found;

	memset(ids, 0, sizeof(*ids));
	if (db_begin_for(db, "conv", conv_id) == -1)
		return TURN_ERROR;
	if (client_id != NULL) {
		if ((found = store_find_client_id(db, conv_id, client_id,
		    ids)) == -1)
			goto out;
		if (found) {
			rc = TURN_REPLAY;
			goto out;
		}
	}
	if ((alive = store_reap_locked(db, conv_id, self)) == -1)
		goto out;
	if (alive > 0) {
		rc = TURN_BUSY;
		goto out;
	}
	if ((st = db_prepare(db, "SELECT coalesce(max(turn), 0) FROM "
	    "messages WHERE conversation_id = ?")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) != DB_ROW)
		goto out;
	ids->turn = db_column_int(st, 0) + 1;
	db_finalize(st);
	st = NULL;
	if (ids->turn > turns_max) {
		rc = TURN_TOO_MANY;
		goto out;
	}
	ids->user_id = store_insert_message(db, conv_id, ids->turn, "user",
	    "complete", text, len, client_id, NULL);
	if (ids->user_id == -1)
		goto out;
	ids->assistant_id = store_insert_message(db, conv_id, ids->turn,
	    "assistant", "streaming", "", 0, NULL, self);
	if (ids->assistant_id == -1)
		goto out;
	if ((st = db_prepare(db, "UPDATE conversations SET updated_at = "
	    DB_NOW " WHERE id = ?")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	/* The turn's extraction is a job from the start: durable. */
	if (jobs_add(db, conv_id, ids->turn) == -1)
		goto out;
	if (db_commit(db) == -1)
		return TURN_ERROR;
	return TURN_STARTED;
out:
	db_finalize(st);
	db_rollback(db);
	return rc;
}

enum cancel_rc
store_cancel(struct db *db, const char *conv_id, const struct store_owner *self)
{
	struct db_stmt	*st = NULL;
	enum cancel_rc	 rc = CANCEL_ERROR;
	int		 alive;

	/* A reply whose writer is gone is not streaming: nothing to stop. */
	if (db_begin_for(db, "conv", conv_id) == -1)
		return CANCEL_ERROR;
	if ((alive = store_reap_locked(db, conv_id, self)) == -1)
		goto out;
	if (alive == 0) {
		rc = CANCEL_NOT_STREAMING;
		goto out;
	}
	if ((st = db_prepare(db, "UPDATE messages SET cancel = 1 WHERE "
	    "conversation_id = ? AND role = 'assistant' AND "
	    "status = 'streaming'")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) == DB_DONE)
		rc = db_changes(db) > 0 ? CANCEL_ASKED : CANCEL_NOT_STREAMING;
	else
		log_warnx("store_cancel: %s", db_errmsg(db));
out:
	db_finalize(st);
	if (rc == CANCEL_ERROR) {
		db_rollback(db);
		return CANCEL_ERROR;
	}
	return db_commit(db) == -1 ? CANCEL_ERROR : rc;
}
