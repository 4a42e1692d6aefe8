/*
 * api.c: the dispatcher.  A request is matched to its row of route_rules
 * (routes.c), and the row is applied in one order for every route:
 *
 *	no /api/ path				404
 *	the database, unless the row needs none	503
 *	no such path; no such method		404; 405 with Allow
 *	the row's authentication		401 (404: no such conversation)
 *	the row's rate limit			429 with Retry-After
 *	the row's stream slot			429 with Retry-After
 *	the row's handler, then the slot back
 *
 * Handlers are called, never calling back: they share handler.h, not
 * this file's header.
 */
#include "api.h"
#include "handler.h"
#include "ratelimit.h"
#include "route.h"

/*
 * A slot is taken as leaked once it is older than INTAKE_TOTAL_TIMEOUT_MS
 * and this: time enough for any body read, a reply, its saves and a
 * follow (10 minutes at most) on top.
 */
#define SLOT_SPARE_MS	(60 * 60 * 1000)

/*
 * Authenticate the caller as auth says; for a conversation, the one in
 * ctx->route.arg.  0, or -1 answered (401, 404, 503).
 */
static int
api_auth(struct ctx *c, enum route_auth auth)
{
	char		 buf[256];
	const char	*token;

	switch (auth) {
	case ROUTE_AUTH_NONE:
	case ROUTE_AUTH__MAX:
		return 0;
	case ROUTE_AUTH_STAFF:
		if (handler_admin(c))
			return 0;
		http_error(&c->h, ERR_UNAUTHORIZED, "Staff sign-in is "
		    "required.");
		return -1;
	case ROUTE_AUTH_CONV:
	case ROUTE_AUTH_CONV_QUERY:
		break;
	}
	/*
	 * ?token= is for EventSource clients, which cannot send a header;
	 * a token in a URL reaches access logs, so a deployer may refuse it.
	 */
	token = handler_bearer(c, auth == ROUTE_AUTH_CONV_QUERY &&
	    c->cfg->events_query_token != 0, buf, sizeof(buf));
	if (token == NULL) {
		http_error(&c->h, ERR_UNAUTHORIZED, NULL);
		return -1;
	}
	switch (store_conv_auth(c->db, c->route.arg, token)) {
	case STORE_AUTH_OK:
		return 0;
	case STORE_AUTH_NOT_FOUND:
		http_error(&c->h, ERR_NOT_FOUND, "No such conversation.");
		return -1;
	case STORE_AUTH_DENIED:
		http_error(&c->h, ERR_UNAUTHORIZED, NULL);
		return -1;
	default:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return -1;
	}
}

/*
 * Count the request against the row's limit a minute from the client's
 * address.  0 to go on, or -1 when it was answered 429.
 */
static int
api_rate(struct ctx *c, enum route_rate rate)
{
	const char	*kind;
	long		 limit;
	int		 retry;

	switch (rate) {
	case ROUTE_RATE_CONVERSATION:
		kind = "conversation";
		limit = c->cfg->rate_conversations;
		break;
	case ROUTE_RATE_MESSAGE:
		kind = "message";
		limit = c->cfg->rate_messages;
		break;
	case ROUTE_RATE_NONE:
	case ROUTE_RATE__MAX:
	default:
		return 0;
	}
	if (ratelimit_hit(c->db, http_param(&c->h, "REMOTE_ADDR"), kind,
	    limit, &retry) != 1)
		return 0;
	c->h.retry_after = retry;
	http_error(&c->h, ERR_RATE_LIMITED, NULL);
	return -1;
}

/*
 * Take the row's stream slot for the client's address and the
 * conversation in ctx->route.arg (INTAKE_MAX_STREAMS_PER_ADDR,
 * INTAKE_MAX_FOLLOWS_PER_CONV), before the handler reads or writes
 * anything.  0 to go on (give *slot back with slots_give after the
 * handler; 0 when none was taken), or -1 when it was answered 429.
 */
static int
api_slot(struct ctx *c, enum route_slot which, int64_t *slot)
{
	struct slot_caps	caps;
	enum slot_kind		kind;

	*slot = 0;
	switch (which) {
	case ROUTE_SLOT_TURN:
		kind = SLOT_TURN;
		break;
	case ROUTE_SLOT_FOLLOW:
		kind = SLOT_FOLLOW;
		break;
	case ROUTE_SLOT_NONE:
	case ROUTE_SLOT__MAX:
	default:
		return 0;
	}
	caps.per_addr = c->cfg->streams_per_addr;
	caps.per_conv = c->cfg->follows_per_conv;
	caps.max_age_ms = c->cfg->total_ms + SLOT_SPARE_MS;
	switch (slots_take(c->db, &caps, http_param(&c->h, "REMOTE_ADDR"),
	    c->route.arg, kind, &c->self, slot)) {
	case SLOTS_FULL_ADDR:
		/* A follow left by a closed tab is found gone at its next
		   ping at the latest. */
		c->h.retry_after = (int)((c->cfg->ping_ms + 999) / 1000);
		http_error(&c->h, ERR_RATE_LIMITED, "Too many replies are "
		    "open from your address; close one or try again "
		    "shortly.");
		return -1;
	case SLOTS_FULL_CONV:
		c->h.retry_after = (int)((c->cfg->ping_ms + 999) / 1000);
		http_error(&c->h, ERR_RATE_LIMITED, "This conversation is "
		    "open in too many places; close one or try again "
		    "shortly.");
		return -1;
	default:
		return 0;	/* taken, or a broken count: go on */
	}
}

void
api_handle(struct ctx *c)
{
	const struct route_rule	*rule;
	char			 path[1024];
	int64_t			 slot;

	if (route_path(http_param(&c->h, "SCRIPT_NAME"),
	    http_param(&c->h, "PATH_INFO"), http_param(&c->h, "REQUEST_URI"),
	    path, sizeof(path)) == -1) {
		http_error(&c->h, ERR_NOT_FOUND, NULL);
		return;
	}
	route_match(http_param0(&c->h, "REQUEST_METHOD"), path, &c->route);
	rule = c->route.rule;
	/* No database (refused or failed, logged): health alone says why. */
	if (c->db == NULL && (rule == NULL || rule->db)) {
		http_error(&c->h, ERR_UNAVAILABLE, "The database is "
		    "unavailable.");
		return;
	}
	if (rule == NULL) {
		if (c->route.id == ROUTE_BAD_METHOD) {
			c->h.allow = c->route.allow;
			http_error(&c->h, ERR_METHOD, NULL);
		} else
			http_error(&c->h, ERR_NOT_FOUND, NULL);
		return;
	}
	if (api_auth(c, rule->auth) == -1 || api_rate(c, rule->rate) == -1 ||
	    api_slot(c, rule->slot, &slot) == -1)
		return;
	rule->handle(c);
	/* A stream may have given its handle back meanwhile. */
	slots_give(handler_db(c), slot);
}
