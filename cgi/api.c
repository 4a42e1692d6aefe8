/*
 * api.c: routing, authentication and the small endpoints.  The turn and
 * the follower, which stream, have files of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "checks_run.h"
#include "leads.h"
#include "log.h"
#include "query.h"
#include "ratelimit.h"
#include "request.h"
#include "spawn.h"
#include "util.h"

#define HEALTH_DETAIL_MAX	8192	/* the admin's reasons, at most */

_Atomic int		api_terminating;

int
api_rate(struct ctx *c, const char *kind, long limit)
{
	int	retry;

	if (ratelimit_hit(c->db, http_param(&c->h, "REMOTE_ADDR"), kind,
	    limit, &retry) != 1)
		return 0;
	c->h.retry_after = retry;
	http_error(&c->h, ERR_RATE_LIMITED, NULL);
	return -1;
}

int
api_stream_take(struct ctx *c, enum slot_kind kind, int64_t *slot)
{
	struct slot_caps	caps;

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

const char *
api_bearer(struct ctx *c, int allow_query, char *buf, size_t sz)
{
	const char	*auth = http_param(&c->h, "HTTP_AUTHORIZATION");

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		if (*auth != '\0')
			return auth;
	}
	if (allow_query && query_get(http_param(&c->h, "QUERY_STRING"),
	    "token", buf, sz) == 1 && buf[0] != '\0')
		return buf;
	return NULL;
}

int
api_auth_conv(struct ctx *c, int allow_query)
{
	char		 buf[256];
	const char	*token = api_bearer(c, allow_query, buf, sizeof(buf));

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

int
api_admin(struct ctx *c)
{
	const char	*user = http_param(&c->h, "REMOTE_USER");
	const char	*token;
	char		 buf[8];

	if (user != NULL && *user != '\0')
		return 1;
	token = api_bearer(c, 0, buf, sizeof(buf));
	return token != NULL && c->cfg->admin_token[0] != '\0' &&
	    store_secret_eq(token, strlen(token), c->cfg->admin_token,
	    strlen(c->cfg->admin_token));
}

/*
 * ok only when the program was configured (a file, or INTAKE_DB in the
 * environment), the database takes a write and the extractor can run.
 * Otherwise 503 with a reason that names no path; the admin gets the
 * --check problem lines instead (paths and all).
 */
static void
api_health(struct ctx *c)
{
	struct checks	*cs = NULL;
	char		*msg = NULL;
	int		 configured, db_ok, ex_ok;

	configured = config_found(c->cfg);
	db_ok = c->db != NULL && store_health(c->db);
	ex_ok = spawn_ready();
	if (configured && db_ok && ex_ok) {
		http_json(&c->h, 200, json_pack("{s:b}", "ok", 1));
		return;
	}
	if (!api_admin(c) || (cs = malloc(sizeof(*cs))) == NULL ||
	    (msg = malloc(HEALTH_DETAIL_MAX)) == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, "The service is not set up "
		    "correctly.");
		goto out;
	}
	checks_init(cs);
	/* Not made on purpose (checks_run says why), or failed: */
	if (!db_ok && configured && checks_db_create(c->cfg, 0,
	    http_param(&c->h, "DOCUMENT_ROOT"), http_param(&c->h,
	    "CONTEXT_DOCUMENT_ROOT"), msg, HEALTH_DETAIL_MAX) == 0)
		checks_add(cs, CHECKS_PROBLEM, "the database %s cannot be "
		    "opened or cannot be written (the log says why)",
		    c->cfg->db);
	if (!ex_ok)
		checks_add(cs, CHECKS_PROBLEM, "extraction is off: the "
		    "extractor %s could not be run when last looked at",
		    spawn_program()[0] != '\0' ? spawn_program() : "(none)");
	checks_run(cs, c->cfg, NULL, CHECKS_WEB,
	    http_param(&c->h, "DOCUMENT_ROOT"));
	checks_problems(cs, msg, HEALTH_DETAIL_MAX);
	http_error(&c->h, ERR_UNAVAILABLE, msg);
out:
	free(msg);
	free(cs);
}

static void
api_conv_create(struct ctx *c)
{
	char	id[32], token[48];

	if (api_rate(c, "conversation", c->cfg->rate_conversations) == -1)
		return;
	/*
	 * 16 random bytes name it; 32 more make its secret.  An id starts
	 * with a letter or digit, so no spreadsheet reads it as a formula.
	 */
	do {
		if (util_random_id(16, id, sizeof(id)) == -1) {
			http_error(&c->h, ERR_UNAVAILABLE, NULL);
			return;
		}
	} while (id[0] == '-' || id[0] == '_');
	if (util_random_id(32, token, sizeof(token)) == -1) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	if (store_conv_create(c->db, id, token,
	    http_param(&c->h, "REMOTE_ADDR")) == -1) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	http_json(&c->h, 201, json_pack("{s:s, s:s}", "id", id,
	    "token", token));
}

