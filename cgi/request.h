/*
 * request.h: validating a message body before anything is stored.  Pure.
 *
 * {"text": "...", "client_id": "..."}: the body must be well-formed UTF-8
 * JSON no deeper than REQUEST_DEPTH_MAX, an object whose "text" is a
 * string of at most text_max characters that is not blank (not only
 * spaces of any kind or invisible characters: utf8_blank), and whose
 * optional "client_id" is a string of 1 to client_id_max printable
 * characters, and whose optional "disclosure" is the SHA-256 of the
 * disclosure the page showed (64 lower-case hex digits).
 * Other members are ignored.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>

#define REQUEST_DEPTH_MAX	16

enum request_rc {
	REQUEST_OK,
	REQUEST_BAD,		/* 400 */
	REQUEST_TOO_LARGE,	/* 413 */
	REQUEST_NO_MEMORY,	/* 503: the copies could not be made */
};

struct message_req {
	char	*text;		/* malloc'd, NUL-terminated */
	size_t	 text_len;	/* bytes */
	char	*client_id;	/* malloc'd, or NULL when absent */
	char	 disclosure[65]; /* hex, or "" when absent */
};

/* A staff change to a lead: PATCH /api/leads/{id}. */
struct patch_req {
	char	*status;	/* malloc'd, or NULL: unchanged */
	char	*note;		/* malloc'd, or NULL: none */
};

/*
 * Validate body (len bytes).  On REQUEST_OK, m holds copies the caller
 * frees with request_free; otherwise why holds a message for the client.
 */
enum request_rc	request_message(const char *body, size_t len, long text_max,
		    long client_id_max, struct message_req *m, char *why,
		    size_t whysz);

void		request_free(struct message_req *m);

/*
 * Validate a PATCH body: {"status":"…","note":"…"}, either or both (an
 * empty note is none), status one status_valid accepts, the note at most
 * note_max characters (REQUEST_TOO_LARGE beyond).  On REQUEST_OK, p
 * holds copies freed with request_patch_free; else why says what is
 * wrong.
 */
enum request_rc	request_patch(const char *body, size_t len, long note_max,
		    int (*status_valid)(const char *), struct patch_req *p,
		    char *why, size_t whysz);

void		request_patch_free(struct patch_req *p);

/* 1 when the JSON text nests no deeper than max (strings skipped). */
int		request_depth_ok(const char *s, size_t len, int max);

/*
 * 1 when a Content-Type names JSON: "application/json" with optional
 * parameters (a charset, if given, must be utf-8).
 */
int		request_is_json(const char *content_type);

#endif
