/*
 * finals.h: replies whose final save failed, kept by this process until
 * a write goes through.
 *
 * When the disk is full or the database stays locked longer than the
 * final save's tries, the visitor has already been told the reply could
 * not be saved; the row must not stay "streaming" behind that answer.
 * The reply's text is kept here, and saved as an error as soon as the
 * database takes a write (finals_flush, from the long-lived process's
 * main loop, or before a CGI process leaves); meanwhile this process's
 * readers see it as interrupted at once (finals_gave_up), not after the
 * heartbeat goes stale.  Thread-safe.
 */
#ifndef FINALS_H
#define FINALS_H

#include <stddef.h>
#include <stdint.h>

struct db;


#define FINALS_MAX	64	/* beyond this, the heartbeat rule alone */

/* Keep reply msg_id's text (copied) and the error the visitor was told. */
void	finals_add(int64_t msg_id, const char *text, size_t len,
	    const char *error);

/* 1 when this process gave up writing msg_id, else 0. */
int	finals_gave_up(int64_t msg_id);

/* Save each kept reply as an error; those saved are dropped.  How many
 * are left. */
int	finals_flush(struct db *);

/* How many are kept. */
int	finals_pending(void);

/* Drop them all (at exit). */
void	finals_free(void);

#endif
