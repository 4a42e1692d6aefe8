/*
 * store_history.c: what the model is given: the visitor's messages (and the
 * replies) of a conversation, oldest first, the latest few.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"


int
store_history(struct db *db, const char *conv_id, int turn, long max,
    int assistant, struct store_texts *out)
{
	struct db_stmt	*st;
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
	    "role = 'assistant' DESC LIMIT ?4) AS m ORDER BY turn, "
	    "role = 'assistant'");
	if (st == NULL)
		goto fail;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, turn);
	db_bind_int64(st, 3, assistant != 0);
	db_bind_int64(st, 4, max);
	while ((step = db_step(st)) == DB_ROW && n < cap) {
		isasst = db_column_int(st, 0);
		parts = NULL;
		text = db_column_text(st, 1);
		len = (size_t)db_column_bytes(st, 1);
		if (isasst && store_status_lookup((const char *)
		    db_column_text(st, 3)) == MSG_STREAMING) {
			parts = store_parts(db, db_column_int64(st, 2),
			    &len);
			text = parts;
		}
		out->texts[n] = malloc(len + 1);
		if (out->texts[n] == NULL) {
			free(parts);
			db_finalize(st);
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
	if (step != DB_ROW && step != DB_DONE) {
		db_finalize(st);
		goto fail;
	}
	db_finalize(st);
	return (int)n;
fail:
	log_warnx("store_history: %s", db_errmsg(db));
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
