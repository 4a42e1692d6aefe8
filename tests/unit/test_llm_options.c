/*
 * test_llm_options.c: llm_perform refuses to call the provider when
 * libcurl refuses one of the options the call rests on, and joins the
 * URL by its parts.
 *
 * This file defines curl_easy_setopt and curl_multi_add_handle itself:
 * llm.o, linked in from libintake.a, calls these, which record what was
 * set, can make one option fail as an old or odd libcurl would (an
 * unknown option), and pass everything else on to the real libcurl
 * (dlsym RTLD_NEXT).  For each option in turn, the call must end
 * LLM_BADCONF naming the option, with no transfer started.  With no
 * option failing, the call goes out (to a closed local port: refused).
 */
#define _GNU_SOURCE		/* RTLD_NEXT */
#define CURL_DISABLE_TYPECHECK	/* curl_easy_setopt is defined below */

#include <sys/socket.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "config.h"
#include "llm.h"

typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);
typedef CURLMcode (*add_fn)(CURLM *, CURL *);

static CURLoption	 fail_opt = (CURLoption)-1;	/* the one to refuse */
static int		 adds;		/* transfers started */
static int		 block_adds;	/* refuse them (no network) */
static char		 seen_url[600], seen_proto[64], seen_proxy[64];
static long		 seen_nosignal = -1;

static void *
real(const char *name)
{
	void	*p;

	if ((p = dlsym(RTLD_NEXT, name)) == NULL) {
		fprintf(stderr, "test_llm_options: dlsym %s: %s\n", name,
		    dlerror());
		exit(1);
	}
	return p;
}

static void
copy(char *dst, size_t dsz, const void *p)
{
	snprintf(dst, dsz, "%s", p != NULL ? (const char *)p : "(null)");
}

CURLcode
curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	static setopt_fn	 next;
	va_list			 ap;
	void			*p = NULL;
	long			 l = 0;
	curl_off_t		 o = 0;
	CURLcode		 rc;

	if (next == NULL) {
		p = real("curl_easy_setopt");
		memcpy(&next, &p, sizeof(next));
	}
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		l = va_arg(ap, long);
	else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
		o = va_arg(ap, curl_off_t);
	else
		p = va_arg(ap, void *);	/* data and function pointers */
	va_end(ap);

	if (opt == fail_opt)
		return CURLE_UNKNOWN_OPTION;
	if (opt == CURLOPT_URL)
		copy(seen_url, sizeof(seen_url), p);
	else if (opt == CURLOPT_PROTOCOLS_STR)
		copy(seen_proto, sizeof(seen_proto), p);
	else if (opt == CURLOPT_PROXY)
		copy(seen_proxy, sizeof(seen_proxy), p);
	else if (opt == CURLOPT_NOSIGNAL)
		seen_nosignal = l;
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = next(h, opt, l);
	else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
		rc = next(h, opt, o);
	else
		rc = next(h, opt, p);
	return rc;
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *h)
{
	static add_fn	 next;
	void		*p;

	adds++;
	if (block_adds)
		return CURLM_BAD_HANDLE;
	if (next == NULL) {
		p = real("curl_multi_add_handle");
		memcpy(&next, &p, sizeof(next));
	}
	return next(m, h);
}

static int
on_data(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return 0;
}

