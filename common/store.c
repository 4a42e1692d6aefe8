/*
 * store.c: the SQL of conversations and messages.
 *
 * Prepared statements with bound values only.  Writers take the lock up
 * front with BEGIN IMMEDIATE (a deferred BEGIN that later writes fails
 * with SQLITE_BUSY_SNAPSHOT under WAL); readers of a streaming reply read
 * in one short deferred transaction so the row and its parts agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char *const status_names[MSG__MAX] = {
	"streaming", "complete", "error", "cancelled", "interrupted",
};

const char *
store_status_name(enum msg_status s)
{
	return (unsigned)s < MSG__MAX ? status_names[s] : "error";
}

enum msg_status
store_status_lookup(const char *s)
{
	int	i;

	for (i = 0; i < MSG__MAX; i++)
		if (s != NULL && strcmp(s, status_names[i]) == 0)
			return (enum msg_status)i;
	return MSG_ERROR;
}

static void
store_now(char *buf, size_t sz)
{
	util_iso_time(util_wall_ms(), buf, sz);
}

int
store_conv_create(sqlite3 *db, const char *id, const char *token,
    const char *addr)
{
	sqlite3_stmt	*st = NULL;
	char		 now[32];
	int		 rc = -1;

	store_now(now, sizeof(now));
	st = db_prepare(db, "INSERT INTO conversations (id, token, "
	    "client_addr, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, token, -1);
	db_bind_text(st, 3, addr, -1);
	db_bind_text(st, 4, now, -1);
	db_bind_text(st, 5, now, -1);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("store_conv_create: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char	diff = 0;
	size_t			i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

enum store_auth
store_conv_auth(sqlite3 *db, const char *id, const char *token)
{
	sqlite3_stmt	*st;
	enum store_auth	 rc = STORE_AUTH_ERROR;
	const char	*want;
	int		 step;

	if ((st = db_prepare(db, "SELECT token FROM conversations "
	    "WHERE id = ?")) == NULL)
		return rc;
	db_bind_text(st, 1, id, -1);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = STORE_AUTH_NOT_FOUND;
	else if (step == SQLITE_ROW) {
		want = (const char *)sqlite3_column_text(st, 0);
		rc = token != NULL && want != NULL &&
		    store_secret_eq(want, strlen(want), token,
		    strlen(token)) ? STORE_AUTH_OK : STORE_AUTH_DENIED;
	} else
		log_warnx("store_conv_auth: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/*
 * Concatenate a reply's saved parts from the one holding byte offset from
 * on into a malloc'd string; *basep is the offset where it starts.  With
 * from 0 it is the whole saved text.
 */
