/*
 * llm.c: the libcurl transport to a model provider.
 *
 * curl_multi_poll with a short timeout gives the caller a tick between
 * reads; a tick is where a turn notices a visitor's Stop within a second
 * and where time-to-first-token and gap timeouts are enforced.  Errors
 * are classified here once, so both programs log and word them alike.
 *
 * Each thread keeps one multi handle across its calls, and with it one
 * idle connection to the provider (CURLMOPT_MAXCONNECTS 1): the next
 * turn the thread serves reuses it rather than connect again (a TCP and a
 * TLS handshake, one or two round trips to the provider, before the first
 * token).  libcurl does not support one connection cache shared by
 * threads, so the cache is the thread's; it is closed when the thread
 * leaves (llm_thread_done, or the key's destructor).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm.h"
#include "llm_request.h"
#include "log.h"
#include "util.h"

struct llm_io {
	struct llm_call	*call;
	CURL		*easy;
	char		 errbody[4096];	/* the body of an error status */
	size_t		 errlen;
	int		 ended;		/* on_data saw the body's end */
	int64_t		 ended_at;
};

enum llm_proto
llm_proto_of(const struct config *cfg)
{
	return cfg->provider == PROVIDER_ANTHROPIC ? LLM_PROTO_ANTHROPIC :
	    LLM_PROTO_OPENAI;
}

void
llm_redact(char *s, const char *key)
{
	size_t	 klen;
	char	*p;

	if (key == NULL || (klen = strlen(key)) == 0)
		return;
	while ((p = strstr(s, key)) != NULL)
		memset(p, '*', klen);
}

static size_t
llm_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct llm_io	*io = arg;
	size_t		 n = size * nmemb, room;
	long		 status = 0;

	curl_easy_getinfo(io->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		room = sizeof(io->errbody) - 1 - io->errlen;
		if (n < room)
			room = n;
		memcpy(io->errbody + io->errlen, p, room);
		io->errlen += room;
		io->errbody[io->errlen] = '\0';
		return n;
	}
	if (io->ended)
		return n;	/* after the end: dropped */
	if ((io->call->stop = io->call->on_data(io->call->arg, p, n)) == 0)
		return n;
	if (io->call->end != 0 && io->call->stop == io->call->end) {
		/* Read on to the transfer's own end: the connection stays
		   whole and can be kept. */
		io->ended = 1;
		io->ended_at = util_mono_ms();
		return n;
	}
	return 0;	/* aborts the transfer */
}

static size_t
llm_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct llm_io	*io = arg;
	size_t		 n = size * nmemb;
	char		 line[64];

	if (n > 12 && n < sizeof(line) && strncasecmp(p, "retry-after:", 12)
	    == 0) {
		memcpy(line, p + 12, n - 12);
		line[n - 12] = '\0';
		io->call->retry_after = strtol(line, NULL, 10);
	}
	return n;
}

/* The provider's error message from an error body, one line, short. */
static void
llm_errmsg(const char *body, char *out, size_t outsz)
{
	json_t		*root, *err, *msg = NULL;
	const char	*s;
	size_t		 i;

	out[0] = '\0';
	if ((root = json_loads(body, 0, NULL)) == NULL)
		return;
	err = json_object_get(root, "error");
	if (json_is_object(err))
		msg = json_object_get(err, "message");
	else if (json_is_string(err))
		msg = err;
	if (json_is_string(msg)) {
		s = json_string_value(msg);
		snprintf(out, outsz, "%s", s);
		for (i = 0; out[i] != '\0'; i++)
			if ((unsigned char)out[i] < 0x20)
				out[i] = ' ';
	}
	json_decref(root);
}

/*
 * Set every option of the call.  Returns NULL, or the name of the first
 * option libcurl refused (*res says why), and then the call must not be
 * made: it would not be the call we asked for.  A libcurl older than
 * 7.85 refuses CURLOPT_PROTOCOLS_STR, and the transfer would then follow
 * any scheme it knows (file://, ftp://, …); one that refuses CURLOPT_PROXY
 * would take a proxy from the environment (HTTPoxy); one that refuses
 * CURLOPT_NOSIGNAL would raise SIGALRM in a threaded program.
 */