/* A local port nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("test_llm_options: socket");
		exit(1);
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static enum llm_fail
perform(struct config *cfg, enum llm_proto proto, struct llm_call *c)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->proto = proto;
	c->body = "{}";
	c->stream = 1;
	c->total_ms = 5000;
	c->on_data = on_data;
	seen_url[0] = seen_proto[0] = seen_proxy[0] = '\0';
	seen_nosignal = -1;
	return llm_perform(c);
}

static const struct opt_row {
	CURLoption	 opt;
	const char	*name;
	int		 line;
} opt_rows[] = {
	{ CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR", __LINE__ },
	{ CURLOPT_REDIR_PROTOCOLS_STR, "CURLOPT_REDIR_PROTOCOLS_STR",
	    __LINE__ },
	{ CURLOPT_PROXY, "CURLOPT_PROXY", __LINE__ },
	{ CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", __LINE__ },
	{ CURLOPT_URL, "CURLOPT_URL", __LINE__ },
	{ CURLOPT_HTTPHEADER, "CURLOPT_HTTPHEADER", __LINE__ },
	{ CURLOPT_POSTFIELDS, "CURLOPT_POSTFIELDS", __LINE__ },
	{ CURLOPT_CONNECTTIMEOUT_MS, "CURLOPT_CONNECTTIMEOUT_MS", __LINE__ },
	{ CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS", __LINE__ },
	{ CURLOPT_WRITEFUNCTION, "CURLOPT_WRITEFUNCTION", __LINE__ },
	{ CURLOPT_WRITEDATA, "CURLOPT_WRITEDATA", __LINE__ },
	{ CURLOPT_HEADERFUNCTION, "CURLOPT_HEADERFUNCTION", __LINE__ },
	{ CURLOPT_HEADERDATA, "CURLOPT_HEADERDATA", __LINE__ },
};

static void
test_refused_options(void)
{
	struct config	 cfg;
	struct llm_call	 c;
	enum llm_fail	 rc;
	size_t		 i;

	config_defaults(&cfg);
	cfg.provider = PROVIDER_OPENAI;
	snprintf(cfg.llm_url, sizeof(cfg.llm_url), "http://127.0.0.1:%d/v1",
	    closed_port());
	snprintf(cfg.api_key, sizeof(cfg.api_key), "sk-test-SECRET-9");
	cfg.connect_timeout_ms = 2000;

	/* Nothing refused: the call goes out, as asked. */
	fail_opt = (CURLoption)-1;
	adds = 0;
	rc = perform(&cfg, LLM_PROTO_OPENAI, &c);
	CHECK(rc == LLM_CONNECT, "no option refused: rc %d, want "
	    "LLM_CONNECT (%s)", (int)rc, c.why);
	CHECK(adds == 1, "no option refused: %d transfers", adds);
	CHECK(strcmp(seen_proto, "http,https") == 0, "CURLOPT_PROTOCOLS_STR "
	    "\"%s\"", seen_proto);
	CHECK(strcmp(seen_proxy, "") == 0, "CURLOPT_PROXY \"%s\", want \"\" "
	    "(no proxy, not even from the environment)", seen_proxy);
	CHECK(seen_nosignal == 1, "CURLOPT_NOSIGNAL %ld", seen_nosignal);

	for (i = 0; i < sizeof(opt_rows) / sizeof(opt_rows[0]); i++) {
		fail_opt = opt_rows[i].opt;
		adds = 0;
		rc = perform(&cfg, LLM_PROTO_OPENAI, &c);
		CHECK_AT(opt_rows[i].line, rc == LLM_BADCONF, "%s refused: rc "
		    "%d, want LLM_BADCONF (%s)", opt_rows[i].name, (int)rc,
		    c.why);
		CHECK_AT(opt_rows[i].line, adds == 0, "%s refused: the "
		    "transfer was started anyway", opt_rows[i].name);
		CHECK_AT(opt_rows[i].line, strstr(c.why, opt_rows[i].name)
		    != NULL, "%s refused: why \"%s\" does not name it",
		    opt_rows[i].name, c.why);
		CHECK_AT(opt_rows[i].line, strstr(c.why, "SECRET") == NULL,
		    "why shows the key: %s", c.why);
	}
	fail_opt = (CURLoption)-1;
}

static const struct url_row {
	const char	*base;
	enum llm_proto	 proto;
	const char	*want;		/* the URL set; NULL: refused */
	int		 line;
} url_rows[] = {
	{ "https://messages.example.com/v1", LLM_PROTO_ANTHROPIC,
	    "https://messages.example.com/v1/messages", __LINE__ },
	{ "https://messages.example.com/v1/", LLM_PROTO_ANTHROPIC,
	    "https://messages.example.com/v1/messages", __LINE__ },
	{ "https://chat.example.com/v1/", LLM_PROTO_OPENAI,
	    "https://chat.example.com/v1/chat/completions", __LINE__ },
	{ "https://h/v1?api-version=1", LLM_PROTO_OPENAI,
	    "https://h/v1/chat/completions?api-version=1", __LINE__ },
	{ "", LLM_PROTO_OPENAI, NULL, __LINE__ },
	{ "file:///etc/passwd", LLM_PROTO_OPENAI, NULL, __LINE__ },
	{ "https://h/v1#x", LLM_PROTO_OPENAI, NULL, __LINE__ },
};

/* The URL handed to libcurl; no transfer is started (block_adds). */
static void
test_urls(void)
{
	const struct url_row	*t;
	struct config		 cfg;
	struct llm_call		 c;
	enum llm_fail		 rc;
	size_t			 i;

	config_defaults(&cfg);
	block_adds = 1;
	for (i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
		t = &url_rows[i];
		snprintf(cfg.llm_url, sizeof(cfg.llm_url), "%s", t->base);
		adds = 0;
		rc = perform(&cfg, t->proto, &c);
		if (t->want == NULL) {
			CHECK_AT(t->line, rc == LLM_BADCONF && adds == 0 &&
			    c.why[0] != '\0', "\"%s\": rc %d, %d transfers, "
			    "why \"%s\"", t->base, (int)rc, adds, c.why);
			continue;
		}
		CHECK_AT(t->line, strcmp(seen_url, t->want) == 0, "\"%s\": "
		    "URL \"%s\", want \"%s\"", t->base, seen_url, t->want);
		CHECK_AT(t->line, adds == 1 && rc != LLM_BADCONF, "\"%s\": rc "
		    "%d, %d transfers", t->base, (int)rc, adds);
	}
	block_adds = 0;
}

int
main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	test_refused_options();
	test_urls();
	curl_global_cleanup();
	return check_done("llm_options");
}
