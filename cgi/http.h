/*
 * http.h: one request, whether it came over FastCGI or plain CGI.
 *
 * The handlers never see libfcgi: they read parameters and the body and
 * write the response through this struct, which hides the two transports
 * (an FCGX_Request, or the process environment and stdio).  Nothing read
 * from a request outlives http_finish(): values are copied or dropped.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#include <fcgiapp.h>
#include <jansson.h>

/* The contract's error codes, each with its status. */
enum http_err {
	ERR_BAD_REQUEST,	/* 400 */
	ERR_UNAUTHORIZED,	/* 401 */
	ERR_NOT_FOUND,		/* 404 */
	ERR_METHOD,		/* 405 */
	ERR_TURN_IN_PROGRESS,	/* 409 */
	ERR_NOT_STREAMING,	/* 409 */
	ERR_TOO_LARGE,		/* 413 */
	ERR_MEDIA_TYPE,		/* 415 */
	ERR_RATE_LIMITED,	/* 429 */
	ERR_INTERNAL,		/* 500 */
	ERR_UNAVAILABLE,	/* 503 */
	ERR__MAX
};

struct http {
	FCGX_Request	*fcgi;		/* NULL under plain CGI */
	int		 gone;		/* a write or flush to the client failed */
	int		 started;	/* headers written */
	int		 status;	/* status sent, for the log */
	const char	*allow;		/* the Allow header of a 405 */
	int		 retry_after;	/* seconds, the Retry-After of a 429 */
	int		 body_read;	/* http_read_body consumed the body */
};

/* A request parameter (CGI meta-variable), or NULL. */
const char	*http_param(struct http *, const char *name);

/* A parameter, or "" when unset. */
const char	*http_param0(struct http *, const char *name);

/*
 * Read the whole body into a malloc'd buffer (NUL-terminated) of at most
 * max bytes.  Returns 0 with *body and *len set, 1 when CONTENT_LENGTH is
 * over max (nothing read), or -1 when it could not be read in full.
 */
int		 http_read_body(struct http *, size_t max, char **body,
		    size_t *len);

/* Write bytes / a string; failures mark the client gone, quietly. */
void		 http_write(struct http *, const char *buf, size_t len);
void		 http_puts(struct http *, const char *s);
void		 http_printf(struct http *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Push what is buffered to the client now.  -1 when the client is gone. */
int		 http_flush(struct http *);

/*
 * Start the response: the status line, the security headers and
 * content_type.  extra holds more header lines ("Name: value\r\n"...),
 * or NULL.  Ends the header block.
 */
void		 http_start(struct http *, int status, const char *content_type,
		    const char *extra);

/* A complete JSON response; steals a reference to body. */
void		 http_json(struct http *, int status, json_t *body);

/* A complete error response; message is for people, NULL for the default. */
void		 http_error(struct http *, enum http_err, const char *message);

/* The HTTP status of an error code. */
int		 http_err_status(enum http_err);

#endif
