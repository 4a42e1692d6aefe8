/*
 * test_llm_decode.c: the stream decoder against recorded provider bodies
 * and against hand-made streams for what no recording shows.
 *
 * Every *.sse file in $FIXTURES (default tests/fixtures/llm-streams, the
 * copy kept in this repository, run from the repository root) is fed whole, split in two at every byte
 * offset, and one byte at a time, and each result is compared with the
 * file's entry in expected.json: answer text, how the stream ended, the
 * error message, the finish reason, reasoning kept out of the text, and
 * the SSE event and comment counts.  Nothing expected is typed in here
 * that expected.json already says.  The NDJSON fixture (Ollama's native
 * API) is not SSE and is skipped with a note.
 *
 * Splitting at every offset decodes each file once per byte, about 20 s
 * of CPU in all, several times that under sanitizers or valgrind.
 * SPLIT_STEP=N in the environment tries every Nth offset only, for runs
 * that look for leaks rather than for split bugs.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "llm_decode.h"

/* What one run of the decoder gave. */
struct res {
	char		*text;
	size_t		 text_len, text_cap;
	enum llm_end	 end;
	char		 error[sizeof(((struct llm_decoder *)0)->error)];
	char		 finish[sizeof(((struct llm_decoder *)0)->finish)];
	size_t		 reasoning_len, dec_text_len;
	unsigned long	 events, comments;	/* decoder's SSE parser */
	unsigned long	 sse_events, sse_comments;	/* a parser of its own */
	int		 contract;	/* feed returned -1 exactly at the end */
	size_t		 stop_after;	/* stop via the callback after N calls */
	size_t		 calls;
};

/* What a run should give.  events and comments < 0: not checked. */
struct want {
	enum llm_proto	 proto;
	const char	*text;
	size_t		 text_len;
	char		*own;		/* text, when allocated here */
	enum llm_end	 end;
	const char	*error;
	const char	*finish;
	const char	*reasoning;	/* NULL: none */
	long		 events, comments;
};

enum cmp {
	CMP_TEXT,
	CMP_END,
	CMP_ERROR,
	CMP_FINISH,
	CMP_REASONING,
	CMP_EVENTS,
	CMP_COMMENTS,
	CMP_DECODER_SSE,
	CMP_CONTRACT,
	CMP__MAX
};

static const char *const cmp_names[CMP__MAX] = {
	"text", "end", "error message", "finish reason",
	"reasoning kept out", "SSE events", "SSE comments",
	"decoder's SSE counts", "feed return values",
};

static const char *const end_names[LLM_END__MAX] = {
	"NONE", "DONE", "ERROR", "TRUNCATED", "BAD",
};

static const char *const mode_names[] = { "whole", "split", "bytewise" };

static size_t	 split_step = 1;

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		perror("realloc");
		abort();
	}
	return p;
}

