/*
 * follow.c: a reply read back from the database as events.
 *
 * The reply is state: whoever did not start it (a reload, a second tab, a
 * retried request with the same client_id) reads the row and follows it
 * as it grows, with the same events the turn wrote.  Each poll first reads
 * the row's length and status alone (one indexed lookup, no lock held
 * between polls) and reads text only when the length moved, so a crowd
 * of followers costs little while a reply is quiet.
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "handler.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

#define FOLLOW_POLL_MS		100
#define FOLLOW_OWNER_MS		1000	/* how often the writer's life is checked */
#define FOLLOW_MAX_MS		(10 * 60 * 1000)
#define FOLLOW_LOST	"The reply could not be followed. Reload to try again."

/* What follow_wait found. */
enum follow_rc {
	FOLLOW_READ,		/* something to read */
	FOLLOW_OVER,		/* the client left, or the follow is over */
	FOLLOW_STOPPING,	/* this process is being stopped */
	FOLLOW_ERROR,
};

/*
 * Wait until the reply has more than pos bytes, is final, or its writer
 * is gone (then the next read marks it interrupted).  Peeks at one row
 * every FOLLOW_POLL_MS; looks at the writer's process once a second.
 */
static enum follow_rc
follow_wait(struct ctx *c, int64_t msg_id, size_t pos, int64_t started,
    int64_t *last_write)
{
	struct reply_peek	p;
	int64_t			last_owner = util_mono_ms(), now;

	for (;;) {
		if (c->h.gone || util_mono_ms() - started > FOLLOW_MAX_MS)
			return FOLLOW_OVER;	/* the client resumes from its id */
		if (api_terminating)
			return FOLLOW_STOPPING;
		if ((now = util_mono_ms()) - *last_write >= c->cfg->ping_ms) {
			events_ping(&c->h);
			*last_write = now;
		}
		/* No handle held while it waits: a crowd of followers
		   shares a few. */
		handler_db_put(c);
		util_sleep_ms(FOLLOW_POLL_MS);
		if (handler_db(c) == NULL ||
		    store_reply_peek(c->db, msg_id, &p) != FOUND)
			return FOLLOW_ERROR;
		if (p.status != MSG_STREAMING || p.length > pos)
			return FOLLOW_READ;
		if (util_mono_ms() - last_owner >= FOLLOW_OWNER_MS) {
			last_owner = util_mono_ms();
			if (store_owner_gone(msg_id, &p, &c->self))
				return FOLLOW_READ;
		}
	}
}

void
follow_reply(struct ctx *c, int64_t msg_id, size_t from)
{
	struct reply_view	v;
	int64_t			started = util_mono_ms(), last_write;
	size_t			pos, back, off;
	int			first = 1;

	/* The first read is from 0, to round from down to a character. */
	switch (store_reply_read(c->db, c->route.arg, msg_id, 0, &c->self,
	    &v)) {
	case FOUND:
		break;
	case FOUND_NONE:
		http_start(&c->h, 204, NULL, NULL);
		return;
	case FOUND_ERROR:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	msg_id = v.id;
	/*
	 * An offset inside what is saved is rounded down to a character.
	 * One beyond it (the turn's own stream runs ahead of its saves) is
	 * kept while the reply streams: the bytes up to it are the client's.
	 */
	if (from <= v.text_len)
		pos = utf8_floor(v.text, v.text_len, from);
	else
		pos = v.status == MSG_STREAMING ? from : v.text_len;
	events_start(&c->h);
	events_turn(&c->h, v.turn, v.user_id, v.id);
	last_write = util_mono_ms();
	for (;;) {
		/*
		 * Later reads start a few bytes early: a resume offset that
		 * was beyond the saved text may fall inside a character, and
		 * is rounded down once the bytes before it are there.
		 */
		back = pos >= 3 ? 3 : pos;
		if (!first && store_reply_read(c->db, c->route.arg, msg_id,
		    pos - back, &c->self, &v) != FOUND) {
			log_warnx("follow: reply %lld unreadable",
			    (long long)msg_id);
			events_end(&c->h, MSG_INTERRUPTED, FOLLOW_LOST);
			return;
		}
		if (first) {
			/* v holds the text from 0: skip to pos. */
			if (pos < v.text_len)
				events_delta(&c->h, v.length, v.text + pos,
				    v.text_len - pos);
			first = 0;
		} else if (v.length > pos) {
			off = utf8_floor(v.text, v.text_len, back);
			events_delta(&c->h, v.length, v.text + off,
			    v.text_len - off);
		}
		if (v.length > pos) {
			last_write = util_mono_ms();
			pos = v.length;
		}
		if (v.status != MSG_STREAMING) {
			events_end(&c->h, v.status, v.error);
			store_reply_view_free(&v);
			return;
		}
		store_reply_view_free(&v);
		switch (follow_wait(c, msg_id, pos, started, &last_write)) {
		case FOLLOW_READ:
			break;
		case FOLLOW_OVER:
			return;
		case FOLLOW_STOPPING:
			events_end(&c->h, MSG_INTERRUPTED, "The server is "
			    "restarting. Reload in a moment to see the reply.");
			return;
		case FOLLOW_ERROR:
			log_warnx("follow: reply %lld unreadable",
			    (long long)msg_id);
			events_end(&c->h, MSG_INTERRUPTED, FOLLOW_LOST);
			return;
		}
	}
}
