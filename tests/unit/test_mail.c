/*
 * test_mail.c: the lead e-mail (common/mail.c), read back the way a mail
 * program reads it.  Each composed message is split at its first blank
 * line, its headers unfolded and counted by name, its Subject decoded
 * from RFC 2047 and its body from quoted-printable by decoders written
 * here, independent of the code under test; then the hostile names
 * (CR, LF, NUL, controls, 10,000 characters, invalid UTF-8, non-ASCII)
 * must come out as one cleaned Subject and never as a header of their
 * own.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mail.h"
#include "utf8.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define ID	"msg_0123456789abcdef0123456789abcdef"
#define FROM	"Intake <intake@Firm.Example>"
#define TO	" desk@firm.example , paralegal@firm.example,, "
#define MID	"<" ID "@firm.example>"

/* The headers a message has, each exactly once. */
static const char *const names[] = {
	"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
	"X-Intake-Notification",
};

/* A message taken apart. */
struct parsed {
	char	*hdr[NELEM(names)];	/* unfolded values */
	int	 count[NELEM(names)];
	int	 unknown;		/* headers not in names */
	int	 bad;			/* a line that is no header */
	char	*body;			/* quoted-printable, as sent */
	size_t	 bodylen;
	char	*text;			/* body decoded */
	size_t	 textlen;
	int	 qp_bad;		/* an "=" not followed by hex or CRLF */
	char	*subject;		/* Subject decoded (RFC 2047) */
	int	 subject_bad;		/* a malformed encoded-word */
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable (RFC 2045) of s[0..n) into a new buffer. */
static char *
qp_decode(const char *s, size_t n, size_t *outlen, int *bad)
{
	char	*out = malloc(n + 1);
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2]));
			i += 2;
			continue;
		}
		(*bad)++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 of s[0..n) appended at out; the bytes written, or -1. */
