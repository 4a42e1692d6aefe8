/*
 * test_route.c: every path and method of the contract through route_match,
 * each route's row (handler, authentication, rate limit, stream slot,
 * database), and the three ways a web server hands us the path through
 * route_path.
 *
 * A path that is almost a contract path (a trailing slash, a doubled
 * slash, an {id} with a character outside [A-Za-z0-9_-] or one too long)
 * must be 404, never a handler: the {id} goes on to SQL and to the page.
 */
#include <string.h>

#include "check.h"
#include "handler.h"
#include "route.h"

#define ID64	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
#define ID65	ID64 "x"

static const char *const route_names[ROUTE__MAX] = {
	"NOT_FOUND", "BAD_METHOD", "HEALTH", "CONV_CREATE", "CONV_GET",
	"MESSAGES", "EVENTS", "CANCEL", "LEADS", "LEAD", "NOTIFY_RETRY",
	"LEAD_PATCH", "CONV_DELETE", "DISCLOSURE",
};

static const char *
rname(enum route_id id)
{
	return (unsigned)id < ROUTE__MAX ? route_names[id] : "?";
}

static const struct match_row {
	const char	*method;
	const char	*path;
	enum route_id	 want;
	const char	*arg;		/* the {id} wanted */
	const char	*allow;		/* for 405; NULL otherwise */
	int		 line;
} match_rows[] = {
	/* Every contract route. */
	{ "GET", "/api/health", ROUTE_HEALTH, "", NULL, __LINE__ },
	{ "HEAD", "/api/health", ROUTE_HEALTH, "", NULL, __LINE__ },
	{ "POST", "/api/conversations", ROUTE_CONV_CREATE, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/abc", ROUTE_CONV_GET, "abc", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/abc/messages", ROUTE_MESSAGES, "abc",
	    NULL, __LINE__ },
	{ "GET", "/api/conversations/abc/events", ROUTE_EVENTS, "abc", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/abc/cancel", ROUTE_CANCEL, "abc", NULL,
	    __LINE__ },
	{ "GET", "/api/leads", ROUTE_LEADS, "", NULL, __LINE__ },
	{ "GET", "/api/leads/abc", ROUTE_LEAD, "abc", NULL, __LINE__ },

	/* HEAD goes where GET does (the response layer drops the body). */
	{ "HEAD", "/api/conversations/abc", ROUTE_CONV_GET, "abc", NULL,
	    __LINE__ },
	{ "HEAD", "/api/conversations/abc/events", ROUTE_EVENTS, "abc", NULL,
	    __LINE__ },
	{ "HEAD", "/api/leads", ROUTE_LEADS, "", NULL, __LINE__ },
	{ "HEAD", "/api/leads/abc", ROUTE_LEAD, "abc", NULL, __LINE__ },
	{ "HEAD", "/api/conversations/" ID64 "/events", ROUTE_EVENTS, ID64,
	    NULL, __LINE__ },
	/* ...and nowhere else: not to a POST, not to a near miss. */
	{ "HEAD", "/api/conversations/abc/messages", ROUTE_BAD_METHOD, "",
	    "POST", __LINE__ },
	{ "HEAD", "/api/conversations/abc/cancel", ROUTE_BAD_METHOD, "",
	    "POST", __LINE__ },
	{ "HEAD", "/api/conversations/" ID65, ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "HEAD", "/api/leads/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "head", "/api/leads", ROUTE_BAD_METHOD, "", "GET", __LINE__ },

	/* Ids: every allowed character, 1 and 64 long. */
	{ "GET", "/api/conversations/" ID64, ROUTE_CONV_GET, ID64, NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/" ID64 "/messages", ROUTE_MESSAGES,
	    ID64, NULL, __LINE__ },
	{ "GET", "/api/leads/" ID64, ROUTE_LEAD, ID64, NULL, __LINE__ },
	{ "GET", "/api/conversations/x", ROUTE_CONV_GET, "x", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/-", ROUTE_CONV_GET, "-", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/_", ROUTE_CONV_GET, "_", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/messages", ROUTE_CONV_GET, "messages",
	    NULL, __LINE__ },
	{ "GET", "/api/leads/events", ROUTE_LEAD, "events", NULL, __LINE__ },

	/* Ids: 65 long, empty, or with a character outside the set. */
	{ "GET", "/api/conversations/" ID65, ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/" ID65 "/messages", ROUTE_NOT_FOUND,
	    "", NULL, __LINE__ },
	{ "GET", "/api/leads/" ID65, ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/conversations/", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations//messages", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/leads/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/conversations/a.b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/..", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/.", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/a%20b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/%41", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/a b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/a'b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/a;b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/\xc3\xa9", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/a/b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/leads/a/b", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "POST", "/api/conversations/abc/messages/x", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },
	{ "POST", "/api/conversations/abc/message", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },
	{ "POST", "/api/conversations/abc/Messages", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },

	/* Trailing slashes, doubled slashes, dot segments, near misses. */
	{ "GET", "/api/health/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "POST", "/api/conversations/", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations/abc/", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/abc/messages/", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },
	{ "GET", "/api/conversations/abc/events/", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/leads/abc/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "//api/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api//health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "POST", "/api//conversations", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/conversations//abc", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "POST", "/api/conversations/abc//messages", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },
	{ "GET", "/api/../x", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/../api/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/./health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/conversations/../leads", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },
	{ "GET", "/api/health?x=1", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/healthz", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/Health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/API/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/health\n", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "api/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/lead", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/api/conversation", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", "/x/api/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },

	/* A known path with another method: 405 and the one it takes. */
	{ "POST", "/api/health", ROUTE_BAD_METHOD, "", "GET", __LINE__ },
	{ "DELETE", "/api/health", ROUTE_BAD_METHOD, "", "GET", __LINE__ },
	{ "get", "/api/health", ROUTE_BAD_METHOD, "", "GET", __LINE__ },
	{ "", "/api/health", ROUTE_BAD_METHOD, "", "GET", __LINE__ },
	{ "GET", "/api/conversations", ROUTE_BAD_METHOD, "", "POST",
	    __LINE__ },
	{ "HEAD", "/api/conversations", ROUTE_BAD_METHOD, "", "POST",
	    __LINE__ },
	{ "PUT", "/api/conversations", ROUTE_BAD_METHOD, "", "POST",
	    __LINE__ },
	{ "POST", "/api/conversations/abc", ROUTE_BAD_METHOD, "",
	    "GET, DELETE", __LINE__ },
	{ "PUT", "/api/conversations/abc", ROUTE_BAD_METHOD, "",
	    "GET, DELETE", __LINE__ },
	{ "GET", "/api/conversations/abc/messages", ROUTE_BAD_METHOD, "",
	    "POST", __LINE__ },
	{ "PUT", "/api/conversations/abc/messages", ROUTE_BAD_METHOD, "",
	    "POST", __LINE__ },
	{ "POST", "/api/conversations/abc/events", ROUTE_BAD_METHOD, "",
	    "GET", __LINE__ },
	{ "GET", "/api/conversations/abc/cancel", ROUTE_BAD_METHOD, "",
	    "POST", __LINE__ },
	{ "POST", "/api/leads", ROUTE_BAD_METHOD, "", "GET", __LINE__ },
	{ "DELETE", "/api/leads/abc", ROUTE_BAD_METHOD, "", "GET, PATCH",
	    __LINE__ },
	{ "POST", "/api/conversations/" ID64 "/events", ROUTE_BAD_METHOD, "",
	    "GET", __LINE__ },
	/* An unknown path stays 404 whatever the method. */
	{ "DELETE", "/api/nothing", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "POST", "/api/conversations/" ID65 "/events", ROUTE_NOT_FOUND, "",
	    NULL, __LINE__ },
	{ "POST", "/api/conversations/a.b", ROUTE_NOT_FOUND, "", NULL,
	    __LINE__ },

	/* No method or no path. */
	{ NULL, "/api/health", ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ "GET", NULL, ROUTE_NOT_FOUND, "", NULL, __LINE__ },
	{ NULL, NULL, ROUTE_NOT_FOUND, "", NULL, __LINE__ },
};

static void
test_match(void)
{
	const struct match_row	*t;
	struct route		 r;
	enum route_id		 got;
	size_t			 i;
	int			 allow_ok;

	for (i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		t = &match_rows[i];
		/* Garbage first: route_match must fill all of r. */
		memset(&r, 0xa5, sizeof(r));
		got = route_match(t->method, t->path, &r);
		CHECK_AT(t->line, got == t->want && r.id == t->want,
		    "%s %s: got %s (r.id %s), want %s",
		    t->method ? t->method : "(null)",
		    t->path ? t->path : "(null)", rname(got), rname(r.id),
		    rname(t->want));
		CHECK_AT(t->line, memchr(r.arg, '\0', sizeof(r.arg)) != NULL &&
		    strcmp(r.arg, t->arg) == 0, "arg: got \"%.*s\", want "
		    "\"%s\"", (int)sizeof(r.arg), r.arg, t->arg);
		if (t->allow == NULL)
			allow_ok = r.allow == NULL;
		else
			allow_ok = r.allow != NULL &&
			    strcmp(r.allow, t->allow) == 0;
		CHECK_AT(t->line, allow_ok, "allow: got %s, want %s",
		    r.allow ? r.allow : "(null)",
		    t->allow ? t->allow : "(null)");
		/* A row for a route; none for 404 and 405. */
		if (t->want == ROUTE_NOT_FOUND || t->want == ROUTE_BAD_METHOD)
			CHECK_AT(t->line, r.rule == NULL, "rule: want NULL");
		else
			CHECK_AT(t->line, r.rule != NULL &&
			    r.rule->id == t->want, "rule: want %s's row",
			    rname(t->want));
	}
}

static const char *const auth_names[ROUTE_AUTH__MAX] = {
	"NONE", "CONV", "CONV_QUERY", "STAFF",
};
static const char *const rate_names[ROUTE_RATE__MAX] = {
	"NONE", "CONVERSATION", "MESSAGE",
};
static const char *const slot_names[ROUTE_SLOT__MAX] = {
	"NONE", "TURN", "FOLLOW",
};

#define NAME(t, v) ((unsigned)(v) < sizeof(t) / sizeof(t[0]) ? t[v] : "?")

/*
 * What the dispatcher does for each route, as the contract says it:
 * a wrong authentication, limit or slot in routes.c fails here.
 */
static const struct rule_row {
	const char	*method;
	const char	*path;
	enum route_id	 want;
	void		(*handle)(struct ctx *);
	enum route_auth	 auth;
	enum route_rate	 rate;
	enum route_slot	 slot;
	int		 db;
	int		 line;
} rule_rows[] = {
	{ "GET", "/api/health", ROUTE_HEALTH, health_get, ROUTE_AUTH_NONE,
	    ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 0, __LINE__ },
	{ "HEAD", "/api/health", ROUTE_HEALTH, health_get, ROUTE_AUTH_NONE,
	    ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 0, __LINE__ },
	{ "POST", "/api/conversations", ROUTE_CONV_CREATE, conv_post,
	    ROUTE_AUTH_NONE, ROUTE_RATE_CONVERSATION, ROUTE_SLOT_NONE, 1,
	    __LINE__ },
	{ "GET", "/api/conversations/abc", ROUTE_CONV_GET, conv_get,
	    ROUTE_AUTH_CONV, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "POST", "/api/conversations/abc/messages", ROUTE_MESSAGES,
	    turn_post, ROUTE_AUTH_CONV, ROUTE_RATE_MESSAGE, ROUTE_SLOT_TURN, 1,
	    __LINE__ },
	{ "GET", "/api/conversations/abc/events", ROUTE_EVENTS, conv_events,
	    ROUTE_AUTH_CONV_QUERY, ROUTE_RATE_NONE, ROUTE_SLOT_FOLLOW, 1,
	    __LINE__ },
	{ "HEAD", "/api/conversations/abc/events", ROUTE_EVENTS,
	    conv_events, ROUTE_AUTH_CONV_QUERY, ROUTE_RATE_NONE,
	    ROUTE_SLOT_FOLLOW, 1, __LINE__ },
	{ "POST", "/api/conversations/abc/cancel", ROUTE_CANCEL, conv_cancel,
	    ROUTE_AUTH_CONV, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "GET", "/api/leads", ROUTE_LEADS, leads_list, ROUTE_AUTH_STAFF,
	    ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "GET", "/api/leads/abc", ROUTE_LEAD, leads_detail,
	    ROUTE_AUTH_STAFF, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "POST", "/api/leads/abc/notifications/n1/retry",
	    ROUTE_NOTIFY_RETRY, leads_notify_retry, ROUTE_AUTH_STAFF,
	    ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "PATCH", "/api/leads/abc", ROUTE_LEAD_PATCH, leads_patch,
	    ROUTE_AUTH_STAFF, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "DELETE", "/api/conversations/abc", ROUTE_CONV_DELETE, leads_erase,
	    ROUTE_AUTH_STAFF, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
	{ "GET", "/api/disclosure", ROUTE_DISCLOSURE, leads_disclosure,
	    ROUTE_AUTH_NONE, ROUTE_RATE_NONE, ROUTE_SLOT_NONE, 1, __LINE__ },
};

static void
test_rules(void)
{
	const struct rule_row	*t;
	const struct route_rule	*g;
	struct route		 r;
	size_t			 i, j, n;
	int			 id, seen[ROUTE__MAX];

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(rule_rows) / sizeof(rule_rows[0]); i++) {
		t = &rule_rows[i];
		memset(&r, 0xa5, sizeof(r));
		route_match(t->method, t->path, &r);
		if ((g = r.rule) == NULL) {
			CHECK_AT(t->line, 0, "%s %s: no row (got %s)",
			    t->method, t->path, rname(r.id));
			continue;
		}
		seen[t->want] = 1;
		CHECK_AT(t->line, r.id == t->want && g->id == t->want,
		    "%s %s: got %s's row, want %s's", t->method, t->path,
		    rname(g->id), rname(t->want));
		CHECK_AT(t->line, g->handle == t->handle, "%s %s: another "
		    "handler", t->method, t->path);
		CHECK_AT(t->line, g->auth == t->auth, "%s %s: auth %s, want %s",
		    t->method, t->path, NAME(auth_names, g->auth),
		    NAME(auth_names, t->auth));
		CHECK_AT(t->line, g->rate == t->rate, "%s %s: rate %s, want %s",
		    t->method, t->path, NAME(rate_names, g->rate),
		    NAME(rate_names, t->rate));
		CHECK_AT(t->line, g->slot == t->slot, "%s %s: slot %s, want %s",
		    t->method, t->path, NAME(slot_names, g->slot),
		    NAME(slot_names, t->slot));
		CHECK_AT(t->line, g->db == t->db, "%s %s: db %d, want %d",
		    t->method, t->path, g->db, t->db);
	}
	/* Every route is above, and has one row in the table. */
	for (id = ROUTE_HEALTH; id < ROUTE__MAX; id++) {
		for (n = 0, j = 0; j < route_rules_n; j++)
			if (route_rules[j].id == (enum route_id)id)
				n++;
		CHECK(seen[id] && n == 1, "%s: %s, %zu rows in route_rules",
		    rname((enum route_id)id), seen[id] ? "tested" :
		    "untested", n);
	}
	CHECK(route_rules_n == ROUTE__MAX - ROUTE_HEALTH, "route_rules has "
	    "%zu rows, want %d", route_rules_n, ROUTE__MAX - ROUTE_HEALTH);
}

/* The route with two {id}s: both taken, each checked on its own. */
static const struct two_row {
	const char	*method;
	const char	*path;
	enum route_id	 want;
	const char	*arg, *arg2;
	int		 line;
} two_rows[] = {
	{ "POST", "/api/leads/abc/notifications/msg_x1/retry",
	    ROUTE_NOTIFY_RETRY, "abc", "msg_x1", __LINE__ },
	{ "POST", "/api/leads/" ID64 "/notifications/" ID64 "/retry",
	    ROUTE_NOTIFY_RETRY, ID64, ID64, __LINE__ },
	{ "GET", "/api/leads/abc/notifications/n/retry", ROUTE_BAD_METHOD,
	    "", "", __LINE__ },
	{ "HEAD", "/api/leads/abc/notifications/n/retry", ROUTE_BAD_METHOD,
	    "", "", __LINE__ },
	{ "POST", "/api/leads/abc/notifications/" ID65 "/retry",
	    ROUTE_NOT_FOUND, "", "", __LINE__ },
	{ "POST", "/api/leads/abc/notifications//retry", ROUTE_NOT_FOUND, "",
	    "", __LINE__ },
	{ "POST", "/api/leads/abc/notifications/a.b/retry", ROUTE_NOT_FOUND,
	    "", "", __LINE__ },
	{ "POST", "/api/leads/abc/notifications/n/retry/", ROUTE_NOT_FOUND,
	    "", "", __LINE__ },
	{ "POST", "/api/leads/abc/notifications/n", ROUTE_NOT_FOUND, "", "",
	    __LINE__ },
	{ "POST", "/api/leads/abc/notifications", ROUTE_NOT_FOUND, "", "",
	    __LINE__ },
	{ "PATCH", "/api/leads/abc", ROUTE_LEAD_PATCH, "abc", "", __LINE__ },
	{ "DELETE", "/api/conversations/abc", ROUTE_CONV_DELETE, "abc", "",
	    __LINE__ },
	{ "GET", "/api/disclosure", ROUTE_DISCLOSURE, "", "", __LINE__ },
	{ "DELETE", "/api/leads/abc", ROUTE_BAD_METHOD, "", "", __LINE__ },
	{ "PATCH", "/api/conversations/abc", ROUTE_BAD_METHOD, "", "",
	    __LINE__ },
	{ "DELETE", "/api/conversations/" ID65, ROUTE_NOT_FOUND, "", "",
	    __LINE__ },
	{ "POST", "/api/disclosure", ROUTE_BAD_METHOD, "", "", __LINE__ },
	/* One {id} routes leave the second empty. */
	{ "GET", "/api/leads/abc", ROUTE_LEAD, "abc", "", __LINE__ },
};

static void
test_two_ids(void)
{
	const struct two_row	*t;
	struct route		 r;
	size_t			 i;

	for (i = 0; i < sizeof(two_rows) / sizeof(two_rows[0]); i++) {
		t = &two_rows[i];
		memset(&r, 0xa5, sizeof(r));
		CHECK_AT(t->line, route_match(t->method, t->path, &r) ==
		    t->want, "%s %s: got %s, want %s", t->method, t->path,
		    rname(r.id), rname(t->want));
		CHECK_AT(t->line, memchr(r.arg, '\0', sizeof(r.arg)) != NULL &&
		    strcmp(r.arg, t->arg) == 0 &&
		    memchr(r.arg2, '\0', sizeof(r.arg2)) != NULL &&
		    strcmp(r.arg2, t->arg2) == 0, "args: got \"%.*s\" \"%.*s\"",
		    (int)sizeof(r.arg), r.arg, (int)sizeof(r.arg2), r.arg2);
	}
}

/* A long path, far past any buffer, is simply not found. */
static void
test_match_long(void)
{
	char		 path[8192];
	struct route	 r;

	memcpy(path, "/api/conversations/", 19);
	memset(path + 19, 'a', sizeof(path) - 20);
	path[sizeof(path) - 1] = '\0';
	CHECK(route_match("GET", path, &r) == ROUTE_NOT_FOUND &&
	    r.arg[0] == '\0', "8 KiB id: got %s", rname(r.id));
}

static const struct path_row {
	const char	*script_name;
	const char	*path_info;
	const char	*request_uri;
	size_t		 outsz;
	int		 want;
	const char	*out;		/* when want is 0 */
	int		 line;
} path_rows[] = {
	/* lighttpd: the whole path is the script, no PATH_INFO. */
	{ "/api/health", NULL, "/api/health", 256, 0, "/api/health",
	    __LINE__ },
	{ "/api/conversations/abc/messages", NULL,
	    "/api/conversations/abc/messages", 256, 0,
	    "/api/conversations/abc/messages", __LINE__ },
	{ "/api/health", "", "/api/health", 256, 0, "/api/health",
	    __LINE__ },
	/* Apache ScriptAlias /api: the script "/api", the rest as info. */
	{ "/api", "/health", "/api/health", 256, 0, "/api/health",
	    __LINE__ },
	{ "/api", "/conversations/x/events", "/api/conversations/x/events?"
	    "token=t", 256, 0, "/api/conversations/x/events", __LINE__ },
	{ "/api", "/health", NULL, 256, 0, "/api/health", __LINE__ },
	/* CGI: a script file, the API path as PATH_INFO. */
	{ "/cgi-bin/intake.cgi", "/api/health",
	    "/cgi-bin/intake.cgi/api/health", 256, 0, "/api/health",
	    __LINE__ },
	{ "/cgi-bin/intake.cgi", "/api/leads/abc", NULL, 256, 0,
	    "/api/leads/abc", __LINE__ },
	{ NULL, "/api/health", NULL, 256, 0, "/api/health", __LINE__ },
	/* .htaccess rewrite of /api/X to intake.cgi/api/X */
	{ "/api/intake.cgi", "/api/health", "/api/health", 256, 0,
	    "/api/health", __LINE__ },
	{ "/api/intake.cgi", "/api/conversations/abc/messages",
	    "/api/conversations/abc/messages", 256, 0,
	    "/api/conversations/abc/messages", __LINE__ },
	{ "", "/api/health", NULL, 256, 0, "/api/health", __LINE__ },
	/* Mounted under a prefix. */
	{ "/intake/api/health", NULL, NULL, 256, 0, "/api/health",
	    __LINE__ },
	/* REQUEST_URI when the others have no /api/, less its query. */
	{ NULL, NULL, "/api/health", 256, 0, "/api/health", __LINE__ },
	{ NULL, NULL, "/api/health?x=1&y=2", 256, 0, "/api/health",
	    __LINE__ },
	{ "/intake.fcgi", NULL, "/api/conversations/abc/events?token=t&"
	    "offset=3", 256, 0, "/api/conversations/abc/events", __LINE__ },
	{ "/intake.fcgi", "", "/api/leads?format=csv", 256, 0, "/api/leads",
	    __LINE__ },
	{ "/api", NULL, "/api/leads?format=csv", 256, 0, "/api/leads",
	    __LINE__ },
	{ "", "", "/prefix/api/health?", 256, 0, "/api/health", __LINE__ },
	/* "/api/" only in the query string is no path. */
	{ NULL, NULL, "/x?next=/api/health", 256, -1, NULL, __LINE__ },
	/* Nothing found. */
	{ NULL, NULL, NULL, 256, -1, NULL, __LINE__ },
	{ "", "", "", 256, -1, NULL, __LINE__ },
	{ "/cgi-bin/intake.cgi", "/health", "/cgi-bin/intake.cgi/health",
	    256, -1, NULL, __LINE__ },
	{ "/api", NULL, "/api", 256, -1, NULL, __LINE__ },
	{ NULL, NULL, "/apix/health", 256, -1, NULL, __LINE__ },
	{ NULL, NULL, "/API/health", 256, -1, NULL, __LINE__ },
	/* Sizes: the path and its NUL must fit. */
	{ "/api/health", NULL, NULL, 12, 0, "/api/health", __LINE__ },
	{ "/api/health", NULL, NULL, 11, -1, NULL, __LINE__ },
	{ "/api/health", NULL, NULL, 1, -1, NULL, __LINE__ },
	{ "/api/health", NULL, NULL, 0, -1, NULL, __LINE__ },
	{ NULL, NULL, "/api/health?x=1", 12, 0, "/api/health", __LINE__ },
	{ NULL, NULL, "/api/health?x=1", 11, -1, NULL, __LINE__ },
	{ NULL, "/api/health", NULL, 5, -1, NULL, __LINE__ },
};

static void
test_path(void)
{
	const struct path_row	*t;
	char			 out[300];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(path_rows) / sizeof(path_rows[0]); i++) {
		t = &path_rows[i];
		memset(out, 'Z', sizeof(out));
		rc = route_path(t->script_name, t->path_info, t->request_uri,
		    out, t->outsz);
		CHECK_AT(t->line, rc == t->want, "rc %d, want %d", rc,
		    t->want);
		if (t->want == 0 && rc == 0)
			CHECK_AT(t->line, strcmp(out, t->out) == 0,
			    "got \"%s\", want \"%s\"", out, t->out);
		/* Nothing written past outsz. */
		CHECK_AT(t->line, out[t->outsz] == 'Z',
		    "wrote past outsz %zu", t->outsz);
	}
}

/*
 * A PATH_INFO from /api/ on wins whatever SCRIPT_NAME is; otherwise
 * SCRIPT_NAME + PATH_INFO longer than any buffer: REQUEST_URI is used.
 */
static void
test_path_long(void)
{
	static char	 big[6000];
	char		 out[256];

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	CHECK(route_path(big, "/api/health", "/api/leads?x", out,
	    sizeof(out)) == 0 && strcmp(out, "/api/health") == 0,
	    "long script name, /api/ info: got \"%s\"", out);
	CHECK(route_path(big, "/health", "/api/leads?x", out,
	    sizeof(out)) == 0 && strcmp(out, "/api/leads") == 0,
	    "long script name: got \"%s\"", out);
	CHECK(route_path(big, big, NULL, out, sizeof(out)) == -1,
	    "long, no /api/: want -1");
	memcpy(big, "/api/", 5);
	CHECK(route_path(big, NULL, NULL, out, sizeof(out)) == -1,
	    "long /api/ path: want -1 (does not fit)");
}

int
main(void)
{
	test_match();
	test_match_long();
	test_two_ids();
	test_rules();
	test_path();
	test_path_long();
	return check_done("route");
}