static const char *
llm_options(struct llm_io *io, const char *url, struct curl_slist *hdrs,
    CURLcode *res)
{
	const struct config	*cfg = io->call->cfg;
	CURL			*easy = io->easy;

#define LLM_SET(opt, val) \
	if ((*res = curl_easy_setopt(easy, opt, val)) != CURLE_OK) \
		return #opt
	LLM_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	LLM_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	LLM_SET(CURLOPT_PROXY, cfg->proxy);	/* "": none, not even $*_proxy */
	LLM_SET(CURLOPT_NOSIGNAL, 1L);
	LLM_SET(CURLOPT_URL, url);
	LLM_SET(CURLOPT_HTTPHEADER, hdrs);
	LLM_SET(CURLOPT_POSTFIELDS, io->call->body);
	LLM_SET(CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	if (io->call->total_ms > 0)
		LLM_SET(CURLOPT_TIMEOUT_MS, io->call->total_ms);
	LLM_SET(CURLOPT_WRITEFUNCTION, llm_write);
	LLM_SET(CURLOPT_WRITEDATA, io);
	LLM_SET(CURLOPT_HEADERFUNCTION, llm_header);
	LLM_SET(CURLOPT_HEADERDATA, io);
	LLM_SET(CURLOPT_USERAGENT, "intake/1");
	LLM_SET(CURLOPT_ACCEPT_ENCODING, "");
#undef LLM_SET
	return NULL;
}

/*
 * The request's headers: JSON, then accept, version and auth when not
 * NULL.  NULL when any could not be added (nothing is leaked: a failed
 * curl_slist_append leaves the list as it was).
 */
static struct curl_slist *
llm_headers(const char *accept, const char *version, const char *auth)
{
	const char		*lines[4];
	struct curl_slist	*hdrs = NULL, *n;
	size_t			 i, k = 0;

	lines[k++] = "Content-Type: application/json";
	lines[k++] = accept;
	if (version != NULL)
		lines[k++] = version;
	if (auth != NULL)
		lines[k++] = auth;
	for (i = 0; i < k; i++) {
		if ((n = curl_slist_append(hdrs, lines[i])) == NULL) {
			curl_slist_free_all(hdrs);
			return NULL;
		}
		hdrs = n;
	}
	return hdrs;
}

static pthread_key_t	llm_key;
static pthread_once_t	llm_once = PTHREAD_ONCE_INIT;
static int		llm_key_ok;

static void
llm_multi_free(void *multi)
{
	curl_multi_cleanup(multi);
}

static void
llm_key_make(void)
{
	llm_key_ok = pthread_key_create(&llm_key, llm_multi_free) == 0;
}

/* The calling thread's multi handle, made on first use; NULL on error. */
static CURLM *
llm_multi(void)
{
	CURLM	*multi;

	pthread_once(&llm_once, llm_key_make);
	if (!llm_key_ok)
		return NULL;
	if ((multi = pthread_getspecific(llm_key)) != NULL)
		return multi;
	if ((multi = curl_multi_init()) == NULL)
		return NULL;
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 1L);
	if (pthread_setspecific(llm_key, multi) != 0) {
		curl_multi_cleanup(multi);
		return NULL;
	}
	return multi;
}

void
llm_thread_done(void)
{
	CURLM	*multi;

	if (!llm_key_ok || (multi = pthread_getspecific(llm_key)) == NULL)
		return;
	pthread_setspecific(llm_key, NULL);
	curl_multi_cleanup(multi);
}

