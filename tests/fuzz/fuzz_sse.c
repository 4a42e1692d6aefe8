/*
 * fuzz_sse.c: libFuzzer target for the SSE parser.
 *
 * The whole input is the stream.  It is parsed twice, once as one chunk
 * and once split in two at a place chosen by its first byte, and the two
 * runs must give the same events, counters and return values: a split
 * must never change what comes out.  The sanitizers catch the rest.
 * Seeds: tests/fuzz/corpus/sse (the recorded LLM streams).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct run {
	uint64_t	 hash;
	unsigned long	 events, comments;
	int		 rc, pending;
};

static void
hash_add(uint64_t *h, const void *p, size_t n)
{
	const unsigned char	*b = p;

	while (n-- > 0)
		*h = (*h ^ *b++) * 0x100000001b3ULL;
}

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct run	*r = arg;

	if (ev->data[ev->data_len] != '\0')
		abort();
	hash_add(&r->hash, &ev->event_len, sizeof(ev->event_len));
	hash_add(&r->hash, ev->event, ev->event_len);
	hash_add(&r->hash, &ev->data_len, sizeof(ev->data_len));
	hash_add(&r->hash, ev->data, ev->data_len);
	return 0;
}

static void
run(const char *buf, size_t len, size_t cut, struct run *r)
{
	struct sse_parser	 p;

	r->hash = 0xcbf29ce484222325ULL;
	sse_init(&p);
	if ((r->rc = sse_feed(&p, buf, cut, on_event, r)) == 0)
		r->rc = sse_feed(&p, buf + cut, len - cut, on_event, r);
	r->events = p.events;
	r->comments = p.comments;
	r->pending = r->rc == 0 ? sse_end(&p) : 0;
	sse_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 whole, split;
	size_t		 cut;

	if (size == 0)
		return 0;
	cut = (size_t)data[0] * size / 256;
	run((const char *)data, size, size, &whole);
	run((const char *)data, size, cut, &split);
	if (whole.hash != split.hash || whole.events != split.events ||
	    whole.comments != split.comments || whole.rc != split.rc ||
	    whole.pending != split.pending)
		abort();
	return 0;
}
