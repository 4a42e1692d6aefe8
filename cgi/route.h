/*
 * route.h: which handler a method and path go to.  Pure.
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

struct route {
	enum route_id	 id;
	char		 arg[ROUTE_ID_MAX + 1];	/* the {id}, or "" */
	char		 arg2[ROUTE_ID_MAX + 1]; /* a second {id}, or "" */
	const char	*allow;			/* for 405: the path's methods,
						   "GET" or "GET, PATCH" */
	char		 allow_buf[32];		/* what allow points to */
};

/*
 * Route method and path (the path from /api/ on, no query string).  HEAD
 * goes where GET does.  Always fills r; returns r->id.
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
