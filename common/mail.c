/*
 * mail.c: the e-mail that tells the firm of a lead (mail.h).  Pure: it
 * builds bytes, deliver.c sends them.
 *
 * Everything a visitor wrote goes through one of two cleaners before it
 * is placed: mail_clean for a single line (a header, a field's line in
 * the body: every control removed, whitespace folded, capped) and
 * mail_clean_text for the summary and the transcript (line breaks kept
 * as CRLF, other controls removed).  Both replace invalid UTF-8 with
 * U+FFFD, so what they give is valid UTF-8 with no CR or LF but their
 * own.  The header section is then ASCII only: a Subject that is not
 * plain ASCII is RFC 2047 encoded-words, and the body is quoted-printable
 * (RFC 2045) with no line over 76 characters.  A visitor can therefore
 * never start a header line: every CRLF in the header section is ours,
 * followed by a space (a fold) or by the next header we chose.
 *
 * The message grows in one buffer whose every length is checked for
 * overflow; the transcript is capped at MAIL_TRANSCRIPT_MAX bytes.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "mail.h"
#include "utf8.h"

/* An address in From or To (RFC 5321's path limit). */
#define MAIL_ADDR_MAX	254
/* A notification id in the Message-ID. */
#define MAIL_ID_MAX	128
/* Header lines are folded to this many characters where they can be. */
#define MAIL_LINE_MAX	78
/* A quoted-printable line, the soft break's "=" included. */
#define MAIL_QP_MAX	76
/* An encoded-word, "=?UTF-8?B?" and "?=" included (RFC 2047). */
#define MAIL_WORD_MAX	75
#define MAIL_WORD_OPEN	"=?UTF-8?B?"
#define MAIL_WORD_CLOSE	"?="

