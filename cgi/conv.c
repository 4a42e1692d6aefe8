/*
 * conv.c: a conversation's small routes: create it, read it, cancel its
 * reply, follow its reply.  The caller is authenticated, rate-limited and
 * (for events) holds its stream slot already: routes.c says so per row.
 */
#include <stdlib.h>

#include "handler.h"
#include "query.h"
#include "util.h"

void
conv_post(struct ctx *c)
{
	char	id[32], token[48];

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

void
conv_get(struct ctx *c)
{
	json_t	*conv;

	if ((conv = store_conv_json(c->db, c->route.arg, &c->self)) == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	http_json(&c->h, 200, conv);
}

void
conv_cancel(struct ctx *c)
{
	switch (store_cancel(c->db, c->route.arg, &c->self)) {
	case CANCEL_ASKED:
		http_json(&c->h, 202, json_pack("{s:s}", "status",
		    "cancelling"));
		break;
	case CANCEL_NOT_STREAMING:
		http_error(&c->h, ERR_NOT_STREAMING, NULL);
		break;
	case CANCEL_ERROR:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		break;
	}
}

/* The resume point: Last-Event-ID, else ?offset=, else 0. */
static size_t
conv_offset(struct ctx *c)
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

void
conv_events(struct ctx *c)
{
	follow_reply(c, 0, conv_offset(c));
}
