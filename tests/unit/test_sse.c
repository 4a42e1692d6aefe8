/*
 * test_sse.c: the SSE parser against hand-made streams.
 *
 * The recorded LLM streams only use LF and single-line data, so the
 * line-end, field and limit rules are checked here on small inputs.  Each
 * table row is fed whole, split in two at every offset, and one byte at a
 * time: the parser must not care where a chunk ends.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sse.h"

/* What a run produced: events as "name|data;" in order, and counters. */
struct out {
	char		 ev[512];
	size_t		 len;
	int		 overflow;
	unsigned long	 comments, events;
	int		 rc;		/* first non-zero sse_feed value */
	int		 pending;	/* sse_end's answer */
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n > sizeof(o->ev) - 1 - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->ev + o->len, s, n);
	o->len += n;
	o->ev[o->len] = '\0';
}

static int
collect(const struct sse_event *ev, void *arg)
{
	struct out	*o = arg;

	out_add(o, ev->event, ev->event_len);
	out_add(o, "|", 1);
	out_add(o, ev->data, ev->data_len);
	out_add(o, ";", 1);
	return 0;
}

/*
 * Feed in[0..len) in pieces: cuts[] are the offsets where a new chunk
 * starts (ascending, ncut of them).  Stops at the first non-zero return.
 */
static void
run(const char *in, size_t len, const size_t *cuts, size_t ncut,
    struct out *o)
{
	struct sse_parser	 p;
	size_t			 i, from = 0, to;

	memset(o, 0, sizeof(*o));
	sse_init(&p);
	for (i = 0; i <= ncut; i++) {
		to = i < ncut ? cuts[i] : len;
		if ((o->rc = sse_feed(&p, in + from, to - from, collect,
		    o)) != 0)
			break;
		from = to;
	}
	o->comments = p.comments;
	o->events = p.events;
	o->pending = sse_end(&p);
	sse_free(&p);
}

static int
out_same(const struct out *a, const struct out *b)
{
	return a->len == b->len && memcmp(a->ev, b->ev, a->len) == 0 &&
	    a->overflow == b->overflow && a->comments == b->comments &&
	    a->events == b->events && a->rc == b->rc &&
	    a->pending == b->pending;
}

static const struct row {
	const char	*in;
	const char	*want;		/* events as "name|data;" */
	unsigned long	 comments;
	int		 pending;
	int		 line;
} rows[] = {
	{ "", "", 0, 0, __LINE__ },
	{ "data: a\n\n", "message|a;", 0, 0, __LINE__ },
	{ "data: a\r\n\r\n", "message|a;", 0, 0, __LINE__ },
	{ "data: a\r\r", "message|a;", 0, 0, __LINE__ },
	{ "data: a\r\ndata: b\rdata: c\n\n", "message|a\nb\nc;", 0, 0,
	    __LINE__ },
	/* CR LF is one line end, LF CR two: the second one dispatches. */
	{ "data: a\n\rdata: b\r\n\r\n", "message|a;message|b;", 0, 0,
	    __LINE__ },
	{ "data: a\r\n\ndata: b\n\r\n", "message|a;message|b;", 0, 0,
	    __LINE__ },
	{ ": one\n:\n: two\r\ndata: x\n\n", "message|x;", 3, 0, __LINE__ },
	{ ": keep-alive\n\n: keep-alive\n\n", "", 2, 0, __LINE__ },
	{ "data:a\n\n", "message|a;", 0, 0, __LINE__ },
	{ "data:  a\n\n", "message| a;", 0, 0, __LINE__ },
	{ "data: a \n\n", "message|a ;", 0, 0, __LINE__ },
	{ "data: a:b: c\n\n", "message|a:b: c;", 0, 0, __LINE__ },
	{ "data\n\n", "message|;", 0, 0, __LINE__ },
	{ "data\ndata\n\n", "message|\n;", 0, 0, __LINE__ },
	{ "data:\n\n", "message|;", 0, 0, __LINE__ },
	{ "data: a\ndata:\ndata: b\n\n", "message|a\n\nb;", 0, 0, __LINE__ },
	{ "data : a\n\n", "", 0, 0, __LINE__ },
	{ "DATA: a\n\n", "", 0, 0, __LINE__ },
	{ " data: a\n\n", "", 0, 0, __LINE__ },
	{ "event: foo\n\n", "", 0, 0, __LINE__ },
	{ "event: foo\n\ndata: x\n\n", "message|x;", 0, 0, __LINE__ },
	{ "event: ping\ndata: {}\n\n", "ping|{};", 0, 0, __LINE__ },
	{ "data: {}\nevent: late\n\n", "late|{};", 0, 0, __LINE__ },
	{ "event: a\nevent: b\ndata: x\n\n", "b|x;", 0, 0, __LINE__ },
	{ "event:\ndata: x\n\n", "message|x;", 0, 0, __LINE__ },
	{ "event\ndata: x\n\n", "message|x;", 0, 0, __LINE__ },
	{ "event: "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789\ndata: x\n\n",
	    "012345678901234567890123456789012345678901234567890123456789012"
	    "|x;", 0, 0, __LINE__ },
	{ "id: 7\nretry: 100\nfoo: bar\ndata: x\n\n", "message|x;", 0, 0,
	    __LINE__ },
	{ "id: 7\n\n", "", 0, 0, __LINE__ },
	{ "\n\n\r\r\r\n", "", 0, 0, __LINE__ },
	{ "\xef\xbb\xbf" "data: x\n\n", "message|x;", 0, 0, __LINE__ },
	{ "data: x\n\n\xef\xbb\xbf" "data: y\n\n", "message|x;", 0, 0,
	    __LINE__ },
	{ "data: \xf0\x9f\x98\x80\n\n", "message|\xf0\x9f\x98\x80;", 0, 0,
	    __LINE__ },
	/* The end of the stream drops what is not dispatched. */
	{ "data: x\n", "", 0, 1, __LINE__ },
	{ "data: x", "", 0, 1, __LINE__ },
	{ "data: x\n\ndata: y", "message|x;", 0, 1, __LINE__ },
	{ "event: e\n", "", 0, 1, __LINE__ },
	{ ": unterminated", "", 0, 1, __LINE__ },
	{ ": done\n", "", 1, 0, __LINE__ },
	{ "data: x\r\r", "message|x;", 0, 0, __LINE__ },
	{ "data: x\r\n\r", "message|x;", 0, 0, __LINE__ },
	{ "data: x\n\n\r", "message|x;", 0, 0, __LINE__ },
};

