/*
 * store_conv.c: conversations: their creation, their bearer token, the whole
 * conversation as the contract's JSON, the disclosure its visitor saw,
 * and the health check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
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

void
store_now(char *buf, size_t sz)
{
	util_iso_time(util_wall_ms(), buf, sz);
}

int
store_conv_create(struct db *db, const char *id, const char *token,
    const char *addr)
{
	struct db_stmt	*st = NULL;
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
	if (db_step(st) != DB_DONE) {
		log_warnx("store_conv_create: %s", db_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	db_finalize(st);
	return rc;
}

enum store_auth
store_conv_auth(struct db *db, const char *id, const char *token)
{
	struct db_stmt	*st;
	enum store_auth	 rc = STORE_AUTH_ERROR;
	const char	*want;
	int		 step;

	if ((st = db_prepare(db, "SELECT token FROM conversations "
	    "WHERE id = ?")) == NULL)
		return rc;
	db_bind_text(st, 1, id, -1);
	step = db_step(st);
	if (step == DB_DONE)
		rc = STORE_AUTH_NOT_FOUND;
	else if (step == DB_ROW) {
		want = db_column_text(st, 0);
		rc = token != NULL && want != NULL &&
		    util_secret_eq(want, strlen(want), token,
		    strlen(token)) ? STORE_AUTH_OK : STORE_AUTH_DENIED;
	} else
		log_warnx("store_conv_auth: %s", db_errmsg(db));
	db_finalize(st);
	return rc;
}

json_t *
store_conv_json(struct db *db, const char *id, const struct store_owner *self)
{
	struct db_stmt	*st = NULL;
	json_t		*conv = NULL, *msgs, *m;
	char		 mid[32], *parts;
	const char	*text, *status;
	size_t		 len;
	int		 step, streaming;

	/* A reap that cannot write (a full disk) does not stop the read. */
	(void)store_reap(db, id, self);
	if (db_begin_read(db) == -1)
		return NULL;
	st = db_prepare(db, "SELECT id, role, turn, status, text, owner_pid, "
	    "owner_start, heartbeat_at, owner_node FROM messages WHERE "
	    "conversation_id = ? ORDER BY turn, role = 'assistant'");
	if (st == NULL)
		goto fail;
	db_bind_text(st, 1, id, -1);
	msgs = json_array();
	conv = json_pack("{s:s, s:o}", "id", id, "messages", msgs);
	if (conv == NULL)
		goto fail;
	while ((step = db_step(st)) == DB_ROW) {
		snprintf(mid, sizeof(mid), "%lld",
		    (long long)db_column_int64(st, 0));
		text = db_column_text(st, 4);
		streaming = store_status_lookup((const char *)
		    db_column_text(st, 3)) == MSG_STREAMING;
		parts = NULL;
		if (streaming) {
			if ((parts = store_parts(db,
			    db_column_int64(st, 0), &len)) == NULL)
				goto fail;
			text = parts;
		}
		/* Not marked (the reap could not write): say it all the same. */
		if (streaming && store_writer_gone(db_column_int64(st, 0),
		    store_ours(st, 8), (long)db_column_int64(st, 5),
		    db_column_int64(st, 6), db_column_int64(st, 7),
		    self))
			status = "interrupted";
		else
			status = db_column_text(st, 3);
		m = json_pack("{s:s, s:s, s:i, s:s, s:s}", "id", mid,
		    "role", db_column_text(st, 1),
		    "turn", db_column_int(st, 2),
		    "text", text ? text : "",
		    "status", status);
		free(parts);
		if (m == NULL || json_array_append_new(msgs, m) == -1)
			goto fail;
	}
	if (step != DB_DONE)
		goto fail;
	db_finalize(st);
	db_rollback(db);	/* the read ends */
	return conv;
fail:
	log_warnx("store_conv_json: %s", db_errmsg(db));
	db_finalize(st);
	db_rollback(db);
	json_decref(conv);
	return NULL;
}

int
store_health(struct db *db)
{
	struct db_stmt	*st;
	int		 ok;

	if ((st = db_prepare(db, "SELECT count(*) FROM conversations "
	    "WHERE 1 = 0")) == NULL)
		return 0;
	ok = db_step(st) == DB_ROW;
	db_finalize(st);
	return ok && db_writable(db);
}

int
store_conv_disclosure(struct db *db, const char *conv_id, const char *sha256)
{
	struct db_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "UPDATE conversations SET disclosure_sha256 "
	    "= ?, disclosure_at = " DB_NOW " WHERE "
	    "id = ? AND disclosure_sha256 IS NULL")) == NULL)
		return -1;
	db_bind_text(st, 1, sha256, -1);
	db_bind_text(st, 2, conv_id, -1);
	if (db_step(st) == DB_DONE)
		rc = 0;
	else
		log_warnx("store_conv_disclosure %s: %s", conv_id,
		    db_errmsg(db));
	db_finalize(st);
	return rc;
}