static void
api_conv_get(struct ctx *c)
{
	json_t	*conv;

	if (api_auth_conv(c, 0) == -1)
		return;
	if ((conv = store_conv_json(c->db, c->route.arg, &c->self)) == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	http_json(&c->h, 200, conv);
}

static void
api_cancel(struct ctx *c)
{
	if (api_auth_conv(c, 0) == -1)
		return;
	switch (store_cancel(c->db, c->route.arg, &c->self)) {
	case 1:
		http_json(&c->h, 202, json_pack("{s:s}", "status",
		    "cancelling"));
		break;
	case 0:
		http_error(&c->h, ERR_NOT_STREAMING, NULL);
		break;
	default:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		break;
	}
}

/* The resume point: Last-Event-ID, else ?offset=, else 0. */
static size_t
api_offset(struct ctx *c)
{
	const char		*v = http_param(&c->h, "HTTP_LAST_EVENT_ID");
	char			 buf[32], *end;
	unsigned long long	 n;

	if ((v == NULL || *v == '\0') && query_get(http_param(&c->h,
	    "QUERY_STRING"), "offset", buf, sizeof(buf)) == 1)
		v = buf;
	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || n > (unsigned long long)c->cfg->reply_max)
		return 0;
	return (size_t)n;
}

static void
api_events(struct ctx *c)
{
	int64_t	slot;

	/*
	 * ?token= is for EventSource clients, which cannot send a header;
	 * a token in a URL reaches access logs, so a deployer may refuse it.
	 */
	if (api_auth_conv(c, c->cfg->events_query_token != 0) == -1)
		return;
	if (api_stream_take(c, SLOT_FOLLOW, &slot) == -1)
		return;
	follow_reply(c, 0, api_offset(c));
	slots_give(c->db, slot);
}

int
api_body(struct ctx *c, char **body, size_t *len)
{
	*body = NULL;
	*len = 0;
	if (!request_is_json(http_param(&c->h, "CONTENT_TYPE"))) {
		http_error(&c->h, ERR_MEDIA_TYPE, NULL);
		return -1;
	}
	switch (http_read_body(&c->h, (size_t)c->cfg->body_max,
	    c->cfg->body_timeout_ms, body, len)) {
	case HTTP_BODY_OK:
		return 0;
	case HTTP_BODY_TOO_LARGE:
		http_error(&c->h, ERR_TOO_LARGE, "The request body is too "
		    "large.");
		return -1;
	case HTTP_BODY_TIMEOUT:
		http_error(&c->h, ERR_TIMEOUT, NULL);
		return -1;
	case HTTP_BODY_NO_MEMORY:
		log_warnx("out of memory reading a request body");
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return -1;
	case HTTP_BODY_BAD:
	default:
		http_error(&c->h, ERR_BAD_REQUEST, "The request body could "
		    "not be read.");
		return -1;
	}
}

void
api_handle(struct ctx *c)
{
	char	path[1024];

	if (route_path(http_param(&c->h, "SCRIPT_NAME"),
	    http_param(&c->h, "PATH_INFO"), http_param(&c->h, "REQUEST_URI"),
	    path, sizeof(path)) == -1) {
		http_error(&c->h, ERR_NOT_FOUND, NULL);
		return;
	}
	if (route_match(http_param0(&c->h, "REQUEST_METHOD"), path,
	    &c->route) == ROUTE_HEALTH) {
		api_health(c);
		return;
	}
	/* No database (refused or failed, logged): health alone says why. */
	if (c->db == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, "The database is "
		    "unavailable.");
		return;
	}
	switch (c->route.id) {
	case ROUTE_CONV_CREATE:
		api_conv_create(c);
		break;
	case ROUTE_CONV_GET:
		api_conv_get(c);
		break;
	case ROUTE_MESSAGES:
		turn_handle(c);
		break;
	case ROUTE_EVENTS:
		api_events(c);
		break;
	case ROUTE_CANCEL:
		api_cancel(c);
		break;
	case ROUTE_BAD_METHOD:
		c->h.allow = c->route.allow;
		http_error(&c->h, ERR_METHOD, NULL);
		break;
	case ROUTE_LEADS:
		leads_list(c);
		break;
	case ROUTE_LEAD:
		leads_detail(c);
		break;
	case ROUTE_NOTIFY_RETRY:
		leads_notify_retry(c);
		break;
	case ROUTE_LEAD_PATCH:
		leads_patch(c);
		break;
	case ROUTE_CONV_DELETE:
		leads_erase(c);
		break;
	case ROUTE_DISCLOSURE:
		leads_disclosure(c);
		break;
	case ROUTE_NOT_FOUND:
	default:
		http_error(&c->h, ERR_NOT_FOUND, NULL);
		break;
	}
}
