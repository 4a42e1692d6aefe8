/*
 * fuzz_llm_decode.c: libFuzzer target for the stream decoder.
 *
 * The whole input is a provider body, decoded as OpenAI-compatible and
 * as Anthropic.  Each is decoded twice, as one chunk and split in two at
 * a place chosen by the first byte, and both runs must agree on the text,
 * the end, the error message and the finish reason.  The stored messages
 * must stay single-line and NUL-terminated, and no piece of text may hold
 * a NUL.
 * Seeds: tests/fuzz/corpus/llm_decode (the recorded LLM streams).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_decode.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct run {
	uint64_t	 hash;
	size_t		 text_len, reasoning_len;
	enum llm_end	 end;
	char		 error[256], finish[32];
};

static int
on_text(const char *s, size_t n, void *arg)
{
	struct run	*r = arg;

	if (n == 0 || memchr(s, '\0', n) != NULL)
		abort();
	r->text_len += n;
	while (n-- > 0)
		r->hash = (r->hash ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return 0;
}

static void
check_line(const char *s, size_t size)
{
	size_t	 i;

	if (memchr(s, '\0', size) == NULL)
		abort();
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20)
			abort();
}

static void
run(enum llm_proto proto, const char *buf, size_t len, size_t cut,
    struct run *r)
{
	struct llm_decoder	 d;

	memset(r, 0, sizeof(*r));
	r->hash = 0xcbf29ce484222325ULL;
	llm_decode_init(&d, proto, on_text, r);
	if (llm_decode_feed(&d, buf, cut) == 0)
		(void)llm_decode_feed(&d, buf + cut, len - cut);
	r->end = llm_decode_finish(&d);
	if (r->end == LLM_END_NONE || r->end >= LLM_END__MAX ||
	    d.text_len != r->text_len)
		abort();
	check_line(d.error, sizeof(d.error));
	check_line(d.finish, sizeof(d.finish));
	memcpy(r->error, d.error, sizeof(r->error));
	memcpy(r->finish, d.finish, sizeof(r->finish));
	r->reasoning_len = d.reasoning_len;
	llm_decode_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 whole, split;
	size_t		 cut;
	int		 proto;

	if (size == 0)
		return 0;
	cut = (size_t)data[0] * size / 256;
	for (proto = 0; proto < LLM_PROTO__MAX; proto++) {
		run(proto, (const char *)data, size, size, &whole);
		run(proto, (const char *)data, size, cut, &split);
		if (whole.hash != split.hash ||
		    whole.text_len != split.text_len ||
		    whole.reasoning_len != split.reasoning_len ||
		    whole.end != split.end ||
		    strcmp(whole.error, split.error) != 0 ||
		    strcmp(whole.finish, split.finish) != 0)
			abort();
	}
	return 0;
}
