/*
 * http.c: the two transports behind struct http.
 *
 * FastCGI goes through libfcgi's FCGX_* calls on the request; plain CGI
 * reads the environment and standard input and writes standard output.
 * A client that has gone shows as a failed write or flush: we note it and
 * go quiet (SIGPIPE is ignored), because the reply must still be read to
 * its end and saved.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

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
	[ERR_TURN_IN_PROGRESS] = { 409, "turn_in_progress",
	    "A reply is still being written; send again when it ends." },
	[ERR_NOT_STREAMING] = { 409, "not_streaming",
	    "No reply is being written." },
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

/* Read up to len bytes of the body; the count read, or -1. */
static ssize_t
http_read(struct http *h, char *buf, size_t len)
{
	ssize_t	n;
	int	got;

	if (h->fcgi != NULL) {
		got = FCGX_GetStr(buf, (int)(len > 65536 ? 65536 : len),
		    h->fcgi->in);
		return got;
	}
	do
		n = read(STDIN_FILENO, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

int
http_read_body(struct http *h, size_t max, char **body, size_t *lenp)
{
	const char		*cl = http_param(h, "CONTENT_LENGTH");
	char			*buf, *end;
	unsigned long long	 want = 0;
	size_t			 got = 0;
	ssize_t			 n;

	*body = NULL;
	*lenp = 0;
	if (cl != NULL && *cl != '\0') {
		errno = 0;
		want = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || cl[0] == '-')
			return -1;
	}
	if (want > max)
		return 1;
	if ((buf = malloc((size_t)want + 1)) == NULL)
		return -1;
	while (got < (size_t)want) {
		n = http_read(h, buf + got, (size_t)want - got);
		if (n <= 0) {
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*body = buf;
	*lenp = got;
	h->body_read = 1;
	return 0;
}

void
http_write(struct http *h, const char *buf, size_t len)
{
	if (h->gone || len == 0)
		return;
	if (h->fcgi != NULL) {
		if (FCGX_PutStr(buf, (int)len, h->fcgi->out) != (int)len)
			h->gone = 1;
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
			h->gone = 1;
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
