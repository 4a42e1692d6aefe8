/*
 * erase.h: a conversation erased on request (DELETE
 * /api/conversations/{id}) or by retention (INTAKE_RETENTION_DAYS, from
 * intake-extract --sweep).
 *
 * One transaction deletes the conversation and, by the foreign keys'
 * cascades, everything derived from it: messages and their parts, the
 * lead, its fields and history, extractions, jobs, notifications; and
 * its stream slots, which name it without a key.  Every handle runs with
 * secure_delete (db.c), so the deleted text is overwritten in the pages;
 * the WAL is then checkpointed and truncated, so the old pages that
 * still held it leave the -wal file too.  A reply being written when its
 * conversation is erased finds its row gone at its next save and stops
 * (store_reply_save: SAVE_GONE), writing nothing more.
 */
#ifndef ERASE_H
#define ERASE_H

struct db;


/*
 * Erase conversation conv_id.  1 when it was erased, 0 when there was no
 * such conversation, -1 on error (nothing erased).
 */
int	erase_conversation(struct db *, const char *conv_id);

/*
 * Retention: erase every conversation whose last activity is older than
 * days days, except those whose lead staff marked contacted or
 * qualified.  The number erased, or -1 (some may have been).
 */
int	erase_older_than(struct db *, long days);

#endif
