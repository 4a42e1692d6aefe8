/*
 * store.h: conversations and messages, for the request handlers.
 *
 * One interface, a file per job: store_conv.c (conversations),
 * store_turn.c (beginning a turn, cancel), store_write.c (the reply's
 * writer), store_read.c (its readers), store_reap.c (replies whose
 * writer is gone: owner.c's rule), store_history.c (what the model is
 * given).  Every call returns one enum or 0 / -1.
 *
 * Every write is one short BEGIN IMMEDIATE transaction; no statement or
 * read transaction stays open while a reply streams.  A streaming reply
 * grows by appended parts (store_reply_save), so each save writes only
 * the new text and a follower reads only what it has not seen.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db;

enum store_auth {
	STORE_AUTH_OK,
	STORE_AUTH_NOT_FOUND,
	STORE_AUTH_DENIED,
	STORE_AUTH_ERROR,
};

enum msg_status {
	MSG_STREAMING,
	MSG_COMPLETE,
	MSG_ERROR,
	MSG_CANCELLED,
	MSG_INTERRUPTED,
	MSG__MAX
};

const char	*store_status_name(enum msg_status);
enum msg_status	 store_status_lookup(const char *);

/*
 * Who writes a streaming row: this process, told apart from a reused pid;
 * and how it judges another writer gone.
 */
struct store_owner {
	long	pid;
	int64_t	start;
	long	stale_ms;	/* heartbeat older than this: presumed gone */
	/* 1 when this process gave up writing msg_id (or NULL). */
	int	(*gave_up)(int64_t msg_id);
};

/* Create a conversation.  0, or -1. */
int		store_conv_create(struct db *, const char *id, const char *token,
		    const char *client_addr);

/* Check a conversation's bearer token, in constant time. */
enum store_auth	store_conv_auth(struct db *, const char *id, const char *token);

/*
 * The conversation as the contract's JSON object (new reference), with
 * every message, the text of streaming ones assembled from their parts.
 * Marks replies whose owner is gone as interrupted first.  NULL on error.
 */
json_t		*store_conv_json(struct db *, const char *id,
		    const struct store_owner *self);

/* What store_turn_begin found. */
enum turn_rc {
	TURN_STARTED,		/* a new turn: ids filled */
	TURN_REPLAY,		/* client_id seen: ids of that turn filled */
	TURN_BUSY,		/* a reply is streaming: 409 */
	TURN_TOO_MANY,		/* the conversation's turn limit: 429 */
	TURN_ERROR,
};

struct turn_ids {
	int		turn;
	int64_t		user_id;
	int64_t		assistant_id;
};

/*
 * In one BEGIN IMMEDIATE transaction: reap a dead owner's reply, refuse
 * while a reply streams, replay a known client_id, else insert the user's
 * message and the assistant's placeholder (status streaming, owned by
 * self).
 */
enum turn_rc	store_turn_begin(struct db *, const char *conv_id,
		    const char *text, size_t text_len, const char *client_id,
		    long turns_max, const struct store_owner *self,
		    struct turn_ids *ids);

/*
 * The visitor's messages of the conversation, oldest first, up to and
 * including turn, at most max of the latest: texts[] and lens[] malloc'd
 * (free with store_texts_free).  With assistant non-zero, both roles
 * interleaved and roles[] says which (1 = assistant).  Returns the count,
 * or -1.
 */
struct store_texts {
	char	**texts;
	size_t	 *lens;
	int	 *roles;
	size_t	  n;
};
int		store_history(struct db *, const char *conv_id, int turn,
		    long max, int assistant, struct store_texts *out);
void		store_texts_free(struct store_texts *);

/*
 * Record on conversation conv_id the SHA-256 (hex) of the disclosure its
 * visitor saw, and now, unless one is recorded already.  0, or -1.
 */
int		store_conv_disclosure(struct db *, const char *conv_id,
		    const char *sha256);

/* What store_reply_save did. */
enum save_rc {
	SAVE_OK,		/* saved */
	SAVE_CANCELLED,		/* saved, and a cancel has been asked for */
	SAVE_BUSY,		/* another writer kept the lock: nothing saved */
	SAVE_ERROR,		/* nothing saved (logged) */
	SAVE_GONE,		/* the reply is no more: its conversation was
				   erased; nothing saved, stop */
};

