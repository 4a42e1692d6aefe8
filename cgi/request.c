/*
 * request.c: the message body's validator.  jansson parses (it rejects
 * invalid UTF-8 and, without JSON_ALLOW_NUL, "\u0000"); we check the
 * nesting first so a hostile body cannot make the parser recurse deeply,
 * and the raw bytes' UTF-8 so a NUL or a stray byte is refused outright.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "request.h"
#include "utf8.h"

int
request_depth_ok(const char *s, size_t len, int max)
{
	size_t	i;
	int	depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return 0;
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return 1;
}

int
request_is_json(const char *ct)
{
	const char	*p;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	p = ct + 16;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 1;
	if (*p != ';')
		return 0;
	/* Parameters: only a charset matters, and it must be UTF-8. */
	for (p++; *p != '\0'; p++) {
		if (strncasecmp(p, "charset=", 8) == 0) {
			p += 8;
			if (*p == '"')
				p++;
			if (strncasecmp(p, "utf-8", 5) == 0)
				p += 5;
			else if (strncasecmp(p, "utf8", 4) == 0)
				p += 4;
			else
				return 0;
			/* The name must end there: not "utf-88". */
			return *p == '\0' || *p == ';' || *p == ' ' ||
			    *p == '"';
		}
	}
	return 1;
}

static int
request_printable(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * The body as a JSON object: UTF-8, nested no deeper than
 * REQUEST_DEPTH_MAX, no key twice.  A new reference, or NULL with why.
 */
static json_t *
request_object(const char *body, size_t len, char *why, size_t whysz)
{
	json_error_t	 jerr;
	json_t		*root;

	if (!utf8_valid(body, len)) {
		snprintf(why, whysz, "The body is not valid UTF-8.");
		return NULL;
	}
	if (!request_depth_ok(body, len, REQUEST_DEPTH_MAX)) {
		snprintf(why, whysz, "The JSON is nested too deeply.");
		return NULL;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whysz, "Malformed JSON at line %d: %.80s",
		    jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(why, whysz, "The body must be a JSON object.");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* 1 when s (len bytes) is 64 lower-case hex digits. */
static int
request_sha256(const char *s, size_t len)
{
	size_t	i;

	if (len != 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

enum request_rc
request_message(const char *body, size_t len, long text_max,
    long client_id_max, struct message_req *m, char *why, size_t whysz)
{
	json_t		*root = NULL, *text, *cid, *dis;
	enum request_rc	 rc = REQUEST_BAD;
	const char	*s;
	size_t		 n;

	memset(m, 0, sizeof(*m));
	if ((root = request_object(body, len, why, whysz)) == NULL)
		goto out;
	text = json_object_get(root, "text");
	if (text == NULL || !json_is_string(text)) {
		snprintf(why, whysz, "\"text\" must be a string.");
		goto out;
	}
	s = json_string_value(text);
	n = json_string_length(text);
	/* Only spaces, of any kind, or invisible characters: empty. */
	if (n == 0 || utf8_all_blank(s, n)) {
		snprintf(why, whysz, "\"text\" must not be empty.");
		goto out;
	}
	if (utf8_count(s, n) > (size_t)text_max) {
		snprintf(why, whysz, "The message is longer than %ld "
		    "characters.", text_max);
		rc = REQUEST_TOO_LARGE;
		goto out;
	}
	if ((cid = json_object_get(root, "client_id")) != NULL &&
	    !json_is_null(cid)) {
		if (!json_is_string(cid) || json_string_length(cid) == 0 ||
		    utf8_count(json_string_value(cid),
		    json_string_length(cid)) > (size_t)client_id_max ||
		    !request_printable(json_string_value(cid),
		    json_string_length(cid))) {
			snprintf(why, whysz, "\"client_id\" must be a string "
			    "of 1 to %ld printable characters.",
			    client_id_max);
			goto out;
		}
		if ((m->client_id = strdup(json_string_value(cid))) == NULL)
			goto nomem;
	}
	if ((dis = json_object_get(root, "disclosure")) != NULL &&
	    !json_is_null(dis)) {
		if (!json_is_string(dis) || !request_sha256(
		    json_string_value(dis), json_string_length(dis))) {
			snprintf(why, whysz, "\"disclosure\" must be the "
			    "SHA-256 of the text shown, 64 lower-case hex "
			    "digits.");
			goto out;
		}
		memcpy(m->disclosure, json_string_value(dis), 65);
	}
	if ((m->text = malloc(n + 1)) == NULL)
		goto nomem;
	memcpy(m->text, s, n);
	m->text[n] = '\0';
	m->text_len = n;
	rc = REQUEST_OK;
	goto out;
nomem:
	snprintf(why, whysz, "The service is busy; try again shortly.");
	rc = REQUEST_NO_MEMORY;
out:
	json_decref(root);
	if (rc != REQUEST_OK)
		request_free(m);
	return rc;
}

void
request_free(struct message_req *m)
{
	free(m->text);
	free(m->client_id);
	m->text = m->client_id = NULL;
}

/* The optional string member name of root into *out (a copy); 0, -1. */
static int
request_member(json_t *root, const char *name, char **out, size_t *chars,
    char *why, size_t whysz)
{
	json_t	*v = json_object_get(root, name);

	*out = NULL;
	*chars = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, whysz, "\"%s\" must be a string.", name);
		return -1;
	}
	*chars = utf8_count(json_string_value(v), json_string_length(v));
	if ((*out = strdup(json_string_value(v))) == NULL) {
		snprintf(why, whysz, "The service is busy; try again shortly.");
		return -1;
	}
	return 0;
}

enum request_rc
request_patch(const char *body, size_t len, long note_max,
    int (*status_valid)(const char *), struct patch_req *p, char *why,
    size_t whysz)
{
	json_t		*root;
	enum request_rc	 rc = REQUEST_BAD;
	size_t		 chars;

	memset(p, 0, sizeof(*p));
	if ((root = request_object(body, len, why, whysz)) == NULL)
		return REQUEST_BAD;
	if (request_member(root, "status", &p->status, &chars, why,
	    whysz) == -1 || request_member(root, "note", &p->note, &chars,
	    why, whysz) == -1)
		goto out;
	if (p->status == NULL && (p->note == NULL || p->note[0] == '\0')) {
		snprintf(why, whysz, "Send a \"status\", a \"note\", or "
		    "both.");
		goto out;
	}
	if (p->status != NULL && !status_valid(p->status)) {
		snprintf(why, whysz, "\"status\" must be one of new, "
		    "contacted, qualified, declined or spam.");
		goto out;
	}
	if (chars > (size_t)note_max) {
		snprintf(why, whysz, "The note is longer than %ld characters.",
		    note_max);
		rc = REQUEST_TOO_LARGE;
		goto out;
	}
	if (p->note != NULL && p->note[0] == '\0') {
		free(p->note);
		p->note = NULL;
	}
	rc = REQUEST_OK;
out:
	json_decref(root);
	if (rc != REQUEST_OK)
		request_patch_free(p);
	return rc;
}

void
request_patch_free(struct patch_req *p)
{
	free(p->status);
	free(p->note);
	p->status = p->note = NULL;
}