static void
test_rows(void)
{
	const struct row	*r;
	struct out		 whole, o;
	size_t			 i, k, len, bad, *cuts;
	int			 ok;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = &rows[i];
		len = strlen(r->in);
		run(r->in, len, NULL, 0, &whole);
		ok = whole.rc == 0 && !whole.overflow &&
		    strcmp(whole.ev, r->want) == 0 &&
		    whole.comments == r->comments &&
		    whole.pending == r->pending;
		CHECK_AT(r->line, ok, "whole: got \"%s\" comments %lu "
		    "pending %d rc %d", whole.ev, whole.comments,
		    whole.pending, whole.rc);

		bad = len + 1;
		for (k = 0; k <= len && bad > len; k++) {
			run(r->in, len, &k, 1, &o);
			if (!out_same(&o, &whole))
				bad = k;
		}
		CHECK_AT(r->line, bad > len, "split at %zu differs", bad);

		if ((cuts = calloc(len + 1, sizeof(*cuts))) == NULL)
			abort();
		for (k = 0; k < len; k++)
			cuts[k] = k;
		run(r->in, len, cuts, len, &o);
		free(cuts);
		CHECK_AT(r->line, out_same(&o, &whole),
		    "byte by byte: got \"%s\"", o.ev);
	}
}

/* The LF of a CRLF in the next chunk is not a blank line. */
static void
test_cr_lf_chunks(void)
{
	struct sse_parser	 p;
	struct out		 o;
	int			 rc;

	memset(&o, 0, sizeof(o));
	sse_init(&p);
	rc = sse_feed(&p, "data: a\r", 8, collect, &o);
	rc |= sse_feed(&p, "\ndata: b\r", 9, collect, &o);
	CHECK(rc == 0 && o.len == 0, "CR|LF dispatched early: \"%s\"", o.ev);
	rc |= sse_feed(&p, "\n", 1, collect, &o);
	CHECK(rc == 0 && o.len == 0, "CR|LF: the LF was a blank line");
	rc |= sse_feed(&p, "\r", 1, collect, &o);
	CHECK(rc == 0 && strcmp(o.ev, "message|a\nb;") == 0,
	    "CR|LF then CR: got \"%s\"", o.ev);
	rc |= sse_feed(&p, "\n", 1, collect, &o);
	CHECK(rc == 0 && p.events == 1, "CR|LF: the last LF dispatched again");
	CHECK(sse_end(&p) == 0, "CR|LF: pending after a whole event");
	sse_free(&p);
}

static void
test_nul(void)
{
	struct sse_parser	 p;
	struct out		 o;
	static const char	 in[] = "data: a\0b\n\n";

	memset(&o, 0, sizeof(o));
	sse_init(&p);
	CHECK(sse_feed(&p, in, sizeof(in) - 1, collect, &o) == 0 &&
	    o.len == 12 && memcmp(o.ev, "message|a\0b;", 12) == 0,
	    "NUL inside data not kept");
	sse_free(&p);
}

static int
stop_second(const struct sse_event *ev, void *arg)
{
	struct out	*o = arg;

	(void)ev;
	return ++o->events == 2 ? 7 : 0;
}

static void
test_stop(void)
{
	struct sse_parser	 p;
	struct out		 o;
	static const char	 in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	int			 rc;

	memset(&o, 0, sizeof(o));
	sse_init(&p);
	rc = sse_feed(&p, in, sizeof(in) - 1, stop_second, &o);
	CHECK(rc == 7, "callback's stop value: got %d", rc);
	CHECK(o.events == 2 && p.events == 2,
	    "events after the stop: %lu", o.events);
	sse_free(&p);
}

