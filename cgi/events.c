/*
 * events.c: SSE framing for the contract's events.  JSON payloads come
 * from jansson, so a reply's text, whatever it holds, cannot break out of
 * its "data:" line (newlines are escaped inside the JSON string).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "events.h"

void
events_start(struct http *h)
{
	http_start(h, 200, "text/event-stream; charset=utf-8",
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
	http_flush(h);
}

/* "event: NAME\ndata: JSON\n\n", flushed; steals obj. */
static void
events_put(struct http *h, const char *idline, const char *name, json_t *obj)
{
	char	*s;

	s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (s == NULL)
		return;
	http_printf(h, "%sevent: %s\ndata: %s\n\n", idline ? idline : "",
	    name, s);
	free(s);
	http_flush(h);
}

void
events_turn(struct http *h, int turn, int64_t user_id, int64_t assistant_id)
{
	char	u[24], a[24];

	snprintf(u, sizeof(u), "%lld", (long long)user_id);
	snprintf(a, sizeof(a), "%lld", (long long)assistant_id);
	events_put(h, NULL, "turn", json_pack("{s:i, s:s, s:s}", "turn", turn,
	    "user_message_id", u, "assistant_message_id", a));
}

void
events_delta(struct http *h, size_t end, const char *text, size_t len)
{
	char	idline[40];

	if (len == 0)
		return;
	snprintf(idline, sizeof(idline), "id: %zu\n", end);
	events_put(h, idline, "delta", json_pack("{s:s%}", "text", text, len));
}

void
events_end(struct http *h, enum msg_status st, const char *message)
{
	switch (st) {
	case MSG_COMPLETE:
	case MSG_CANCELLED:
		events_put(h, NULL, "done", json_pack("{s:s}", "status",
		    store_status_name(st)));
		break;
	default:
		events_put(h, NULL, "error", json_pack("{s:s, s:s}", "status",
		    store_status_name(st), "message", message ? message :
		    "The reply could not be completed."));
		break;
	}
}

void
events_ping(struct http *h)
{
	http_puts(h, ": ping\n\n");
	http_flush(h);
}