/*
 * Append text[0..len) at byte offset off of the reply and beat the heart,
 * waiting for the write lock at most wait_ms: a streaming reply tries
 * again on a later tick rather than stall.  len may be 0 (a heartbeat
 * and a cancel check alone).
 */
enum save_rc	store_reply_save(struct db *, int64_t msg_id, size_t off,
		    const char *text, size_t len, long wait_ms);

/*
 * The same inside the caller's write transaction (a saver committing
 * many replies' parts at once).  Never SAVE_BUSY.
 */
enum save_rc	store_save_locked(struct db *, int64_t msg_id, size_t off,
		    const char *text, size_t len);

/*
 * Make the reply final: its whole text (or, with text NULL, the parts
 * saved so far), its status and the error told to the visitor (or NULL);
 * its parts are removed.  0, or -1.
 */
int		store_reply_finish(struct db *, int64_t msg_id,
		    enum msg_status status, const char *text, size_t len,
		    const char *error);

/* The same inside the caller's write transaction. */
int		store_finish_locked(struct db *, int64_t msg_id,
		    enum msg_status status, const char *text, size_t len,
		    const char *error);

/* What the writer of a reply learns between saves. */
enum reply_check {
	REPLY_GO_ON,		/* nobody asked it to stop */
	REPLY_CANCEL_ASKED,	/* a cancel was asked for */
	REPLY_ERASED,		/* the reply is no more: its conversation
				   was erased */
	REPLY_CHECK_ERROR,	/* could not look (logged): go on */
};

enum reply_check store_reply_cancelled(struct db *, int64_t msg_id);

/* What store_cancel did. */
enum cancel_rc {
	CANCEL_ASKED,		/* the streaming reply was asked to stop */
	CANCEL_NOT_STREAMING,	/* nothing streams (a dead writer's reply
				   is marked interrupted, not cancelled) */
	CANCEL_ERROR,
};

/*
 * Ask the conversation's streaming reply to stop, in one write
 * transaction that first marks a reply whose writer is gone as
 * interrupted.
 */
enum cancel_rc	store_cancel(struct db *, const char *conv_id,
		    const struct store_owner *self);

/* What a reader sees of one reply at a moment. */
struct reply_view {
	int64_t		 id;
	int		 turn;
	int64_t		 user_id;
	enum msg_status	 status;
	size_t		 length;	/* bytes available */
	char		*text;		/* bytes [from, length), malloc'd */
	size_t		 text_len;
	char		*error;		/* malloc'd or NULL */
};

/* What a read of one row found. */
enum found_rc {
	FOUND,			/* the row, filled in */
	FOUND_NONE,		/* no such row */
	FOUND_ERROR,		/* could not read (logged) */
};

/*
 * Read the reply msg_id (or, with msg_id 0, the conversation's latest
 * assistant message) from byte offset from on, in one read transaction.
 * A streaming reply whose owner is gone is marked interrupted first.
 */
enum found_rc	store_reply_read(struct db *, const char *conv_id, int64_t msg_id,
		    size_t from, const struct store_owner *self,
		    struct reply_view *v);
void		store_reply_view_free(struct reply_view *);

/* The cheap look a follower takes between reads: one indexed row. */
struct reply_peek {
	enum msg_status	 status;
	size_t		 length;
	long		 owner_pid;
	int64_t		 owner_start;
	int64_t		 heartbeat_at;
	int		 other_node;	/* written on another node */
};

enum found_rc	store_reply_peek(struct db *, int64_t msg_id, struct reply_peek *p);

/* 1 when a streaming reply's writer, as peeked, is gone. */
int		store_owner_gone(int64_t msg_id, const struct reply_peek *p,
		    const struct store_owner *self);

/*
 * owner.h's rule for the writer of reply msg_id: same_node says whether
 * it ran on this node.
 */
int		store_writer_gone(int64_t msg_id, int same_node, long pid,
		    int64_t start, int64_t heartbeat_at,
		    const struct store_owner *self);

/*
 * Mark every streaming reply whose writer is gone as interrupted, in any
 * conversation (at most a few at a time: call again).  A program's start
 * and its periodic check do this, so a killed writer's reply does not
 * wait for a reader.  How many conversations were reaped, or -1.
 */
int		store_reap_all(struct db *, const struct store_owner *self);

/* 1 when the database answers a read and can be written, 0 when not. */
int		store_health(struct db *);

#endif
