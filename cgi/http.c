/*
 * http.c: the two transports behind struct http.
 *
 * FastCGI goes through libfcgi's FCGX_* calls on the request; plain CGI
 * reads the environment and standard input and writes standard output.
 * A client that has gone shows as a failed write or flush: we note it and
 * go quiet (SIGPIPE is ignored), because the reply must still be read to
 * its end and saved.
 *
 * A body is read under one deadline for the whole of it, so a client that
 * sends its headers and then a byte now and then cannot hold a worker:
 * under plain CGI by poll() on stdin; under FastCGI by SO_RCVTIMEO on the
 * request's socket, set to the time left before each read libfcgi may
 * make.  (Not poll(): libfcgi reads the socket in blocks into a buffer
 * of its own, which fcgiapp.h does not show, so a socket with nothing to
 * read does not mean a stream with nothing buffered.)
 *
 * A HEAD gets the headers its GET would, and nothing after them: once
 * they are out the client counts as gone, so a follower stops at once.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define HTTP_READ_MAX	65536		/* one read of a body, at most */
#define HTTP_WRITE_MAX	(1 << 20)	/* one FCGX_PutStr (an int) */
#define HTTP_BODY_FIRST	16384		/* buffer first, body of no length */

static const struct {
	int		 status;
	const char	*code;
	const char	*message;
} errs[ERR__MAX] = {
	[ERR_BAD_REQUEST] = { 400, "bad_request", "The request is malformed." },
	[ERR_UNAUTHORIZED] = { 401, "unauthorized",
	    "A valid token is required." },
	[ERR_NOT_FOUND] = { 404, "not_found", "No such resource." },
	[ERR_METHOD] = { 405, "method_not_allowed",
	    "That method is not allowed here." },
	[ERR_TIMEOUT] = { 408, "request_timeout",
	    "The request body did not arrive in time." },
	[ERR_TURN_IN_PROGRESS] = { 409, "turn_in_progress",
	    "A reply is still being written; send again when it ends." },
	[ERR_NOT_STREAMING] = { 409, "not_streaming",
	    "No reply is being written." },
	[ERR_NOT_FAILED] = { 409, "not_failed",
	    "Only a notification that failed can be sent again." },
	[ERR_TOO_LARGE] = { 413, "too_large", "The request is too large." },
	[ERR_MEDIA_TYPE] = { 415, "unsupported_media_type",
	    "Send the body as application/json." },
	[ERR_RATE_LIMITED] = { 429, "rate_limited",
	    "Too many requests; try again shortly." },
	[ERR_INTERNAL] = { 500, "internal",
	    "Something went wrong on our side." },
	[ERR_UNAVAILABLE] = { 503, "unavailable",
	    "The service is unavailable; try again shortly." },
};

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

const char *
http_param(struct http *h, const char *name)
{
	if (h->fcgi != NULL)
		return FCGX_GetParam(name, h->fcgi->envp);
	return getenv(name);
}

const char *
http_param0(struct http *h, const char *name)
{
	const char	*v = http_param(h, name);

	return v ? v : "";
}

/*
 * The client is gone (a write or flush failed): under FastCGI the request
 * ends now, so the web server is not kept waiting for a reply nobody
 * reads (the reply itself goes on and is saved).
 */
static void
http_gone(struct http *h)
{
	h->gone = 1;
	http_release(h);
}

void
http_release(struct http *h)
{
	if (h->fcgi == NULL || h->released)
		return;
	h->released = 1;
	h->gone = 1;
	FCGX_Finish_r(h->fcgi);
}

/*
 * Bound the next read(2) on the FastCGI socket to ms (0: no bound).
 * 0, or -1 (logged).
 */