static int
on_text(const char *s, size_t n, void *arg)
{
	struct res	*r = arg;

	if (n > SIZE_MAX / 2 - r->text_len)
		abort();
	if (r->text_len + n + 1 > r->text_cap) {
		r->text_cap = 2 * (r->text_len + n + 1);
		r->text = xrealloc(r->text, r->text_cap);
	}
	memcpy(r->text + r->text_len, s, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
	r->calls++;
	return r->stop_after > 0 && r->calls >= r->stop_after;
}

static int
on_event(const struct sse_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	return 0;
}

/*
 * Decode in[0..len) in chunks starting at cuts[0..ncut) (ascending), and
 * count its SSE events with a parser of our own over the same chunks.
 * r->stop_after is kept; the rest of *r is filled in.  Free r->text.
 */
static void
decode(enum llm_proto proto, const char *in, size_t len,
    const size_t *cuts, size_t ncut, struct res *r)
{
	struct llm_decoder	 d;
	struct sse_parser	 p;
	size_t			 i, from = 0, to, stop_after = r->stop_after;
	int			 rc, over = 0;

	memset(r, 0, sizeof(*r));
	r->stop_after = stop_after;
	r->contract = 1;
	llm_decode_init(&d, proto, on_text, r);
	sse_init(&p);
	for (i = 0; i <= ncut; i++) {
		to = i < ncut ? cuts[i] : len;
		rc = llm_decode_feed(&d, in + from, to - from);
		if (over && rc != -1)
			r->contract = 0;
		if (rc != (d.end != LLM_END_NONE || d.stopped ? -1 : 0))
			r->contract = 0;
		if (rc == -1)
			over = 1;
		if (sse_feed(&p, in + from, to - from, on_event, NULL) != 0)
			r->contract = 0;
		from = to;
	}
	r->end = llm_decode_finish(&d);
	if (d.end == LLM_END_NONE)
		r->contract = 0;
	memcpy(r->error, d.error, sizeof(r->error));
	memcpy(r->finish, d.finish, sizeof(r->finish));
	r->reasoning_len = d.reasoning_len;
	r->dec_text_len = d.text_len;
	r->events = d.sse.events;
	r->comments = d.sse.comments;
	r->sse_events = p.events;
	r->sse_comments = p.comments;
	llm_decode_free(&d);
	sse_free(&p);
	if (r->text == NULL)
		r->text = xrealloc(NULL, 1);
	r->text[r->text_len] = '\0';
}

static int
has(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t	 i;

	for (i = 0; nlen <= hlen && i <= hlen - nlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return 1;
	return 0;
}

/* Which comparisons failed, as a bit mask of enum cmp. */
static unsigned int
compare(const struct res *r, const struct want *w)
{
	unsigned int	 bad = 0;
	size_t		 rlen = w->reasoning ? strlen(w->reasoning) : 0;

	if (r->text_len != w->text_len ||
	    memcmp(r->text, w->text, w->text_len) != 0 ||
	    r->dec_text_len != r->text_len)
		bad |= 1u << CMP_TEXT;
	if (r->end != w->end)
		bad |= 1u << CMP_END;
	if (strcmp(r->error, w->error) != 0)
		bad |= 1u << CMP_ERROR;
	if (strcmp(r->finish, w->finish) != 0)
		bad |= 1u << CMP_FINISH;
	if (r->reasoning_len != rlen ||
	    (rlen > 0 && has(r->text, r->text_len, w->reasoning, rlen)))
		bad |= 1u << CMP_REASONING;
	if (w->events >= 0 && r->sse_events != (unsigned long)w->events)
		bad |= 1u << CMP_EVENTS;
	if (w->comments >= 0 && r->sse_comments != (unsigned long)w->comments)
		bad |= 1u << CMP_COMMENTS;
	/*
	 * The decoder stops reading at the end.  In the recordings the
	 * terminator is the last event, so a DONE decoder has read them all.
	 */
	if (r->events > r->sse_events || r->comments > r->sse_comments ||
	    (w->events >= 0 && r->end == LLM_END_DONE &&
	    r->events != (unsigned long)w->events))
		bad |= 1u << CMP_DECODER_SSE;
	if (!r->contract)
		bad |= 1u << CMP_CONTRACT;
	return bad;
}

static void
describe(const struct res *r, const struct want *w)
{
	fprintf(stderr, "\tgot end %s error \"%s\" finish \"%s\" "
	    "reasoning %zu events %lu/%lu comments %lu/%lu contract %d\n"
	    "\twant end %s error \"%s\" finish \"%s\" reasoning %zu "
	    "events %ld comments %ld\n"
	    "\tgot text (%zu) \"%.200s\"\n\twant text (%zu) \"%.200s\"\n",
	    end_names[r->end], r->error, r->finish, r->reasoning_len,
	    r->events, r->sse_events, r->comments, r->sse_comments,
	    r->contract, end_names[w->end], w->error, w->finish,
	    w->reasoning ? strlen(w->reasoning) : 0, w->events, w->comments,
	    r->text_len, r->text, w->text_len, w->text);
}

/*
 * Run in every mode.  bad[mode] gets the failed comparisons, at[c] the
 * first split offset where comparison c failed.
 */
static void
run_modes(const struct want *w, const char *in, size_t len,
    unsigned int bad[3], size_t at[CMP__MAX], int verbose)
{
	struct res	 r;
	size_t		 k, *cuts;
	unsigned int	 m, c;

	memset(bad, 0, 3 * sizeof(bad[0]));
	memset(at, 0, CMP__MAX * sizeof(at[0]));
	r.stop_after = 0;
	decode(w->proto, in, len, NULL, 0, &r);
	if ((bad[0] = compare(&r, w)) != 0 && verbose)
		describe(&r, w);
	free(r.text);

	for (k = 0; k <= len; k += split_step) {
		decode(w->proto, in, len, &k, 1, &r);
		m = compare(&r, w);
		for (c = 0; c < CMP__MAX; c++)
			if ((m & ~bad[1]) & (1u << c))
				at[c] = k;
		if ((m & ~bad[1]) != 0 && verbose) {
			fprintf(stderr, "\tsplit at %zu:\n", k);
			describe(&r, w);
		}
		bad[1] |= m;
		free(r.text);
	}

	cuts = xrealloc(NULL, (len + 1) * sizeof(*cuts));
	for (k = 0; k < len; k++)
		cuts[k] = k;
	decode(w->proto, in, len, cuts, len, &r);
	if ((bad[2] = compare(&r, w)) != 0 && verbose)
		describe(&r, w);
	free(r.text);
	free(cuts);
}

/* Append a JSON string's bytes to w->text. */
static void
want_text(struct want *w, const json_t *s)
{
	size_t	 n = json_string_length(s);

	if (!json_is_string(s))
		return;
	w->own = xrealloc(w->own, w->text_len + n + 1);
	memcpy(w->own + w->text_len, json_string_value(s), n);
	w->text_len += n;
	w->own[w->text_len] = '\0';
	w->text = w->own;
}

/*
 * Turn a fixture's entry in expected.json into what the decoder should
 * give.  Returns -1 for a protocol that is not SSE.  Free w->own.
 */
static int
want_load(struct want *w, const json_t *e)
{
	const char	*proto, *type;
	json_t		*c0, *v, *errs, *err;
	size_t		 i, n;

	memset(w, 0, sizeof(*w));
	proto = json_string_value(json_object_get(e, "protocol"));
	if (proto == NULL)
		return -1;
	w->text = "";
	w->finish = "";
	w->error = "";
	w->events = (long)json_integer_value(json_object_get(e,
	    "sse_events"));
	w->comments = (long)json_integer_value(json_object_get(e,
	    "comment_lines"));

	if (strcmp(proto, "openai-chat-completions-sse") == 0) {
		w->proto = LLM_PROTO_OPENAI;
		c0 = json_object_get(json_object_get(e, "choices"), "0");
		want_text(w, json_object_get(c0, "content"));
		w->reasoning = json_string_value(json_object_get(c0,
		    "reasoning"));
		v = json_object_get(c0, "finish_reasons");
		if ((n = json_array_size(v)) > 0)
			w->finish = json_string_value(json_array_get(v, n - 1));
		w->end = json_is_true(json_object_get(e, "done_marker")) ?
		    LLM_END_DONE : LLM_END_TRUNCATED;
	} else if (strcmp(proto, "anthropic-messages-sse") == 0) {
		w->proto = LLM_PROTO_ANTHROPIC;
		json_array_foreach(json_object_get(e, "content"), i, v) {
			type = json_string_value(json_object_get(v, "type"));
			if (type != NULL && strcmp(type, "text") == 0)
				want_text(w, json_object_get(v, "text"));
		}
		if ((w->finish = json_string_value(json_object_get(e,
		    "stop_reason"))) == NULL)
			w->finish = "";
		v = json_object_get(json_object_get(e, "sse_event_names"),
		    "message_stop");
		w->end = json_integer_value(v) > 0 ?
		    LLM_END_DONE : LLM_END_TRUNCATED;
	} else
		return -1;

	errs = json_object_get(e, "errors");
	if (json_array_size(errs) > 0) {
		w->end = LLM_END_ERROR;
		err = json_object_get(json_array_get(errs, 0), "error");
		if ((w->error = json_string_value(json_object_get(err,
		    "message"))) == NULL)
			w->error = "";
	}
	if (w->finish == NULL)
		w->finish = "";
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*b = NULL;
	size_t	 cap = 0, n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - *len < 4096) {
			cap = cap ? 2 * cap : 65536;
			b = xrealloc(b, cap);
		}
		if ((n = fread(b + *len, 1, cap - *len, f)) == 0)
			break;
		*len += n;
	}
	if (ferror(f)) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_with(const char *s, const char *suf)
{
	size_t	 n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static void
test_fixture(const char *dir, const char *name, const json_t *expected)
{
	struct want	 w;
	char		 path[4096], *in;
	size_t		 len, at[CMP__MAX];
	unsigned int	 bad[3], m, c;
	json_t		*e;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		abort();
	in = slurp(path, &len);
	CHECK(in != NULL, "%s: cannot read", path);
	e = json_object_get(expected, name);
	CHECK(e != NULL, "%s: no entry in expected.json", name);
	if (in == NULL || e == NULL)
		goto out;
	if (want_load(&w, e) == -1) {
		CHECK(0, "%s: protocol is not SSE", name);
		goto out;
	}
	CHECK(w.events > 0, "%s: no sse_events in expected.json", name);

	run_modes(&w, in, len, bad, at, 0);
	for (m = 0; m < 3; m++)
		for (c = 0; c < CMP__MAX; c++) {
			if (m == 1)
				CHECK(!(bad[m] & (1u << c)),
				    "%s, %s: %s differs, first at offset %zu",
				    name, mode_names[m], cmp_names[c], at[c]);
			else
				CHECK(!(bad[m] & (1u << c)), "%s, %s: %s "
				    "differs", name, mode_names[m],
				    cmp_names[c]);
		}
	if (bad[0] | bad[1] | bad[2])
		run_modes(&w, in, len, bad, at, 1);
	free(w.own);
out:
	free(in);
}

static void
test_fixtures(void)
{
	const char	*dir;
	char		 path[4096], **names = NULL;
	size_t		 n = 0, i;
	json_t		*expected;
	json_error_t	 jerr;
	DIR		*dp;
	struct dirent	*de;

	if ((dir = getenv("FIXTURES")) == NULL)
		dir = "tests/fixtures/llm-streams";
	if (snprintf(path, sizeof(path), "%s/expected.json", dir) >=
	    (int)sizeof(path))
		abort();
	expected = json_load_file(path, 0, &jerr);
	CHECK(expected != NULL, "%s: %s", path, jerr.text);
	dp = opendir(dir);
	CHECK(dp != NULL, "%s: cannot open", dir);
	if (expected == NULL || dp == NULL)
		goto out;

	while ((de = readdir(dp)) != NULL) {
		if (ends_with(de->d_name, ".sse")) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			if ((names[n++] = strdup(de->d_name)) == NULL)
				abort();
		} else if (ends_with(de->d_name, ".ndjson"))
			printf("note: %s skipped: NDJSON, not SSE\n",
			    de->d_name);
	}
	CHECK(n > 0, "%s: no .sse fixtures", dir);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		test_fixture(dir, names[i], expected);
		free(names[i]);
	}
out:
	free(names);
	if (dp != NULL)
		closedir(dp);
	json_decref(expected);
}