static char *
store_parts_from(sqlite3 *db, int64_t msg_id, size_t from, size_t *basep,
    size_t *lenp)
{
	sqlite3_stmt	*st;
	char		*buf = NULL, *nb;
	size_t		 len = 0, n;
	int		 step, first = 1;

	*lenp = *basep = 0;
	if ((st = db_prepare(db, "SELECT offset, text FROM message_parts "
	    "WHERE message_id = ?1 AND offset >= coalesce((SELECT "
	    "max(offset) FROM message_parts WHERE message_id = ?1 AND "
	    "offset <= ?2), 0) ORDER BY offset")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, msg_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
	if ((buf = malloc(1)) == NULL)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (first)
			*basep = (size_t)sqlite3_column_int64(st, 0);
		first = 0;
		n = (size_t)sqlite3_column_bytes(st, 1);
		if ((nb = realloc(buf, len + n + 1)) == NULL)
			goto fail;
		buf = nb;
		memcpy(buf + len, sqlite3_column_blob(st, 1), n);
		len += n;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	log_warnx("store_parts: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(buf);
	return NULL;
}

/* The whole saved text of a streaming reply, malloc'd. */
static char *
store_parts(sqlite3 *db, int64_t msg_id, size_t *lenp)
{
	size_t	base;

	return store_parts_from(db, msg_id, 0, &base, lenp);
}

/*
 * Inside a write transaction: fold the parts of msg_id into its text and
 * make it final.  Only a row still streaming (or marked interrupted by a
 * reader who thought its owner gone) changes.  0, or -1.
 */
static int
store_finish_locked(sqlite3 *db, int64_t msg_id, enum msg_status status,
    const char *text, size_t len, const char *error)
{
	sqlite3_stmt	*st = NULL;
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
	if (db_bind_text(st, 2, text, len) != SQLITE_OK) {
		log_warnx("store_finish: a reply of %zu bytes", len);
		goto out;
	}
	sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
	db_bind_text(st, 4, error, -1);
	db_bind_text(st, 5, now, -1);
	sqlite3_bind_int64(st, 6, msg_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("store_finish: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	if ((st = db_prepare(db, "DELETE FROM message_parts "
	    "WHERE message_id = ?")) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, msg_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("store_finish: parts: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(parts);
	return rc;
}

int
store_writer_gone(int64_t msg_id, long pid, int64_t start,
    int64_t heartbeat_at, const struct store_owner *self)
{
	if (util_wall_ms() - heartbeat_at > self->stale_ms)
		return 1;
	if (pid == self->pid && start == self->start)
		return self->gave_up != NULL && self->gave_up(msg_id);
	return !util_pid_alive(pid, start);
}

/*
 * Inside a write transaction: mark the conversation's streaming replies
 * whose owner is gone as interrupted, their saved text kept.  Returns
 * how many streaming replies are left alive, or -1.
 */
static int
store_reap_locked(sqlite3 *db, const char *conv_id,
    const struct store_owner *self)
{
	sqlite3_stmt	*st;
	int64_t		 gone[8], id;
	int		 ngone = 0, alive = 0, i, step;

	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at FROM messages WHERE conversation_id = ? AND "
	    "status = 'streaming'")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (!store_writer_gone(id, (long)sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		    self))
			alive++;
		else if (ngone < (int)(sizeof(gone) / sizeof(gone[0])))
			gone[ngone++] = id;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
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
store_has_orphan(sqlite3 *db, const char *conv_id,
    const struct store_owner *self)
{
	sqlite3_stmt	*st;
	int		 orphan = 0;

	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at FROM messages WHERE conversation_id = ? AND "
	    "status = 'streaming'")) == NULL)
		return 0;
	db_bind_text(st, 1, conv_id, -1);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (store_writer_gone(sqlite3_column_int64(st, 0),
		    (long)sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		    self))
			orphan = 1;
	sqlite3_finalize(st);
	return orphan;
}

/* Reap orphans of conv_id in a write transaction of its own, if any. */
static int
store_reap(sqlite3 *db, const char *conv_id, const struct store_owner *self)
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
store_reap_all(sqlite3 *db, const struct store_owner *self)
{
	sqlite3_stmt	*st;
	char		 convs[8][72];
	int		 n = 0, i, step, total = 0;
	const char	*conv;

	/* Read first, outside any write lock: usually nothing is found. */
	if ((st = db_prepare(db, "SELECT id, owner_pid, owner_start, "
	    "heartbeat_at, conversation_id FROM messages "
	    "WHERE status = 'streaming'")) == NULL)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < 8) {
		conv = (const char *)sqlite3_column_text(st, 4);
		if (conv != NULL && store_writer_gone(sqlite3_column_int64(st,
		    0), (long)sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		    self))
			snprintf(convs[n++], sizeof(convs[0]), "%s", conv);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_reap(db, convs[i], self) == -1)
			return -1;
		total++;
	}
	return total;
}

