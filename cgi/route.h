/*
 * route.h: the API as one table of routes, and which row a method and
 * path go to.
 *
 * Each row of route_rules (routes.c) says everything the dispatcher
 * (api.c) decides for a route: its method and path, its handler, who may
 * call it, which rate limit counts it, whether it holds a stream slot
 * and whether it needs the database.  Matching (route.c) is pure: strings
 * in, a row out.
 *
 * Paths are the contract's, under /api/.  An {id} segment is 1 to
 * ROUTE_ID_MAX characters of [A-Za-z0-9_-]; anything else in it is a
 * path no route has (404), never something passed on to SQL.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>

#define ROUTE_ID_MAX	64

enum route_id {
	ROUTE_NOT_FOUND,	/* no such path: 404 */
	ROUTE_BAD_METHOD,	/* path known, method not: 405, see allow */
	ROUTE_HEALTH,
	ROUTE_CONV_CREATE,
	ROUTE_CONV_GET,
	ROUTE_MESSAGES,
	ROUTE_EVENTS,
	ROUTE_CANCEL,
	ROUTE_LEADS,
	ROUTE_LEAD,
	ROUTE_NOTIFY_RETRY,	/* POST /api/leads/{id}/notifications/{id}/retry */
	ROUTE_LEAD_PATCH,	/* PATCH /api/leads/{id} */
	ROUTE_CONV_DELETE,	/* DELETE /api/conversations/{id} */
	ROUTE_DISCLOSURE,	/* GET /api/disclosure */
	ROUTE__MAX
};

/* Who may call a route; checked before its rate limit and handler. */
enum route_auth {
	ROUTE_AUTH_NONE,	/* anyone */
	ROUTE_AUTH_CONV,	/* the conversation's bearer token */
	ROUTE_AUTH_CONV_QUERY,	/* the same, or ?token= when
				   INTAKE_EVENTS_QUERY_TOKEN allows it */
	ROUTE_AUTH_STAFF,	/* REMOTE_USER, or the bearer
				   INTAKE_ADMIN_TOKEN */
	ROUTE_AUTH__MAX
};

/* Which per-address rate limit counts a request (ratelimit.h). */
enum route_rate {
	ROUTE_RATE_NONE,
	ROUTE_RATE_CONVERSATION, /* INTAKE_RATE_CONVERSATIONS a minute */
	ROUTE_RATE_MESSAGE,	/* INTAKE_RATE_MESSAGES a minute */
	ROUTE_RATE__MAX
};

/* The stream slot (slots.h) a route holds while its handler runs. */
enum route_slot {
	ROUTE_SLOT_NONE,
	ROUTE_SLOT_TURN,	/* from before the body is read until the
				   reply is saved */
	ROUTE_SLOT_FOLLOW,
	ROUTE_SLOT__MAX
};

struct ctx;

struct route_rule {
	const char	*method;
	const char	*pattern;	/* "*" matches one {id} segment */
	enum route_id	 id;
	void		(*handle)(struct ctx *);
	enum route_auth	 auth;
	enum route_rate	 rate;
	enum route_slot	 slot;
	int		 db;		/* 1: needs the database (503
					   without it) */
};

/* The table, in the order 405's Allow lists a path's methods. */
extern const struct route_rule	route_rules[];
extern const size_t		route_rules_n;

struct route {
	enum route_id	 id;
	const struct route_rule *rule;		/* the row, or NULL (404,
						   405) */
	char		 arg[ROUTE_ID_MAX + 1];	/* the {id}, or "" */
	char		 arg2[ROUTE_ID_MAX + 1]; /* a second {id}, or "" */
	const char	*allow;			/* for 405: the path's methods,
						   "GET" or "GET, PATCH" */
	char		 allow_buf[32];		/* what allow points to */
};

/*
 * Route method and path (the path from /api/ on, no query string) by
 * route_rules.  HEAD goes where GET does.  Always fills r; returns r->id.
 */
enum route_id	route_match(const char *method, const char *path,
		    struct route *r);

/*
 * The request's path from "/api/" on, from the CGI variables: PATH_INFO
 * when it starts with "/api/", else the first "/api/" in SCRIPT_NAME +
 * PATH_INFO, else in REQUEST_URI before '?'.
 * Any may be NULL.  Writes into out (outsz bytes); returns 0, or -1 when
 * there is no /api/ path or it does not fit.
 */
int		route_path(const char *script_name, const char *path_info,
		    const char *request_uri, char *out, size_t outsz);

#endif