static int
http_rcvtimeo(struct http *h, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (setsockopt(h->fcgi->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1) {
		log_warn("setsockopt SO_RCVTIMEO");
		return -1;
	}
	h->rcvtimeo = ms > 0;
	return 0;
}

/*
 * Read up to len bytes of the body before until (util_mono_ms time): the
 * count, 0 at the end of the body, or -1 (with *late set when the time ran
 * out first).
 */
static ssize_t
http_read(struct http *h, char *buf, size_t len, int64_t until, int *late)
{
	FCGX_Stream	*in;
	struct pollfd	 pfd;
	int64_t		 left;
	ssize_t		 n;
	int		 err;

	if (h->released)
		return -1;
	if (len > HTTP_READ_MAX)
		len = HTTP_READ_MAX;
	if (h->fcgi != NULL) {
		in = h->fcgi->in;
		/* What libfcgi has of the current record: no I/O. */
		if (in->rdNext < in->stop) {
			if ((size_t)(in->stop - in->rdNext) < len)
				len = (size_t)(in->stop - in->rdNext);
			return FCGX_GetStr(buf, (int)len, in);
		}
		if (in->isClosed)
			return FCGX_GetError(in) == 0 ? 0 : -1;
		if ((left = until - util_mono_ms()) <= 0) {
			*late = 1;
			return -1;
		}
		/*
		 * One byte: libfcgi fills its buffer once, each read(2) of
		 * it bounded by the time left; the rest comes from the
		 * buffer on the next calls.
		 */
		if (http_rcvtimeo(h, left) == -1)
			return -1;
		if (FCGX_GetStr(buf, 1, in) == 1)
			return 1;
		err = FCGX_GetError(in);
		if (err == EAGAIN || err == EWOULDBLOCK)
			*late = 1;
		return err == 0 && FCGX_HasSeenEOF(in) ? 0 : -1;
	}
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	for (;;) {
		if ((left = until - util_mono_ms()) <= 0) {
			*late = 1;
			return -1;
		}
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			continue;	/* the time left is checked above */
		n = read(STDIN_FILENO, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		return n;
	}
}

/* CONTENT_LENGTH as a number: digits only, no sign, no overflow. */
static int
http_length(const char *s, unsigned long long *n)
{
	*n = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || *n > (ULLONG_MAX - 9) / 10)
			return -1;
		*n = *n * 10 + (unsigned long long)(*s - '0');
	}
	return 0;
}