json_t *
store_conv_json(sqlite3 *db, const char *id, const struct store_owner *self)
{
	sqlite3_stmt	*st = NULL;
	json_t		*conv = NULL, *msgs, *m;
	char		 mid[32], *parts;
	const char	*text, *status;
	size_t		 len;
	int		 step, streaming;

	/* A reap that cannot write (a full disk) does not stop the read. */
	(void)store_reap(db, id, self);
	if (db_exec(db, "BEGIN", "store_conv_json") == -1)
		return NULL;
	st = db_prepare(db, "SELECT id, role, turn, status, text, owner_pid, "
	    "owner_start, heartbeat_at FROM messages WHERE "
	    "conversation_id = ? ORDER BY turn, role = 'assistant'");
	if (st == NULL)
		goto fail;
	db_bind_text(st, 1, id, -1);
	msgs = json_array();
	conv = json_pack("{s:s, s:o}", "id", id, "messages", msgs);
	if (conv == NULL)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(mid, sizeof(mid), "%lld",
		    (long long)sqlite3_column_int64(st, 0));
		text = (const char *)sqlite3_column_text(st, 4);
		streaming = store_status_lookup((const char *)
		    sqlite3_column_text(st, 3)) == MSG_STREAMING;
		parts = NULL;
		if (streaming) {
			if ((parts = store_parts(db,
			    sqlite3_column_int64(st, 0), &len)) == NULL)
				goto fail;
			text = parts;
		}
		/* Not marked (the reap could not write): say it all the same. */
		if (streaming && store_writer_gone(sqlite3_column_int64(st, 0),
		    (long)sqlite3_column_int64(st, 5),
		    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
		    self))
			status = "interrupted";
		else
			status = (const char *)sqlite3_column_text(st, 3);
		m = json_pack("{s:s, s:s, s:i, s:s, s:s}", "id", mid,
		    "role", (const char *)sqlite3_column_text(st, 1),
		    "turn", sqlite3_column_int(st, 2),
		    "text", text ? text : "",
		    "status", status);
		free(parts);
		if (m == NULL || json_array_append_new(msgs, m) == -1)
			goto fail;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	db_exec(db, "COMMIT", "store_conv_json");
	return conv;
fail:
	log_warnx("store_conv_json: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	db_rollback(db);
	json_decref(conv);
	return NULL;
}

/* Inside the turn's transaction: the turn a client_id already made. */
static int
store_find_client_id(sqlite3 *db, const char *conv_id, const char *cid,
    struct turn_ids *ids)
{
	sqlite3_stmt	*st;
	int		 found = 0;

	if ((st = db_prepare(db, "SELECT u.turn, u.id, a.id FROM messages u "
	    "JOIN messages a ON a.conversation_id = u.conversation_id AND "
	    "a.turn = u.turn AND a.role = 'assistant' WHERE "
	    "u.conversation_id = ? AND u.client_id = ? AND "
	    "u.role = 'user'")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_text(st, 2, cid, -1);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ids->turn = sqlite3_column_int(st, 0);
		ids->user_id = sqlite3_column_int64(st, 1);
		ids->assistant_id = sqlite3_column_int64(st, 2);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int64_t
store_insert_message(sqlite3 *db, const char *conv_id, int turn,
    const char *role, const char *status, const char *text, size_t len,
    const char *client_id, const struct store_owner *owner)
{
	sqlite3_stmt	*st;
	char		 now[32];
	int64_t		 id = -1;

	store_now(now, sizeof(now));
	if ((st = db_prepare(db, "INSERT INTO messages (conversation_id, "
	    "turn, role, status, text, length, client_id, owner_pid, "
	    "owner_start, heartbeat_at, created_at, updated_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	sqlite3_bind_int(st, 2, turn);
	db_bind_text(st, 3, role, -1);
	db_bind_text(st, 4, status, -1);
	if (db_bind_text(st, 5, text, len) != SQLITE_OK) {
		log_warnx("store_insert_message: a text of %zu bytes", len);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_int64(st, 6, (sqlite3_int64)len);
	db_bind_text(st, 7, client_id, -1);
	if (owner != NULL) {
		sqlite3_bind_int64(st, 8, owner->pid);
		sqlite3_bind_int64(st, 9, owner->start);
		sqlite3_bind_int64(st, 10, util_wall_ms());
	}
	db_bind_text(st, 11, now, -1);
	db_bind_text(st, 12, now, -1);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(db);
	else
		log_warnx("store_insert_message: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return id;
}

enum turn_rc
store_turn_begin(sqlite3 *db, const char *conv_id, const char *text,
    size_t len, const char *client_id, long turns_max,
    const struct store_owner *self, struct turn_ids *ids)
{
	sqlite3_stmt	*st = NULL;
	enum turn_rc	 rc = TURN_ERROR;
	int		 alive, found;

	memset(ids, 0, sizeof(*ids));
	if (db_begin(db) == -1)
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
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	ids->turn = sqlite3_column_int(st, 0) + 1;
	sqlite3_finalize(st);
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
	    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	/* The turn's extraction is a job from the start: durable. */
	if (jobs_add(db, conv_id, ids->turn) == -1)
		goto out;
	if (db_commit(db) == -1)
		return TURN_ERROR;
	return TURN_STARTED;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return rc;
}

int
store_history(sqlite3 *db, const char *conv_id, int turn, long max,
    int assistant, struct store_texts *out)
{
	sqlite3_stmt	*st;
	size_t		 cap, n = 0, len;
	int		 step, isasst;
	const char	*text;
	char		*parts;

	memset(out, 0, sizeof(*out));
	if (max <= 0)
		return 0;
	cap = (size_t)max;
	out->texts = calloc(cap, sizeof(*out->texts));
	out->lens = calloc(cap, sizeof(*out->lens));
	out->roles = calloc(cap, sizeof(*out->roles));
	if (out->texts == NULL || out->lens == NULL || out->roles == NULL)
		goto fail;
	/* The latest max messages, then put back in order. */
	st = db_prepare(db, "SELECT role = 'assistant', text, id, status "
	    "FROM (SELECT * FROM messages WHERE conversation_id = ?1 AND "
	    "turn <= ?2 AND (?3 OR role = 'user') ORDER BY turn DESC, "
	    "role = 'assistant' DESC LIMIT ?4) ORDER BY turn, "
	    "role = 'assistant'");
	if (st == NULL)
		goto fail;
	db_bind_text(st, 1, conv_id, -1);
	sqlite3_bind_int(st, 2, turn);
	sqlite3_bind_int(st, 3, assistant != 0);
	sqlite3_bind_int64(st, 4, max);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < cap) {
		isasst = sqlite3_column_int(st, 0);
		parts = NULL;
		text = (const char *)sqlite3_column_text(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		if (isasst && store_status_lookup((const char *)
		    sqlite3_column_text(st, 3)) == MSG_STREAMING) {
			parts = store_parts(db, sqlite3_column_int64(st, 2),
			    &len);
			text = parts;
		}
		out->texts[n] = malloc(len + 1);
		if (out->texts[n] == NULL) {
			free(parts);
			sqlite3_finalize(st);
			goto fail;
		}
		if (len > 0)
			memcpy(out->texts[n], text, len);
		out->texts[n][len] = '\0';
		out->lens[n] = len;
		out->roles[n] = isasst;
		n++;
		out->n = n;
		free(parts);
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	return (int)n;
fail:
	log_warnx("store_history: %s", sqlite3_errmsg(db));
	store_texts_free(out);
	return -1;
}

void
store_texts_free(struct store_texts *t)
{
	size_t	i;

	if (t->texts != NULL)
		for (i = 0; i < t->n; i++)
			free(t->texts[i]);
	free(t->texts);
	free(t->lens);
	free(t->roles);
	memset(t, 0, sizeof(*t));
}

enum save_rc
store_reply_save(sqlite3 *db, int64_t msg_id, size_t off, const char *text,
    size_t len, long wait_ms)
{
	sqlite3_stmt	*st = NULL;
	enum save_rc	 rc = SAVE_ERROR, saved;

	switch (db_begin_within(db, wait_ms)) {
	case 0:
		break;
	case 1:
		return SAVE_BUSY;
	default:
		return SAVE_ERROR;
	}
	/* The message first: a reply whose conversation was erased is no
	   more, and nothing of it may be written again. */
	if ((st = db_prepare(db, "UPDATE messages SET length = ?, "
	    "heartbeat_at = ? WHERE id = ? RETURNING cancel")) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(off + len));
	sqlite3_bind_int64(st, 2, util_wall_ms());
	sqlite3_bind_int64(st, 3, msg_id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		break;
	case SQLITE_DONE:
		rc = SAVE_GONE;
		goto out;
	default:
		goto out;
	}
	saved = sqlite3_column_int(st, 0) != 0 ? SAVE_CANCELLED : SAVE_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (len > 0) {
		if ((st = db_prepare(db, "INSERT INTO message_parts "
		    "(message_id, offset, text) VALUES (?, ?, ?)")) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, msg_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)off);
		if (db_bind_text(st, 3, text, len) != SQLITE_OK) {
			log_warnx("store_reply_save: a part of %zu bytes",
			    len);
			goto out;
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = saved;
out:
	if (rc == SAVE_ERROR)
		log_warnx("store_reply_save: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc == SAVE_ERROR || rc == SAVE_GONE) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db) == -1 ? SAVE_ERROR : rc;
}

int
store_reply_finish(sqlite3 *db, int64_t msg_id, enum msg_status status,
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

int
store_reply_cancelled(sqlite3 *db, int64_t msg_id)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "SELECT cancel FROM messages "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		rc = sqlite3_column_int(st, 0) != 0;
		break;
	case SQLITE_DONE:
		rc = 2;		/* erased */
		break;
	default:
		break;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_cancel(sqlite3 *db, const char *conv_id, const struct store_owner *self)
{
	sqlite3_stmt	*st = NULL;
	int		 alive, rc = -1;

	/* A reply whose writer is gone is not streaming: nothing to stop. */
	if (db_begin(db) == -1)
		return -1;
	if ((alive = store_reap_locked(db, conv_id, self)) == -1)
		goto out;
	if (alive == 0) {
		rc = 0;
		goto out;
	}
	if ((st = db_prepare(db, "UPDATE messages SET cancel = 1 WHERE "
	    "conversation_id = ? AND role = 'assistant' AND "
	    "status = 'streaming'")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) > 0;
	else
		log_warnx("store_cancel: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	if (rc == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) == -1 ? -1 : rc;
}

/* Within a read transaction: fill v from row msg_id from byte from on. */
static int
store_view_locked(sqlite3 *db, const char *conv_id, int64_t msg_id,
    size_t from, struct reply_view *v)
{
	sqlite3_stmt	*st;
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
	sqlite3_bind_int64(st, 2, msg_id);
	switch (sqlite3_step(st)) {
	case SQLITE_DONE:
		rc = 0;
		goto out;
	case SQLITE_ROW:
		break;
	default:
		goto out;
	}
	v->id = sqlite3_column_int64(st, 0);
	v->turn = sqlite3_column_int(st, 1);
	v->status = store_status_lookup((const char *)
	    sqlite3_column_text(st, 2));
	v->user_id = sqlite3_column_int64(st, 6);
	err = (const char *)sqlite3_column_text(st, 5);
	if (err != NULL && (v->error = strdup(err)) == NULL)
		goto out;
	if (v->status == MSG_STREAMING) {
		/* Only the parts from the one holding from: no re-reads. */
		if ((parts = store_parts_from(db, v->id, from, &base,
		    &len)) == NULL)
			goto out;
		text = parts;	/* holds bytes [base, base + len) */
	} else {
		text = (const char *)sqlite3_column_text(st, 3);
		len = (size_t)sqlite3_column_bytes(st, 3);
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
	sqlite3_finalize(st);
	return rc;
}

int
store_reply_read(sqlite3 *db, const char *conv_id, int64_t msg_id,
    size_t from, const struct store_owner *self, struct reply_view *v)
{
	struct reply_peek	p;
	int			rc, reaped;

	memset(v, 0, sizeof(*v));
	/* A reap that cannot write (a full disk) does not stop the read. */
	reaped = store_reap(db, conv_id, self);
	if (db_exec(db, "BEGIN", "store_reply_read") == -1)
		return -1;
	rc = store_view_locked(db, conv_id, msg_id, from, v);
	if (rc == -1)
		log_warnx("store_reply_read: %s", sqlite3_errmsg(db));
	db_exec(db, "COMMIT", "store_reply_read");
	if (rc != 1) {
		store_reply_view_free(v);
		return rc;
	}
	/* Not marked (yet), but its writer is gone: say so all the same. */
	if (reaped == -1 && v->status == MSG_STREAMING &&
	    store_reply_peek(db, v->id, &p) == 1 &&
	    store_owner_gone(v->id, &p, self)) {
		v->status = MSG_INTERRUPTED;
		free(v->error);
		v->error = strdup("The reply was interrupted.");
	}
	return 1;
}

void
store_reply_view_free(struct reply_view *v)
{
	free(v->text);
	free(v->error);
	v->text = v->error = NULL;
}

int
store_reply_peek(sqlite3 *db, int64_t msg_id, struct reply_peek *p)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	memset(p, 0, sizeof(*p));
	if ((st = db_prepare(db, "SELECT status, length, owner_pid, "
	    "owner_start, heartbeat_at FROM messages WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		p->status = store_status_lookup((const char *)
		    sqlite3_column_text(st, 0));
		p->length = (size_t)sqlite3_column_int64(st, 1);
		p->owner_pid = (long)sqlite3_column_int64(st, 2);
		p->owner_start = sqlite3_column_int64(st, 3);
		p->heartbeat_at = sqlite3_column_int64(st, 4);
		rc = 1;
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	default:
		log_warnx("store_reply_peek: %s", sqlite3_errmsg(db));
		break;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_owner_gone(int64_t msg_id, const struct reply_peek *p,
    const struct store_owner *self)
{
	if (p->status != MSG_STREAMING)
		return 0;
	return store_writer_gone(msg_id, p->owner_pid, p->owner_start,
	    p->heartbeat_at, self);
}

int
store_health(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 ok;

	if ((st = db_prepare(db, "SELECT count(*) FROM conversations "
	    "WHERE 0")) == NULL)
		return 0;
	ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return ok && db_writable(db);
}

int
store_conv_disclosure(sqlite3 *db, const char *conv_id, const char *sha256)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "UPDATE conversations SET disclosure_sha256 "
	    "= ?, disclosure_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE "
	    "id = ? AND disclosure_sha256 IS NULL")) == NULL)
		return -1;
	db_bind_text(st, 1, sha256, -1);
	db_bind_text(st, 2, conv_id, -1);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		log_warnx("store_conv_disclosure %s: %s", conv_id,
		    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}
