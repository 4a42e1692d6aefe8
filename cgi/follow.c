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

#include "api.h"
#include "events.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

#define FOLLOW_POLL_MS		100
#define FOLLOW_MAX_MS		(10 * 60 * 1000)

void
follow_reply(struct ctx *c, int64_t msg_id, size_t from)
{
	struct reply_view	v;
	int64_t			started = util_mono_ms(), last_write;
	size_t			pos;
	int			rc, first = 1;

	/* The first read is from 0, to round from down to a character. */
	rc = store_reply_read(c->db, c->route.arg, msg_id, 0, &c->self, &v);
	if (rc == -1) {
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		return;
	}
	if (rc == 0) {
		http_start(&c->h, 204, NULL, NULL);
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
		if (!first && (rc = store_reply_read(c->db, c->route.arg,
		    msg_id, pos, &c->self, &v)) != 1)
			break;
		if (first) {
			/* v holds the text from 0: skip to pos. */
			if (pos < v.text_len)
				events_delta(&c->h, v.length, v.text + pos,
				    v.text_len - pos);
			first = 0;
		} else if (v.length > pos)
			events_delta(&c->h, v.length, v.text, v.text_len);
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
		if (c->h.gone)
			return;
		if (util_mono_ms() - started > FOLLOW_MAX_MS)
			return;		/* the client resumes from its id */
		if (util_mono_ms() - last_write >= c->cfg->ping_ms) {
			events_ping(&c->h);
			last_write = util_mono_ms();
		}
		util_sleep_ms(FOLLOW_POLL_MS);
	}
	if (rc == -1)
		log_warnx("follow: reply %lld unreadable", (long long)msg_id);
}
