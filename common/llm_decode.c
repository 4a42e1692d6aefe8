/*
 * llm_decode.c: read an LLM provider's streaming body and pass on only
 * the answer text, and say how the stream ended.
 *
 * The SSE parser cuts the body into events; each event's data is parsed
 * with jansson and interpreted per protocol (OpenAI-compatible chat
 * chunks or Anthropic Messages events).  The decoder is what decides
 * whether a reply is complete: a stream counts as done only on the
 * protocol's terminator, a provider error (an error event, or an "error"
 * object inside a chunk, which OpenRouter sends with HTTP 200) ends it as
 * an error, and a body that stops without either is truncated.
 *
 * Real streams carry stray lines (proxies, keep-alives), so an event that
 * is not JSON is skipped; but a body made only of such events is not an
 * LLM stream at all, and more than LLM_BAD_MAX of them in a row end it as
 * LLM_END_BAD.  Reasoning ("reasoning", "reasoning_content", Anthropic
 * thinking) is only counted, never passed on, and so are NULs in the
 * answer text (a C string would end there).  The stored error message
 * is the provider's own text only, on one line and capped, because it is
 * logged and may be shown.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "llm_decode.h"

/*
 * Integers as reals so that a huge number in a field we never read (a
 * seed, a timestamp) cannot make a whole chunk unparseable; \u0000 is
 * allowed in strings, whose lengths are always taken from jansson (and
 * dropped from the answer text, see llm_text).
 */
#define LLM_JSON_FLAGS	(JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL)

/* What an event handler asks sse_feed to do. */
#define LLM_GO		0
#define LLM_STOP	1

void
llm_decode_init(struct llm_decoder *d, enum llm_proto proto,
    llm_text_cb cb, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->proto = proto;
	d->cb = cb;
	d->arg = arg;
	sse_init(&d->sse);
}

void
llm_decode_free(struct llm_decoder *d)
{
	sse_free(&d->sse);
}

/* Add n to a byte count; it saturates rather than wraps. */
static void
llm_add(size_t *sum, size_t n)
{
	*sum = n > SIZE_MAX - *sum ? SIZE_MAX : *sum + n;
}

/*
 * Copy s (n bytes, valid UTF-8 from jansson) into dst of size dsz as one
 * line: control bytes become spaces, and a cut never splits a UTF-8
 * sequence.  dst is always NUL-terminated.
 */
