/*
 * routes.c: the API, one row a route.
 *
 * A row says all the dispatcher (api.c) decides for its route, so every
 * route's rules can be read, and tested (tests/unit/test_route.c), at
 * once: who may call it (checked first: 401 or, for a conversation that
 * does not exist, 404), which rate limit counts it (429), which stream
 * slot it holds while it runs (429 when full), and whether it can answer
 * without the database (health alone: it is what says why there is
 * none).  The handler does the rest; no handler calls the dispatcher.
 * A path's rows are listed in the order 405's Allow names its methods.
 */
#include <stddef.h>

#include "handler.h"
#include "route.h"

const struct route_rule route_rules[] = {
	{ "GET",    "/api/health",			ROUTE_HEALTH,
	    health_get,		ROUTE_AUTH_NONE,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	0 },
	{ "POST",   "/api/conversations",		ROUTE_CONV_CREATE,
	    conv_post,		ROUTE_AUTH_NONE,	ROUTE_RATE_CONVERSATION,
	    ROUTE_SLOT_NONE,	1 },
	{ "GET",    "/api/conversations/*",		ROUTE_CONV_GET,
	    conv_get,		ROUTE_AUTH_CONV,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "POST",   "/api/conversations/*/messages",	ROUTE_MESSAGES,
	    turn_post,		ROUTE_AUTH_CONV,	ROUTE_RATE_MESSAGE,
	    ROUTE_SLOT_TURN,	1 },
	{ "GET",    "/api/conversations/*/events",	ROUTE_EVENTS,
	    conv_events,	ROUTE_AUTH_CONV_QUERY,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_FOLLOW,	1 },
	{ "POST",   "/api/conversations/*/cancel",	ROUTE_CANCEL,
	    conv_cancel,	ROUTE_AUTH_CONV,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "GET",    "/api/leads",			ROUTE_LEADS,
	    leads_list,		ROUTE_AUTH_STAFF,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "GET",    "/api/leads/*",			ROUTE_LEAD,
	    leads_detail,	ROUTE_AUTH_STAFF,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "POST",   "/api/leads/*/notifications/*/retry", ROUTE_NOTIFY_RETRY,
	    leads_notify_retry,	ROUTE_AUTH_STAFF,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "PATCH",  "/api/leads/*",			ROUTE_LEAD_PATCH,
	    leads_patch,	ROUTE_AUTH_STAFF,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "DELETE", "/api/conversations/*",		ROUTE_CONV_DELETE,
	    leads_erase,	ROUTE_AUTH_STAFF,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
	{ "GET",    "/api/disclosure",			ROUTE_DISCLOSURE,
	    leads_disclosure,	ROUTE_AUTH_NONE,	ROUTE_RATE_NONE,
	    ROUTE_SLOT_NONE,	1 },
};

const size_t	route_rules_n = sizeof(route_rules) / sizeof(route_rules[0]);
