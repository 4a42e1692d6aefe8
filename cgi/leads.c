/*
 * leads.c: the firm's side, GET /api/leads and GET /api/leads/{id}.
 *
 * Admin only: the web server's own authentication (REMOTE_USER), or the
 * bearer INTAKE_ADMIN_TOKEN compared in constant time.  With neither
 * configured nothing is readable.  The CSV is for a spreadsheet: every
 * cell is quoted, and a cell a spreadsheet would run as a formula (=, +,
 * -, @ first) is defused with a leading apostrophe.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fields.h"
#include "lead.h"
#include "leads.h"
#include "notify.h"
#include "query.h"

#define LEADS_LIMIT_DEFAULT	500
#define LEADS_LIMIT_MAX		10000

/* 0 when the request may read leads; -1 when it was answered 401. */
static int
leads_auth(struct ctx *c)
{
	const char	*user = http_param(&c->h, "REMOTE_USER");
	const char	*token;
	char		 buf[8];

	if (user != NULL && *user != '\0')
		return 0;
	token = api_bearer(c, 0, buf, sizeof(buf));
	if (token != NULL && c->cfg->admin_token[0] != '\0' &&
	    store_secret_eq(token, strlen(token), c->cfg->admin_token,
	    strlen(c->cfg->admin_token)))
		return 0;
	http_error(&c->h, ERR_UNAUTHORIZED, "Staff sign-in is required.");
	return -1;
}

/* One CSV cell: quoted, quotes doubled, formulas defused. */
static void
leads_csv_cell(struct http *h, const char *s, int last)
{
	const char	*p;

	http_puts(h, "\"");
	if (s != NULL && (*s == '=' || *s == '+' || *s == '-' || *s == '@' ||
	    *s == '\t' || *s == '\r'))
		http_puts(h, "'");
	for (p = s; p != NULL && *p != '\0'; p++) {
		if (*p == '"')
			http_puts(h, "\"\"");
		else
			http_write(h, p, 1);
	}
	http_puts(h, last ? "\"\r\n" : "\",");
}

static void
leads_csv(struct ctx *c, json_t *list)
{
	json_t	*lead, *fields, *v;
	size_t	 i;
	int	 f;

	http_start(&c->h, 200, "text/csv; charset=utf-8",
	    "Cache-Control: no-store\r\n"
	    "Content-Disposition: attachment; filename=\"leads.csv\"\r\n");
	http_puts(&c->h, "conversation_id,created_at,updated_at");
	for (f = 0; f < FIELD__MAX; f++)
		http_printf(&c->h, ",%s", field_name((enum field)f));
	http_puts(&c->h, "\r\n");
	json_array_foreach(json_object_get(list, "leads"), i, lead) {
		leads_csv_cell(&c->h, json_string_value(json_object_get(lead,
		    "conversation_id")), 0);
		leads_csv_cell(&c->h, json_string_value(json_object_get(lead,
		    "created_at")), 0);
		leads_csv_cell(&c->h, json_string_value(json_object_get(lead,
		    "updated_at")), 0);
		fields = json_object_get(lead, "fields");
		for (f = 0; f < FIELD__MAX; f++) {
			v = json_object_get(fields, field_name((enum field)f));
			leads_csv_cell(&c->h, json_string_value(v),
			    f == FIELD__MAX - 1);
		}
	}
}

void
leads_list(struct ctx *c)
{
	json_t		*list;
	char		 buf[32], *end;
	long		 limit = LEADS_LIMIT_DEFAULT;
	const char	*qs = http_param(&c->h, "QUERY_STRING");
	int		 csv = 0;

	if (leads_auth(c) == -1)
		return;
	if (query_get(qs, "limit", buf, sizeof(buf)) == 1) {
		limit = strtol(buf, &end, 10);
		if (*end != '\0' || limit < 1 || limit > LEADS_LIMIT_MAX) {
			http_error(&c->h, ERR_BAD_REQUEST, "limit must be a "
			    "whole number from 1 to 10000.");
			return;
		}
	}
	if (query_get(qs, "format", buf, sizeof(buf)) == 1) {
		if (strcmp(buf, "csv") == 0)
			csv = 1;
		else if (strcmp(buf, "json") != 0) {
			http_error(&c->h, ERR_BAD_REQUEST, "format must be "
			    "json or csv.");
			return;
		}
	}
	if ((list = lead_list_json(c->db, limit)) == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	if (csv) {
		leads_csv(c, list);
		json_decref(list);
	} else
		http_json(&c->h, 200, list);
}

void
leads_detail(struct ctx *c)
{
	json_t	*lead;
	int	 found;

	if (leads_auth(c) == -1)
		return;
	if ((lead = lead_detail_json(c->db, c->route.arg, &found)) == NULL) {
		if (found)
			http_error(&c->h, ERR_UNAVAILABLE, NULL);
		else
			http_error(&c->h, ERR_NOT_FOUND, "No such lead.");
		return;
	}
	http_json(&c->h, 200, lead);
}

void
leads_notify_retry(struct ctx *c)
{
	int	n;

	if (leads_auth(c) == -1)
		return;
	if ((n = notify_retry_failed(c->db, c->route.arg, c->route.arg2)) ==
	    -1) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	if (n == 0) {
		switch (notify_exists(c->db, c->route.arg,
		    c->route.arg2)) {
		case 1:
			http_error(&c->h, ERR_NOT_FAILED, NULL);
			break;
		case 0:
			http_error(&c->h, ERR_NOT_FOUND, "No such "
			    "notification.");
			break;
		default:
			http_error(&c->h, ERR_UNAVAILABLE, NULL);
			break;
		}
		return;
	}
	http_json(&c->h, 202, json_pack("{s:s}", "status", "pending"));
	/* After the answer: a sender, as for any job nobody will run. */
	c->after.drain = 1;
}