/* A message being written; err once anything failed. */
struct mbuf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
mbuf_add(struct mbuf *b, const char *s, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (b->err)
		return;
	if (n > SIZE_MAX - 1 - b->len) {
		b->err = 1;
		return;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 2048;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
mbuf_str(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

/* UTF-8 of code point cp (valid, not a surrogate) into s; its length. */
static size_t
mail_utf8(long cp, char *s)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | (cp >> 18));
	s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	s[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* 1 when cp separates words on a line (it becomes one space). */
static int
mail_space(long cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/*
 * 1 when cp is removed from visitor text: the controls (C0, DEL, C1)
 * and the bidirectional overrides and isolates, which could make a
 * Subject read backwards.
 */
static int
mail_drop(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The next character of in[*i..len), U+FFFD for an invalid byte. */
static long
mail_next(const char *in, size_t len, size_t *i)
{
	size_t	 n;
	long	 cp;

	cp = utf8_decode(in + *i, len - *i, &n);
	*i += n;
	return cp == -1 ? 0xfffd : cp;
}

/*
 * One line of visitor text into out (outsz > 0): see mail_header_text;
 * underscores, when asked, count as spaces (a matter type's words).
 */
static size_t
mail_clean(const char *in, size_t len, size_t cap, int underscores,
    char *out, size_t outsz)
{
	size_t	 i = 0, o = 0, chars = 0, n, sp;
	long	 cp;
	char	 enc[4];
	int	 space = 0;

	while (i < len) {
		cp = mail_next(in, len, &i);
		if (mail_space(cp) || (underscores && cp == '_')) {
			space = 1;
			continue;
		}
		if (mail_drop(cp))
			continue;
		n = mail_utf8(cp, enc);
		sp = space && o > 0;
		/* o < outsz always; the NUL needs the last byte. */
		if (chars + sp + 1 > cap || n + sp > outsz - 1 - o)
			break;
		if (sp) {
			out[o++] = ' ';
			chars++;
		}
		space = 0;
		memcpy(out + o, enc, n);
		o += n;
		chars++;
	}
	out[o] = '\0';
	return o;
}

size_t
mail_header_text(const char *in, size_t len, size_t cap, char *out,
    size_t outsz)
{
	if (outsz == 0)
		return 0;
	return mail_clean(in, len, cap, 0, out, outsz);
}

char *
mail_matter_words(const char *type, char *out, size_t outsz)
{
	if (outsz == 0)
		return out;
	if (type == NULL)
		type = "";
	mail_clean(type, strlen(type), MAIL_NAME_MAX, 1, out, outsz);
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	return out;
}

/* 1 when s[0..n) is a dot-atom of letters, digits, "-" and "_". */
static int
mail_atom(const char *s, size_t n, int underscore)
{
	size_t	 i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '-' || (underscore && s[i] == '_')))
			return 0;
	}
	return 1;
}

int
mail_message_id(const char *id, const char *from, char *out, size_t outsz)
{
	const char	*d = NULL, *at;
	size_t		 idlen, dlen = 0, i;
	int		 n;

	if (id == NULL || (idlen = strlen(id)) > MAIL_ID_MAX ||
	    !mail_atom(id, idlen, 1))
		return -1;
	if (from != NULL && (at = strrchr(from, '@')) != NULL) {
		d = at + 1;
		dlen = strcspn(d, "> \t\r\n");
		if (dlen > 253 || !mail_atom(d, dlen, 0))
			d = NULL;
	}
	if (d == NULL) {
		d = "intake.invalid";
		dlen = strlen(d);
	}
	n = snprintf(out, outsz, "<%s@%.*s>", id, (int)dlen, d);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	/* A domain is case-blind: one spelling, one Message-ID. */
	for (i = idlen + 2; i < (size_t)n - 1; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 0;
}

/* "Date: " in RFC 5322's form, UTC, never in the locale's words. */
static void
mail_date(struct mbuf *b, int64_t ms)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	time_t		 t;
	int64_t		 s;
	char		 buf[64];
	int		 n;

	/* Four-digit years only: 1970 to 9999. */
	s = ms / 1000;
	if (s < 0)
		s = 0;
	if (s > INT64_C(253402300799))
		s = INT64_C(253402300799);
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
		tm.tm_year = 70;
		tm.tm_wday = 4;
	}
	n = snprintf(buf, sizeof(buf),
	    "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		b->err = 1;
		return;
	}
	mbuf_add(b, buf, (size_t)n);
}

/*
 * "To: " with every recipient of the comma list to, cleaned, folded
 * between addresses.  -1 when there is none.
 */
static int
mail_to(struct mbuf *b, const char *to)
{
	char		 addr[MAIL_ADDR_MAX + 1];
	const char	*p = to;
	size_t		 n, line, len;
	int		 count = 0;

	mbuf_str(b, "To:");
	line = 3;
	for (;;) {
		n = strcspn(p, ",");
		len = mail_header_text(p, n, MAIL_ADDR_MAX, addr,
		    sizeof(addr));
		if (len > 0) {
			if (count > 0)
				mbuf_str(b, ",");
			if (count > 0 && line + 2 + len > MAIL_LINE_MAX) {
				mbuf_str(b, "\r\n");
				line = 0;
			} else if (count > 0)
				line++;
			mbuf_str(b, " ");
			mbuf_add(b, addr, len);
			line += 1 + len;
			count++;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	mbuf_str(b, "\r\n");
	return count > 0 ? 0 : -1;
}

/*
 * 1 when s[0..n) can stand as it is: printable ASCII, no "=?" to be
 * misread as an encoded-word, and no word too long for a folded line.
 */
static int
mail_plain(const char *s, size_t n)
{
	size_t	 i, word = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    (s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
			return 0;
		word = s[i] == ' ' ? 0 : word + 1;
		if (word > MAIL_LINE_MAX - 1)
			return 0;
	}
	return 1;
}

/*
 * text (n bytes of valid UTF-8) as RFC 2047 encoded-words of whole
 * characters, the first on the current line (line characters long),
 * each next on a folded line of its own.  The line's length after.
 */
static size_t
mail_words(struct mbuf *b, const char *text, size_t n, size_t line)
{
	unsigned char	 b64[MAIL_WORD_MAX + 1];
	size_t		 i, w, take, raw, cn = 1, over;

	over = strlen(MAIL_WORD_OPEN) + strlen(MAIL_WORD_CLOSE);
	for (i = 0; i < n; i += take) {
		if (i > 0) {
			mbuf_str(b, "\r\n ");
			line = 1;
		}
		/* Base64 characters the line has room for, whole quanta. */
		w = line + over + 8 <= MAIL_LINE_MAX ?
		    MAIL_LINE_MAX - line - over : 8;
		if (w > MAIL_WORD_MAX - over)
			w = MAIL_WORD_MAX - over;
		raw = w / 4 * 3;
		for (take = 0; i + take < n; take += cn) {
			if (utf8_decode(text + i + take, n - i - take,
			    &cn) == -1)
				cn = 1;
			if (take + cn > raw)
				break;
		}
		if (take == 0)
			take = cn;	/* never: raw is 6 or more */
		EVP_EncodeBlock(b64, (const unsigned char *)text + i,
		    (int)take);
		mbuf_str(b, MAIL_WORD_OPEN);
		mbuf_str(b, (const char *)b64);
		mbuf_str(b, MAIL_WORD_CLOSE);
		line += over + strlen((const char *)b64);
	}
	return line;
}

/*
 * "Subject: " and text (n bytes, cleaned: valid UTF-8, single spaces,
 * no controls).  Plain ASCII is folded at its spaces; anything else is
 * encoded-words.
 */
static void
mail_subject(struct mbuf *b, const char *text, size_t n)
{
	size_t		 line, i, w;

	mbuf_str(b, "Subject: ");
	line = strlen("Subject: ");
	if (!mail_plain(text, n)) {
		mail_words(b, text, n, line);
		mbuf_str(b, "\r\n");
		return;
	}
	for (i = 0; i < n; i = w) {
		w = i + 1 + strcspn(text + i + 1, " ");
		if (w > n)
			w = n;
		/* text[i] is a space but at the start. */
		if (i > 0 && line + (w - i) > MAIL_LINE_MAX) {
			mbuf_str(b, "\r\n");
			line = 0;
		}
		mbuf_add(b, text + i, w - i);
		line += w - i;
	}
	mbuf_str(b, "\r\n");
}

/*
 * "From: " and from (cleaned).  A display name that is not ASCII, as in
 * "Müller & Co <intake@firm.example>", is encoded-words; the address is
 * taken as it is.
 */
static void
mail_from(struct mbuf *b, const char *from, size_t n)
{
	const char	*lt;
	size_t		 dn, line;

	mbuf_str(b, "From: ");
	lt = memchr(from, '<', n);
	if (lt != NULL && lt != from && from[n - 1] == '>' &&
	    !mail_plain(from, (size_t)(lt - from)) &&
	    mail_plain(lt, n - (size_t)(lt - from))) {
		dn = (size_t)(lt - from);
		while (dn > 0 && from[dn - 1] == ' ')
			dn--;
		line = mail_words(b, from, dn, strlen("From: "));
		if (line + 1 + n - (size_t)(lt - from) > MAIL_LINE_MAX)
			mbuf_str(b, "\r\n");
		mbuf_str(b, " ");
		mbuf_add(b, lt, n - (size_t)(lt - from));
	} else
		mbuf_add(b, from, n);
	mbuf_str(b, "\r\n");
}

/*
 * Visitor text of many lines into b: CR, LF and CRLF (and U+2028,
 * U+2029, NEL) end a line, written as CRLF and then indent; tabs become
 * spaces; other controls are removed.  At most max bytes are added
 * (cut on a character); 1 when the text was cut, else 0.
 */
static int
mail_clean_text(struct mbuf *b, const char *in, size_t len,
    const char *indent, size_t max)
{
	size_t	 i = 0, n, start = b->len, add;
	long	 cp;
	char	 enc[4];

	while (i < len) {
		cp = mail_next(in, len, &i);
		if (cp == '\r' && i < len && in[i] == '\n')
			i++;
		if (cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x2028 ||
		    cp == 0x2029) {
			add = 2 + strlen(indent);
			if (b->len - start + add > max)
				return 1;
			mbuf_str(b, "\r\n");
			mbuf_str(b, indent);
			continue;
		}
		if (cp == '\t')
			cp = ' ';
		if (mail_drop(cp))
			continue;
		n = mail_utf8(cp, enc);
		if (b->len - start + n > max)
			return 1;
		mbuf_add(b, enc, n);
	}
	return 0;
}

/* "Label: value" (one cleaned line; "not given" when empty) and CRLF. */
static void
mail_field(struct mbuf *b, const char *label, const char *v)
{
	char	 buf[FIELD_VALUE_MAX * 2];
	size_t	 n = 0;

	if (v != NULL)
		n = mail_header_text(v, strlen(v), sizeof(buf), buf,
		    sizeof(buf));
	mbuf_str(b, label);
	mbuf_str(b, ": ");
	if (n > 0)
		mbuf_add(b, buf, n);
	else
		mbuf_str(b, "not given");
	mbuf_str(b, "\r\n");
}

/* The body in plain text, CRLF line ends, valid UTF-8. */
static void
mail_text(struct mbuf *b, const struct mail *m, const char *urgency)
{
	const char	*v;
	char		 matter[MAIL_NAME_MAX * 4 + 1], firm[512];
	size_t		 i, n, start, used;
	int		 updated, cut;

	updated = m->type != NULL && strcmp(m->type, "lead.updated") == 0;
	if (strcasecmp(urgency, "emergency") == 0)
		mbuf_str(b, "URGENT: emergency - call back now.\r\n\r\n");
	else if (strcasecmp(urgency, "high") == 0)
		mbuf_str(b, "High urgency: call back today.\r\n\r\n");
	if (updated)
		mbuf_str(b, "This lead has changed; here it is as it stands "
		    "now.\r\n\r\n");

	mail_field(b, "Name", m->value[FIELD_FULL_NAME]);
	mail_field(b, "Phone", m->value[FIELD_PHONE]);
	mail_field(b, "E-mail", m->value[FIELD_EMAIL]);
	mail_matter_words(m->value[FIELD_MATTER_TYPE], matter, sizeof(matter));
	mail_field(b, "Matter", matter);
	mail_field(b, "Urgency", urgency);

	v = m->value[FIELD_SUMMARY];
	if (v == NULL || v[0] == '\0')
		mbuf_str(b, "\r\nSummary: not given\r\n");
	else {
		mbuf_str(b, "\r\nSummary:\r\n");
		mail_clean_text(b, v, strlen(v), "", SIZE_MAX);
		mbuf_str(b, "\r\n");
	}
	if (m->url != NULL && m->url[0] != '\0') {
		mbuf_str(b, "\r\n");
		mail_field(b, "Open the lead", m->url);
	}

	if (m->lines != NULL && m->nlines > 0) {
		mbuf_str(b, "\r\nConversation:\r\n");
		start = b->len;
		for (i = 0; i < m->nlines; i++) {
			used = b->len - start;
			cut = used >= MAIL_TRANSCRIPT_MAX;
			if (!cut) {
				if (i > 0)
					mbuf_str(b, "\r\n");
				mbuf_str(b, m->lines[i].assistant ?
				    "Assistant: " : "Visitor: ");
				if (m->lines[i].text != NULL)
					cut = mail_clean_text(b,
					    m->lines[i].text, m->lines[i].len,
					    "  ", MAIL_TRANSCRIPT_MAX - used);
				mbuf_str(b, "\r\n");
			}
			if (cut) {
				mbuf_str(b, "\r\n(The rest of the "
				    "conversation is on the leads page.)\r\n");
				break;
			}
		}
	}

	mbuf_str(b, "\r\n");
	if (m->firm != NULL && (n = mail_header_text(m->firm,
	    strlen(m->firm), sizeof(firm), firm, sizeof(firm))) > 0) {
		mbuf_str(b, "Sent by the intake assistant of ");
		mbuf_add(b, firm, n);
		mbuf_str(b, ".\r\n");
	}
	if (m->conv_id != NULL && m->conv_id[0] != '\0')
		mail_field(b, "Lead", m->conv_id);
	mail_field(b, "Notice", m->id);
}

/*
 * Quoted-printable of text (CRLF line ends, valid UTF-8) into b: no line
 * over MAIL_QP_MAX, a character's bytes never split by a soft break,
 * "=", bytes >= 0x80, a space or tab ending a line, and a "." starting
 * one (SMTP's end of data) encoded.
 */
static void
mail_qp(struct mbuf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 enc[12];
	size_t			 i = 0, n, k, e, line = 0;
	unsigned char		 c;
	int			 last;

	while (i < len) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			mbuf_str(b, "\r\n");
			line = 0;
			i += 2;
			continue;
		}
		if (utf8_decode(s + i, len - i, &n) == -1)
			n = 1;
		last = i + n == len || (s[i + n] == '\r' && i + n + 1 < len &&
		    s[i + n + 1] == '\n');
		for (e = 0, k = 0; k < n; k++) {
			c = (unsigned char)s[i + k];
			if ((c >= 0x21 && c <= 0x7e && c != '=' &&
			    !(c == '.' && line == 0)) ||
			    ((c == ' ' || c == '\t') && !last))
				enc[e++] = (char)c;
			else {
				enc[e++] = '=';
				enc[e++] = hex[c >> 4];
				enc[e++] = hex[c & 15];
			}
		}
		/* Room for a soft break's "=" unless the line ends here. */
		if (line + e > MAIL_QP_MAX - (last ? 0 : 1)) {
			mbuf_str(b, "=\r\n");
			line = 0;
			if (s[i] == '.') {
				memcpy(enc, "=2E", 3);
				e = 3;
			}
		}
		mbuf_add(b, enc, e);
		line += e;
		i += n;
	}
}

char *
mail_compose(const struct mail *m, size_t *len)
{
	struct mbuf	 b, text;
	char		 mid[MAIL_ID_MAX + 256 + 4], from[MAIL_ADDR_MAX + 1];
	char		 name[MAIL_NAME_MAX * 4 + 1], matter[MAIL_NAME_MAX * 4 + 1];
	char		 urgency[32], subject[sizeof(name) + sizeof(matter) + 64];
	const char	*v;
	size_t		 fromlen, n;
	int		 sn;

	memset(&b, 0, sizeof(b));
	memset(&text, 0, sizeof(text));
	if (m->id == NULL || m->from == NULL || m->to == NULL ||
	    mail_message_id(m->id, m->from, mid, sizeof(mid)) == -1)
		return NULL;
	fromlen = mail_header_text(m->from, strlen(m->from), MAIL_ADDR_MAX,
	    from, sizeof(from));
	if (fromlen == 0)
		return NULL;

	v = m->value[FIELD_FULL_NAME];
	if (v == NULL || mail_header_text(v, strlen(v), MAIL_NAME_MAX, name,
	    sizeof(name)) == 0)
		snprintf(name, sizeof(name), "%s", "(no name)");
	mail_matter_words(m->value[FIELD_MATTER_TYPE], matter, sizeof(matter));
	v = m->value[FIELD_URGENCY];
	if (v == NULL)
		v = "";
	mail_header_text(v, strlen(v), sizeof(urgency), urgency,
	    sizeof(urgency));
	sn = snprintf(subject, sizeof(subject), "%s%s%s%s%s%s",
	    strcasecmp(urgency, "emergency") == 0 ? "[URGENT] " : "",
	    m->type != NULL && strcmp(m->type, "lead.updated") == 0 ?
	    "Lead updated: " : "New lead: ", name,
	    matter[0] != '\0' ? " (" : "", matter,
	    matter[0] != '\0' ? ")" : "");
	if (sn < 0 || (size_t)sn >= sizeof(subject))
		return NULL;

	mail_date(&b, m->date_ms);
	mail_from(&b, from, fromlen);
	if (mail_to(&b, m->to) == -1)
		goto fail;
	mail_subject(&b, subject, (size_t)sn);
	mbuf_str(&b, "Message-ID: ");
	mbuf_str(&b, mid);
	mbuf_str(&b, "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "X-Intake-Notification: ");
	mbuf_str(&b, m->id);
	mbuf_str(&b, "\r\n\r\n");

	mail_text(&text, m, urgency);
	if (text.err)
		goto fail;
	mail_qp(&b, text.p, text.len);
	if (b.err)
		goto fail;
	free(text.p);
	n = b.len;
	if (len != NULL)
		*len = n;
	return b.p;
fail:
	free(text.p);
	free(b.p);
	return NULL;
}