/* Hand-made streams, for what the recordings do not show. */
static const struct srow {
	enum llm_proto	 proto;
	const char	*in;
	const char	*text;
	enum llm_end	 end;
	const char	*error;
	const char	*finish;
	const char	*reasoning;
	int		 line;
} srows[] = {
	/* Anthropic overloaded after some text: the text stays. */
	{ LLM_PROTO_ANTHROPIC,
	  "event: message_start\n"
	  "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
	  "event: content_block_start\n"
	  "data: {\"type\":\"content_block_start\",\"index\":0,"
	  "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,"
	  "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	  "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,"
	  "\"delta\":{\"type\":\"text_delta\",\"text\":\", world\"}}\n\n"
	  "event: error\n"
	  "data: {\"type\":\"error\",\"error\":{\"details\":null,"
	  "\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},"
	  "\"request_id\":\"req_011\"}\n\n",
	  "Hello, world", LLM_END_ERROR, "Overloaded", "", NULL, __LINE__ },
	/* The same error with no event: name. */
	{ LLM_PROTO_ANTHROPIC,
	  "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	  "\"message\":\"Overloaded\"}}\n\n",
	  "", LLM_END_ERROR, "Overloaded", "", NULL, __LINE__ },
	/* Anthropic body cut before message_stop. */
	{ LLM_PROTO_ANTHROPIC,
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,"
	  "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
	  "event: message_delta\n"
	  "data: {\"type\":\"message_delta\",\"delta\":"
	  "{\"stop_reason\":\"max_tokens\"}}\n\n"
	  "event: message_stop\n"
	  "data: {\"type\":\"message_st",
	  "Hi", LLM_END_TRUNCATED, "", "max_tokens", NULL, __LINE__ },
	/* Thinking, signatures and tool input are not text. */
	{ LLM_PROTO_ANTHROPIC,
	  "event: content_block_start\n"
	  "data: {\"type\":\"content_block_start\",\"index\":0,"
	  "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	  "{\"type\":\"thinking_delta\",\"thinking\":\"secret plan\"}}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	  "{\"type\":\"signature_delta\",\"signature\":\"EqQBCg==\"}}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
	  "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}"
	  "\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
	  "{\"type\":\"text_delta\",\"text\":\"Answer.\"}}\n\n"
	  "event: brand_new_event\ndata: {\"type\":\"brand_new_event\"}\n\n"
	  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	  "Answer.", LLM_END_DONE, "", "", "secret plan", __LINE__ },
	/* OpenAI body cut before [DONE]. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}"
	  "\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},"
	  "\"finish_reason\":\"stop\"}]}\n\n"
	  "data: [DO",
	  "Hello", LLM_END_TRUNCATED, "", "stop", NULL, __LINE__ },
	/* Garbage between chunks is skipped. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}"
	  "\n\n"
	  "data: garbage\n\n"
	  "data: {not json\n\n"
	  "data: 42\n\n"
	  "data: [\"array\"]\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}"
	  "\n\n"
	  ": comment\n\n"
	  "event: weird\ndata: <html>\n\n"
	  "<html><body>502</body></html>\n\n"
	  "data:\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c\"}}]}"
	  "\n\n"
	  "data: [DONE]\n\n",
	  "abc", LLM_END_DONE, "", "", NULL, __LINE__ },
	/* Empty, null and odd deltas; usage-only chunks; other choices. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[]}\n\n"
	  "data: {\"choices\":null,\"usage\":{\"total_tokens\":3}}\n\n"
	  "data: {\"choices\":\"x\"}\n\n"
	  "data: {\"choices\":[null,7]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n"
	  "data: {\"choices\":[{\"index\":0}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":null}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}"
	  "\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}"
	  "\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":7}}]}\n\n"
	  "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"no\"}},"
	  "{\"index\":0,\"delta\":{\"content\":\"yes\"}}]}\n\n"
	  "data: {\"choices\":[{\"delta\":{\"content\":\" sir\"},"
	  "\"finish_reason\":\"length\"}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{},"
	  "\"finish_reason\":null}],\"error\":null}\n\n"
	  "data: [DONE]\n\n",
	  "yes sir", LLM_END_DONE, "", "length", NULL, __LINE__ },
	/* reasoning_content (DeepSeek, llama.cpp) is counted, not text. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":"
	  "{\"reasoning_content\":\"hidden\",\"content\":null}}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":"
	  "{\"reasoning_content\":\" thought\",\"content\":\"Shown\"}}]}\n\n"
	  "data:[DONE]\n\n",
	  "Shown", LLM_END_DONE, "", "", "hidden thought", __LINE__ },
	/* Multi-byte UTF-8, raw and escaped. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	  "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\ud83d\\ude00\"}}]}\n\n"
	  "data: [DONE]\r\n\r\n",
	  "caf\xc3\xa9 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80", LLM_END_DONE,
	  "", "", NULL, __LINE__ },
	/* An in-chunk error without choices (api.openai.com style). */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}"
	  "\n\n"
	  "data: {\"error\":{\"message\":\"The server had an error while "
	  "processing your request.\",\"type\":\"server_error\","
	  "\"param\":null,\"code\":null}}\n\n"
	  "data: [DONE]\n\n",
	  "x", LLM_END_ERROR,
	  "The server had an error while processing your request.", "", NULL,
	  __LINE__ },
	/* A bare string error; control characters become spaces. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"error\":\"rate\\nlimited\\t\\u0000now\"}\n\n",
	  "", LLM_END_ERROR, "rate limited  now", "", NULL, __LINE__ },
	/* An error object without a message keeps no message. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"error\":{\"code\":500,\"message\":{\"x\":1}}}\n\n",
	  "", LLM_END_ERROR, "", "", NULL, __LINE__ },
	/* An error event whose data is not JSON still ends the stream. */
	{ LLM_PROTO_OPENAI,
	  "event: error\ndata: upstream went away\n\n",
	  "", LLM_END_ERROR, "", "", NULL, __LINE__ },
	{ LLM_PROTO_OPENAI,
	  "event: error\ndata: {\"message\":\"flat\"}\n\n",
	  "", LLM_END_ERROR, "flat", "", NULL, __LINE__ },
	/* Nothing after the end is read. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}"
	  "\n\n"
	  "data: [DONE]\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}"
	  "\n\n"
	  "event: error\ndata: {\"error\":{\"message\":\"late\"}}\n\n",
	  "a", LLM_END_DONE, "", "", NULL, __LINE__ },
	{ LLM_PROTO_ANTHROPIC,
	  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	  "event: error\ndata: {\"type\":\"error\",\"error\":"
	  "{\"message\":\"late\"}}\n\n",
	  "", LLM_END_DONE, "", "", NULL, __LINE__ },
	/* A NUL in the answer (\u0000) is dropped, wherever it is. */
	{ LLM_PROTO_OPENAI,
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	  "\"Hello\\u0000World\"}}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	  "\"\\u0000\"}}]}\n\n"
	  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	  "\"\\u0000!\\u0000\"}}]}\n\n"
	  "data: [DONE]\n\n",
	  "HelloWorld!", LLM_END_DONE, "", "", NULL, __LINE__ },
	{ LLM_PROTO_ANTHROPIC,
	  "event: content_block_start\n"
	  "data: {\"type\":\"content_block_start\",\"index\":0,"
	  "\"content_block\":{\"type\":\"text\",\"text\":\"\\u0000a\"}}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,"
	  "\"delta\":{\"type\":\"text_delta\",\"text\":\"b\\u0000c\"}}\n\n"
	  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	  "abc", LLM_END_DONE, "", "", NULL, __LINE__ },
	/* An empty body. */
	{ LLM_PROTO_OPENAI, "", "", LLM_END_TRUNCATED, "", "", NULL,
	  __LINE__ },
};

