/*
 * api.h: one request from routing to the last byte of its answer.
 *
 * struct ctx is everything a request needs; it lives on the worker's
 * stack and is cleared between requests.  api_handle answers the request
 * in full; what must happen after the response has ended (the extractor)
 * is left in ctx->after for the caller to do after FCGX_Finish_r.
 */
#ifndef API_H
#define API_H

#include <signal.h>

#include <sqlite3.h>

#include "config.h"
#include "http.h"
#include "route.h"
#include "slots.h"
#include "store.h"

struct ctx {
	struct http		 h;
	const struct config	*cfg;
	sqlite3			*db;		/* the worker's own handle */
	struct store_owner	 self;
	struct route		 route;
	struct {
		int		 extract;	/* run the extractor for: */
		char		 conv_id[ROUTE_ID_MAX + 1];
		int		 turn;
		int		 drain;		/* or start --drain */
	} after;
};

void	api_handle(struct ctx *);

/*
 * Set when this process must stop now: by the plain CGI program's
 * SIGTERM handler (the web server wants it gone), or by the FastCGI main
 * thread once a stop's grace is over (at once for SIGINT, Ctrl-C).  A
 * reply being written stops at once and is saved as interrupted, and
 * every stream ends with a final event rather than being cut.  Lock-free
 * (so a signal handler may set it) and safe across threads.
 */
extern _Atomic int api_terminating;

/*
 * The request's JSON body (Content-Type checked, at most INTAKE_MAX_BODY,
 * within INTAKE_BODY_TIMEOUT_MS) into *body (the caller frees), *len its
 * length.  0, or -1 when it was answered (415, 413, 408, 400, 503).
 */
int	api_body(struct ctx *, char **body, size_t *len);

/*
 * 1 when the request is staff's: the web server's own authentication
 * (REMOTE_USER), or the bearer INTAKE_ADMIN_TOKEN compared in constant
 * time; with neither configured, nobody's.
 */
int	api_admin(struct ctx *);

/* The bearer token of the request, or NULL (also "?token=" if allowed). */
const char *api_bearer(struct ctx *, int allow_query, char *buf, size_t sz);

/*
 * Count a request of kind from the client's address against limit a
 * minute.  0 to go on, or -1 when it was answered 429.
 */
int	api_rate(struct ctx *, const char *kind, long limit);

/*
 * A slot is taken as leaked once it is older than INTAKE_TOTAL_TIMEOUT_MS
 * and this: time enough for any body read, a reply, its saves and a
 * follow (10 minutes at most) on top.
 */
#define SLOT_SPARE_MS	(60 * 60 * 1000)

/*
 * Take a stream slot of kind for the client's address and the
 * conversation in ctx->route.arg (INTAKE_MAX_STREAMS_PER_ADDR,
 * INTAKE_MAX_FOLLOWS_PER_CONV), before the stream reads or writes
 * anything.  0 to go on (give *slot back with slots_give when the stream
 * has ended), or -1 when it was answered 429.
 */
int	api_stream_take(struct ctx *, enum slot_kind, int64_t *slot);

/* Authenticate the conversation in ctx->route.arg; 0, or -1 answered. */
int	api_auth_conv(struct ctx *, int allow_query);

/* The turn: POST /api/conversations/{id}/messages. */
void	turn_handle(struct ctx *);

/*
 * Answer with the reply msg_id (0: the conversation's latest) as an
 * event stream: the turn event, deltas from byte offset from, following
 * the row until it is final, then done or error.  204 when there is no
 * reply yet.
 */
void	follow_reply(struct ctx *, int64_t msg_id, size_t from);

#endif
