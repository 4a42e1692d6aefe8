/*
 * sse.c: an incremental Server-Sent Events parser, after the WHATWG
 * "event stream interpretation" rules.
 *
 * An LLM reply arrives in network reads that split it anywhere: inside a
 * field name, between the CR and LF of a line end, inside a UTF-8
 * sequence.  So the parser keeps only two buffers across calls, the
 * unfinished line and the data of the event being built, and looks at a
 * line only once it is whole.  A line that lies entirely within one chunk
 * is read in place; only the part of a line that spans chunks is copied.
 * Whatever the split, the same events come out in the same order.
 *
 * Both buffers are capped (SSE_LINE_MAX, SSE_DATA_MAX) so a hostile or
 * broken upstream cannot make the process grow without bound.  id: and
 * retry: are read but not kept: nothing here reconnects.
 */
#include <stdlib.h>
#include <string.h>

#include "sse.h"

static const char	 bom[] = "\xef\xbb\xbf";

void
sse_init(struct sse_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void
sse_free(struct sse_parser *p)
{
	free(p->line);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/*
 * Make *buf hold at least need bytes; need is at most max + 1 (the
 * callers check their limit first), so doubling cannot overflow.
 * Returns 0, or -1 when memory ran out (*buf is then unchanged).
 */
static int
sse_grow(char **buf, size_t *cap, size_t need, size_t max)
{
	char	*nb;
	size_t	 ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max + 1)
		ncap = max + 1;
	if ((nb = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Forget the event being built, as after a blank line. */
static void
sse_reset(struct sse_parser *p)
{
	p->data_len = 0;
	p->has_data = 0;
	p->event_len = 0;
}

/*
 * A blank line: hand the event to cb if it has data, then start anew.
 * Returns cb's value, or 0.
 */
static int
sse_dispatch(struct sse_parser *p, sse_cb cb, void *arg)
{
	struct sse_event	 ev;
	int			 rc;

	if (!p->has_data) {
		sse_reset(p);
		return 0;
	}
	if (p->event_len > 0) {
		ev.event = p->event;
		ev.event_len = p->event_len;
	} else {
		ev.event = "message";
		ev.event_len = strlen("message");
	}
	ev.data = p->data_len > 0 ? p->data : "";
	ev.data_len = p->data_len;
	p->events++;
	rc = cb(&ev, arg);
	sse_reset(p);
	return rc;
}

/* Append one data: value, joined to the previous by "\n". */
static int
sse_data(struct sse_parser *p, const char *v, size_t vlen)
{
	size_t	 sep = p->has_data ? 1 : 0;

	if (p->data_len > SSE_DATA_MAX ||
	    vlen > SSE_DATA_MAX - p->data_len ||
	    sep > SSE_DATA_MAX - p->data_len - vlen)
		return -1;
	if (sse_grow(&p->data, &p->data_cap,
	    p->data_len + sep + vlen + 1, SSE_DATA_MAX) == -1)
		return -1;
	if (sep)
		p->data[p->data_len++] = '\n';
	memcpy(p->data + p->data_len, v, vlen);
	p->data_len += vlen;
	p->data[p->data_len] = '\0';
	p->has_data = 1;
	return 0;
}

/*
 * Interpret one whole line (its end already removed).  Returns 0, cb's
 * non-zero value from a dispatch, or -1 on a limit.
 */
static int
sse_line(struct sse_parser *p, const char *l, size_t n, sse_cb cb, void *arg)
{
	const char	*colon, *v;
	size_t		 flen, vlen;

	if (!p->started) {
		p->started = 1;
		if (n >= sizeof(bom) - 1 && memcmp(l, bom, sizeof(bom) - 1) == 0) {
			l += sizeof(bom) - 1;
			n -= sizeof(bom) - 1;
		}
	}
	if (n == 0)
		return sse_dispatch(p, cb, arg);
	if (l[0] == ':') {
		p->comments++;
		return 0;
	}
	if ((colon = memchr(l, ':', n)) != NULL) {
		flen = colon - l;
		v = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && v[0] == ' ') {
			v++;
			vlen--;
		}
	} else {
		flen = n;
		v = "";
		vlen = 0;
	}

	if (flen == 4 && memcmp(l, "data", 4) == 0)
		return sse_data(p, v, vlen);
	if (flen == 5 && memcmp(l, "event", 5) == 0) {
		if (vlen > sizeof(p->event) - 1)
			vlen = sizeof(p->event) - 1;
		memcpy(p->event, v, vlen);
		p->event[vlen] = '\0';
		p->event_len = vlen;
	}
	return 0;
}

/* Keep the start of a line that goes on in the next chunk. */
static int
sse_keep(struct sse_parser *p, const char *b, size_t n)
{
	if (n > SSE_LINE_MAX - p->line_len)
		return -1;
	if (sse_grow(&p->line, &p->line_cap, p->line_len + n,
	    SSE_LINE_MAX) == -1)
		return -1;
	memcpy(p->line + p->line_len, b, n);
	p->line_len += n;
	return 0;
}

int
sse_feed(struct sse_parser *p, const char *buf, size_t len,
    sse_cb cb, void *arg)
{
	const char	*l;
	size_t		 i = 0, j, n;
	int		 rc;

	while (i < len) {
		if (p->last_cr) {
			p->last_cr = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		for (j = i; j < len && buf[j] != '\r' && buf[j] != '\n'; j++)
			continue;
		if (j == len)
			return sse_keep(p, buf + i, j - i);

		if (p->line_len == 0) {
			l = buf + i;
			n = j - i;
			if (n > SSE_LINE_MAX)
				return -1;
		} else {
			if (sse_keep(p, buf + i, j - i) == -1)
				return -1;
			l = p->line;
			n = p->line_len;
		}
		p->last_cr = buf[j] == '\r';
		i = j + 1;
		p->line_len = 0;
		if ((rc = sse_line(p, l, n, cb, arg)) != 0)
			return rc;
	}
	return 0;
}

int
sse_end(struct sse_parser *p)
{
	int	 pending;

	pending = p->line_len > 0 || p->has_data || p->event_len > 0;
	sse_reset(p);
	p->line_len = 0;
	p->last_cr = 0;
	p->started = 0;
	return pending;
}