/* The first comparison in mask, for messages (any one if mask is 0). */
static unsigned int
first_bad(unsigned int mask)
{
	unsigned int	 c;

	for (c = 0; c < CMP__MAX - 1; c++)
		if (mask & (1u << c))
			break;
	return c;
}

static void
test_synthetic(void)
{
	const struct srow	*s;
	struct want		 w;
	size_t			 i, at[CMP__MAX];
	unsigned int		 bad[3], c;

	for (i = 0; i < sizeof(srows) / sizeof(srows[0]); i++) {
		s = &srows[i];
		memset(&w, 0, sizeof(w));
		w.proto = s->proto;
		w.text = s->text;
		w.text_len = strlen(s->text);
		w.end = s->end;
		w.error = s->error;
		w.finish = s->finish;
		w.reasoning = s->reasoning;
		w.events = w.comments = -1;
		run_modes(&w, s->in, strlen(s->in), bad, at, 0);
		c = first_bad(bad[1]);
		CHECK_AT(s->line, bad[0] == 0, "whole: %s differs",
		    cmp_names[first_bad(bad[0])]);
		CHECK_AT(s->line, bad[1] == 0, "split: %s differs, first at "
		    "offset %zu", cmp_names[c], at[c]);
		CHECK_AT(s->line, bad[2] == 0, "bytewise: %s differs",
		    cmp_names[first_bad(bad[2])]);
		if (bad[0] | bad[1] | bad[2])
			run_modes(&w, s->in, strlen(s->in), bad, at, 1);
	}
}

