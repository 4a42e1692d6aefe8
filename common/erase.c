/*
 * erase.c: erasing a conversation, and retention (erase.h).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "erase.h"
#include "log.h"
#include "util.h"

/* Conversations erased by one retention transaction at most. */
#define ERASE_BATCH	100

/* Tries of the WAL's truncation while readers hold old pages. */

/* Inside a transaction: delete conv_id and what names it.  1, 0, -1. */
static int
erase_locked(struct db *db, const char *conv_id)
{
	struct db_stmt	*st;
	int		 rc = -1;

	/* Stream slots name the conversation without a foreign key. */
	if ((st = db_prepare(db, "DELETE FROM stream_slots WHERE "
	    "conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) != DB_DONE) {
		db_finalize(st);
		return -1;
	}
	db_finalize(st);
	if ((st = db_prepare(db, "DELETE FROM conversations WHERE id = ?")) ==
	    NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) == DB_DONE)
		rc = db_changes(db) > 0;
	db_finalize(st);
	return rc;
}

int
erase_conversation(struct db *db, const char *conv_id)
{
	int	rc;

	if (db_begin_for(db, "conv", conv_id) == -1)
		return -1;
	if ((rc = erase_locked(db, conv_id)) == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1)
		return -1;
	if (rc == 1) {
		(void)db_compact(db);
		log_info("erased conversation %s", conv_id);
	}
	return rc;
}

int
erase_older_than(struct db *db, long days)
{
	struct db_stmt	*st = NULL;
	char		 cutoff[32], ids[ERASE_BATCH][72];
	int		 n, i, step, total = 0;

	util_iso_time(util_wall_ms() - (int64_t)days * 86400 * 1000, cutoff,
	    sizeof(cutoff));
	for (;;) {
		if (db_begin(db) == -1)
			return -1;
		st = db_prepare(db, "SELECT c.id FROM conversations c LEFT JOIN "
		    "leads l ON l.conversation_id = c.id WHERE c.updated_at < ? "
		    "AND (l.status IS NULL OR l.status NOT IN ('contacted', "
		    "'qualified')) LIMIT ?");
		if (st == NULL)
			goto fail;
		db_bind_text(st, 1, cutoff, -1);
		db_bind_int64(st, 2, ERASE_BATCH);
		for (n = 0; n < ERASE_BATCH &&
		    (step = db_step(st)) == DB_ROW; n++)
			snprintf(ids[n], sizeof(ids[n]), "%s",
			    db_column_text(st, 0));
		db_finalize(st);
		st = NULL;
		for (i = 0; i < n; i++)
			if (erase_locked(db, ids[i]) == -1)
				goto fail;
		if (db_commit(db) == -1)
			return -1;
		total += n;
		if (n < ERASE_BATCH)
			break;
	}
	if (total > 0)
		(void)db_compact(db);
	return total;
fail:
	db_finalize(st);
	db_rollback(db);
	return -1;
}
