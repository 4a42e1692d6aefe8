/*
 * deliver.c: one try at each way the firm hears of a lead (deliver.h),
 * through libcurl's easy interface.  The sender is background work (the
 * extractor, the sweep), so a blocking transfer bounded by
 * INTAKE_NOTIFY_TIMEOUT_MS is what it needs; nothing here retries.
 *
 * Both transfers go direct: CURLOPT_PROXY is "", so neither an
 * all_proxy/https_proxy in the environment nor INTAKE_LLM_PROXY (which
 * is the model's) carries a lead's data or the SMTP password elsewhere,
 * and "loopback" means the connection really stays on this machine.
 * The schemes are pinned (CURLOPT_PROTOCOLS_STR) and no redirect is
 * followed.  Errors are words for the leads page and the log, made
 * here from the host and port alone (never the URL, which may carry a
 * user and password), printable ASCII, with every secret masked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "deliver.h"
#include "webhook.h"

/* The most of a webhook's answer read; the rest is not waited for. */
#define DELIVER_BODY_MAX	(64 * 1024)

/* The most of the mail server's last reply kept for an error. */
#define DELIVER_REPLY_MAX	160

/* The longest address in MAIL FROM or RCPT TO, brackets included. */
#define DELIVER_ADDR_MAX	260

/* The message being uploaded to the mail server. */
struct deliver_src {
	const char	*p;
	size_t		 len, off;
};

/* The mail server's last reply line, for the error. */
struct deliver_reply {
	char		 line[DELIVER_REPLY_MAX];
};

/* What a webhook answered, counted and dropped. */
struct deliver_sink {
	size_t		 got;
};

/*
 * err = the formatted words, every byte outside printable ASCII made a
 * '?', so a server's reply or a host name cannot put a control or an
 * invalid byte into a log line or the page.
 */
static void
deliver_say(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 i;

	if (errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 ||
		    (unsigned char)err[i] > 0x7e)
			err[i] = '?';
}

/* Mask every copy of secret (not NULL, not "") in s. */
static void
deliver_redact(char *s, const char *secret)
{
	size_t	 n;
	char	*p;

	if (secret == NULL || (n = strlen(secret)) == 0)
		return;
	while ((p = strstr(s, secret)) != NULL)
		memset(p, '*', n);
}

/*
 * The URL's "host:port" (the port libcurl would use when none is
 * written) into where, and its userinfo password, if any, into pass
 * (passsz bytes; "" none), so an error can be masked of it.  -1 when
 * libcurl cannot read the URL (where then says so).
 */
static int
deliver_where(const char *url, char *where, size_t wheresz, char *pass,
    size_t passsz)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL, *pw = NULL;
	int	 rc = -1;

	snprintf(where, wheresz, "(a URL libcurl cannot read)");
	if (pass != NULL && passsz > 0)
		pass[0] = '\0';
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	snprintf(where, wheresz, "%s:%s", host, port);
	if (pass != NULL && passsz > 0 &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, CURLU_URLDECODE) ==
	    CURLUE_OK && pw != NULL) {
		snprintf(pass, passsz, "%s", pw);
		OPENSSL_cleanse(pw, strlen(pw));
	}
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_free(pw);
	curl_url_cleanup(u);
	return rc;
}

int
deliver_loopback(const char *url)
{
	CURLU		*u;
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		*host = NULL;
	size_t		 n;
	int		 rc = 0;

	if (url == NULL || (u = curl_url()) == NULL)
		return 0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	n = strlen(host);
	/* libcurl resolves "localhost" itself, to loopback, never by DNS;
	   it has already made "127.1" or "0x7f.0.0.1" dotted quads. */
	if (strcasecmp(host, "localhost") == 0)
		rc = 1;
	else if (inet_pton(AF_INET, host, &a4) == 1)
		rc = (ntohl(a4.s_addr) >> 24) == 127;
	else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) == 1)
			rc = IN6_IS_ADDR_LOOPBACK(&a6) ||
			    (IN6_IS_ADDR_V4MAPPED(&a6) &&
			    a6.s6_addr[12] == 127);
	}
