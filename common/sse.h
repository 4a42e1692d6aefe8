/*
 * sse.h: an incremental Server-Sent Events parser (WHATWG rules).
 *
 * Bytes go in as they arrive, in chunks split anywhere; whole events come
 * out through a callback.  Lines end in LF, CR or CRLF (a CR at the end of
 * one chunk and an LF at the start of the next are one line end).  A line
 * starting with ':' is a comment; "field: value" loses one optional space;
 * "data" lines join with "\n"; a blank line dispatches; an event with no
 * data is not dispatched.  Pure: no I/O, heap only for its own buffers.
 */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>

/* Longest line and longest event data kept; beyond, sse_feed fails. */
#define SSE_LINE_MAX	(256 * 1024)
#define SSE_DATA_MAX	(1024 * 1024)

struct sse_event {
	const char	*event;		/* "message" when no event: field */
	size_t		 event_len;
	const char	*data;		/* NUL-terminated, lines joined by \n */
	size_t		 data_len;
};

/*
 * Return 0 to go on, non-zero to stop feeding (sse_feed returns it; use a
 * positive value, -1 means a limit).  ev and its strings are only valid
 * during the call.
 */
typedef int (*sse_cb)(const struct sse_event *ev, void *arg);

struct sse_parser {
	char		*line;		/* current, unfinished line */
	size_t		 line_len, line_cap;
	char		*data;		/* data of the event being built */
	size_t		 data_len, data_cap;
	int		 has_data;
	char		 event[64];	/* event name (longer names truncated) */
	size_t		 event_len;
	int		 last_cr;	/* previous byte was a CR */
	int		 started;	/* first line seen (BOM checked) */
	unsigned long	 comments;	/* comment lines seen */
	unsigned long	 events;	/* events dispatched */
};

void	sse_init(struct sse_parser *);
void	sse_free(struct sse_parser *);

/*
 * Feed len bytes.  Returns 0 when all were consumed, the callback's
 * non-zero value when it asked to stop (the bytes after that event are
 * not consumed), or -1 when a limit above was exceeded or memory ran out
 * (the parser must then be freed).
 */
int	sse_feed(struct sse_parser *, const char *buf, size_t len,
	    sse_cb cb, void *arg);

/*
 * The stream ended.  Returns 1 when bytes of an unfinished event were
 * pending (an unterminated line, or data or event lines with no blank
 * line after them); they are dropped, per the spec.  Returns 0 otherwise.
 * The parser is then ready for a new stream; the counters are kept.
 */
int	sse_end(struct sse_parser *);

#endif
