/*
 * fuzz_mail.c: libFuzzer target for the lead e-mail (common/mail.c).
 *
 * The first byte chooses: the type (bit 0), whether the from, to and
 * id come from the input or are fixed (bit 1), a transcript (bit 2), a
 * link (bit 3), and the date (bits 4-6).  The rest, split at NUL bytes,
 * is the field values in order (name, phone, e-mail, matter, urgency,
 * summary, link, firm, conversation id, to, from, id), then the
 * transcript's messages.  Whatever comes in, the message has no NUL and
 * no bare CR or LF, no line over 998 bytes (no body line over 76), and
 * its headers, once unfolded, are exactly the known ones, once each;
 * with the fixed from and to, the header section is ASCII and no line
 * is over 78.  And mail_header_text over the whole input, at a cap and
 * a buffer size the first bytes choose, gives valid UTF-8 with no
 * control character, no space at either end or twice, within both.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "utf8.h"

#define NPIECES		12
#define NLINES_MAX	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = {
	"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
	"X-Intake-Notification",
};

/* The headers of msg (hlen bytes, CRLF ends) are the known set. */
static void
check_headers(const char *msg, size_t hlen, int ascii)
{
	int		 count[sizeof(names) / sizeof(names[0])] = { 0 };
	const char	*p = msg, *eol, *colon;
	size_t		 i, n;

	while (p < msg + hlen) {
		eol = memchr(p, '\r', (size_t)(msg + hlen - p));
		if (eol == NULL || eol[1] != '\n')
			abort();
		if (ascii) {
			if (eol - p > 78)
				abort();
			for (i = 0; p + i < eol; i++)
				if ((unsigned char)p[i] < 0x20 ||
				    (unsigned char)p[i] > 0x7e)
					abort();
		}
		if (*p == ' ' || *p == '\t') {
			/* A fold: never the first line, never blank. */
			if (p == msg || eol - p < 2)
				abort();
			p = eol + 2;
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL)
			abort();
		n = (size_t)(colon - p);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == n &&
			    memcmp(names[i], p, n) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			abort();
		count[i]++;
		p = eol + 2;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (count[i] != 1)
			abort();
}

static void
check_message(const char *msg, size_t len, int ascii)
{
	const char	*sep, *p, *eol;
	size_t		 i, hlen;

	if (strlen(msg) != len)
		abort();
	for (i = 0; i < len; i++)
		if ((msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n')) ||
		    (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')))
			abort();
	if ((sep = strstr(msg, "\r\n\r\n")) == NULL)
		abort();
	hlen = (size_t)(sep - msg) + 2;
	for (p = msg; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2)
		if (eol - p > 998 || (p > sep && eol - p > 76))
			abort();
	if (*p != '\0')
		abort();	/* the message ends with CRLF */
	check_headers(msg, hlen, ascii);
}

static void
check_header_text(const char *in, size_t len, size_t cap, size_t outsz)
{
	char	*out;
	size_t	 n, i, cn;
	long	 cp;

	if ((out = malloc(outsz + 1)) == NULL)
		return;
	out[outsz] = 0x55;
	n = mail_header_text(in, len, cap, out, outsz);
	if (outsz == 0) {
		if (n != 0 || out[0] != 0x55)
			abort();
		free(out);
		return;
	}
	if (n >= outsz || out[n] != '\0' || out[outsz] != 0x55 ||
	    !utf8_valid(out, n) || utf8_count(out, n) > cap)
		abort();
	if (n > 0 && (out[0] == ' ' || out[n - 1] == ' '))
		abort();
	for (i = 0; i < n; i += cn) {
		cp = utf8_decode(out + i, n - i, &cn);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    (cp == ' ' && out[i + 1] == ' '))
			abort();
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t	 dates[] = { 0, INT64_C(1767268800123), -1,
	    INT64_MAX, INT64_MIN, INT64_C(253402300799999),
	    INT64_C(951782400000), INT64_C(-62135596800000) };
	struct mail		 m;
	struct mail_line	 lines[NLINES_MAX];
	char			*buf, *piece[NPIECES], *msg;
	size_t			 i, n, np = 0, nl = 0, len, start;
	int			 flags;

	if (size == 0)
		return 0;
	flags = data[0];

	/* The header cleaner over everything, NULs and all. */
	check_header_text((const char *)data, size, size > 1 ? data[1] : 80,
	    size > 2 ? data[2] % 64 : 256);
	check_header_text((const char *)data, size, MAIL_NAME_MAX,
	    MAIL_NAME_MAX * 4 + 1);

	/* An exact-size copy, NUL-terminated pieces in place. */
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (start = 0, i = 0; i < size; i++) {
		if (buf[i] != '\0')
			continue;
		if (np < NPIECES)
			piece[np++] = buf + start;
		else if (nl < NLINES_MAX) {
			lines[nl].assistant = (int)(nl % 2);
			lines[nl].text = buf + start;
			lines[nl].len = i - start;
			nl++;
		}
		start = i + 1;
	}
	for (n = np; n < NPIECES; n++)
		piece[n] = NULL;

	memset(&m, 0, sizeof(m));
	m.type = flags & 1 ? "lead.updated" : "lead.ready";
	for (n = 0; n < FIELD__MAX; n++)
		m.value[n] = piece[n];
	m.url = flags & 8 ? piece[6] : NULL;
	m.firm = piece[7];
	m.conv_id = piece[8];
	if (flags & 2) {
		m.to = piece[9];
		m.from = piece[10];
		m.id = piece[11];
	} else {
		m.to = "desk@firm.example, other@firm.example";
		m.from = "Intake <intake@firm.example>";
		m.id = "msg_0123456789abcdef";
	}
	m.date_ms = dates[(flags >> 4) & 7];
	if (flags & 4) {
		m.lines = lines;
		m.nlines = nl;
	}
	msg = mail_compose(&m, &len);
	if (msg == NULL) {
		/* Only a bad from, to or id may fail (or memory). */
		if (!(flags & 2))
			abort();
	} else
		check_message(msg, len, !(flags & 2));
	free(msg);
	free(buf);
	return 0;
}