/* A line of exactly SSE_LINE_MAX bytes is kept; one more fails. */
static void
test_line_max(void)
{
	struct sse_parser	 p;
	struct out		 o;
	char			*b;
	size_t			 n = SSE_LINE_MAX + 3, half;
	int			 rc;

	if ((b = malloc(n)) == NULL)
		abort();
	memcpy(b, "data:", 5);
	memset(b + 5, 'x', SSE_LINE_MAX - 5);
	memcpy(b + SSE_LINE_MAX, "\n\n", 2);

	memset(&o, 0, sizeof(o));
	sse_init(&p);
	rc = sse_feed(&p, b, SSE_LINE_MAX + 2, collect, &o);
	CHECK(rc == 0 && p.events == 1, "line of SSE_LINE_MAX: rc %d", rc);
	sse_free(&p);

	half = SSE_LINE_MAX / 2;
	sse_init(&p);
	rc = sse_feed(&p, b, half, collect, &o);
	rc |= sse_feed(&p, b + half, SSE_LINE_MAX + 2 - half, collect, &o);
	CHECK(rc == 0 && p.events == 1,
	    "line of SSE_LINE_MAX in two chunks: rc %d", rc);
	sse_free(&p);

	b[SSE_LINE_MAX] = 'x';
	memcpy(b + SSE_LINE_MAX + 1, "\n\n", 2);
	sse_init(&p);
	rc = sse_feed(&p, b, n, collect, &o);
	CHECK(rc == -1, "line over SSE_LINE_MAX, whole: rc %d", rc);
	sse_free(&p);

	sse_init(&p);
	rc = sse_feed(&p, b, half, collect, &o);
	if (rc == 0)
		rc = sse_feed(&p, b + half, n - half, collect, &o);
	CHECK(rc == -1, "line over SSE_LINE_MAX, two chunks: rc %d", rc);
	sse_free(&p);

	sse_init(&p);
	rc = sse_feed(&p, b, SSE_LINE_MAX + 1, collect, &o);
	CHECK(rc == -1, "unterminated line over SSE_LINE_MAX: rc %d", rc);
	sse_free(&p);
	free(b);
}

static int
collect_len(const struct sse_event *ev, void *arg)
{
	size_t	*got = arg;

	*got = ev->data_len;
	return 0;
}

/*
 * Data lines that join to exactly SSE_DATA_MAX bytes are one event; one
 * byte more fails.  extra is 0 or 1.
 */
static int
feed_data(size_t extra, size_t *got)
{
	struct sse_parser	 p;
	char			*b;
	size_t			 cap = 2 * SSE_DATA_MAX, len = 0, left, v;
	int			 rc;

	if ((b = malloc(cap)) == NULL)
		abort();
	left = SSE_DATA_MAX + extra;
	while (left > 0) {
		if (len > 0)
			left--;		/* the "\n" joining this line */
		v = left < 1000 ? left : 1000;
		memcpy(b + len, "data:", 5);
		memset(b + len + 5, 'y', v);
		b[len + 5 + v] = '\n';
		len += 6 + v;
		left -= v;
	}
	b[len++] = '\n';
	*got = 0;
	sse_init(&p);
	rc = sse_feed(&p, b, len, collect_len, got);
	sse_free(&p);
	free(b);
	return rc;
}

static void
test_data_max(void)
{
	size_t	 got;
	int	 rc;

	rc = feed_data(0, &got);
	CHECK(rc == 0 && got == SSE_DATA_MAX,
	    "data of SSE_DATA_MAX: rc %d, %zu bytes", rc, got);
	rc = feed_data(1, &got);
	CHECK(rc == -1 && got == 0, "data over SSE_DATA_MAX: rc %d", rc);
}

/* After sse_end the parser starts a new stream and keeps its counters. */
static void
test_end_reuse(void)
{
	struct sse_parser	 p;
	struct out		 o;
	int			 rc;

	memset(&o, 0, sizeof(o));
	sse_init(&p);
	rc = sse_feed(&p, ": c\ndata: lost\nevent: x\ndata: lo", 32,
	    collect, &o);
	CHECK(rc == 0 && sse_end(&p) == 1, "pending not seen");
	CHECK(sse_end(&p) == 0, "pending twice");
	rc = sse_feed(&p, "\xef\xbb\xbf" "data: new\n\n", 15,
	    collect, &o);
	CHECK(rc == 0 && strcmp(o.ev, "message|new;") == 0,
	    "after sse_end: got \"%s\"", o.ev);
	CHECK(p.comments == 1 && p.events == 1, "counters: %lu %lu",
	    p.comments, p.events);
	sse_free(&p);
}

int
main(void)
{
	test_rows();
	test_cr_lf_chunks();
	test_nul();
	test_stop();
	test_line_max();
	test_data_max();
	test_end_reuse();
	return check_done("sse");
}