/* A buffer that grows, for generated streams. */
struct buf {
	char	*b;
	size_t	 len;
};

static void
buf_add(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);

	b->b = xrealloc(b->b, b->len + n + 1);
	memcpy(b->b + b->len, s, n + 1);
	b->len += n;
}

static const char chunk_ok[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n";

/* n garbage events, a good chunk, m garbage events, then [DONE]. */
static enum llm_end
garbage(size_t n, size_t m, size_t *text_len)
{
	struct buf	 b = { NULL, 0 };
	struct res	 r;
	size_t		 i;

	buf_add(&b, chunk_ok);
	for (i = 0; i < n; i++)
		buf_add(&b, "data: <not json>\n\n");
	buf_add(&b, chunk_ok);
	for (i = 0; i < m; i++)
		buf_add(&b, "data: {\"unterminated\n\n");
	buf_add(&b, "data: [DONE]\n\n");
	r.stop_after = 0;
	decode(LLM_PROTO_OPENAI, b.b, b.len, NULL, 0, &r);
	*text_len = r.text_len;
	free(r.text);
	free(b.b);
	return r.end;
}

static void
test_garbage_cap(void)
{
	enum llm_end	 end;
	size_t		 tl;

	end = garbage(LLM_BAD_MAX, LLM_BAD_MAX, &tl);
	CHECK(end == LLM_END_DONE && tl == 4,
	    "%d bad events in a row ended the stream: %s, text %zu",
	    LLM_BAD_MAX, end_names[end], tl);
	end = garbage(LLM_BAD_MAX + 1, 0, &tl);
	CHECK(end == LLM_END_BAD && tl == 2,
	    "%d bad events in a row: %s, text %zu", LLM_BAD_MAX + 1,
	    end_names[end], tl);
	end = garbage(0, LLM_BAD_MAX + 1, &tl);
	CHECK(end == LLM_END_BAD && tl == 4,
	    "%d bad events at the end: %s", LLM_BAD_MAX + 1, end_names[end]);
}

/* The stored message is capped and never ends inside a UTF-8 sequence. */
static void
test_error_cap(void)
{
	struct buf	 b = { NULL, 0 };
	struct res	 r;
	char		 msg[400];
	size_t		 cap = sizeof(r.error) - 1;

	memset(msg, 'a', cap - 1);
	memcpy(msg + cap - 1, "\xc3\xa9", 2);		/* straddles the cap */
	memset(msg + cap + 1, 'b', 100);
	msg[cap + 101] = '\0';
	buf_add(&b, "event: error\ndata: {\"error\":{\"message\":\"");
	buf_add(&b, msg);
	buf_add(&b, "\",\"type\":\"t\",\"code\":\"c\"}}\n\n");
	r.stop_after = 0;
	decode(LLM_PROTO_OPENAI, b.b, b.len, NULL, 0, &r);
	CHECK(r.end == LLM_END_ERROR && strlen(r.error) == cap - 1 &&
	    memcmp(r.error, msg, cap - 1) == 0,
	    "long message: %zu bytes \"%s\"", strlen(r.error), r.error);
	free(r.text);

	msg[cap - 1] = 'a';
	msg[cap] = 'a';
	free(b.b);
	b.b = NULL;
	b.len = 0;
	buf_add(&b, "data: {\"type\":\"error\",\"error\":{\"message\":\"");
	buf_add(&b, msg);
	buf_add(&b, "\"}}\n\n");
	decode(LLM_PROTO_ANTHROPIC, b.b, b.len, NULL, 0, &r);
	CHECK(r.end == LLM_END_ERROR && strlen(r.error) == cap &&
	    memcmp(r.error, msg, cap) == 0,
	    "long ASCII message: %zu bytes", strlen(r.error));
	free(r.text);
	free(b.b);
}

/* A line over the SSE parser's limit makes the body bad. */
static void
test_sse_limit(void)
{
	struct res	 r;
	char		*b;
	size_t		 n = SSE_LINE_MAX + 16;

	b = xrealloc(NULL, n);
	memset(b, 'x', n);
	memcpy(b, "data: ", 6);
	r.stop_after = 0;
	decode(LLM_PROTO_OPENAI, b, n, NULL, 0, &r);
	CHECK(r.end == LLM_END_BAD, "over SSE_LINE_MAX: %s",
	    end_names[r.end]);
	free(r.text);
	free(b);
}

/* A callback that stops: nothing more is passed on or read. */
static void
test_cb_stop(void)
{
	struct llm_decoder	 d;
	struct res		 r;
	static const char	 in[] =
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}"
	    "\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}"
	    "\n\n";
	int			 rc1, rc2;

	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	llm_decode_init(&d, LLM_PROTO_OPENAI, on_text, &r);
	rc1 = llm_decode_feed(&d, in, sizeof(in) - 1);
	rc2 = llm_decode_feed(&d, in, sizeof(in) - 1);
	CHECK(rc1 == -1 && rc2 == -1 && d.stopped, "stop: rc %d %d", rc1,
	    rc2);
	CHECK(r.text_len == 1 && r.text[0] == 'a' && d.text_len == 1,
	    "text after a stop: %zu bytes", r.text_len);
	CHECK(llm_decode_finish(&d) == LLM_END_TRUNCATED,
	    "a stopped stream is not complete");
	llm_decode_free(&d);
	free(r.text);
}