enum http_body
http_read_body(struct http *h, size_t max, long timeout_ms, char **body,
    size_t *lenp)
{
	const char		*cl = http_param(h, "CONTENT_LENGTH");
	enum http_body		 rc = HTTP_BODY_BAD;
	unsigned long long	 want = 0;
	char			*buf = NULL, *nb;
	size_t			 got = 0, cap, room;
	ssize_t			 n;
	int64_t			 until = util_mono_ms() + timeout_ms;
	int			 known, late = 0;

	*body = NULL;
	*lenp = 0;
	/*
	 * Without a length (a chunked body that the server passes on as
	 * it comes, or none at all) the body runs to its end: one byte
	 * more than max tells it is too large.
	 */
	if ((known = cl != NULL && *cl != '\0')) {
		if (http_length(cl, &want) == -1)
			return HTTP_BODY_BAD;
		if (want > max)
			return HTTP_BODY_TOO_LARGE;
		cap = (size_t)want + 1;
	} else
		cap = max + 1 < HTTP_BODY_FIRST ? max + 2 : HTTP_BODY_FIRST;
	if ((buf = malloc(cap)) == NULL) {
		rc = HTTP_BODY_NO_MEMORY;
		goto out;
	}
	for (;;) {
		if (known && got == (size_t)want)
			break;
		if (!known && got > max) {
			rc = HTTP_BODY_TOO_LARGE;
			goto out;
		}
		if (got + 1 == cap) {
			/* Only without a length: grow up to max + 2. */
			cap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				rc = HTTP_BODY_NO_MEMORY;
				goto out;
			}
			buf = nb;
		}
		room = cap - 1 - got;
		if (known && room > (size_t)want - got)
			room = (size_t)want - got;
		if ((n = http_read(h, buf + got, room, until, &late)) < 0) {
			if (late)
				rc = HTTP_BODY_TIMEOUT;
			goto out;
		}
		if (n == 0) {
			if (known)
				goto out;	/* short of its length */
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*body = buf;
	*lenp = got;
	buf = NULL;
	h->body_read = 1;
	rc = HTTP_BODY_OK;
out:
	free(buf);
	if (h->rcvtimeo && !h->released)
		http_rcvtimeo(h, 0);
	h->body_late = rc == HTTP_BODY_TIMEOUT;
	return rc;
}

void
http_write(struct http *h, const char *buf, size_t len)
{
	int	n;

	if (h->gone || len == 0)
		return;
	if (h->fcgi != NULL) {
		/* FCGX_PutStr takes an int: pieces of HTTP_WRITE_MAX. */
		while (len > 0 && !h->gone) {
			n = len > HTTP_WRITE_MAX ? HTTP_WRITE_MAX : (int)len;
			if (FCGX_PutStr(buf, n, h->fcgi->out) != n)
				http_gone(h);
			buf += n;
			len -= (size_t)n;
		}
	} else if (fwrite(buf, 1, len, stdout) != len)
		h->gone = 1;
}

void
http_puts(struct http *h, const char *s)
{
	http_write(h, s, strlen(s));
}

void
http_printf(struct http *h, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[512], *big = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		http_write(h, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	http_write(h, big, (size_t)n);
	free(big);
}

int
http_flush(struct http *h)
{
	if (h->gone)
		return -1;
	if (h->fcgi != NULL) {
		if (FCGX_FFlush(h->fcgi->out) == -1)
			http_gone(h);
	} else if (fflush(stdout) == EOF)
		h->gone = 1;
	return h->gone ? -1 : 0;
}

void
http_start(struct http *h, int status, const char *content_type,
    const char *extra)
{
	if (h->started)
		return;
	h->started = 1;
	h->status = status;
	http_printf(h, "Status: %d %s\r\n", status, http_reason(status));
	if (content_type != NULL)
		http_printf(h, "Content-Type: %s\r\n", content_type);
	http_puts(h, "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Content-Security-Policy: default-src 'none'; "
	    "frame-ancestors 'none'\r\n");
	if (extra != NULL)
		http_puts(h, extra);
	else
		http_puts(h, "Cache-Control: no-store\r\n");
	http_puts(h, "\r\n");
	if (strcmp(http_param0(h, "REQUEST_METHOD"), "HEAD") == 0) {
		/* Nothing follows a HEAD's headers: what would is dropped. */
		http_flush(h);
		h->gone = 1;
	}
}

void
http_json(struct http *h, int status, json_t *body)
{
	char	*s;

	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (s == NULL) {
		http_error(h, ERR_INTERNAL, NULL);
		return;
	}
	http_start(h, status, "application/json", NULL);
	http_puts(h, s);
	http_puts(h, "\n");
	free(s);
}

int
http_err_status(enum http_err e)
{
	return (unsigned)e < ERR__MAX ? errs[e].status : 500;
}

void
http_error(struct http *h, enum http_err e, const char *message)
{
	json_t	*body;
	char	*s = NULL, extra[160];

	if ((unsigned)e >= ERR__MAX)
		e = ERR_INTERNAL;
	body = json_pack("{s:{s:s, s:s}}", "error", "code", errs[e].code,
	    "message", message ? message : errs[e].message);
	if (body != NULL)
		s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	extra[0] = '\0';
	if (e == ERR_METHOD && h->allow != NULL)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n"
		    "Cache-Control: no-store\r\n", h->allow);
	else if (e == ERR_RATE_LIMITED && h->retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n"
		    "Cache-Control: no-store\r\n", h->retry_after);
	http_start(h, errs[e].status, "application/json",
	    extra[0] ? extra : NULL);
	http_puts(h, s ? s : "{\"error\":{\"code\":\"internal\","
	    "\"message\":\"Something went wrong on our side.\"}}");
	http_puts(h, "\n");
	free(s);
}