enum llm_fail
llm_perform(struct llm_call *c)
{
	const struct config	*cfg = c->cfg;
	struct llm_io		 io;
	struct curl_slist	*hdrs = NULL;
	CURLM			*multi = NULL;
	CURLMsg			*msg;
	CURLcode		 res = CURLE_OK;
	enum llm_fail		 rc = LLM_NETWORK;
	const char		*bad;
	char			 url[600], auth[600];
	int			 running = 1, left;

	memset(&io, 0, sizeof(io));
	io.call = c;
	c->stop = 0;
	c->status = 0;
	c->retry_after = 0;
	c->errmsg[0] = c->why[0] = '\0';
	if (llm_url_join(url, sizeof(url), cfg->llm_url, llm_path(c->proto),
	    c->why, sizeof(c->why)) == -1)
		return LLM_BADCONF;

	if ((io.easy = curl_easy_init()) == NULL ||
	    (multi = llm_multi()) == NULL) {
		snprintf(c->why, sizeof(c->why), "curl init failed");
		goto out;
	}
	if (c->proto == LLM_PROTO_ANTHROPIC)
		snprintf(auth, sizeof(auth), "x-api-key: %s", cfg->api_key);
	else
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    cfg->api_key);
	hdrs = llm_headers(c->stream ? "Accept: text/event-stream" :
	    "Accept: application/json", c->proto == LLM_PROTO_ANTHROPIC ?
	    "anthropic-version: 2023-06-01" : NULL, cfg->api_key[0] != '\0' ?
	    auth : NULL);
	explicit_bzero(auth, sizeof(auth));
	if (hdrs == NULL) {
		snprintf(c->why, sizeof(c->why), "out of memory");
		goto out;
	}

	if ((bad = llm_options(&io, url, hdrs, &res)) != NULL) {
		rc = LLM_BADCONF;
		snprintf(c->why, sizeof(c->why), "libcurl refused %s (%s): "
		    "the provider is not called", bad,
		    curl_easy_strerror(res));
		goto out;
	}
	if (curl_multi_add_handle(multi, io.easy) != CURLM_OK) {
		snprintf(c->why, sizeof(c->why), "curl_multi_add_handle "
		    "failed");
		goto out;
	}

	while (running) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (!running)
			break;
		if (io.ended) {
			/* The rest is normally in the same packet; a
			   provider that holds it back loses the
			   connection, not the visitor's time. */
			if ((left = (int)(LLM_DRAIN_MS - (util_mono_ms() -
			    io.ended_at))) <= 0 || curl_multi_poll(multi,
			    NULL, 0, left, NULL) != CURLM_OK)
				break;
			continue;
		}
		if (curl_multi_poll(multi, NULL, 0, LLM_TICK_MS, NULL)
		    != CURLM_OK)
			break;
		if (c->tick != NULL && (c->stop = c->tick(c->arg)) != 0) {
			rc = LLM_ABORTED;
			snprintf(c->why, sizeof(c->why), "stopped");
			goto out;
		}
	}
	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			res = msg->data.result;
	curl_easy_getinfo(io.easy, CURLINFO_RESPONSE_CODE, &c->status);

	if (c->stop != 0) {
		rc = LLM_ABORTED;
		snprintf(c->why, sizeof(c->why), "stopped");
	} else if (c->status >= 300) {
		rc = LLM_HTTP;
		llm_errmsg(io.errbody, c->errmsg, sizeof(c->errmsg));
		llm_redact(c->errmsg, cfg->api_key);
		snprintf(c->why, sizeof(c->why), "provider answered HTTP %ld%s%.160s",
		    c->status, c->errmsg[0] ? ": " : "", c->errmsg);
	} else if (res == CURLE_OK) {
		rc = LLM_OK;
	} else if (res == CURLE_COULDNT_CONNECT ||
	    res == CURLE_COULDNT_RESOLVE_HOST ||
	    (res == CURLE_OPERATION_TIMEDOUT && c->status == 0)) {
		rc = LLM_CONNECT;
		snprintf(c->why, sizeof(c->why), "could not reach the "
		    "provider: %s", curl_easy_strerror(res));
	} else if (res == CURLE_URL_MALFORMAT ||
	    res == CURLE_UNSUPPORTED_PROTOCOL) {
		rc = LLM_BADCONF;
		snprintf(c->why, sizeof(c->why), "bad INTAKE_LLM_URL: %s",
		    curl_easy_strerror(res));
	} else {
		rc = LLM_NETWORK;
		snprintf(c->why, sizeof(c->why), "transfer failed: %s",
		    curl_easy_strerror(res));
	}
out:
	llm_redact(c->why, cfg->api_key);
	/* The multi handle stays, with the connection if it is whole. */
	if (multi != NULL && io.easy != NULL)
		curl_multi_remove_handle(multi, io.easy);
	curl_easy_cleanup(io.easy);
	curl_slist_free_all(hdrs);
	return rc;
}
