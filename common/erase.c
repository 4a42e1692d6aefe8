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
#define ERASE_CHECKPOINT_TRIES	20

/* Inside a transaction: delete conv_id and what names it.  1, 0, -1. */
static int
erase_locked(sqlite3 *db, const char *conv_id)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	/* Stream slots name the conversation without a foreign key. */
	if ((st = db_prepare(db, "DELETE FROM stream_slots WHERE "
	    "conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if ((st = db_prepare(db, "DELETE FROM conversations WHERE id = ?")) ==
	    NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) > 0;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Copy the WAL into the database and truncate it, so no old page with
 * erased text stays in the -wal file.  Readers holding an old snapshot
 * keep it from completing: try again for a while, then say so (the
 * next erase, or SQLite's own checkpoints, finish it).
 */
static void
erase_checkpoint(sqlite3 *db)
{
	int	i, busy = 0, logged, done;

	for (i = 0; i < ERASE_CHECKPOINT_TRIES; i++) {
		if (sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, &logged, &done) == SQLITE_OK &&
		    logged == done)
			return;
		busy = 1;
		util_sleep_ms(50);
	}
	if (busy)
		log_warnx("erase: the WAL could not be truncated (readers were "
		    "busy); erased text may stay in %s-wal until the next "
		    "checkpoint", sqlite3_db_filename(db, "main"));
}

int
erase_conversation(sqlite3 *db, const char *conv_id)
{
	int	rc;

	if (db_begin(db) == -1)
		return -1;
	if ((rc = erase_locked(db, conv_id)) == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1)
		return -1;
	if (rc == 1) {
		erase_checkpoint(db);
		log_info("erased conversation %s", conv_id);
	}
	return rc;
}

int
erase_older_than(sqlite3 *db, long days)
{
	sqlite3_stmt	*st = NULL;
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
		sqlite3_bind_int(st, 2, ERASE_BATCH);
		for (n = 0; n < ERASE_BATCH &&
		    (step = sqlite3_step(st)) == SQLITE_ROW; n++)
			snprintf(ids[n], sizeof(ids[n]), "%s",
			    sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
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
		erase_checkpoint(db);
	return total;
fail:
	sqlite3_finalize(st);
	db_rollback(db);
	return -1;
}
