/*
 * handler.h: what a route's handler is given, and what handlers share.
 *
 * struct ctx is everything a request needs; it lives on the worker's
 * stack and is cleared between requests.  A handler is called by the
 * dispatcher (api.c) once its row in route_rules (routes.c) is satisfied:
 * the caller authenticated, counted against its rate limit, its stream
 * slot held.  It answers the request in full; what must happen after the
 * response has ended (the extractor, a sender) it leaves in ctx->after.
 * Handlers include this header, never the dispatcher's.
 */
#ifndef HANDLER_H
#define HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "route.h"
#include "slots.h"
#include "store.h"

struct db;

struct ctx {
	struct http		 h;
	const struct config	*cfg;
	struct db		*db;		/* from the pool (dbpool.h) */
	struct store_owner	 self;
	struct route		 route;
	struct {
		int		 extract;	/* run the extractor for: */
		char		 conv_id[ROUTE_ID_MAX + 1];
		int		 turn;
		int		 drain;		/* or start --drain */
	} after;
};

/*
 * Set when this process must stop now: by the plain CGI program's
 * SIGTERM handler (the web server wants it gone), or by the FastCGI main
 * thread once a stop's grace is over (at once for SIGINT, Ctrl-C).  A
 * reply being written stops at once and is saved as interrupted, and
 * every stream ends with a final event rather than being cut.  Lock-free
 * (so a signal handler may set it) and safe across threads.  (The name
 * is main.c's, which sets it.)
 */
extern _Atomic int api_terminating;

/*
 * The request's JSON body (Content-Type checked, at most INTAKE_MAX_BODY,
 * within INTAKE_BODY_TIMEOUT_MS) into *body (the caller frees), *len its
 * length.  0, or -1 when it was answered (415, 413, 408, 400, 503).
 */
int	handler_body(struct ctx *, char **body, size_t *len);

/*
 * A request's database handle: handler_db_put gives it back to the
 * process's pool while a reply streams (c->db becomes NULL), so that 500
 * streams hold a few handles, not 500; handler_db takes one again when
 * c->db is NULL (another, or the same) and returns c->db (NULL if none
 * can be had: the caller answers as for a database error).
 */
void	handler_db_put(struct ctx *);
struct db *handler_db(struct ctx *);

/*
 * 1 when the request is staff's: the web server's own authentication
 * (REMOTE_USER), or the bearer INTAKE_ADMIN_TOKEN compared in constant
 * time; with neither configured, nobody's.
 */
int	handler_admin(struct ctx *);

/* The bearer token of the request, or NULL (also "?token=" if allowed). */
const char *handler_bearer(struct ctx *, int allow_query, char *buf,
	    size_t sz);

/*
 * Answer with the reply msg_id (0: the conversation's latest) as an
 * event stream: the turn event, deltas from byte offset from, following
 * the row until it is final, then done or error.  204 when there is no
 * reply yet.  (follow.c)
 */
void	follow_reply(struct ctx *, int64_t msg_id, size_t from);

/*
 * The handlers, one a route: routes.c's table names each with its
 * authentication, rate limit and stream slot, which the dispatcher has
 * seen to before the call.
 */

/* GET /api/health: ok, or 503 with why (the admin's reasons in full). */
void	health_get(struct ctx *);

/* POST /api/conversations: a new conversation, its id and its token. */
void	conv_post(struct ctx *);

/* GET /api/conversations/{id}: the conversation and its messages. */
void	conv_get(struct ctx *);

/* POST /api/conversations/{id}/cancel: stop the reply being written. */
void	conv_cancel(struct ctx *);

/* GET /api/conversations/{id}/events: follow the latest reply. */
void	conv_events(struct ctx *);

/* POST /api/conversations/{id}/messages: the turn.  (turn.c) */
void	turn_post(struct ctx *);

/* GET /api/leads[?status=&urgency=&q=&limit=&before=&before_id=&format=csv] */
void	leads_list(struct ctx *);

/* GET /api/leads/{conversation_id} */
void	leads_detail(struct ctx *);

/*
 * POST /api/leads/{conversation_id}/notifications/{id}/retry: a failed
 * notification pending again, and a sender started after the answer.
 */
void	leads_notify_retry(struct ctx *);

/* PATCH /api/leads/{conversation_id}: status and notes. */
void	leads_patch(struct ctx *);

/* DELETE /api/conversations/{id}: erase it and all derived from it. */
void	leads_erase(struct ctx *);

/* GET /api/disclosure: the text the page shows first, and its SHA-256. */
void	leads_disclosure(struct ctx *);

#endif
