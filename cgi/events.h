/*
 * events.h: the SSE events of the contract, written to a client.
 *
 *   event: turn    data: {"turn":N,"user_message_id":"…","assistant_message_id":"…"}
 *   id: BYTES      event: delta   data: {"text":"…"}
 *   event: done    data: {"status":"complete"|"cancelled"}
 *   event: error   data: {"status":"error"|"interrupted","message":"…"}
 *
 * Each is flushed as it is written.  A turn and a follower write the same
 * events through these, so a reload sees what the first tab saw.
 */
#ifndef EVENTS_H
#define EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "store.h"

/* The response head of an event stream. */
void	events_start(struct http *);

void	events_turn(struct http *, int turn, int64_t user_id,
	    int64_t assistant_id);

/* A delta of text[0..len) ending at byte offset end of the reply. */
void	events_delta(struct http *, size_t end, const char *text, size_t len);

/* The last event: done or error by status; message for error/interrupted. */
void	events_end(struct http *, enum msg_status, const char *message);

/* A comment that keeps proxies and servers from timing the stream out. */
void	events_ping(struct http *);

#endif