static void
llm_copy_line(char *dst, size_t dsz, const char *s, size_t n)
{
	size_t		 i;
	unsigned char	 c;

	if (n > dsz - 1) {
		n = dsz - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[n] = '\0';
}

/* Copy a JSON string into dst, if it is one. */
static void
llm_copy_json(char *dst, size_t dsz, const json_t *v)
{
	if (json_is_string(v))
		llm_copy_line(dst, dsz, json_string_value(v),
		    json_string_length(v));
}

/*
 * The stream ends with a provider error.  err is what the provider sent:
 * an object with a "message", a bare string, or anything else (then no
 * message is kept).
 */
static int
llm_error(struct llm_decoder *d, const json_t *err)
{
	d->end = LLM_END_ERROR;
	d->error[0] = '\0';
	if (json_is_object(err))
		err = json_object_get(err, "message");
	llm_copy_json(d->error, sizeof(d->error), err);
	return LLM_STOP;
}

/*
 * Pass a JSON string on as answer text; empty and non-strings are not.
 * A NUL ("\u0000") is dropped: the runs between NULs go on as pieces of
 * their own, so what is stored, served and replayed is one text that no
 * C string cuts short.
 */
static int
llm_text(struct llm_decoder *d, const json_t *v)
{
	const char	*s, *nul;
	size_t		 n, k;

	if (!json_is_string(v))
		return LLM_GO;
	s = json_string_value(v);
	n = json_string_length(v);
	while (n > 0) {
		nul = memchr(s, '\0', n);
		k = nul != NULL ? (size_t)(nul - s) : n;
		if (k > 0) {
			llm_add(&d->text_len, k);
			if (d->cb != NULL && d->cb(s, k, d->arg) != 0) {
				d->stopped = 1;
				return LLM_STOP;
			}
		}
		if (nul == NULL)
			break;
		llm_add(&d->nuls, 1);
		s += k + 1;
		n -= k + 1;
	}
	return LLM_GO;
}

static void
llm_reasoning(struct llm_decoder *d, const json_t *v)
{
	if (json_is_string(v))
		llm_add(&d->reasoning_len, json_string_length(v));
}

/*
 * Parse an event's data as a JSON object.  Returns it (the caller
 * decrefs), or NULL after counting a bad event; *rc is then LLM_STOP when
 * there were too many in a row.
 */
static json_t *
llm_parse(struct llm_decoder *d, const struct sse_event *ev, int *rc)
{
	json_t	*root;

	*rc = LLM_GO;
	root = json_loadb(ev->data, ev->data_len, LLM_JSON_FLAGS, NULL);
	if (json_is_object(root)) {
		d->bad = 0;
		return root;
	}
	json_decref(root);
	if (++d->bad > LLM_BAD_MAX) {
		d->end = LLM_END_BAD;
		*rc = LLM_STOP;
	}
	return NULL;
}

static int
llm_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Whether v is the JSON string want (NULs inside v count). */
static int
llm_json_is(const json_t *v, const char *want)
{
	return json_is_string(v) &&
	    llm_is(json_string_value(v), json_string_length(v), want);
}

/*
 * The choice this reply is about: the first of "choices" whose index is
 * 0 or absent.  NULL for usage-only chunks ("choices" empty or null).
 */
static json_t *
llm_choice(json_t *root)
{
	json_t	*choices, *c, *idx;
	size_t	 i;

	choices = json_object_get(root, "choices");
	json_array_foreach(choices, i, c) {
		if (!json_is_object(c))
			continue;
		idx = json_object_get(c, "index");
		if (idx == NULL || (json_is_number(idx) &&
		    json_number_value(idx) == 0))
			return c;
	}
	return NULL;
}

static int
llm_openai(struct llm_decoder *d, const struct sse_event *ev)
{
	json_t	*root, *choice, *delta, *err;
	int	 rc;

	if (llm_is(ev->data, ev->data_len, "[DONE]")) {
		d->end = LLM_END_DONE;
		return LLM_STOP;
	}
	if ((root = llm_parse(d, ev, &rc)) == NULL)
		return rc;

	rc = LLM_GO;
	if ((choice = llm_choice(root)) != NULL) {
		delta = json_object_get(choice, "delta");
		llm_reasoning(d, json_object_get(delta, "reasoning"));
		llm_reasoning(d, json_object_get(delta, "reasoning_content"));
		llm_copy_json(d->finish, sizeof(d->finish),
		    json_object_get(choice, "finish_reason"));
		rc = llm_text(d, json_object_get(delta, "content"));
	}
	err = json_object_get(root, "error");
	if (rc == LLM_GO && err != NULL && !json_is_null(err))
		rc = llm_error(d, err);
	json_decref(root);
	return rc;
}

static int
llm_anthropic(struct llm_decoder *d, const struct sse_event *ev)
{
	json_t		*root, *delta, *block, *v;
	const char	*type;
	size_t		 tlen;
	int		 rc;

	if ((root = llm_parse(d, ev, &rc)) == NULL)
		return rc;

	/* The JSON "type" names the event; the SSE name is the fallback. */
	v = json_object_get(root, "type");
	if (json_is_string(v)) {
		type = json_string_value(v);
		tlen = json_string_length(v);
	} else {
		type = ev->event;
		tlen = ev->event_len;
	}

	rc = LLM_GO;
	if (llm_is(type, tlen, "content_block_delta")) {
		delta = json_object_get(root, "delta");
		v = json_object_get(delta, "type");
		if (llm_json_is(v, "text_delta"))
			rc = llm_text(d, json_object_get(delta, "text"));
		else if (llm_json_is(v, "thinking_delta"))
			llm_reasoning(d, json_object_get(delta, "thinking"));
	} else if (llm_is(type, tlen, "content_block_start")) {
		block = json_object_get(root, "content_block");
		if (llm_json_is(json_object_get(block, "type"), "text"))
			rc = llm_text(d, json_object_get(block, "text"));
	} else if (llm_is(type, tlen, "message_delta")) {
		delta = json_object_get(root, "delta");
		llm_copy_json(d->finish, sizeof(d->finish),
		    json_object_get(delta, "stop_reason"));
	} else if (llm_is(type, tlen, "message_stop")) {
		d->end = LLM_END_DONE;
		rc = LLM_STOP;
	} else if (llm_is(type, tlen, "error"))
		rc = llm_error(d, json_object_get(root, "error"));
	json_decref(root);
	return rc;
}

/*
 * An event named "error" (Groq, Anthropic) ends the stream whatever its
 * data: the message is taken from {"error":{"message":...}} when there.
 */
static int
llm_event_error(struct llm_decoder *d, const struct sse_event *ev)
{
	json_t	*root, *err;
	int	 rc;

	root = json_loadb(ev->data, ev->data_len, LLM_JSON_FLAGS, NULL);
	if ((err = json_object_get(root, "error")) == NULL)
		err = root;
	rc = llm_error(d, err);
	json_decref(root);
	return rc;
}

static int
llm_event(const struct sse_event *ev, void *arg)
{
	struct llm_decoder	*d = arg;

	if (llm_is(ev->event, ev->event_len, "error"))
		return llm_event_error(d, ev);
	if (d->proto == LLM_PROTO_ANTHROPIC)
		return llm_anthropic(d, ev);
	return llm_openai(d, ev);
}

int
llm_decode_feed(struct llm_decoder *d, const char *buf, size_t len)
{
	if (d->end != LLM_END_NONE || d->stopped)
		return -1;
	if (sse_feed(&d->sse, buf, len, llm_event, d) == -1) {
		d->end = LLM_END_BAD;
		return -1;
	}
	return d->end != LLM_END_NONE || d->stopped ? -1 : 0;
}

enum llm_end
llm_decode_finish(struct llm_decoder *d)
{
	if (d->end == LLM_END_NONE) {
		sse_end(&d->sse);
		d->end = LLM_END_TRUNCATED;
	}
	return d->end;
}
