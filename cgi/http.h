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
	ERR_TIMEOUT,		/* 408: the body did not arrive in time */
	ERR_TURN_IN_PROGRESS,	/* 409 */
	ERR_NOT_STREAMING,	/* 409 */
	ERR_NOT_FAILED,		/* 409: only a failed notification is resent */
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
	int		 body_late;	/* http_read_body ran out of time */
	int		 rcvtimeo;	/* FastCGI: SO_RCVTIMEO is set */
	int		 released;	/* FastCGI: FCGX_Finish_r done */
};

/*
 * End the response: under FastCGI, FCGX_Finish_r (once, however often
 * this is called; nothing under plain CGI, whose caller closes stdout).
 * Afterwards nothing is written or read, and http_param answers NULL.
 * Called by the worker after each request, and at once when the client
 * is found gone, so that a web server that hands a process one request at
 * a time (mod_fcgid) is not held by a reply nobody reads.
 */
void		 http_release(struct http *);

/* A request parameter (CGI meta-variable), or NULL. */
const char	*http_param(struct http *, const char *name);

/* A parameter, or "" when unset. */
const char	*http_param0(struct http *, const char *name);

/* What http_read_body found. */
enum http_body {
	HTTP_BODY_OK,		/* *body holds all of it */
	HTTP_BODY_TOO_LARGE,	/* over max: refused, the rest unread */
	HTTP_BODY_BAD,		/* a bad CONTENT_LENGTH, or cut short */
	HTTP_BODY_TIMEOUT,	/* not whole within the time given */
	HTTP_BODY_NO_MEMORY,	/* no buffer for it */
};

/*
 * Read the whole body into a malloc'd buffer (NUL-terminated; the caller
 * frees it) of at most max bytes, within timeout_ms for all of it.  With
 * CONTENT_LENGTH over max nothing is read; without CONTENT_LENGTH (a
 * chunked body the server passes on as it comes, or none) the body runs
 * to its end.  *body and *len are set only with HTTP_BODY_OK.
 */
enum http_body	 http_read_body(struct http *, size_t max, long timeout_ms,
		    char **body, size_t *len);

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
 * or NULL.  Ends the header block.  For a HEAD, also the response: the
 * headers are flushed and the client counts as gone.
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
