/*
 * store_read.c: the reply's readers: a reply from a byte offset on, in one
 * read transaction so the row and its parts agree, and the one-row peek
 * a follower takes between reads.
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
 * Concatenate a reply's saved parts from the one holding byte offset from
 * on into a malloc'd string; *basep is the offset where it starts.  With
 * from 0 it is the whole saved text.
 */
char *
store_parts_from(struct db *db, int64_t msg_id, size_t from, size_t *basep,
    size_t *lenp)
{
	struct db_stmt	*st;
	char		*buf = NULL, *nb;
	size_t		 len = 0, n;
	int		 step, first = 1;

	*lenp = *basep = 0;
	if ((st = db_prepare(db, "SELECT \"offset\", text FROM message_parts "
	    "WHERE message_id = ?1 AND \"offset\" >= coalesce((SELECT "
	    "max(\"offset\") FROM message_parts WHERE message_id = ?1 AND "
	    "\"offset\" <= ?2), 0) ORDER BY \"offset\"")) == NULL)
		return NULL;
	db_bind_int64(st, 1, msg_id);
	db_bind_int64(st, 2, from);
	if ((buf = malloc(1)) == NULL)
		goto fail;
	while ((step = db_step(st)) == DB_ROW) {
		if (first)
			*basep = (size_t)db_column_int64(st, 0);
		first = 0;
		n = (size_t)db_column_bytes(st, 1);
		if ((nb = realloc(buf, len + n + 1)) == NULL)
			goto fail;
		buf = nb;
		memcpy(buf + len, db_column_text(st, 1), n);
		len += n;
	}
	if (step != DB_DONE)
		goto fail;
	db_finalize(st);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	log_warnx("store_parts: %s", db_errmsg(db));
	db_finalize(st);
	free(buf);
	return NULL;
}

/* The whole saved text of a streaming reply, malloc'd. */
char *
store_parts(struct db *db, int64_t msg_id, size_t *lenp)
{
	size_t	base;

	return store_parts_from(db, msg_id, 0, &base, lenp);
}

/* Within a read transaction: fill v from row msg_id from byte from on. */
static int
store_view_locked(struct db *db, const char *conv_id, int64_t msg_id,
    size_t from, struct reply_view *v)
{
	struct db_stmt	*st;
	const char	*text, *err;
	size_t		 len, base = 0;
	char		*parts = NULL;
	int		 rc = -1;

	if (msg_id != 0)
		st = db_prepare(db, "SELECT a.id, a.turn, a.status, a.text, "
		    "a.length, a.error, u.id FROM messages a JOIN messages u "
		    "ON u.conversation_id = a.conversation_id AND "
		    "u.turn = a.turn AND u.role = 'user' WHERE a.id = ?2 AND "
		    "a.conversation_id = ?1 AND a.role = 'assistant'");
	else
		st = db_prepare(db, "SELECT a.id, a.turn, a.status, a.text, "
		    "a.length, a.error, u.id FROM messages a JOIN messages u "
		    "ON u.conversation_id = a.conversation_id AND "
		    "u.turn = a.turn AND u.role = 'user' WHERE "
		    "a.conversation_id = ?1 AND a.role = 'assistant' AND "
		    "?2 = 0 ORDER BY a.turn DESC LIMIT 1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, msg_id);
	switch (db_step(st)) {
	case DB_DONE:
		rc = 0;
		goto out;
	case DB_ROW:
		break;
	default:
		goto out;
	}
	v->id = db_column_int64(st, 0);
	v->turn = db_column_int(st, 1);
	v->status = store_status_lookup((const char *)
	    db_column_text(st, 2));
	v->user_id = db_column_int64(st, 6);
	err = db_column_text(st, 5);
	if (err != NULL && (v->error = strdup(err)) == NULL)
		goto out;
	if (v->status == MSG_STREAMING) {
		/* Only the parts from the one holding from: no re-reads. */
		if ((parts = store_parts_from(db, v->id, from, &base,
		    &len)) == NULL)
			goto out;
		text = parts;	/* holds bytes [base, base + len) */
	} else {
		text = db_column_text(st, 3);
		len = (size_t)db_column_bytes(st, 3);
	}
	v->length = base + len;
	if (from > v->length)
		from = v->length;
	if (from < base)
		from = base;
	v->text_len = v->length - from;
	if ((v->text = malloc(v->text_len + 1)) == NULL)
		goto out;
	if (v->text_len > 0)
		memcpy(v->text, text + (from - base), v->text_len);
	v->text[v->text_len] = '\0';
	rc = 1;
out:
	free(parts);
	db_finalize(st);
	return rc;
}

enum found_rc
store_reply_read(struct db *db, const char *conv_id, int64_t msg_id,
    size_t from, const struct store_owner *self, struct reply_view *v)
{
	struct reply_peek	p;
	int			rc, reaped;

	memset(v, 0, sizeof(*v));
	/* A reap that cannot write (a full disk) does not stop the read. */
	reaped = store_reap(db, conv_id, self);
	if (db_begin_read(db) == -1)
		return FOUND_ERROR;
	rc = store_view_locked(db, conv_id, msg_id, from, v);
	if (rc == -1)
		log_warnx("store_reply_read: %s", db_errmsg(db));
	db_rollback(db);	/* the read ends */
	if (rc != 1) {
		store_reply_view_free(v);
		return rc == 0 ? FOUND_NONE : FOUND_ERROR;
	}
	/* Not marked (yet), but its writer is gone: say so all the same. */
	if (reaped == -1 && v->status == MSG_STREAMING &&
	    store_reply_peek(db, v->id, &p) == FOUND &&
	    store_owner_gone(v->id, &p, self)) {
		v->status = MSG_INTERRUPTED;
		free(v->error);
		v->error = strdup("The reply was interrupted.");
	}
	return FOUND;
}

void
store_reply_view_free(struct reply_view *v)
{
	free(v->text);
	free(v->error);
	v->text = v->error = NULL;
}

enum found_rc
store_reply_peek(struct db *db, int64_t msg_id, struct reply_peek *p)
{
	struct db_stmt	*st;
	enum found_rc	 rc = FOUND_ERROR;

	memset(p, 0, sizeof(*p));
	if ((st = db_prepare(db, "SELECT status, length, owner_pid, "
	    "owner_start, heartbeat_at, owner_node = ? FROM messages "
	    "WHERE id = ?")) == NULL)
		return FOUND_ERROR;
	db_bind_text(st, 1, util_node(), -1);
	db_bind_int64(st, 2, msg_id);
	switch (db_step(st)) {
	case DB_ROW:
		p->status = store_status_lookup((const char *)
		    db_column_text(st, 0));
		p->length = (size_t)db_column_int64(st, 1);
		p->owner_pid = (long)db_column_int64(st, 2);
		p->owner_start = db_column_int64(st, 3);
		p->heartbeat_at = db_column_int64(st, 4);
		p->other_node = !db_column_null(st, 5) &&
		    db_column_int(st, 5) == 0;
		rc = FOUND;
		break;
	case DB_DONE:
		rc = FOUND_NONE;
		break;
	default:
		log_warnx("store_reply_peek: %s", db_errmsg(db));
		break;
	}
	db_finalize(st);
	return rc;
}

int
store_owner_gone(int64_t msg_id, const struct reply_peek *p,
    const struct store_owner *self)
{
	if (p->status != MSG_STREAMING)
		return 0;
	return store_writer_gone(msg_id, !p->other_node, p->owner_pid,
	    p->owner_start, p->heartbeat_at, self);
}
