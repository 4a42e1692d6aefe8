/*
 * gen_llm.c: a reply from a real model, streamed.
 *
 * The body arrives through llm_perform and goes through the protocol's
 * decoder; its text goes to the sink piece by piece.  The three clocks of
 * a streamed reply (time to the first token, the longest gap between
 * tokens, the whole reply) are checked on every tick, and every way the
 * call can end is worded here for the visitor (plain, no internals, never
 * the key) and for the log (what actually happened).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gen.h"
#include "llm.h"
#include "llm_request.h"
#include "log.h"
#include "util.h"

enum gl_timeout {
	GL_NO_TIMEOUT,
	GL_FIRST_TOKEN,
	GL_GAP,
	GL_TOTAL,
};

struct gl {
	const struct gen_sink	*sink;
	const struct config	*cfg;
	struct llm_decoder	 dec;
	int64_t			 start, last_token;
	int			 got_text;
	enum gen_stop		 stop;		/* the sink's reason, if it
						   stopped the reply */
	enum gl_timeout		 timeout;
};

static int
gl_text(const char *s, size_t n, void *arg)
{
	struct gl	*g = arg;

	g->got_text = 1;
	g->last_token = util_mono_ms();
	return (g->stop = g->sink->text(g->sink->arg, s, n)) != GEN_GO_ON;
}

/*
 * The body as it arrives.  Non-zero stops the transfer: the sink's reason
 * when it stopped the reply, GEN_END when the decoder saw the stream's
 * end (a terminator or an error event).
 */
static int
gl_data(void *arg, const char *p, size_t n)
{
	struct gl	*g = arg;

	if (llm_decode_feed(&g->dec, p, n) == 0)
		return GEN_GO_ON;
	return g->stop != GEN_GO_ON ? (int)g->stop : GEN_END;
}

static int
gl_tick(void *arg)
{
	struct gl	*g = arg;
	int64_t		 now = util_mono_ms();

	if (now - g->start > g->cfg->total_ms)
		g->timeout = GL_TOTAL;
	else if (!g->got_text && now - g->start > g->cfg->first_token_ms)
		g->timeout = GL_FIRST_TOKEN;
	else if (g->got_text && now - g->last_token > g->cfg->gap_ms)
		g->timeout = GL_GAP;
	if (g->timeout != GL_NO_TIMEOUT)
		return GEN_FAILED;
	return (int)(g->stop = g->sink->tick(g->sink->arg));
}

/*
 * The system prompt (malloc'd, NULL on no memory): the firm's file if
 * configured, read once by config_load, else the built-in; "{firm}"
 * filled in either.
 */
static char *
gl_system(const struct config *cfg)
{
	if (cfg->system_prompt_file[0] == '\0')
		return llm_system_prompt(cfg->firm_name);
	return llm_prompt_fill(cfg->system_prompt, cfg->system_prompt_len,
	    cfg->firm_name);
}

static void
gl_fail(struct gen_result *res, const char *visitor, const char *why)
{
	res->stop = GEN_FAILED;
	snprintf(res->error, sizeof(res->error), "%s", visitor);
	snprintf(res->why, sizeof(res->why), "%s", why);
}

/* Word an HTTP error status for the visitor. */
static const char *
gl_http_words(long status)
{
	if (status == 429)
		return "The assistant is busy right now. Please try again in "
		    "a minute.";
	if (status >= 500)
		return "The assistant is temporarily unavailable. Please try "
		    "again in a moment.";
	return "The assistant is not available right now. Please try again "
	    "later.";
}

/*
 * libcurl (and the TLS library under it, several MB once initialised) is
 * set up by the first call to a model, not at start: an installation on
 * the built-in model never loads it, and an idle process stays small.
 * This libcurl's curl_global_init is thread-safe (7.84 and later, as
 * Debian 12's); pthread_once makes it once.
 */
static pthread_once_t	gl_once = PTHREAD_ONCE_INIT;
static int		gl_curl;	/* 1 up, -1 failed */

static void
gl_curl_init(void)
{
	gl_curl = curl_global_init(CURL_GLOBAL_DEFAULT) == 0 ? 1 : -1;
	if (gl_curl == -1)
		log_warnx("curl_global_init failed");
}

void
gen_llm_done(void)
{
	if (gl_curl == 1) {
		llm_thread_done();
		curl_global_cleanup();
	}
	gl_curl = 0;
}

