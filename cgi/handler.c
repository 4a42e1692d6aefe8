/*
 * handler.c: what more than one handler (or the dispatcher and a
 * handler) needs from a request: its JSON body, its bearer token, whether
 * it is staff's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbpool.h"
#include "handler.h"
#include "log.h"
#include "query.h"
#include "request.h"
#include "util.h"

_Atomic int		api_terminating;

const char *
handler_bearer(struct ctx *c, int allow_query, char *buf, size_t sz)
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
handler_admin(struct ctx *c)
{
	const char	*user = http_param(&c->h, "REMOTE_USER");
	const char	*token;
	char		 buf[8];

	if (user != NULL && *user != '\0')
		return 1;
	token = handler_bearer(c, 0, buf, sizeof(buf));
	return token != NULL && c->cfg->admin_token[0] != '\0' &&
	    util_secret_eq(token, strlen(token), c->cfg->admin_token,
	    strlen(c->cfg->admin_token));
}

int
handler_body(struct ctx *c, char **body, size_t *len)
{
	*body = NULL;
	*len = 0;
	if (!request_is_json(http_param(&c->h, "CONTENT_TYPE"))) {
		http_error(&c->h, ERR_MEDIA_TYPE, NULL);
		return -1;
	}
	/* No database handle is held while a client takes its time. */
	handler_db_put(c);
	switch (http_read_body(&c->h, (size_t)c->cfg->body_max,
	    c->cfg->body_timeout_ms, body, len)) {
	case HTTP_BODY_OK:
		if (handler_db(c) != NULL)
			return 0;
		free(*body);
		*body = NULL;
		*len = 0;
		http_error(&c->h, ERR_UNAVAILABLE, "The database is "
		    "unavailable.");
		return -1;
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

/* The handles are the process's pool (dbpool.c), not the worker's. */
void
handler_db_put(struct ctx *c)
{
	dbpool_put(c->db);
	c->db = NULL;
}

struct db *
handler_db(struct ctx *c)
{
	if (c->db == NULL)
		c->db = dbpool_get();
	return c->db;
}