/*
 * A NUL inside the text is dropped, counted, and never passed on: the
 * pieces around it go on as pieces of their own, and a stop asked for
 * by the first piece stops before the second.
 */
static void
test_nul_text(void)
{
	struct llm_decoder	 d;
	struct res		 r;
	static const char	 in[] =
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	    "\"\\u0000a\\u0000\\u0000b\\u0000\"}}]}\n\ndata: [DONE]\n\n";

	memset(&r, 0, sizeof(r));
	llm_decode_init(&d, LLM_PROTO_OPENAI, on_text, &r);
	(void)llm_decode_feed(&d, in, sizeof(in) - 1);
	CHECK(llm_decode_finish(&d) == LLM_END_DONE, "NUL in text: not done");
	CHECK(r.text_len == 2 && memcmp(r.text, "ab", 2) == 0 &&
	    d.text_len == 2, "NUL in text: %zu bytes passed on, %zu counted",
	    r.text_len, d.text_len);
	CHECK(memchr(r.text, '\0', r.text_len) == NULL, "a NUL passed on");
	CHECK(r.calls == 2, "NUL in text: %zu pieces, want 2", r.calls);
	CHECK(d.nuls == 4, "NULs counted: %zu, want 4", d.nuls);
	llm_decode_free(&d);
	free(r.text);

	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	llm_decode_init(&d, LLM_PROTO_OPENAI, on_text, &r);
	CHECK(llm_decode_feed(&d, in, sizeof(in) - 1) == -1 && d.stopped &&
	    r.text_len == 1 && r.text[0] == 'a' && d.text_len == 1,
	    "a stop at the first piece: %zu bytes", r.text_len);
	llm_decode_free(&d);
	free(r.text);
}

/* No callback at all: only counted. */
static void
test_no_cb(void)
{
	struct llm_decoder	 d;

	llm_decode_init(&d, LLM_PROTO_OPENAI, NULL, NULL);
	(void)llm_decode_feed(&d, chunk_ok, sizeof(chunk_ok) - 1);
	CHECK(d.text_len == 2 && llm_decode_finish(&d) == LLM_END_TRUNCATED,
	    "no callback: %zu", d.text_len);
	llm_decode_free(&d);
}

int
main(void)
{
	const char	*step;
	char		*end;
	unsigned long	 n;

	if ((step = getenv("SPLIT_STEP")) != NULL) {
		n = strtoul(step, &end, 10);
		if (*step == '\0' || *end != '\0' || n == 0 || n > 1000000) {
			fprintf(stderr, "SPLIT_STEP: want 1 to 1000000\n");
			return 1;
		}
		split_step = n;
		printf("note: SPLIT_STEP=%zu: not every split offset is tried\n",
		    split_step);
	}
	test_fixtures();
	test_synthetic();
	test_garbage_cap();
	test_error_cap();
	test_sse_limit();
	test_cb_stop();
	test_nul_text();
	test_no_cb();
	return check_done("llm_decode");
}