static long
b64_decode(const char *s, size_t n, char *out)
{
	size_t		 i;
	unsigned long	 acc = 0;
	int		 bits = 0, v;
	long		 o = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n)
				return -1;
			continue;
		}
		if ((v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/*
 * An unfolded unstructured header (RFC 2047): words split at spaces;
 * the space between two encoded-words is dropped, any other kept.  Each
 * encoded-word must be at most 75 characters and hold whole UTF-8
 * characters.
 */
static char *
subject_decode(const char *v, int *bad)
{
	char		*out = calloc(1, strlen(v) + 1);
	const char	*p = v, *e;
	size_t		 o = 0, n;
	long		 k;
	int		 prev_enc = 0, first = 1, enc;

	while (*p != '\0') {
		n = strcspn(p, " ");
		enc = n >= 12 && strncmp(p, "=?UTF-8?B?", 10) == 0 &&
		    strncmp(p + n - 2, "?=", 2) == 0;
		if (enc) {
			if (n > 75)
				(*bad)++;
			if (!first && !prev_enc)
				out[o++] = ' ';
			e = p + 10;
			k = b64_decode(e, n - 12, out + o);
			if (k < 0 || !utf8_valid(out + o, (size_t)k))
				(*bad)++;
			else
				o += (size_t)k;
		} else {
			if (!first)
				out[o++] = ' ';
			memcpy(out + o, p, n);
			o += n;
		}
		prev_enc = enc;
		first = 0;
		p += n;
		if (*p == ' ')
			p++;
	}
	out[o] = '\0';
	return out;
}

static void
parsed_free(struct parsed *pm)
{
	size_t	 i;

	for (i = 0; i < NELEM(names); i++)
		free(pm->hdr[i]);
	free(pm->body);
	free(pm->text);
	free(pm->subject);
	memset(pm, 0, sizeof(*pm));
}

/*
 * Take msg apart as a mail reader would.  Checks on the way, at line:
 * CRLF only, header lines ASCII and at most 78 characters, body lines
 * at most 76.
 */
static void
parse(int line, const char *msg, size_t len, struct parsed *pm)
{
	const char	*sep, *p, *eol, *colon;
	char		*h, *u;
	size_t		 hlen, i, o, n;
	int		 longest = 0, bare = 0, nonascii = 0;

	memset(pm, 0, sizeof(*pm));
	CHECK_AT(line, strlen(msg) == len, "message has a NUL");
	for (i = 0; i < len; i++)
		if ((msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n')) ||
		    (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')))
			bare++;
	CHECK_AT(line, bare == 0, "%d bare CR or LF", bare);
	sep = strstr(msg, "\r\n\r\n");
	CHECK_AT(line, sep != NULL, "no blank line");
	if (sep == NULL)
		return;
	hlen = (size_t)(sep - msg) + 2;

	/* Header lines: ASCII, at most 78 characters. */
	for (p = msg; p < msg + hlen; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if ((int)(eol - p) > longest)
			longest = (int)(eol - p);
		for (i = 0; p + i < eol; i++)
			if ((unsigned char)p[i] < 0x20 ||
			    (unsigned char)p[i] > 0x7e)
				nonascii++;
	}
	CHECK_AT(line, longest <= 78, "header line of %d", longest);
	CHECK_AT(line, nonascii == 0, "%d non-ASCII header bytes", nonascii);

	/* Unfold: CRLF followed by a space or tab is the space alone. */
	h = malloc(hlen + 1);
	for (i = 0, o = 0; i < hlen; i++) {
		if (msg[i] == '\r' && i + 2 < hlen && msg[i + 1] == '\n' &&
		    (msg[i + 2] == ' ' || msg[i + 2] == '\t')) {
			i++;
			continue;
		}
		h[o++] = msg[i];
	}
	h[o] = '\0';
	for (p = h; *p != '\0'; p = eol + 2) {
		eol = strstr(p, "\r\n");
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p || colon + 1 == eol ||
		    colon[1] != ' ') {
			pm->bad++;
			continue;
		}
		n = (size_t)(colon - p);
		for (i = 0; i < NELEM(names); i++)
			if (strlen(names[i]) == n &&
			    strncmp(names[i], p, n) == 0)
				break;
		if (i == NELEM(names)) {
			pm->unknown++;
			continue;
		}
		pm->count[i]++;
		free(pm->hdr[i]);
		u = malloc((size_t)(eol - colon));
		memcpy(u, colon + 2, (size_t)(eol - colon - 2));
		u[eol - colon - 2] = '\0';
		pm->hdr[i] = u;
	}
	free(h);

	/*
	 * Body lines: at most 76 characters, none starting with "." (SMTP's
	 * end of data, which would rely on the sender's dot-stuffing), the
	 * last ended; then decode.
	 */
	pm->body = strdup(sep + 4);
	pm->bodylen = len - (size_t)(sep + 4 - msg);
	longest = 0;
	for (p = pm->body; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2) {
		if ((int)(eol - p) > longest)
			longest = (int)(eol - p);
		if (*p == '.')
			bare++;
	}
	CHECK_AT(line, longest <= 76, "body line of %d", longest);
	CHECK_AT(line, bare == 0, "%d lines start with '.'", bare);
	CHECK_AT(line, *p == '\0', "last line not ended");
	pm->text = qp_decode(pm->body, pm->bodylen, &pm->textlen, &pm->qp_bad);
	CHECK_AT(line, pm->qp_bad == 0, "malformed quoted-printable");
	CHECK_AT(line, utf8_valid(pm->text, pm->textlen),
	    "body is not UTF-8");
	if (pm->hdr[3] != NULL)
		pm->subject = subject_decode(pm->hdr[3], &pm->subject_bad);
}

/* The message's headers are exactly the known set, once each. */
static void
check_headers(int line, const struct parsed *pm)
{
	size_t	 i;

	CHECK_AT(line, pm->unknown == 0, "%d unknown headers", pm->unknown);
	CHECK_AT(line, pm->bad == 0, "%d lines that are no header", pm->bad);
	for (i = 0; i < NELEM(names); i++)
		CHECK_AT(line, pm->count[i] == 1, "%s %d times", names[i],
		    pm->count[i]);
	CHECK_AT(line, pm->subject_bad == 0, "malformed encoded-word");
}

static void
mail_init(struct mail *m)
{
	memset(m, 0, sizeof(*m));
	m->type = "lead.ready";
	m->id = ID;
	m->from = FROM;
	m->to = TO;
	m->firm = "Smith & Jones LLP";
	m->date_ms = INT64_C(1767268800123);	/* 2026-01-01 12:00:00.123 */
	m->conv_id = "c_abc";
	m->url = "https://firm.example/leads.html#c_abc";
}

/* 10,000 of "A" and of "\xc3\xa9", made by main. */
static char	*long_ascii, *long_utf8;

/* mail_header_text, row by row. */
static void
test_header_text(void)
{
	static const struct {
		const char	*in;
		size_t		 len;	/* 0: strlen */
		size_t		 cap;
		size_t		 outsz;
		const char	*want;
		int		 line;
	} rows[] = {
		{ "Jane Doe", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "  Jane \t\t Doe  ", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "Jane\r\nBcc: evil@example.com", 0, 80, 64,
		    "Jane Bcc: evil@example.com", __LINE__ },
		{ "Jane\rDoe", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "Jane\nDoe\n", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "Jane\0Doe", 8, 80, 64, "JaneDoe", __LINE__ },
		{ "Ja\x01n\x1b" "e\x7f", 0, 80, 64, "Jane", __LINE__ },
		{ "Ja\xc2\x9bne\xc2\x80", 0, 80, 64, "Jane", __LINE__ },
		{ "Jane\xc2\x85" "Doe", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "Jane\xe2\x80\xa8" "Doe", 0, 80, 64, "Jane Doe", __LINE__ },
		{ "Jane\xc2\xa0\xe3\x80\x80" "Doe", 0, 80, 64, "Jane Doe",
		    __LINE__ },
		{ "\xe2\x80\xae" "eoD enaJ", 0, 80, 64, "eoD enaJ", __LINE__ },
		{ "Jane\xff", 0, 80, 64, "Jane\xef\xbf\xbd", __LINE__ },
		{ "\xc0\xaf", 0, 80, 64, "\xef\xbf\xbd\xef\xbf\xbd", __LINE__ },
		{ "a\xe2\x82", 0, 80, 64, "a\xef\xbf\xbd\xef\xbf\xbd",
		    __LINE__ },
		{ "\xed\xa0\x80", 0, 80, 64,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", __LINE__ },
		{ "Jos\xc3\xa9 M\xc3\xbcller-\xc5\x81ukasz \xe5\xb1\xb1\xe7\x94"
		    "\xb0", 0, 80, 64, "Jos\xc3\xa9 M\xc3\xbcller-\xc5\x81ukasz "
		    "\xe5\xb1\xb1\xe7\x94\xb0", __LINE__ },
		{ "", 0, 80, 64, "", __LINE__ },
		{ " \t\r\n ", 0, 80, 64, "", __LINE__ },
		{ "\x01\x02", 0, 80, 64, "", __LINE__ },
		/* The cap counts characters; no trailing space after a cut. */
		{ "abcdef", 0, 3, 64, "abc", __LINE__ },
		{ "ab cd", 0, 3, 64, "ab", __LINE__ },
		{ "ab cd", 0, 4, 64, "ab c", __LINE__ },
		{ "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xb1\xb1", 0, 2, 64,
		    "\xe5\xb1\xb1\xe7\x94\xb0", __LINE__ },
		{ "abc", 0, 0, 64, "", __LINE__ },
		/* The buffer: cut on a character, always terminated. */
		{ "\xe5\xb1\xb1\xe7\x94\xb0", 0, 80, 4, "\xe5\xb1\xb1",
		    __LINE__ },
		{ "\xe5\xb1\xb1\xe7\x94\xb0", 0, 80, 6, "\xe5\xb1\xb1",
		    __LINE__ },
		{ "\xe5\xb1\xb1", 0, 80, 3, "", __LINE__ },
		{ "ab", 0, 80, 1, "", __LINE__ },
		{ "ab cd", 0, 80, 4, "ab", __LINE__ },
	};
	char	 out[128];
	size_t	 i, n, len;

	for (i = 0; i < NELEM(rows); i++) {
		len = rows[i].len ? rows[i].len : strlen(rows[i].in);
		memset(out, 'X', sizeof(out));
		n = mail_header_text(rows[i].in, len, rows[i].cap, out,
		    rows[i].outsz);
		CHECK_AT(rows[i].line, n == strlen(rows[i].want) &&
		    strcmp(out, rows[i].want) == 0 &&
		    out[rows[i].outsz] == 'X',
		    "got \"%s\" (%zu)", out, n);
	}

	/* outsz 0 writes nothing. */
	out[0] = 'X';
	CHECK(mail_header_text("abc", 3, 80, out, 0) == 0 && out[0] == 'X',
	    "outsz 0 wrote");

	/* 10,000 characters: capped, whole characters, valid. */
	{
		char	 big[MAIL_NAME_MAX * 4 + 1];

		n = mail_header_text(long_ascii, strlen(long_ascii),
		    MAIL_NAME_MAX, big, sizeof(big));
		CHECK(n == MAIL_NAME_MAX && utf8_count(big, n) ==
		    MAIL_NAME_MAX, "10,000 ASCII: %zu", n);
		n = mail_header_text(long_utf8, strlen(long_utf8),
		    MAIL_NAME_MAX, big, sizeof(big));
		CHECK(utf8_valid(big, n) && utf8_count(big, n) ==
		    MAIL_NAME_MAX, "10,000 non-ASCII: %zu", n);
		n = mail_header_text(long_utf8, strlen(long_utf8),
		    MAIL_NAME_MAX, big, 100);
		CHECK(n < 100 && utf8_valid(big, n), "small buffer: %zu", n);
	}
}

static void
test_matter_words(void)
{
	static const struct {
		const char	*in;
		size_t		 outsz;
		const char	*want;
		int		 line;
	} rows[] = {
		{ "personal_injury", 64, "Personal injury", __LINE__ },
		{ "estate_planning", 64, "Estate planning", __LINE__ },
		{ "family", 64, "Family", __LINE__ },
		{ "other", 64, "Other", __LINE__ },
		{ "_personal__injury_", 64, "Personal injury", __LINE__ },
		{ "", 64, "", __LINE__ },
		{ NULL, 64, "", __LINE__ },
		{ "a\r\nBcc: x", 64, "A Bcc: x", __LINE__ },
		{ "\xff_x", 64, "\xef\xbf\xbd x", __LINE__ },
		{ "\xc3\xa9tat", 64, "\xc3\xa9tat", __LINE__ },
		{ "personal_injury", 9, "Personal", __LINE__ },
		{ "personal_injury", 1, "", __LINE__ },
	};
	char	 out[128];
	size_t	 i;

	for (i = 0; i < NELEM(rows); i++) {
		memset(out, 'X', sizeof(out));
		CHECK_AT(rows[i].line, mail_matter_words(rows[i].in, out,
		    rows[i].outsz) == out && strcmp(out, rows[i].want) == 0 &&
		    out[rows[i].outsz] == 'X', "got \"%s\"", out);
	}
	memset(out, 'X', sizeof(out));
	mail_matter_words(long_ascii, out, sizeof(out));
	CHECK(strlen(out) == MAIL_NAME_MAX, "long matter: %zu", strlen(out));
}

static void
test_message_id(void)
{
	static const struct {
		const char	*id;
		const char	*from;
		size_t		 outsz;
		const char	*want;	/* NULL: -1 */
		int		 line;
	} rows[] = {
		{ "msg_abc", "intake@firm.example", 64, "<msg_abc@firm.example>",
		    __LINE__ },
		{ "msg_abc", FROM, 64, "<msg_abc@firm.example>", __LINE__ },
		{ "msg_abc", "\"A@B\" <x@sub.firm-1.example>", 64,
		    "<msg_abc@sub.firm-1.example>", __LINE__ },
		{ "msg_abc", "nobody", 64, "<msg_abc@intake.invalid>",
		    __LINE__ },
		{ "msg_abc", NULL, 64, "<msg_abc@intake.invalid>", __LINE__ },
		{ "msg_abc", "x@", 64, "<msg_abc@intake.invalid>", __LINE__ },
		{ "msg_abc", "x@[127.0.0.1]", 64, "<msg_abc@intake.invalid>",
		    __LINE__ },
		{ "msg_abc", "x@a..b", 64, "<msg_abc@intake.invalid>",
		    __LINE__ },
		{ "msg_abc", "x@.a", 64, "<msg_abc@intake.invalid>", __LINE__ },
		{ "msg_abc", "x@a\xc3\xa9.example", 64,
		    "<msg_abc@intake.invalid>", __LINE__ },
		{ "msg_abc", "x@a.example\r\nBcc: y", 64,
		    "<msg_abc@a.example>", __LINE__ },
		{ "a.b-c_D", "x@y.z", 64, "<a.b-c_D@y.z>", __LINE__ },
		{ "msg_abc", "intake@firm.example", 23, "<msg_abc@firm.example>",
		    __LINE__ },
		{ "msg_abc", "intake@firm.example", 22, NULL, __LINE__ },
		{ "", "x@y.z", 64, NULL, __LINE__ },
		{ NULL, "x@y.z", 64, NULL, __LINE__ },
		{ "msg\r\nBcc: x", "x@y.z", 64, NULL, __LINE__ },
		{ "msg>x", "x@y.z", 64, NULL, __LINE__ },
		{ "msg x", "x@y.z", 64, NULL, __LINE__ },
		{ ".msg", "x@y.z", 64, NULL, __LINE__ },
		{ "m..sg", "x@y.z", 64, NULL, __LINE__ },
		{ "m\xc3\xa9g", "x@y.z", 64, NULL, __LINE__ },
	};
	char	 out[128];
	size_t	 i;
	int	 rc;

	for (i = 0; i < NELEM(rows); i++) {
		memset(out, 0, sizeof(out));
		rc = mail_message_id(rows[i].id, rows[i].from, out,
		    rows[i].outsz);
		if (rows[i].want == NULL)
			CHECK_AT(rows[i].line, rc == -1, "got %d \"%s\"", rc,
			    out);
		else
			CHECK_AT(rows[i].line, rc == 0 &&
			    strcmp(out, rows[i].want) == 0, "got %d \"%s\"",
			    rc, out);
	}
	/* An id of 128 characters is taken, 129 is not. */
	{
		char	 id[131], big[512];

		memset(id, 'a', sizeof(id));
		id[128] = '\0';
		CHECK(mail_message_id(id, "x@y.z", big, sizeof(big)) == 0,
		    "128-character id refused");
		id[128] = 'a';
		id[129] = '\0';
		CHECK(mail_message_id(id, "x@y.z", big, sizeof(big)) == -1,
		    "129-character id taken");
	}
}

/* The body of one message, exactly, as a paralegal reads it. */
static void
test_body_exact(void)
{
	struct mail_line lines[] = {
		{ 0, "Hi, I was hurt.\nMy name is Jos\xc3\xa9.", 0 },
		{ 1, "Sorry to hear that. What is your phone?", 0 },
		{ 0, "555 123 4567\r\n\r\nthanks", 0 },
	};
	static const char want[] =
	    "URGENT: emergency - call back now.\r\n"
	    "\r\n"
	    "Name: Jos\xc3\xa9 M\xc3\xbcller\r\n"
	    "Phone: +15551234567\r\n"
	    "E-mail: not given\r\n"
	    "Matter: Personal injury\r\n"
	    "Urgency: emergency\r\n"
	    "\r\n"
	    "Summary:\r\n"
	    "Rear-ended on the I-5 yesterday; the other driver's insurer has "
	    "called twice and offered a settlement = 2,000 $.  \r\n"
	    ".\r\n"
	    "Ends with a space \r\n"
	    "\r\n"
	    "Open the lead: https://firm.example/leads.html#c_abc\r\n"
	    "\r\n"
	    "Conversation:\r\n"
	    "Visitor: Hi, I was hurt.\r\n"
	    "  My name is Jos\xc3\xa9.\r\n"
	    "\r\n"
	    "Assistant: Sorry to hear that. What is your phone?\r\n"
	    "\r\n"
	    "Visitor: 555 123 4567\r\n"
	    "  \r\n"
	    "  thanks\r\n"
	    "\r\n"
	    "Sent by the intake assistant of Smith & Jones LLP.\r\n"
	    "Lead: c_abc\r\n"
	    "Notice: " ID "\r\n";
	struct mail	 m;
	struct parsed	 pm;
	char		*msg;
	size_t		 len, i;

	for (i = 0; i < NELEM(lines); i++)
		lines[i].len = strlen(lines[i].text);
	mail_init(&m);
	m.value[FIELD_FULL_NAME] = "Jos\xc3\xa9 M\xc3\xbcller";
	m.value[FIELD_PHONE] = "+15551234567";
	m.value[FIELD_MATTER_TYPE] = "personal_injury";
	m.value[FIELD_URGENCY] = "emergency";
	m.value[FIELD_SUMMARY] = "Rear-ended on the I-5 yesterday; the other "
	    "driver's insurer has called twice and offered a settlement = "
	    "2,000 $.  \r.\nEnds with a space \x01";
	m.lines = lines;
	m.nlines = NELEM(lines);
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg == NULL)
		return;
	parse(__LINE__, msg, len, &pm);
	check_headers(__LINE__, &pm);
	CHECK(pm.text != NULL && strcmp(pm.text, want) == 0,
	    "body:\n%s\nwant:\n%s", pm.text, want);
	CHECK(pm.hdr[0] != NULL && strcmp(pm.hdr[0],
	    "Thu, 01 Jan 2026 12:00:00 +0000") == 0, "Date: %s", pm.hdr[0]);
	CHECK(pm.hdr[1] != NULL && strcmp(pm.hdr[1], FROM) == 0,
	    "From: %s", pm.hdr[1]);
	CHECK(pm.hdr[2] != NULL && strcmp(pm.hdr[2],
	    "desk@firm.example, paralegal@firm.example") == 0, "To: %s",
	    pm.hdr[2]);
	CHECK(pm.hdr[4] != NULL && strcmp(pm.hdr[4], MID) == 0,
	    "Message-ID: %s", pm.hdr[4]);
	CHECK(pm.hdr[5] != NULL && strcmp(pm.hdr[5], "1.0") == 0, "MIME");
	CHECK(pm.hdr[6] != NULL && strcmp(pm.hdr[6],
	    "text/plain; charset=UTF-8") == 0, "Content-Type: %s", pm.hdr[6]);
	CHECK(pm.hdr[7] != NULL && strcmp(pm.hdr[7], "quoted-printable") == 0,
	    "Content-Transfer-Encoding: %s", pm.hdr[7]);
	CHECK(pm.hdr[8] != NULL && strcmp(pm.hdr[8], "auto-generated") == 0,
	    "Auto-Submitted: %s", pm.hdr[8]);
	CHECK(pm.hdr[9] != NULL && strcmp(pm.hdr[9], ID) == 0,
	    "X-Intake-Notification: %s", pm.hdr[9]);
	CHECK(pm.subject != NULL && strcmp(pm.subject, "[URGENT] New lead: "
	    "Jos\xc3\xa9 M\xc3\xbcller (Personal injury)") == 0,
	    "Subject: %s", pm.subject);
	/* The encoding, seen raw: '=', bytes >= 0x80, trailing space. */
	CHECK(strstr(pm.body, "=3D") != NULL, "'=' not encoded");
	CHECK(strstr(pm.body, "Jos=C3=A9 M=C3=BCller") != NULL,
	    "UTF-8 not encoded");
	CHECK(strstr(pm.body, " =20\r\n") != NULL &&
	    strstr(pm.body, "space=20\r\n") != NULL,
	    "trailing space not encoded");
	free(msg);
	parsed_free(&pm);
}

/* Subjects, the urgency line, hostile names. */
static void
test_compose_rows(void)
{
	static const struct {
		const char	*type;
		const char	*name;
		const char	*matter;
		const char	*urgency;
		const char	*subject;	/* decoded; NULL: long name */
		const char	*first;		/* the body's first line */
		int		 line;
	} rows[] = {
		{ "lead.ready", "Jane Doe", "personal_injury", "normal",
		    "New lead: Jane Doe (Personal injury)", "Name: Jane Doe",
		    __LINE__ },
		{ "lead.ready", "Jane Doe", "estate_planning", "low",
		    "New lead: Jane Doe (Estate planning)", "Name: Jane Doe",
		    __LINE__ },
		{ "lead.ready", "Jane Doe", "other", NULL,
		    "New lead: Jane Doe (Other)", "Name: Jane Doe", __LINE__ },
		{ "lead.ready", "Jane Doe", "family", "high",
		    "New lead: Jane Doe (Family)",
		    "High urgency: call back today.", __LINE__ },
		{ "lead.ready", "Jane Doe", "family", "emergency",
		    "[URGENT] New lead: Jane Doe (Family)",
		    "URGENT: emergency - call back now.", __LINE__ },
		{ "lead.updated", "Jane Doe", "family", "normal",
		    "Lead updated: Jane Doe (Family)",
		    "This lead has changed; here it is as it stands now.",
		    __LINE__ },
		{ "lead.updated", "Jane Doe", "family", "emergency",
		    "[URGENT] Lead updated: Jane Doe (Family)",
		    "URGENT: emergency - call back now.", __LINE__ },
		{ "lead.ready", NULL, "family", "normal",
		    "New lead: (no name) (Family)", "Name: not given",
		    __LINE__ },
		{ "lead.ready", "", NULL, "normal", "New lead: (no name)",
		    "Name: not given", __LINE__ },
		{ "lead.ready", "Jane Doe", "", "normal", "New lead: Jane Doe",
		    "Name: Jane Doe", __LINE__ },
		{ "lead.ready", "\x01\x02\r\n", "", "normal",
		    "New lead: (no name)", "Name: not given", __LINE__ },
		/* Header injection: CR, LF, CRLF CRLF, a Bcc, a new To. */
		{ "lead.ready", "Jane\r\nBcc: evil@example.com", NULL, "normal",
		    "New lead: Jane Bcc: evil@example.com",
		    "Name: Jane Bcc: evil@example.com", __LINE__ },
		{ "lead.ready", "Jane\nTo: evil@example.com\n", NULL, "normal",
		    "New lead: Jane To: evil@example.com",
		    "Name: Jane To: evil@example.com", __LINE__ },
		{ "lead.ready", "Jane\rSubject: x\r\n\r\nbody", NULL, "normal",
		    "New lead: Jane Subject: x body",
		    "Name: Jane Subject: x body", __LINE__ },
		{ "lead.ready", "Jane", "x\r\nBcc: evil@example.com", "normal",
		    "New lead: Jane (X Bcc: evil@example.com)", "Name: Jane",
		    __LINE__ },
		{ "lead.ready", "Jane", "family", "emergency\r\nBcc: e@x",
		    "New lead: Jane (Family)", "Name: Jane", __LINE__ },
		{ "lead.ready", "Jane\tDoe\x7f\xc2\x9b", NULL, "normal",
		    "New lead: Jane Doe", "Name: Jane Doe", __LINE__ },
		/* ASCII longer than a line: folded at its spaces. */
		{ "lead.updated", "Alexandra Catherine Montgomery-Fitzwilliam "
		    "Bartholomew", "personal_injury", "emergency",
		    "[URGENT] Lead updated: Alexandra Catherine "
		    "Montgomery-Fitzwilliam Bartholomew (Personal injury)",
		    "URGENT: emergency - call back now.", __LINE__ },
		/* Non-ASCII and invalid UTF-8: encoded-words. */
		{ "lead.ready", "Jos\xc3\xa9 M\xc3\xbcller-\xc5\x81ukasz "
		    "\xe5\xb1\xb1\xe7\x94\xb0", "personal_injury", "normal",
		    "New lead: Jos\xc3\xa9 M\xc3\xbcller-\xc5\x81ukasz "
		    "\xe5\xb1\xb1\xe7\x94\xb0 (Personal injury)",
		    "Name: Jos\xc3\xa9 M\xc3\xbcller-\xc5\x81ukasz "
		    "\xe5\xb1\xb1\xe7\x94\xb0", __LINE__ },
		{ "lead.ready", "Jane\xff\xfe Doe", NULL, "normal",
		    "New lead: Jane\xef\xbf\xbd\xef\xbf\xbd Doe",
		    "Name: Jane\xef\xbf\xbd\xef\xbf\xbd Doe", __LINE__ },
		{ "lead.ready", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
		    "\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0"
		    "\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
		    "\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", NULL, "normal",
		    "New lead: \xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
		    "\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0"
		    "\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
		    "\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", NULL, __LINE__ },
		/* ASCII that would read as an encoded-word is encoded. */
		{ "lead.ready", "=?UTF-8?B?RXZpbA==?=", NULL, "normal",
		    "New lead: =?UTF-8?B?RXZpbA==?=", NULL, __LINE__ },
		/* Long: 10,000 characters, capped at MAIL_NAME_MAX. */
		{ "lead.ready", "A", NULL, "normal", NULL, NULL, __LINE__ },
		{ "lead.ready", "\xc3\xa9", NULL, "normal", NULL, NULL,
		    __LINE__ },
	};
	struct mail	 m;
	struct parsed	 pm;
	char		*msg, want[MAIL_NAME_MAX * 4 + 64], *eol;
	size_t		 i, len;
	int		 urgent;

	for (i = 0; i < NELEM(rows); i++) {
		mail_init(&m);
		m.type = rows[i].type;
		m.value[FIELD_FULL_NAME] = rows[i].name;
		m.value[FIELD_MATTER_TYPE] = rows[i].matter;
		m.value[FIELD_URGENCY] = rows[i].urgency;
		m.value[FIELD_PHONE] = "+15551234567";
		if (rows[i].subject == NULL) {
			/* 10,000 of the character, the first 80 kept. */
			m.value[FIELD_FULL_NAME] = rows[i].name[0] == 'A' ?
			    long_ascii : long_utf8;
			snprintf(want, sizeof(want), "New lead: ");
			for (len = 0; len < MAIL_NAME_MAX; len++)
				strcat(want, rows[i].name);
		} else
			snprintf(want, sizeof(want), "%s", rows[i].subject);
		msg = mail_compose(&m, &len);
		CHECK_AT(rows[i].line, msg != NULL, "compose failed");
		if (msg == NULL)
			continue;
		parse(rows[i].line, msg, len, &pm);
		check_headers(rows[i].line, &pm);
		CHECK_AT(rows[i].line, pm.subject != NULL &&
		    strcmp(pm.subject, want) == 0, "Subject \"%s\"",
		    pm.subject);
		urgent = pm.subject != NULL &&
		    strstr(pm.subject, "[URGENT]") != NULL;
		CHECK_AT(rows[i].line, urgent == (rows[i].urgency != NULL &&
		    strcmp(rows[i].urgency, "emergency") == 0),
		    "[URGENT] %d", urgent);
		CHECK_AT(rows[i].line, pm.hdr[2] != NULL && strcmp(pm.hdr[2],
		    "desk@firm.example, paralegal@firm.example") == 0,
		    "To: %s", pm.hdr[2]);
		if (pm.text != NULL && rows[i].first != NULL) {
			eol = strstr(pm.text, "\r\n");
			CHECK_AT(rows[i].line, eol != NULL &&
			    (size_t)(eol - pm.text) == strlen(rows[i].first) &&
			    strncmp(pm.text, rows[i].first,
			    strlen(rows[i].first)) == 0, "first line of:\n%s",
			    pm.text);
		}
		/* The urgency line is there only for high and emergency. */
		CHECK_AT(rows[i].line, pm.text != NULL &&
		    (strstr(pm.text, "call back") != NULL) ==
		    (rows[i].urgency != NULL &&
		    (strcmp(rows[i].urgency, "high") == 0 ||
		    strcmp(rows[i].urgency, "emergency") == 0)),
		    "urgency line");
		free(msg);
		parsed_free(&pm);
	}
}

/* Quoted-printable: long lines of multibyte characters, soft breaks. */
static void
test_qp(void)
{
	struct mail	 m;
	struct parsed	 pm;
	char		*msg, *summary, *p, *eol, *line;
	size_t		 len, i, n, ln;
	int		 split = 0, soft = 0;
	size_t		 k;

	/* 300 of a 2-, 3- and 4-byte character, then 200 '=' and dots. */
	summary = malloc(300 * 9 + 600 + 1);
	for (n = 0, i = 0; i < 300; i++) {
		memcpy(summary + n, "\xc3\xa9\xe5\xb1\xb1\xf0\x9f\x98\x80", 9);
		n += 9;
	}
	for (i = 0; i < 200; i++) {
		memcpy(summary + n, "=. ", 3);
		n += 3;
	}
	summary[n] = '\0';
	mail_init(&m);
	m.value[FIELD_FULL_NAME] = "Jane Doe";
	m.value[FIELD_SUMMARY] = summary;
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg == NULL) {
		free(summary);
		return;
	}
	parse(__LINE__, msg, len, &pm);
	check_headers(__LINE__, &pm);
	CHECK(pm.text != NULL && strstr(pm.text, summary) != NULL,
	    "summary not read back");
	/* Each soft-broken line decodes to whole characters on its own. */
	for (p = pm.body; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2) {
		ln = (size_t)(eol - p);
		line = malloc(ln + 1);
		memcpy(line, p, ln);
		line[ln] = '\0';
		if (ln > 0 && line[ln - 1] == '=') {
			soft++;
			line[ln - 1] = '\0';
		}
		{
			int	 bad = 0;
			char	*d = qp_decode(line, strlen(line), &k, &bad);

			if (!utf8_valid(d, k))
				split++;
			free(d);
		}
		free(line);
	}
	CHECK(soft > 20, "only %d soft breaks", soft);
	CHECK(split == 0, "%d lines split a character", split);
	free(summary);
	free(msg);
	parsed_free(&pm);

	/* A "." that a soft break puts at the start of a line. */
	summary = malloc(75 + 5 + 1);
	memset(summary, 'x', 75);
	memcpy(summary + 75, ".yz\r\n", 6);
	m.value[FIELD_SUMMARY] = summary;
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		CHECK(pm.text != NULL && strstr(pm.text, "\r\nxxxxx") != NULL &&
		    strstr(pm.text, "xxxxx.yz\r\n") != NULL, "dot lost");
		CHECK(strstr(pm.body, "xxxxx=\r\n=2Eyz") != NULL, "%s",
		    pm.body);
		parsed_free(&pm);
		free(msg);
	}
	free(summary);
}

/* 1 when m composes to nothing. */
static int
compose_null(const struct mail *m)
{
	size_t	 len;
	char	*msg = mail_compose(m, &len);

	free(msg);
	return msg == NULL;
}

/* What must fail, and what must stay the same on every try. */
static void
test_compose_edges(void)
{
	struct mail	 m;
	struct parsed	 pm, pm2;
	struct mail_line *lines;
	char		*msg, *msg2, *to, *big, *p;
	size_t		 len, len2, i, n;

	mail_init(&m);
	m.id = NULL;
	CHECK(compose_null(&m), "no id");
	mail_init(&m);
	m.from = NULL;
	CHECK(compose_null(&m), "no from");
	mail_init(&m);
	m.to = NULL;
	CHECK(compose_null(&m), "no to");
	mail_init(&m);
	m.to = " , ,\r\n";
	CHECK(compose_null(&m), "empty to");
	mail_init(&m);
	m.from = "\r\n\t";
	CHECK(compose_null(&m), "empty from");
	mail_init(&m);
	m.id = "msg\r\nBcc: evil@example.com";
	CHECK(compose_null(&m), "id with CRLF");

	/* Everything missing but what is needed: still a whole message. */
	memset(&m, 0, sizeof(m));
	m.id = ID;
	m.from = "intake@firm.example";
	m.to = "desk@firm.example";
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "minimal failed");
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		check_headers(__LINE__, &pm);
		CHECK(pm.hdr[0] != NULL && strcmp(pm.hdr[0],
		    "Thu, 01 Jan 1970 00:00:00 +0000") == 0, "Date: %s",
		    pm.hdr[0]);
		CHECK(pm.text != NULL && strstr(pm.text, "Open the lead") ==
		    NULL && strstr(pm.text, "Conversation:") == NULL &&
		    strstr(pm.text, "Summary: not given\r\n") != NULL,
		    "minimal body:\n%s", pm.text);
		free(msg);
		parsed_free(&pm);
	}

	/* The Message-ID does not change with the content or the date. */
	mail_init(&m);
	m.value[FIELD_FULL_NAME] = "Jane Doe";
	msg = mail_compose(&m, &len);
	m.value[FIELD_FULL_NAME] = "Jane Q. Doe";
	m.type = "lead.updated";
	m.date_ms = INT64_MAX;
	msg2 = mail_compose(&m, &len2);
	CHECK(msg != NULL && msg2 != NULL, "compose failed");
	if (msg != NULL && msg2 != NULL) {
		parse(__LINE__, msg, len, &pm);
		parse(__LINE__, msg2, len2, &pm2);
		CHECK(pm.hdr[4] != NULL && pm2.hdr[4] != NULL &&
		    strcmp(pm.hdr[4], MID) == 0 &&
		    strcmp(pm2.hdr[4], MID) == 0, "Message-ID %s %s",
		    pm.hdr[4], pm2.hdr[4]);
		CHECK(pm2.hdr[0] != NULL && strcmp(pm2.hdr[0],
		    "Fri, 31 Dec 9999 23:59:59 +0000") == 0, "Date: %s",
		    pm2.hdr[0]);
		parsed_free(&pm);
		parsed_free(&pm2);
	}
	free(msg);
	free(msg2);

	/* A display name that is not ASCII is encoded; the address not. */
	mail_init(&m);
	m.from = "M\xc3\xbcller & Co. Rechtsanw\xc3\xa4lte und Notare "
	    "Partnerschaft mbB <intake@firm.example>";
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		check_headers(__LINE__, &pm);
		p = pm.hdr[1] != NULL ? subject_decode(pm.hdr[1], &pm.bad) :
		    NULL;
		CHECK(p != NULL && pm.bad == 0 && strcmp(p, m.from) == 0,
		    "From: %s", pm.hdr[1]);
		CHECK(pm.hdr[4] != NULL && strcmp(pm.hdr[4], MID) == 0,
		    "Message-ID: %s", pm.hdr[4]);
		free(p);
		parsed_free(&pm);
		free(msg);
	}

	/* Forty recipients fold between addresses. */
	to = malloc(40 * 32);
	to[0] = '\0';
	for (i = 0; i < 40; i++)
		snprintf(to + strlen(to), 32, "%sdesk%zu@firm.example",
		    i ? "," : "", i);
	mail_init(&m);
	m.to = to;
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		check_headers(__LINE__, &pm);
		CHECK(pm.hdr[2] != NULL && strstr(pm.hdr[2],
		    "desk0@firm.example, desk1@firm.example,") == pm.hdr[2] &&
		    strstr(pm.hdr[2], ", desk39@firm.example") != NULL,
		    "To: %s", pm.hdr[2]);
		parsed_free(&pm);
		free(msg);
	}
	free(to);

	/* A transcript past MAIL_TRANSCRIPT_MAX is cut, and says so. */
	n = 100;
	big = malloc(10000 + 1);
	memset(big, 'w', 10000);
	for (i = 79; i < 10000; i += 80)
		big[i] = '\n';
	big[10000] = '\0';
	lines = calloc(n, sizeof(*lines));
	for (i = 0; i < n; i++) {
		lines[i].assistant = (int)(i % 2);
		lines[i].text = big;
		lines[i].len = 10000;
	}
	mail_init(&m);
	m.lines = lines;
	m.nlines = n;
	msg = mail_compose(&m, &len);
	CHECK(msg != NULL, "compose failed");
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		p = pm.text != NULL ? strstr(pm.text, "Conversation:") : NULL;
		CHECK(p != NULL && strstr(p, "(The rest of the conversation is "
		    "on the leads page.)") != NULL, "no cut note");
		CHECK(pm.textlen < MAIL_TRANSCRIPT_MAX + 4096 &&
		    pm.textlen > MAIL_TRANSCRIPT_MAX, "body of %zu",
		    pm.textlen);
		parsed_free(&pm);
		free(msg);
	}
	/* A short one is whole. */
	m.nlines = 3;
	msg = mail_compose(&m, &len);
	if (msg != NULL) {
		parse(__LINE__, msg, len, &pm);
		CHECK(pm.text != NULL && strstr(pm.text, "rest of the") ==
		    NULL && strstr(pm.text, "\r\nAssistant: www") != NULL,
		    "short transcript cut");
		parsed_free(&pm);
		free(msg);
	}
	free(lines);
	free(big);
}

int
main(void)
{
	size_t	 i;

	long_ascii = malloc(10000 + 1);
	memset(long_ascii, 'A', 10000);
	long_ascii[10000] = '\0';
	long_utf8 = malloc(20000 + 1);
	for (i = 0; i < 10000; i++)
		memcpy(long_utf8 + 2 * i, "\xc3\xa9", 2);
	long_utf8[20000] = '\0';

	test_header_text();
	test_matter_words();
	test_message_id();
	test_body_exact();
	test_compose_rows();
	test_qp();
	test_compose_edges();

	free(long_ascii);
	free(long_utf8);
	return check_done("mail");
}
