/*
 * llm_decode.h: turn a provider's streaming body into the reply's text.
 *
 * One decoder per response.  It runs the SSE parser and interprets each
 * event for its protocol:
 *   OpenAI-compatible: data: {chunk} with choices[0].delta.content, usage
 *     only chunks (choices empty or null), a top-level "error" object, an
 *     "event: error" event, and the terminator "data: [DONE]".
 *   Anthropic Messages: content_block_delta/text_delta, ping, error
 *     (e.g. overloaded_error), message_stop as the terminator, unknown
 *     event types ignored.
 * Reasoning or thinking content is never passed on as text, nor is a NUL
 * (U+0000) in the answer: every reader gets the same text.  Pure.
 */
#ifndef LLM_DECODE_H
#define LLM_DECODE_H

#include <stddef.h>

#include "sse.h"

enum llm_proto {
	LLM_PROTO_OPENAI,
	LLM_PROTO_ANTHROPIC,
	LLM_PROTO__MAX
};

/* How a stream ended. */
enum llm_end {
	LLM_END_NONE,		/* still going */
	LLM_END_DONE,		/* the protocol's terminator was seen */
	LLM_END_ERROR,		/* the provider sent an error */
	LLM_END_TRUNCATED,	/* the body ended with no terminator */
	LLM_END_BAD,		/* unparseable body (limit, not SSE/JSON) */
	LLM_END__MAX
};

/* Called with each piece of answer text, in order; non-zero stops. */
typedef int (*llm_text_cb)(const char *text, size_t len, void *arg);

struct llm_decoder {
	enum llm_proto	 proto;
	struct sse_parser sse;
	enum llm_end	 end;
	char		 error[256];	/* provider's error message, if any */
	char		 finish[32];	/* last finish/stop reason seen */
	size_t		 text_len;	/* bytes of answer text passed on */
	size_t		 reasoning_len;	/* bytes of reasoning seen (dropped) */
	size_t		 nuls;		/* NULs in the answer text (dropped) */
	llm_text_cb	 cb;
	void		*arg;
	unsigned int	 bad;		/* unparseable events in a row */
	int		 stopped;	/* cb asked to stop */
};

/* More unparseable events than this in a row make the body LLM_END_BAD. */
#define LLM_BAD_MAX	64

void		llm_decode_init(struct llm_decoder *, enum llm_proto,
		    llm_text_cb cb, void *arg);
void		llm_decode_free(struct llm_decoder *);

/*
 * Feed len bytes of the body.  Returns 0 to go on, -1 when the stream is
 * over (d->end says how: a terminator, an error, a bad body) or the
 * callback asked to stop (d->stopped, d->end still LLM_END_NONE).  Bytes
 * after that are ignored.
 */
int		llm_decode_feed(struct llm_decoder *, const char *buf, size_t len);

/*
 * The body ended; returns the final d->end (TRUNCATED if no terminator,
 * also when the callback had stopped it).
 */
enum llm_end	llm_decode_finish(struct llm_decoder *);

#endif
