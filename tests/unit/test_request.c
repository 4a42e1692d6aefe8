/*
 * test_request.c: the message body's validator, its nesting pre-check and
 * the Content-Type test.
 *
 * Rows carry an explicit length so a raw NUL can be part of a body.  On
 * every failure the caller's struct must come back empty (nothing to
 * free, nothing half-filled) and "why" must say something; LeakSanitizer
 * catches anything request_message forgets to free.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "request.h"

#define B(s)	s, sizeof(s) - 1

#define C64	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
#define E8	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E64	E8 E8 E8 E8 E8 E8 E8 E8

static const char *const rc_names[] = { "OK", "BAD", "TOO_LARGE" };

static const char *
rcname(enum request_rc rc)
{
	return (unsigned)rc < 3 ? rc_names[rc] : "?";
}

static const struct msg_row {
	const char	*body;
	size_t		 len;
	long		 text_max;
	long		 cid_max;
	enum request_rc	 want;
	const char	*text;		/* on REQUEST_OK */
	const char	*cid;		/* on REQUEST_OK; NULL when absent */
	int		 line;
} msg_rows[] = {
	/* Valid. */
	{ B("{\"text\":\"hello\"}"), 8000, 64, REQUEST_OK, "hello", NULL,
	    __LINE__ },
	{ B("{\"text\":\"hello\",\"client_id\":\"c-1\"}"), 8000, 64,
	    REQUEST_OK, "hello", "c-1", __LINE__ },
	{ B("{\"client_id\":\"c-1\",\"text\":\"hello\"}"), 8000, 64,
	    REQUEST_OK, "hello", "c-1", __LINE__ },
	{ B(" \n{ \"text\" : \"hi\" ,\t\"client_id\" : \"x\" } \r\n"), 8000,
	    64, REQUEST_OK, "hi", "x", __LINE__ },
	{ B("{\"text\":\" a \"}"), 8000, 64, REQUEST_OK, " a ", NULL,
	    __LINE__ },
	{ B("{\"text\":\"line1\\nline2\"}"), 8000, 64, REQUEST_OK,
	    "line1\nline2", NULL, __LINE__ },
	{ B("{\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"), 8000,
	    64, REQUEST_OK, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\"}"), 8000, 64,
	    REQUEST_OK, "\xc3\xa9\xf0\x9f\x98\x80\"\\/", NULL, __LINE__ },
	{ B("{\"text\":\"[[[{{{\"}"), 8000, 64, REQUEST_OK, "[[[{{{", NULL,
	    __LINE__ },
	/* Unknown members are ignored, whatever they hold. */
	{ B("{\"text\":\"hi\",\"extra\":1,\"more\":{\"a\":[1,2,{\"b\":null}]},"
	    "\"t\":true,\"Text\":5,\"text2\":[]}"), 8000, 64, REQUEST_OK,
	    "hi", NULL, __LINE__ },
	/* client_id: null is absent. */
	{ B("{\"text\":\"hi\",\"client_id\":null}"), 8000, 64, REQUEST_OK,
	    "hi", NULL, __LINE__ },

	/* text missing, of the wrong type, empty, blank. */
	{ B("{}"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"client_id\":\"x\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"Text\":\"hi\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":null}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":1}"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":1.5}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":true}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":[\"hi\"]}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":{\"text\":\"hi\"}}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\" \"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\" \\n\\t\\r \\f\\u000b\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u0020\\u0020\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	/* Blank in Unicode's sense too: no-break, wide, zero-width, BOM. */
	{ B("{\"text\":\"\\u00a0\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\xc2\xa0\xc2\xa0 \"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u200b\\u200b\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"\xe2\x80\x8b\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"\\ufeff\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\u0085\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\u1680\\u180e\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u2000\\u2001\\u2005\\u200a\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u200c\\u200d\\u2060\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u2028\\u2029\\u202f\\u205f\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u3000 \\n\\u3000\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u2800\\u3164\\ufe0f\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\\u0001\\u007f\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	/* One thing that shows is enough. */
	{ B("{\"text\":\"\\u00a0a\"}"), 8000, 64, REQUEST_OK,
	    "\xc2\xa0" "a", NULL, __LINE__ },
	{ B("{\"text\":\"\\u200bhi\\u200b\"}"), 8000, 64, REQUEST_OK,
	    "\xe2\x80\x8bhi\xe2\x80\x8b", NULL, __LINE__ },
	{ B("{\"text\":\"\\ud83d\\udc68\\u200d\\ud83d\\udc69\"}"), 8000,
	    64, REQUEST_OK, "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9",
	    NULL, __LINE__ },
	{ B("{\"text\":\"\\u3000\\u3001\"}"), 8000, 64, REQUEST_OK,
	    "\xe3\x80\x80\xe3\x80\x81", NULL, __LINE__ },
	{ B("{\"text\":\"\\u2010\"}"), 8000, 64, REQUEST_OK,
	    "\xe2\x80\x90", NULL, __LINE__ },
	{ B("{\"text\":\"\\u00e9\"}"), 8000, 64, REQUEST_OK, "\xc3\xa9",
	    NULL, __LINE__ },

	/* Invalid UTF-8, raw, anywhere in the body. */
	{ B("{\"text\":\"\xff\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"a\xc3\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\xc0\xaf\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\xed\xa0\x80\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"\xf4\x90\x80\x80\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"x\":\"\xfe\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"\x80\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"te\xffxt\":\"hi\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	/* Lone surrogates by escape. */
	{ B("{\"text\":\"\\ud800\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\ude00x\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },

	/* A raw NUL, and "\u0000", anywhere. */
	{ B("{\"text\":\"a\0b\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"ab\"}\0"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("\0{\"text\":\"ab\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"a\\u0000b\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\u0000\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\\u0000\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"x\":\"\\u0000\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },

	/* Length in characters, not bytes. */
	{ B("{\"text\":\"abc\"}"), 3, 64, REQUEST_OK, "abc", NULL,
	    __LINE__ },
	{ B("{\"text\":\"abcd\"}"), 3, 64, REQUEST_TOO_LARGE, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}"), 3, 64, REQUEST_OK,
	    "\xc3\xa9\xc3\xa9\xc3\xa9", NULL, __LINE__ },
	{ B("{\"text\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"), 3, 64,
	    REQUEST_TOO_LARGE, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}"),
	    3, 64, REQUEST_OK, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
	    "\x80", NULL, __LINE__ },
	{ B("{\"text\":\"\\u00e9\\u00e9\\u00e9\"}"), 3, 64, REQUEST_OK,
	    "\xc3\xa9\xc3\xa9\xc3\xa9", NULL, __LINE__ },
	{ B("{\"text\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}"), 3, 64,
	    REQUEST_TOO_LARGE, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"x\"}"), 1, 64, REQUEST_OK, "x", NULL, __LINE__ },
	{ B("{\"text\":\"xy\"}"), 1, 64, REQUEST_TOO_LARGE, NULL, NULL,
	    __LINE__ },

	/* client_id: 1 to cid_max printable characters, a string. */
	{ B("{\"text\":\"hi\",\"client_id\":\"" C64 "\"}"), 8000, 64,
	    REQUEST_OK, "hi", C64, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"" C64 "x\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"" E64 "\"}"), 8000, 64,
	    REQUEST_OK, "hi", E64, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"" E64 "\xc3\xa9\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"abc\"}"), 8000, 3, REQUEST_OK,
	    "hi", "abc", __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"abcd\"}"), 8000, 3, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a b\"}"), 8000, 64, REQUEST_OK,
	    "hi", "a b", __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"~\"}"), 8000, 64, REQUEST_OK,
	    "hi", "~", __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":1}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":0}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":false}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":[\"a\"]}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":{}}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\\nb\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\\tb\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\\u0001\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"\\u001f\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\\u007f\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\",\"client_id\":\"a\x7f\"}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },

	/* Duplicate keys, at the top and deeper. */
	{ B("{\"text\":\"a\",\"text\":\"b\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"a\",\"client_id\":\"x\",\"client_id\":\"y\"}"),
	    8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"a\",\"x\":1,\"x\":1}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("{\"text\":\"a\",\"o\":{\"k\":1,\"k\":2}}"), 8000, 64,
	    REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"a\",\"t\\u0065xt\":\"b\"}"), 8000, 64, REQUEST_BAD,
	    NULL, NULL, __LINE__ },

	/* Not a JSON object, or not JSON. */
	{ B(""), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B(" "), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("[]"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("[{\"text\":\"hi\"}]"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("\"hi\""), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("1"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("null"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("true"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"hi\""), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi\",}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi\"}x"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi\"}{}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{'text':'hi'}"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{text:\"hi\"}"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	{ B("{\"text\":\"a\nb\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"\\x41\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("\xef\xbb\xbf{\"text\":\"hi\"}"), 8000, 64, REQUEST_BAD, NULL,
	    NULL, __LINE__ },
	{ B("text=hi"), 8000, 64, REQUEST_BAD, NULL, NULL, __LINE__ },
	/* Brackets out of order fool no one. */
	{ B("]]]]{\"text\":\"hi\"}"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
	{ B("{\"text\":\"hi\"}]"), 8000, 64, REQUEST_BAD, NULL, NULL,
	    __LINE__ },
};

/* On failure m is empty and why says something. */
static void
check_failed_state(int line, const struct message_req *m, const char *why)
{
	CHECK_AT(line, m->text == NULL && m->client_id == NULL &&
	    m->text_len == 0, "failure left m filled: text %p cid %p "
	    "len %zu", (const void *)m->text, (const void *)m->client_id,
	    m->text_len);
	CHECK_AT(line, why[0] != '\0' && why[0] != 'Z',
	    "failure without a reason");
}

static void
run_msg(const struct msg_row *t)
{
	struct message_req	 m;
	enum request_rc		 rc;
	char			 why[256];
	char			*body;

	/* A heap copy of exactly len bytes: ASan sees any read past it. */
	if ((body = malloc(t->len ? t->len : 1)) == NULL)
		abort();
	memcpy(body, t->body, t->len);
	memset(&m, 0xa5, sizeof(m));
	memset(why, 'Z', sizeof(why));
	why[sizeof(why) - 1] = '\0';
	rc = request_message(body, t->len, t->text_max, t->cid_max, &m, why,
	    sizeof(why));
	free(body);
	CHECK_AT(t->line, rc == t->want, "rc %s, want %s (why: %s)",
	    rcname(rc), rcname(t->want), rc == REQUEST_OK ? "-" : why);
	if (rc != REQUEST_OK) {
		check_failed_state(t->line, &m, why);
		return;
	}
	if (t->want == REQUEST_OK) {
		CHECK_AT(t->line, m.text != NULL &&
		    m.text_len == strlen(t->text) &&
		    memcmp(m.text, t->text, m.text_len + 1) == 0,
		    "text \"%s\" (%zu bytes), want \"%s\"",
		    m.text ? m.text : "(null)", m.text_len, t->text);
		if (t->cid == NULL)
			CHECK_AT(t->line, m.client_id == NULL,
			    "client_id \"%s\", want none", m.client_id);
		else
			CHECK_AT(t->line, m.client_id != NULL &&
			    strcmp(m.client_id, t->cid) == 0,
			    "client_id \"%s\", want \"%s\"",
			    m.client_id ? m.client_id : "(null)", t->cid);
	}
	request_free(&m);
	CHECK_AT(t->line, m.text == NULL && m.client_id == NULL,
	    "request_free left pointers");
}

static void
test_message(void)
{
	size_t	i;

	for (i = 0; i < sizeof(msg_rows) / sizeof(msg_rows[0]); i++)
		run_msg(&msg_rows[i]);
}

/*
 * {"text":"<n times unit>"} in a fresh heap buffer; *len set.  The caller
 * frees.
 */
static char *
body_repeat(const char *unit, size_t n, size_t *len)
{
	size_t	 ul = strlen(unit), i;
	char	*b, *p;

	if ((b = malloc(16 + ul * n)) == NULL)
		abort();
	p = b;
	memcpy(p, "{\"text\":\"", 9);
	p += 9;
	for (i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, "\"}", 2);
	p += 2;
	*len = (size_t)(p - b);
	return b;
}

static const struct long_row {
	const char	*unit;		/* one character, raw or escaped */
	size_t		 n;
	size_t		 bytes;		/* of one decoded character */
	enum request_rc	 want;
	int		 line;
} long_rows[] = {
	{ "a", 8000, 1, REQUEST_OK, __LINE__ },
	{ "a", 8001, 1, REQUEST_TOO_LARGE, __LINE__ },
	{ "\xc3\xa9", 8000, 2, REQUEST_OK, __LINE__ },
	{ "\xc3\xa9", 8001, 2, REQUEST_TOO_LARGE, __LINE__ },
	{ "\xe2\x82\xac", 8000, 3, REQUEST_OK, __LINE__ },
	{ "\xe2\x82\xac", 8001, 3, REQUEST_TOO_LARGE, __LINE__ },
	{ "\xf0\x9f\x98\x80", 8000, 4, REQUEST_OK, __LINE__ },
	{ "\xf0\x9f\x98\x80", 8001, 4, REQUEST_TOO_LARGE, __LINE__ },
	{ "\\u00e9", 8000, 2, REQUEST_OK, __LINE__ },
	{ "\\u00e9", 8001, 2, REQUEST_TOO_LARGE, __LINE__ },
	{ "\\ud83d\\ude00", 8000, 4, REQUEST_OK, __LINE__ },
	{ "\\ud83d\\ude00", 8001, 4, REQUEST_TOO_LARGE, __LINE__ },
	{ "\\u0041", 8000, 1, REQUEST_OK, __LINE__ },
	{ "\\u0041", 8001, 1, REQUEST_TOO_LARGE, __LINE__ },
	{ " ", 8000, 1, REQUEST_BAD, __LINE__ },
	{ "a", 100000, 1, REQUEST_TOO_LARGE, __LINE__ },
};

static void
test_long(void)
{
	const struct long_row	*t;
	struct message_req	 m;
	enum request_rc		 rc;
	char			 why[256], *body;
	size_t			 i, len;

	for (i = 0; i < sizeof(long_rows) / sizeof(long_rows[0]); i++) {
		t = &long_rows[i];
		body = body_repeat(t->unit, t->n, &len);
		why[0] = '\0';
		rc = request_message(body, len, 8000, 64, &m, why,
		    sizeof(why));
		free(body);
		CHECK_AT(t->line, rc == t->want, "%zu characters: rc %s, "
		    "want %s (%s)", t->n, rcname(rc), rcname(t->want), why);
		if (rc == REQUEST_OK)
			CHECK_AT(t->line, m.text_len == t->n * t->bytes &&
			    strlen(m.text) == m.text_len, "text_len %zu, "
			    "want %zu", m.text_len, t->n * t->bytes);
		else
			check_failed_state(t->line, &m, why);
		request_free(&m);
	}
}

/* {"text":"hi","a": <depth-1 arrays> } nests exactly depth deep. */
static char *
body_nested(int depth, size_t *len)
{
	char	*b, *p;
	int	 i;

	if ((b = malloc(32 + 2 * (size_t)depth)) == NULL)
		abort();
	p = b;
	memcpy(p, "{\"text\":\"hi\",\"a\":", 17);
	p += 17;
	for (i = 1; i < depth; i++)
		*p++ = '[';
	if (depth == 1)
		*p++ = '0';
	for (i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*len = (size_t)(p - b);
	return b;
}

static void
test_nesting(void)
{
	static const struct {
		int		 depth;
		enum request_rc	 want;
		int		 line;
	} rows[] = {
		{ 1, REQUEST_OK, __LINE__ },
		{ 2, REQUEST_OK, __LINE__ },
		{ REQUEST_DEPTH_MAX - 1, REQUEST_OK, __LINE__ },
		{ REQUEST_DEPTH_MAX, REQUEST_OK, __LINE__ },
		{ REQUEST_DEPTH_MAX + 1, REQUEST_BAD, __LINE__ },
		{ REQUEST_DEPTH_MAX + 2, REQUEST_BAD, __LINE__ },
		{ 1000, REQUEST_BAD, __LINE__ },
		{ 100000, REQUEST_BAD, __LINE__ },
	};
	struct message_req	 m;
	enum request_rc		 rc;
	char			 why[256], *body;
	size_t			 i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		body = body_nested(rows[i].depth, &len);
		why[0] = '\0';
		rc = request_message(body, len, 8000, 64, &m, why,
		    sizeof(why));
		free(body);
		CHECK_AT(rows[i].line, rc == rows[i].want, "depth %d: rc %s, "
		    "want %s (%s)", rows[i].depth, rcname(rc),
		    rcname(rows[i].want), why);
		if (rc != REQUEST_OK)
			check_failed_state(rows[i].line, &m, why);
		request_free(&m);
	}
}

/* A tiny or one-byte why buffer is still a terminated string. */
static void
test_why_small(void)
{
	struct message_req	 m;
	char			 why[8];

	memset(why, 'Z', sizeof(why));
	CHECK(request_message(B("{}"), 8000, 64, &m, why, 4) == REQUEST_BAD &&
	    why[3] == '\0' && why[4] == 'Z', "why of 4 bytes: \"%.8s\"", why);
	memset(why, 'Z', sizeof(why));
	CHECK(request_message(B("[]"), 8000, 64, &m, why, 1) == REQUEST_BAD &&
	    why[0] == '\0' && why[1] == 'Z', "why of 1 byte");
}

static const struct depth_row {
	const char	*in;
	int		 max;
	int		 want;
	int		 line;
} depth_rows[] = {
	{ "", 0, 1, __LINE__ },
	{ "1", 0, 1, __LINE__ },
	{ "[]", 0, 0, __LINE__ },
	{ "{}", 0, 0, __LINE__ },
	{ "[]", 1, 1, __LINE__ },
	{ "[[]]", 1, 0, __LINE__ },
	{ "[[]]", 2, 1, __LINE__ },
	{ "[][][][]", 1, 1, __LINE__ },
	{ "[{},{},[]]", 2, 1, __LINE__ },
	{ "[{},{\"a\":[]},[]]", 2, 0, __LINE__ },
	{ "{\"a\":{\"b\":{\"c\":{}}}}", 4, 1, __LINE__ },
	{ "{\"a\":{\"b\":{\"c\":{}}}}", 3, 0, __LINE__ },
	/* Brackets inside strings are text. */
	{ "\"[[[[\"", 0, 1, __LINE__ },
	{ "{\"[[[[\":\"{{{{\"}", 1, 1, __LINE__ },
	{ "[\"]]]]\",[]]", 1, 0, __LINE__ },
	/* An escaped quote does not end the string... */
	{ "[\"\\\"[[[[\"]", 1, 1, __LINE__ },
	{ "[\"a\\\"]\",[]]", 1, 0, __LINE__ },
	/* ...an escaped backslash before a quote does. */
	{ "[\"\\\\\",[[]]]", 2, 0, __LINE__ },
	{ "[\"\\\\\",[[]]]", 3, 1, __LINE__ },
	{ "[\"\\\\\\\"[[\"]", 1, 1, __LINE__ },
	/* Depth is the open count at any time, not the total. */
	{ "[[[]]][[[]]][[[]]]", 3, 1, __LINE__ },
	{ "[[[]]][[[[]]]][[[]]]", 3, 0, __LINE__ },
	/* A string left open hides what follows. */
	{ "\"[[[[", 0, 1, __LINE__ },
	{ "[\"\\", 1, 1, __LINE__ },
};

static void
test_depth(void)
{
	const struct depth_row	*t;
	size_t			 i;
	int			 got;

	for (i = 0; i < sizeof(depth_rows) / sizeof(depth_rows[0]); i++) {
		t = &depth_rows[i];
		got = request_depth_ok(t->in, strlen(t->in), t->max);
		CHECK_AT(t->line, got == t->want, "request_depth_ok(%s, %d): "
		    "got %d, want %d", t->in, t->max, got, t->want);
	}
	/* The length, not a NUL, bounds the scan. */
	CHECK(request_depth_ok("[]", 1, 1) == 1 &&
	    request_depth_ok("[[", 1, 1) == 1 &&
	    request_depth_ok("[[", 2, 1) == 0, "length not respected");
}

static const struct ct_row {
	const char	*ct;
	int		 want;
	int		 line;
} ct_rows[] = {
	{ "application/json", 1, __LINE__ },
	{ "application/json; charset=utf-8", 1, __LINE__ },
	{ "application/json;charset=utf-8", 1, __LINE__ },
	{ "application/json; charset=UTF-8", 1, __LINE__ },
	{ "application/json; charset=utf8", 1, __LINE__ },
	{ "application/json; charset=\"utf-8\"", 1, __LINE__ },
	{ "application/json ; charset=utf-8", 1, __LINE__ },
	{ "Application/JSON", 1, __LINE__ },
	{ "APPLICATION/JSON; CHARSET=UTF-8", 1, __LINE__ },
	{ " application/json", 1, __LINE__ },
	{ "application/json ", 1, __LINE__ },
	{ "application/json;", 1, __LINE__ },
	{ "application/json; foo=bar", 1, __LINE__ },
	{ "application/json; foo=bar; charset=utf-8", 1, __LINE__ },
	{ "application/json; charset=utf-8; foo=bar", 1, __LINE__ },
	{ "application/json; charset=utf-8 ", 1, __LINE__ },
	{ "application/json; charset=iso-8859-1", 0, __LINE__ },
	{ "application/json; charset=latin1", 0, __LINE__ },
	{ "application/json; charset=utf-16", 0, __LINE__ },
	{ "application/json; charset=us-ascii", 0, __LINE__ },
	{ "application/json; charset=", 0, __LINE__ },
	{ "application/json; foo=bar; charset=utf-16", 0, __LINE__ },
	/* A charset that only starts like utf-8 is some other charset. */
	{ "application/json; charset=utf-88", 0, __LINE__ },
	{ "application/jsonx", 0, __LINE__ },
	{ "application/json5", 0, __LINE__ },
	{ "application/json-patch+json", 0, __LINE__ },
	{ "application/jso", 0, __LINE__ },
	{ "application/", 0, __LINE__ },
	{ "application/x-www-form-urlencoded", 0, __LINE__ },
	{ "application/vnd.api+json", 0, __LINE__ },
	{ "multipart/form-data; boundary=x", 0, __LINE__ },
	{ "text/json", 0, __LINE__ },
	{ "text/plain", 0, __LINE__ },
	{ "text/plain; x=application/json", 0, __LINE__ },
	{ "json", 0, __LINE__ },
	{ "", 0, __LINE__ },
	{ NULL, 0, __LINE__ },
};

static void
test_is_json(void)
{
	const struct ct_row	*t;
	size_t			 i;
	int			 got;

	for (i = 0; i < sizeof(ct_rows) / sizeof(ct_rows[0]); i++) {
		t = &ct_rows[i];
		got = request_is_json(t->ct);
		CHECK_AT(t->line, got == t->want, "request_is_json(\"%s\"): "
		    "got %d, want %d", t->ct ? t->ct : "(null)", got,
		    t->want);
	}
}

/* PATCH bodies: status and note, either or both. */
static int
patch_status_ok(const char *s)
{
	return strcmp(s, "new") == 0 || strcmp(s, "contacted") == 0;
}

static const struct patch_row {
	const char	*body;
	enum request_rc	 want;
	const char	*status;	/* wanted, NULL none */
	const char	*note;
	int		 line;
} patch_rows[] = {
	{ "{\"status\":\"contacted\",\"note\":\"rang\"}", REQUEST_OK,
	    "contacted", "rang", __LINE__ },
	{ "{\"status\":\"new\"}", REQUEST_OK, "new", NULL, __LINE__ },
	{ "{\"note\":\"left\"}", REQUEST_OK, NULL,
	    "left", __LINE__ },
	{ "{\"note\":\"\\u00e9t\\u00e9\",\"status\":null}", REQUEST_OK, NULL,
	    "\xc3\xa9t\xc3\xa9", __LINE__ },
	/* A note of exactly the limit (5 characters, 10 bytes) is taken. */
	{ "{\"note\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", REQUEST_OK,
	    NULL, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", __LINE__ },
	{ "{\"note\":\"abcdef\"}", REQUEST_TOO_LARGE, NULL, NULL, __LINE__ },
	{ "{\"status\":\"spam\"}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"status\":\"CONTACTED\"}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"status\":\"\"}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"status\":1}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"note\":[\"x\"]}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"note\":\"\"}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"other\":1}", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "[]", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "not json", REQUEST_BAD, NULL, NULL, __LINE__ },
	{ "{\"status\":\"new\",\"status\":\"contacted\"}", REQUEST_BAD,
	    NULL, NULL, __LINE__ },
	{ "{\"note\":\"\xff\"}", REQUEST_BAD, NULL, NULL, __LINE__ },
};

static void
test_patch(void)
{
	const struct patch_row	*t;
	struct patch_req	 p;
	enum request_rc		 rc;
	char			 why[160], *body;
	size_t			 i, len;

	for (i = 0; i < sizeof(patch_rows) / sizeof(patch_rows[0]); i++) {
		t = &patch_rows[i];
		len = strlen(t->body);
		if ((body = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(body, t->body, len);
		memset(&p, 0xa5, sizeof(p));
		why[0] = '\0';
		rc = request_patch(body, len, 5, patch_status_ok, &p, why,
		    sizeof(why));
		free(body);
		CHECK_AT(t->line, rc == t->want, "rc %s, want %s (%s)",
		    rcname(rc), rcname(t->want), why);
		if (rc != REQUEST_OK) {
			CHECK_AT(t->line, p.status == NULL && p.note == NULL &&
			    why[0] != '\0', "failure left p filled");
			continue;
		}
		CHECK_AT(t->line, t->status == NULL ? p.status == NULL :
		    p.status != NULL && strcmp(p.status, t->status) == 0,
		    "status %s", p.status ? p.status : "(null)");
		CHECK_AT(t->line, t->note == NULL ? p.note == NULL :
		    p.note != NULL && strcmp(p.note, t->note) == 0,
		    "note %s", p.note ? p.note : "(null)");
		request_patch_free(&p);
	}
}

/* The disclosure's hash rides on a message: 64 lower-case hex or 400. */
static void
test_disclosure(void)
{
	static const struct {
		const char	*dis;
		enum request_rc	 want;
		int		 line;
	} rows[] = {
		{ "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
		    REQUEST_OK, __LINE__ },
		{ "null", REQUEST_OK, __LINE__ },
		{ "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"",
		    REQUEST_BAD, __LINE__ },
		{ "\"0123456789abcdef\"", REQUEST_BAD, __LINE__ },
		{ "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"",
		    REQUEST_BAD, __LINE__ },
		{ "\"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
		    REQUEST_BAD, __LINE__ },
		{ "64", REQUEST_BAD, __LINE__ },
	};
	struct message_req	m;
	char			body[256], why[160];
	size_t			i;
	int			n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = snprintf(body, sizeof(body), "{\"text\":\"hi\","
		    "\"disclosure\":%s}", rows[i].dis);
		CHECK_AT(rows[i].line, request_message(body, (size_t)n, 8000,
		    64, &m, why, sizeof(why)) == rows[i].want, "disclosure "
		    "%s: %s", rows[i].dis, why);
		if (rows[i].want == REQUEST_OK)
			CHECK_AT(rows[i].line, strcmp(rows[i].dis, "null") == 0 ?
			    m.disclosure[0] == '\0' : strncmp(m.disclosure,
			    rows[i].dis + 1, 64) == 0 &&
			    m.disclosure[64] == '\0', "disclosure kept");
		request_free(&m);
	}
}

int
main(void)
{
	test_message();
	test_long();
	test_nesting();
	test_why_small();
	test_depth();
	test_is_json();
	test_patch();
	test_disclosure();
	return check_done("request");
}
