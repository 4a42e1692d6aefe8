/*
 * llm.h: one HTTP call to a model provider over libcurl.
 *
 * The call runs on curl's multi interface so the caller keeps control:
 * on_data gets the body as it arrives, tick runs at least every
 * LLM_TICK_MS (to save, to send keep-alives, to notice a cancel or a
 * timeout), and either returning non-zero aborts the transfer at once,
 * which frees the model's slot upstream.  That non-zero value is the
 * caller's own reason to stop; it comes back unchanged in call.stop.  A body with an HTTP error
 * status is collected for the log instead of passed on.
 *
 * Never carried across fork; curl_global_init is the program's job.
 * Each thread keeps its connection to the provider between calls.
 * The API key goes in a header and nowhere else: not in logs, not in
 * errors.  No proxy is used unless INTAKE_LLM_PROXY names one (HTTPoxy:
 * a request's Proxy header must never steer the upstream call), and only
 * http and https are allowed.  A libcurl that refuses one of these
 * options fails the call (LLM_BADCONF) rather than make it without.
 */
#ifndef LLM_H
#define LLM_H

#include <stddef.h>

#include "config.h"
#include "llm_decode.h"

#define LLM_TICK_MS	100
#define LLM_DRAIN_MS	20	/* after the body's end, at most */

enum llm_fail {
	LLM_OK,
	LLM_ABORTED,	/* on_data or tick asked to stop: see stop */
	LLM_CONNECT,	/* could not connect (or connect timeout) */
	LLM_HTTP,	/* an HTTP error status: see status, errmsg */
	LLM_NETWORK,	/* the connection failed mid-transfer */
	LLM_BADCONF,	/* no URL, a URL llm_url_join refuses, or a
			   libcurl that refuses an option (see why) */
	LLM__MAX
};

struct llm_call {
	/* in */
	const struct config	*cfg;
	enum llm_proto		 proto;
	const char		*body;		/* JSON */
	int			 stream;	/* ask for text/event-stream */
	long			 total_ms;	/* 0: none */
	int			(*on_data)(void *arg, const char *p, size_t n);
	int			(*tick)(void *arg);
	void			*arg;
	int			 end;		/* on_data's value for "the
						   body's end was seen" (0:
						   none): the transfer is then
						   read to its own end, for at
						   most LLM_DRAIN_MS, so the
						   connection can be kept */
	/* out */
	int			 stop;		/* what on_data or tick returned
						   to stop, else 0 */
	long			 status;	/* HTTP status, 0 if none */
	long			 retry_after;	/* seconds, from a 429/503 */
	char			 errmsg[256];	/* provider's message, if any */
	char			 why[256];	/* for the log: never the key */
};

/* Perform the call.  Returns how it failed, LLM_OK when it did not. */
enum llm_fail	llm_perform(struct llm_call *);

enum llm_proto	llm_proto_of(const struct config *);

/*
 * Close the calling thread's connection to the provider (each thread
 * keeps one between calls; a thread that ends closes it by itself).
 * Before curl_global_cleanup in the thread that called.
 */
void		llm_thread_done(void);

/*
 * Blank every occurrence of key (if not empty) in the NUL-terminated s,
 * in place: a provider may quote back the key it refused, and what it
 * says goes to the log.
 */
void		llm_redact(char *s, const char *key);

#endif
