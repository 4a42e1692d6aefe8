/*
 * leads.c: the firm's side: the leads, one lead, its status and notes, a
 * notification sent again, a conversation erased; and the disclosure.
 *
 * Staff only, but the disclosure (routes.c says so per row; the
 * dispatcher has checked it before a handler here is called): the web
 * server's own authentication (REMOTE_USER), or the bearer
 * INTAKE_ADMIN_TOKEN compared in constant time.  With neither configured
 * nothing is readable.  The CSV is for a spreadsheet: every
 * cell is quoted, and a cell a spreadsheet would run as a formula (=, +,
 * -, @ first) is defused with a leading apostrophe.
 */
#include <stdlib.h>
#include <string.h>

#include "erase.h"
#include "fields.h"
#include "handler.h"
#include "lead.h"
#include "lead_view.h"
#include "notify.h"
#include "query.h"
#include "request.h"
#include "utf8.h"

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

/*
 * Query parameter name into buf (bufsz bytes): 1 when present and it
 * fits, 0 when absent, -1 when too long (answered 400).
 */
static int
leads_param(struct ctx *c, const char *qs, const char *name, char *buf,
    size_t bufsz)
{
	switch (query_get(qs, name, buf, bufsz)) {
	case 1:
		return 1;
	case 0:
		buf[0] = '\0';
		return 0;
	default:
		http_error(&c->h, ERR_BAD_REQUEST, "A query parameter is too "
		    "long or malformed.");
		return -1;
	}
}

void
leads_list(struct ctx *c)
{
	struct lead_query	 q;
	json_t			*list;
	char			 limit[32], format[16], status[32], urgency[32];
	char			 text[4 * LEAD_QUERY_MAX + 1], before[64];
	char			 before_id[ROUTE_ID_MAX + 1], *end;
	const char		*qs = http_param(&c->h, "QUERY_STRING");
	int			 csv = 0;

	memset(&q, 0, sizeof(q));
	q.limit = LEAD_PAGE_DEFAULT;
	if (leads_param(c, qs, "limit", limit, sizeof(limit)) == -1 ||
	    leads_param(c, qs, "format", format, sizeof(format)) == -1 ||
	    leads_param(c, qs, "status", status, sizeof(status)) == -1 ||
	    leads_param(c, qs, "urgency", urgency, sizeof(urgency)) == -1 ||
	    leads_param(c, qs, "q", text, sizeof(text)) == -1 ||
	    leads_param(c, qs, "before", before, sizeof(before)) == -1 ||
	    leads_param(c, qs, "before_id", before_id, sizeof(before_id)) ==
	    -1)
		return;
	if (limit[0] != '\0') {
		q.limit = strtol(limit, &end, 10);
		if (*end != '\0' || q.limit < 1 || q.limit > LEAD_PAGE_MAX) {
			http_error(&c->h, ERR_BAD_REQUEST, "limit must be a "
			    "whole number from 1 to 1000.");
			return;
		}
	}
	if (strcmp(format, "csv") == 0)
		csv = 1;
	else if (format[0] != '\0' && strcmp(format, "json") != 0) {
		http_error(&c->h, ERR_BAD_REQUEST, "format must be json or "
		    "csv.");
		return;
	}
	if (status[0] != '\0' && !lead_status_valid(status)) {
		http_error(&c->h, ERR_BAD_REQUEST, "status must be one of new, "
		    "contacted, qualified, declined or spam.");
		return;
	}
	if (urgency[0] != '\0' && strcmp(urgency, "low") != 0 &&
	    strcmp(urgency, "normal") != 0 && strcmp(urgency, "high") != 0 &&
	    strcmp(urgency, "emergency") != 0) {
		http_error(&c->h, ERR_BAD_REQUEST, "urgency must be one of low, "
		    "normal, high or emergency.");
		return;
	}
	if (!utf8_valid(text, strlen(text)) ||
	    utf8_count(text, strlen(text)) > LEAD_QUERY_MAX) {
		http_error(&c->h, ERR_BAD_REQUEST, "q must be UTF-8 text of at "
		    "most 200 characters.");
		return;
	}
	q.status = status;
	q.urgency = urgency;
	q.q = text;
	q.before = before;
	q.before_id = before_id;
	if ((list = lead_list_json(c->db, &q)) == NULL) {
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

void
leads_patch(struct ctx *c)
{
	struct patch_req	 p;
	json_t			*lead;
	const char		*user = http_param(&c->h, "REMOTE_USER");
	char			*body, why[160] = "The request is malformed.";
	size_t			 len;
	int			 found;

	if (handler_body(c, &body, &len) == -1)
		return;
	switch (request_patch(body, len, LEAD_NOTE_MAX, lead_status_valid, &p,
	    why, sizeof(why))) {
	case REQUEST_OK:
		break;
	case REQUEST_TOO_LARGE:
		free(body);
		http_error(&c->h, ERR_TOO_LARGE, why);
		return;
	case REQUEST_NO_MEMORY:
		free(body);
		http_error(&c->h, ERR_UNAVAILABLE, why);
		return;
	case REQUEST_BAD:
	default:
		free(body);
		http_error(&c->h, ERR_BAD_REQUEST, why);
		return;
	}
	free(body);
	switch (lead_patch(c->db, c->route.arg, p.status, p.note,
	    user != NULL && *user != '\0' ? user : "admin")) {
	case 1:
		break;
	case 0:
		request_patch_free(&p);
		http_error(&c->h, ERR_NOT_FOUND, "No such lead.");
		return;
	default:
		request_patch_free(&p);
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	request_patch_free(&p);
	if ((lead = lead_detail_json(c->db, c->route.arg, &found)) == NULL) {
		http_error(&c->h, found ? ERR_UNAVAILABLE : ERR_NOT_FOUND, NULL);
		return;
	}
	http_json(&c->h, 200, lead);
}

void
leads_erase(struct ctx *c)
{
	switch (erase_conversation(c->db, c->route.arg)) {
	case 1:
		http_start(&c->h, 204, NULL, "Cache-Control: no-store\r\n");
		break;
	case 0:
		http_error(&c->h, ERR_NOT_FOUND, "No such conversation.");
		break;
	default:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		break;
	}
}

void
leads_disclosure(struct ctx *c)
{
	http_json(&c->h, 200, json_pack("{s:s%, s:s}", "text",
	    c->cfg->disclosure, c->cfg->disclosure_len, "sha256",
	    c->cfg->disclosure_sha256));
}
