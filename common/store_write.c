/*
 * store_write.c: the reply's writer: its parts saved as they arrive (each save
 * writes only the new text and beats the heart), the cancel check, and
 * the end, when the parts are folded into the final text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"


/*
 * Inside a write transaction: fold the parts of msg_id into its text and
 * make it final.  Only a row still streaming (or marked interrupted by a
 * reader who thought its owner gone) changes.  0, or -1.
 */
int
store_finish_locked(struct db *db, int64_t msg_id, enum msg_status status,
    const char *text, size_t len, const char *error)
{
	struct db_stmt	*st = NULL;
	char		 now[32], *parts = NULL;
	int		 rc = -1;

	if (text == NULL) {
		if ((parts = store_parts(db, msg_id, &len)) == NULL)
			goto out;
		text = parts;
	}
	store_now(now, sizeof(now));
	st = db_prepare(db, "UPDATE messages SET status = ?, text = ?, "
	    "length = ?, error = ?, owner_pid = NULL, updated_at = ? "
	    "WHERE id = ? AND status IN ('streaming', 'interrupted')");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, store_status_name(status), -1);
	if (db_bind_text(st, 2, text, len) != DB_OK) {
		log_warnx("store_finish: a reply of %zu bytes", len);
		goto out;
	}
	db_bind_int64(st, 3, len);
	db_bind_text(st, 4, error, -1);
	db_bind_text(st, 5, now, -1);
	db_bind_int64(st, 6, msg_id);
	if (db_step(st) != DB_DONE) {
		log_warnx("store_finish: %s", db_errmsg(db));
		goto out;
	}
	db_finalize(st);
	if ((st = db_prepare(db, "DELETE FROM message_parts "
	    "WHERE message_id = ?")) == NULL)
		goto out;
	db_bind_int64(st, 1, msg_id);
	if (db_step(st) != DB_DONE) {
		log_warnx("store_finish: parts: %s", db_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	db_finalize(st);
	free(parts);
	return rc;
}

enum save_rc
store_save_locked(struct db *db, int64_t msg_id, size_t off, const char *text,
    size_t len)
{
	struct db_stmt	*st = NULL;
	enum save_rc	 rc = SAVE_ERROR, saved;

	/* The message first: a reply whose conversation was erased is no
	   more, and nothing of it may be written again. */
	if ((st = db_prepare(db, "UPDATE messages SET length = ?, "
	    "heartbeat_at = ? WHERE id = ? RETURNING cancel")) == NULL)
		goto out;
	db_bind_int64(st, 1, (off + len));
	db_bind_int64(st, 2, util_wall_ms());
	db_bind_int64(st, 3, msg_id);
	switch (db_step(st)) {
	case DB_ROW:
		break;
	case DB_DONE:
		rc = SAVE_GONE;
		goto out;
	default:
		goto out;
	}
	saved = db_column_int(st, 0) != 0 ? SAVE_CANCELLED : SAVE_OK;
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	if (len > 0) {
		if ((st = db_prepare(db, "INSERT INTO message_parts "
		    "(message_id, \"offset\", text) VALUES (?, ?, ?)")) == NULL)
			goto out;
		db_bind_int64(st, 1, msg_id);
		db_bind_int64(st, 2, off);
		if (db_bind_text(st, 3, text, len) != DB_OK) {
			log_warnx("store_reply_save: a part of %zu bytes",
			    len);
			goto out;
		}
		if (db_step(st) != DB_DONE)
			goto out;
	}
	rc = saved;
out:
	if (rc == SAVE_ERROR)
		log_warnx("store_reply_save: %s", db_errmsg(db));
	db_finalize(st);
	return rc;
}

enum save_rc
store_reply_save(struct db *db, int64_t msg_id, size_t off, const char *text,
    size_t len, long wait_ms)
{
	enum save_rc	 rc;

	switch (db_begin_within(db, wait_ms)) {
	case 0:
		break;
	case 1:
		return SAVE_BUSY;
	default:
		return SAVE_ERROR;
	}
	rc = store_save_locked(db, msg_id, off, text, len);
	if (rc == SAVE_ERROR || rc == SAVE_GONE) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db) == -1 ? SAVE_ERROR : rc;
}

int
store_reply_finish(struct db *db, int64_t msg_id, enum msg_status status,
    const char *text, size_t len, const char *error)
{
	if (db_begin(db) == -1)
		return -1;
	/* text NULL: fold in the parts saved so far. */
	if (store_finish_locked(db, msg_id, status, text, len, error) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

enum reply_check
store_reply_cancelled(struct db *db, int64_t msg_id)
{
	struct db_stmt	*st;
	enum reply_check rc = REPLY_CHECK_ERROR;

	if ((st = db_prepare(db, "SELECT cancel FROM messages "
	    "WHERE id = ?")) == NULL)
		return REPLY_CHECK_ERROR;
	db_bind_int64(st, 1, msg_id);
	switch (db_step(st)) {
	case DB_ROW:
		rc = db_column_int(st, 0) != 0 ? REPLY_CANCEL_ASKED :
		    REPLY_GO_ON;
		break;
	case DB_DONE:
		rc = REPLY_ERASED;
		break;
	default:
		break;
	}
	db_finalize(st);
	return rc;
}