out:
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/*
 * "<addr>" of the len bytes at p into out, trimmed of spaces and tabs.
 * config_notify has checked the address; this only refuses what must
 * never reach an SMTP command (a control, a space, a bracket, non-ASCII),
 * whatever called us.  0, or -1.
 */
static int
deliver_angle(const char *p, size_t len, char *out, size_t outsz)
{
	size_t	 i;

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || len + 3 > outsz)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '<' || p[i] == '>')
			return -1;
	out[0] = '<';
	memcpy(out + 1, p, len);
	out[len + 1] = '>';
	out[len + 2] = '\0';
	return 0;
}

/* One "<addr>" per comma-separated recipient of list; NULL on error. */
static struct curl_slist *
deliver_rcpts(const char *list)
{
	struct curl_slist	*l = NULL, *n;
	const char		*p = list, *e;
	char			 addr[DELIVER_ADDR_MAX];

	for (;;) {
		e = strchr(p, ',');
		if (deliver_angle(p, e != NULL ? (size_t)(e - p) : strlen(p),
		    addr, sizeof(addr)) == -1 ||
		    (n = curl_slist_append(l, addr)) == NULL) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
		if (e == NULL)
			return l;
		p = e + 1;
	}
}

static size_t
deliver_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct deliver_src	*s = arg;
	size_t			 n = size * nitems, left = s->len - s->off;

	if (n > left)
		n = left;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return n;
}

/*
 * libcurl hands every reply line of the mail server to the header
 * function (SMTP's replies are its "headers"); keep the last refusal
 * (4xx, 5xx), not the "221 Bye" to the QUIT that follows it.
 */
static size_t
deliver_reply(char *p, size_t size, size_t nitems, void *arg)
{
	struct deliver_reply	*r = arg;
	size_t			 n = size * nitems, len = n;

	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' '))
		len--;
	if (len >= 3 && (p[0] == '4' || p[0] == '5') &&
	    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
		if (len >= sizeof(r->line))
			len = sizeof(r->line) - 1;
		memcpy(r->line, p, len);
		r->line[len] = '\0';
	}
	return n;
}

static size_t
deliver_discard(char *p, size_t size, size_t nitems, void *arg)
{
	struct deliver_sink	*s = arg;
	size_t			 n = size * nitems;

	(void)p;
	if (n > DELIVER_BODY_MAX - s->got)
		return 0;	/* CURLE_WRITE_ERROR: we have heard enough */
	s->got += n;
	return n;
}

static long
deliver_min(long a, long b)
{
	return a < b ? a : b;
}

/*
 * Set one option or leave: a libcurl that refuses one (too old for
 * CURLOPT_PROTOCOLS_STR, say) would make a transfer we did not ask for.
 */
#define DELIVER_SET(easy, opt, val, bad) \
	if (curl_easy_setopt((easy), (opt), (val)) != CURLE_OK) { \
		(bad) = #opt; \
		goto setopt; \
	}

/*
 * What both transfers set the same way: the schemes (pinned), no proxy,
 * no signals, the error buffer, the timeouts.  NULL, or the name of the
 * option libcurl refused.
 */
static const char *
deliver_common(CURL *easy, const struct config *cfg, const char *schemes,
    char *ebuf)
{
	const char	*bad = NULL;

	DELIVER_SET(easy, CURLOPT_PROTOCOLS_STR, schemes, bad);
	DELIVER_SET(easy, CURLOPT_PROXY, "", bad);
	DELIVER_SET(easy, CURLOPT_NOSIGNAL, 1L, bad);
	DELIVER_SET(easy, CURLOPT_ERRORBUFFER, ebuf, bad);
	DELIVER_SET(easy, CURLOPT_TIMEOUT_MS, cfg->notify_timeout_ms, bad);
	DELIVER_SET(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    deliver_min(cfg->notify_timeout_ms, cfg->connect_timeout_ms), bad);
setopt:
	return bad;
}