void
gen_llm(const struct gen_input *in, const struct gen_sink *sink,
    struct gen_result *res)
{
	const struct config	*cfg = in->cfg;
	struct llm_call		 call;
	struct llm_msg		*msgs = NULL;
	struct gl		 g;
	enum llm_fail		 fail;
	enum llm_end		 end;
	char			*system = NULL, *body = NULL, why[256];
	const char		*model;
	size_t			 i;

	memset(res, 0, sizeof(*res));
	memset(&g, 0, sizeof(g));
	g.sink = sink;
	g.cfg = cfg;
	llm_decode_init(&g.dec, llm_proto_of(cfg), gl_text, &g);

	if ((msgs = calloc(in->history->n + 1, sizeof(*msgs))) == NULL ||
	    (system = gl_system(cfg)) == NULL) {
		res->stop = GEN_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < in->history->n; i++) {
		msgs[i].assistant = in->history->roles[i];
		msgs[i].text = in->history->texts[i];
		msgs[i].len = in->history->lens[i];
	}
	model = cfg->model[0] != '\0' ? cfg->model :
	    cfg->provider == PROVIDER_ANTHROPIC ? "claude-3-5-haiku-latest" :
	    "gpt-4o-mini";
	body = llm_chat_body(llm_proto_of(cfg), model, system, msgs,
	    in->history->n, cfg->provider == PROVIDER_ANTHROPIC ? 1024 : 0,
	    1);
	if (body == NULL) {
		gl_fail(res, "The assistant is unavailable right now.",
		    "could not build the request");
		goto out;
	}

	pthread_once(&gl_once, gl_curl_init);
	if (gl_curl != 1) {
		gl_fail(res, "The assistant is unavailable right now.",
		    "libcurl could not be initialised");
		goto out;
	}
	memset(&call, 0, sizeof(call));
	call.cfg = cfg;
	call.proto = llm_proto_of(cfg);
	call.body = body;
	call.stream = 1;
	call.on_data = gl_data;
	call.end = GEN_END;
	call.tick = gl_tick;
	call.arg = &g;
	g.start = g.last_token = util_mono_ms();
	fail = llm_perform(&call);

	/* The sink stopped it: the visitor, the length, the process. */
	if (g.stop != GEN_GO_ON) {
		res->stop = g.stop;
		goto out;
	}
	switch (g.timeout) {
	case GL_FIRST_TOKEN:
		snprintf(why, sizeof(why), "no first token within %ld ms",
		    cfg->first_token_ms);
		gl_fail(res, "The assistant took too long to answer. Please "
		    "try again.", why);
		goto out;
	case GL_GAP:
		snprintf(why, sizeof(why), "no token for %ld ms mid-reply",
		    cfg->gap_ms);
		gl_fail(res, "The assistant stopped responding mid-reply. "
		    "Please try again.", why);
		goto out;
	case GL_TOTAL:
		snprintf(why, sizeof(why), "reply not done within %ld ms",
		    cfg->total_ms);
		gl_fail(res, "The reply took too long and was cut short.",
		    why);
		goto out;
	case GL_NO_TIMEOUT:
		break;
	}
	switch (fail) {
	case LLM_OK:
	case LLM_ABORTED:	/* the decoder saw the end and stopped */
		break;
	case LLM_HTTP:
		gl_fail(res, gl_http_words(call.status), call.why);
		goto out;
	case LLM_CONNECT:
		gl_fail(res, "The assistant could not be reached. Please try "
		    "again in a moment.", call.why);
		goto out;
	case LLM_BADCONF:
		gl_fail(res, "The assistant is not available right now. "
		    "Please try again later.", call.why);
		goto out;
	default:
		gl_fail(res, "The connection to the assistant was lost "
		    "mid-reply. Please try again.", call.why);
		goto out;
	}
	end = g.dec.end != LLM_END_NONE ? g.dec.end :
	    llm_decode_finish(&g.dec);
	switch (end) {
	case LLM_END_DONE:
		res->stop = GEN_END;
		break;
	case LLM_END_ERROR:
		llm_redact(g.dec.error, cfg->api_key);
		snprintf(why, sizeof(why), "provider error mid-stream: %.200s",
		    g.dec.error);
		gl_fail(res, "The assistant ran into a problem and stopped. "
		    "Please try again.", why);
		break;
	case LLM_END_TRUNCATED:
		gl_fail(res, "The connection to the assistant was lost "
		    "mid-reply. Please try again.", "stream ended without "
		    "its terminator");
		break;
	default:
		gl_fail(res, "The assistant sent a reply we could not read. "
		    "Please try again.", "unreadable stream body");
		break;
	}
out:
	llm_decode_free(&g.dec);
	free(msgs);
	free(system);
	free(body);
}
