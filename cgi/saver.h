/*
 * saver.h: the streaming replies' writes, committed together.
 *
 * A streaming reply must be saved as it arrives (a reload, a second tab
 * or another node reads it back), beat its heart (so a reader can tell a
 * live writer from a dead one) and learn of a cancel.  Done by each
 * stream for itself, 500 streams saving four times a second are 2,000
 * write transactions a second, each a stall for the stream that makes it.
 * Instead a stream hands its new text to its slot here and never waits:
 * under FastCGI one saver thread commits every slot's new text and its
 * heartbeat in a few transactions a round (group commit: up to 32
 * replies each), looks at every reply's cancel flag with plain reads, on
 * its own database handle, and the stream thread holds none.
 * The final save goes the same way, and saver_finish waits for it: the
 * stream writes its last event only once the row is final.
 *
 * Under plain CGI there is no thread: the one stream runs the rounds
 * itself (saver_tick, saver_finish) on the request's handle, and a
 * round there never waits for the write lock unless nothing could be
 * saved for SAVER_OVERDUE_MS.
 */
#ifndef SAVER_H
#define SAVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct db;
struct saver_slot;

#define SAVER_CHARS	200	/* new bytes that make a slot due at once */
#define SAVER_MS	250	/* new text is saved within this */
#define SAVER_CHECK_MS	250	/* a cancel is noticed within this */
#define SAVER_HEART_MS	2000	/* a quiet reply's heartbeat */
#define SAVER_TRIES	3	/* rounds a final save is tried in */

/* What a reply's writer learns from its slot. */
enum saver_news {
	SAVER_GO_ON,
	SAVER_CANCEL,		/* a cancel was asked for */
	SAVER_ERASED,		/* the conversation was erased: stop, save
				   nothing more */
};

/*
 * Threaded (FastCGI: one saver thread, started now) or not (plain CGI:
 * the caller's rounds).  0, or -1.
 */
int	saver_init(const struct config *, int threaded);

/* Stop the thread once no slot is left, close its handle (at exit). */
void	saver_stop(void);

/* 1 when a saver thread does the writes. */
int	saver_threaded(void);

/* A slot for reply msg_id, nothing of it saved yet; NULL on no memory. */
struct saver_slot *saver_open(int64_t msg_id);

/* Append text[0..len) to what the slot will save.  0, or -1 (memory). */
int	saver_put(struct saver_slot *, const char *text, size_t len);

/* What the saver learnt of the reply so far. */
enum saver_news saver_news(const struct saver_slot *);

/*
 * Unthreaded: run a round if one is due, on db.  Threaded: nothing.
 */
void	saver_tick(struct saver_slot *, struct db *db);

/*
 * Make the reply final (status, its whole text, the error told to the
 * visitor or NULL) and free the slot.  Waits until it is committed or
 * SAVER_TRIES rounds failed.  db is the caller's handle, used only
 * unthreaded.  0, or -1 when it could not be saved.
 */
int	saver_finish(struct saver_slot *, struct db *db, enum msg_status,
	    const char *text, size_t len, const char *error);

/* Free the slot without a final save (the reply was erased). */
void	saver_drop(struct saver_slot *);

/* Slots open, rounds run and statements they ran (for the bench). */
struct saver_stats {
	long	slots;
	long	rounds;
	long	writes;
};
void	saver_stats(struct saver_stats *);

#endif