/* 1 when res is a failure of TLS itself (handshake, certificate). */
static int
deliver_tls_failed(CURLcode res)
{
	return res == CURLE_PEER_FAILED_VERIFICATION ||
	    res == CURLE_SSL_CONNECT_ERROR || res == CURLE_SSL_CERTPROBLEM ||
	    res == CURLE_SSL_CIPHER || res == CURLE_SSL_CACERT_BADFILE;
}

int
deliver_email(const struct config *cfg, const char *msg, size_t len,
    char *err, size_t errsz)
{
	struct deliver_src	 src;
	struct deliver_reply	 reply;
	struct curl_slist	*rcpt = NULL;
	CURL			*easy = NULL;
	CURLcode		 res;
	const char		*bad = NULL;
	char			 from[DELIVER_ADDR_MAX], where[320];
	char			 urlpass[256], ebuf[CURL_ERROR_SIZE];
	curl_off_t		 connected = 0;
	long			 code = 0;
	int			 rc = -1;

	if (errsz > 0)
		err[0] = '\0';
	memset(&reply, 0, sizeof(reply));
	memset(ebuf, 0, sizeof(ebuf));
	src.p = msg;
	src.len = len;
	src.off = 0;
	if (deliver_where(cfg->smtp_url, where, sizeof(where), urlpass,
	    sizeof(urlpass)) == -1) {
		deliver_say(err, errsz, "INTAKE_SMTP_URL is not a URL "
		    "libcurl can read");
		goto out;
	}
	if (deliver_angle(cfg->smtp_from, strlen(cfg->smtp_from), from,
	    sizeof(from)) == -1) {
		deliver_say(err, errsz, "INTAKE_SMTP_FROM is not a plain "
		    "e-mail address");
		goto out;
	}
	if ((rcpt = deliver_rcpts(cfg->notify_email)) == NULL) {
		deliver_say(err, errsz, "INTAKE_NOTIFY_EMAIL is not a list of "
		    "plain e-mail addresses (or out of memory)");
		goto out;
	}
	if ((easy = curl_easy_init()) == NULL) {
		deliver_say(err, errsz, "curl_easy_init failed");
		goto out;
	}

	if ((bad = deliver_common(easy, cfg, "smtp,smtps", ebuf)) != NULL)
		goto setopt;
	DELIVER_SET(easy, CURLOPT_URL, cfg->smtp_url, bad);
	/* STARTTLS or nothing, except where no wire is crossed; smtps://
	   is TLS from the first byte whatever this says. */
	DELIVER_SET(easy, CURLOPT_USE_SSL, deliver_loopback(cfg->smtp_url) ?
	    (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL, bad);
	if (cfg->smtp_user[0] != '\0') {
		DELIVER_SET(easy, CURLOPT_USERNAME, cfg->smtp_user, bad);
		DELIVER_SET(easy, CURLOPT_PASSWORD, cfg->smtp_password, bad);
	}
	DELIVER_SET(easy, CURLOPT_MAIL_FROM, from, bad);
	DELIVER_SET(easy, CURLOPT_MAIL_RCPT, rcpt, bad);
	DELIVER_SET(easy, CURLOPT_UPLOAD, 1L, bad);
	DELIVER_SET(easy, CURLOPT_READFUNCTION, deliver_read, bad);
	DELIVER_SET(easy, CURLOPT_READDATA, &src, bad);
	DELIVER_SET(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len, bad);
	DELIVER_SET(easy, CURLOPT_HEADERFUNCTION, deliver_reply, bad);
	DELIVER_SET(easy, CURLOPT_HEADERDATA, &reply, bad);

	res = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
	if (res == CURLE_OK) {
		rc = 0;
		goto out;
	}
	switch (res) {
	case CURLE_USE_SSL_FAILED:
		deliver_say(err, errsz, "TLS required but the mail server %s "
		    "offers no STARTTLS", where);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		deliver_say(err, errsz, "could not resolve the mail server "
		    "%s", where);
		break;
	case CURLE_COULDNT_CONNECT:
		deliver_say(err, errsz, "could not connect to the mail server "
		    "%s", where);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (connected == 0)
			deliver_say(err, errsz, "could not connect to the mail "
			    "server %s within %ld ms", where, deliver_min(
			    cfg->notify_timeout_ms, cfg->connect_timeout_ms));
		else
			deliver_say(err, errsz, "the mail server %s timed out "
			    "after %ld ms", where, cfg->notify_timeout_ms);
		break;
	case CURLE_LOGIN_DENIED:
		deliver_say(err, errsz, "the mail server %s refused the "
		    "login%s%s", where, reply.line[0] != '\0' ? ": " : "",
		    reply.line);
		break;
	default:
		/* A reply of 4xx or 5xx: a refusal, in the server's words
		   when its last line is that reply. */
		if (deliver_tls_failed(res))
			deliver_say(err, errsz, "TLS with the mail server %s "
			    "failed: %s", where, ebuf[0] != '\0' ? ebuf :
			    curl_easy_strerror(res));
		else if (code >= 400 && reply.line[0] != '\0' &&
		    strtol(reply.line, NULL, 10) == code)
			deliver_say(err, errsz, "the mail server %s refused: "
			    "%s", where, reply.line);
		else if (code >= 400)
			deliver_say(err, errsz, "the mail server %s refused "
			    "(%ld)", where, code);
		else
			deliver_say(err, errsz, "sending to the mail server %s "
			    "failed: %s", where, curl_easy_strerror(res));
		break;
	}
	goto out;
setopt:
	deliver_say(err, errsz, "libcurl refused %s: no e-mail is sent", bad);
out:
	if (errsz > 0) {
		deliver_redact(err, cfg->smtp_password);
		deliver_redact(err, urlpass);
	}
	OPENSSL_cleanse(urlpass, sizeof(urlpass));
	curl_easy_cleanup(easy);
	curl_slist_free_all(rcpt);
	return rc;
}

/* The request's headers, NULL when one could not be added. */
static struct curl_slist *
deliver_headers(const char *id, int64_t ts, const char *sig)
{
	struct curl_slist	*h = NULL, *n;
	char			 line[4][160];
	size_t			 i;

	snprintf(line[0], sizeof(line[0]), "webhook-id: %s", id);
	snprintf(line[1], sizeof(line[1]), "webhook-timestamp: %" PRId64, ts);
	snprintf(line[2], sizeof(line[2]), "webhook-signature: %s", sig);
	/* No "Expect: 100-continue" wait before a larger body. */
	snprintf(line[3], sizeof(line[3]), "Expect:");
	if ((h = curl_slist_append(NULL, "Content-Type: application/json"))
	    == NULL)
		return NULL;
	for (i = 0; i < 4; i++) {
		if ((n = curl_slist_append(h, line[i])) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = n;
	}
	return h;
}

int
deliver_webhook(const struct config *cfg, const char *id, const char *body,
    size_t len, char *err, size_t errsz)
{
	struct deliver_sink	 sink;
	struct curl_slist	*hdrs = NULL;
	CURL			*easy = NULL;
	CURLcode		 res;
	unsigned char		 key[WEBHOOK_KEY_MAX];
	const char		*bad = NULL, *secret;
	char			 sig[WEBHOOK_SIG_SIZE], where[320];
	char			 urlpass[256], ebuf[CURL_ERROR_SIZE];
	curl_off_t		 connected = 0;
	size_t			 keylen = 0;
	int64_t			 ts = (int64_t)time(NULL);
	long			 status = 0;
	int			 rc = -1, signed_ok;

	if (errsz > 0)
		err[0] = '\0';
	memset(&sink, 0, sizeof(sink));
	memset(ebuf, 0, sizeof(ebuf));
	if (deliver_where(cfg->webhook_url, where, sizeof(where), urlpass,
	    sizeof(urlpass)) == -1) {
		deliver_say(err, errsz, "INTAKE_WEBHOOK_URL is not a URL "
		    "libcurl can read");
		goto out;
	}
	if (strlen(id) > 100) {
		deliver_say(err, errsz, "the notification id is too long");
		goto out;
	}
	if (webhook_key(cfg->webhook_secret, key, &keylen) == -1) {
		deliver_say(err, errsz, "INTAKE_WEBHOOK_SECRET is not a whsec_ "
		    "key");
		goto out;
	}
	signed_ok = webhook_sign(key, keylen, id, ts, body, len, sig) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	if (!signed_ok) {
		deliver_say(err, errsz, "could not sign the webhook (an id "
		    "with a '.' or a control character?)");
		goto out;
	}
	if ((hdrs = deliver_headers(id, ts, sig)) == NULL ||
	    (easy = curl_easy_init()) == NULL) {
		deliver_say(err, errsz, "out of memory");
		goto out;
	}

	if ((bad = deliver_common(easy, cfg, "http,https", ebuf)) != NULL)
		goto setopt;
	DELIVER_SET(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", bad);
	DELIVER_SET(easy, CURLOPT_FOLLOWLOCATION, 0L, bad);
	DELIVER_SET(easy, CURLOPT_URL, cfg->webhook_url, bad);
	DELIVER_SET(easy, CURLOPT_POST, 1L, bad);
	DELIVER_SET(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len, bad);
	DELIVER_SET(easy, CURLOPT_POSTFIELDS, body, bad);
	DELIVER_SET(easy, CURLOPT_HTTPHEADER, hdrs, bad);
	DELIVER_SET(easy, CURLOPT_USERAGENT, "intake", bad);
	DELIVER_SET(easy, CURLOPT_WRITEFUNCTION, deliver_discard, bad);
	DELIVER_SET(easy, CURLOPT_WRITEDATA, &sink, bad);

	res = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
	/*
	 * A 2xx status line is the receiver's "got it", whatever happens
	 * to the body after it (one we stopped reading, one cut short):
	 * calling that a failure would only send the lead again.
	 */
	if (status >= 200 && status <= 299) {
		rc = 0;
		goto out;
	}
	if (status >= 300 && status <= 399)
		deliver_say(err, errsz, "the webhook redirected (HTTP %ld); "
		    "redirects are not followed", status);
	else if (status >= 100)
		deliver_say(err, errsz, "the webhook answered HTTP %ld",
		    status);
	else if (res == CURLE_OPERATION_TIMEDOUT && connected == 0)
		deliver_say(err, errsz, "could not connect to the webhook %s "
		    "within %ld ms", where, deliver_min(cfg->notify_timeout_ms,
		    cfg->connect_timeout_ms));
	else if (res == CURLE_OPERATION_TIMEDOUT)
		deliver_say(err, errsz, "no answer within %ld ms from the "
		    "webhook %s", cfg->notify_timeout_ms, where);
	else if (res == CURLE_COULDNT_RESOLVE_HOST)
		deliver_say(err, errsz, "could not resolve the webhook %s",
		    where);
	else if (res == CURLE_COULDNT_CONNECT)
		deliver_say(err, errsz, "could not connect to the webhook %s",
		    where);
	else if (res == CURLE_GOT_NOTHING)
		deliver_say(err, errsz, "the webhook %s closed the connection "
		    "without an answer", where);
	else if (res == CURLE_UNSUPPORTED_PROTOCOL)
		deliver_say(err, errsz, "INTAKE_WEBHOOK_URL is not http:// or "
		    "https://");
	else if (deliver_tls_failed(res))
		deliver_say(err, errsz, "TLS with the webhook %s failed: %s",
		    where, ebuf[0] != '\0' ? ebuf : curl_easy_strerror(res));
	else
		deliver_say(err, errsz, "the webhook request to %s failed: %s",
		    where, curl_easy_strerror(res));
	goto out;
setopt:
	deliver_say(err, errsz, "libcurl refused %s: the webhook is not "
	    "called", bad);
out:
	secret = cfg->webhook_secret;
	if (strncmp(secret, "whsec_", 6) == 0)
		secret += 6;
	if (errsz > 0) {
		deliver_redact(err, secret);
		deliver_redact(err, urlpass);
	}
	OPENSSL_cleanse(urlpass, sizeof(urlpass));
	curl_easy_cleanup(easy);
	curl_slist_free_all(hdrs);
	return rc;
}
