/*
 * turn.c: the streaming turn, POST /api/conversations/{id}/messages.
 *
 * Validate everything before anything is stored; one BEGIN IMMEDIATE
 * stores the visitor's message and the reply's placeholder; then each
 * piece of the reply is relayed as a delta and flushed, and saved every
 * SAVE_CHARS characters or SAVE_MS milliseconds, whichever comes first.
 * The final save precedes the last event, so whoever sees "done" finds
 * the row final; after the last event nothing is done before the caller
 * ends the response.  A client that goes away changes nothing: the reply
 * is read to its end and saved.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "events.h"
#include "gen.h"
#include "log.h"
#include "request.h"
#include "utf8.h"
#include "util.h"

#define SAVE_CHARS	200
#define SAVE_MS		250
#define CANCEL_POLL_MS	250
#define HEARTBEAT_MS	2000
#define SAVE_WAIT_MS	5000	/* unsaved this long: wait for the lock */
#define SAVE_RETRY_MS	50	/* between tries while the lock is taken */
#define FINISH_TRIES	3

struct relay {
	struct ctx	*c;
	int64_t		 msg_id;
	char		*buf;		/* the whole reply so far */
	size_t		 len, cap;
	size_t		 saved;		/* bytes saved */
	size_t		 unsaved_chars;
	int64_t		 last_save;	/* last try */
	int64_t		 last_saved;	/* last save that went through */
	int64_t		 last_poll, last_write;
	int		 cancelled;
	int		 too_long;
};

/*
 * Save what is new; notes a cancel.  A save does not wait for the write
 * lock (a busy database must not stall the stream: the text is saved on
 * a later tick), unless nothing could be saved for SAVE_WAIT_MS, so the
 * heartbeat never goes stale under load.  A failed save is retried.
 */
static void
relay_save(struct relay *r)
{
	int64_t	now = util_mono_ms();
	int	rc;

	rc = store_reply_save(r->c->db, r->msg_id, r->saved,
	    r->buf + r->saved, r->len - r->saved,
	    now - r->last_saved >= SAVE_WAIT_MS);
	r->last_save = r->last_poll = now;
	if (rc == -1 || rc == 2)
		return;
	r->last_saved = now;
	r->saved = r->len;
	r->unsaved_chars = 0;
	if (rc == 1)
		r->cancelled = 1;
}

static int
relay_tick(void *arg)
{
	struct relay	*r = arg;
	int64_t		 now = util_mono_ms();

	if (r->len > r->saved && now - r->last_save >= SAVE_MS)
		relay_save(r);
	else if (now - r->last_save >= HEARTBEAT_MS)
		relay_save(r);
	else if (now - r->last_poll >= CANCEL_POLL_MS) {
		r->last_poll = now;
		if (store_reply_cancelled(r->c->db, r->msg_id) == 1)
			r->cancelled = 1;
	}
	if (now - r->last_write >= r->c->cfg->ping_ms) {
		events_ping(&r->c->h);
		r->last_write = now;
	}
	return r->cancelled || r->too_long || api_terminating;
}

static int
relay_text(void *arg, const char *s, size_t n)
{
	struct relay	*r = arg;
	size_t		 ncap;
	char		*nb;

	if (n == 0)
		return relay_tick(r);
	if (n > (size_t)r->c->cfg->reply_max - r->len) {
		log_warnx("reply %lld: longer than %ld bytes; cut",
		    (long long)r->msg_id, r->c->cfg->reply_max);
		r->too_long = 1;
		return 1;
	}
	if (r->len + n + 1 > r->cap) {
		ncap = r->cap ? r->cap : 1024;
		while (ncap < r->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(r->buf, ncap)) == NULL) {
			r->too_long = 1;
			return 1;
		}
		r->buf = nb;
		r->cap = ncap;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
	events_delta(&r->c->h, r->len, s, n);
	r->last_write = util_mono_ms();
	r->unsaved_chars += utf8_count(s, n);
	if (r->unsaved_chars >= SAVE_CHARS &&
	    r->last_write - r->last_save >= SAVE_RETRY_MS)
		relay_save(r);
	return relay_tick(r);
}

/* Validate the request; 0 with m filled, or -1 answered. */
static int
turn_request(struct ctx *c, struct message_req *m)
{
	char		*body = NULL, why[160];
	size_t		 len;
	int		 rc;

	if (!request_is_json(http_param(&c->h, "CONTENT_TYPE"))) {
		http_error(&c->h, ERR_MEDIA_TYPE, NULL);
		return -1;
	}
	rc = http_read_body(&c->h, (size_t)c->cfg->body_max, &body, &len);
	if (rc == 1) {
		http_error(&c->h, ERR_TOO_LARGE, "The request body is too "
		    "large.");
		return -1;
	}
	if (rc == -1) {
		http_error(&c->h, ERR_BAD_REQUEST, "The request body could "
		    "not be read.");
		return -1;
	}
	switch (request_message(body, len, c->cfg->text_max,
	    c->cfg->client_id_max, m, why, sizeof(why))) {
	case REQUEST_OK:
		free(body);
		return 0;
	case REQUEST_TOO_LARGE:
		http_error(&c->h, ERR_TOO_LARGE, why);
		break;
	default:
		http_error(&c->h, ERR_BAD_REQUEST, why);
		break;
	}
	free(body);
	return -1;
}

/*
 * The final save, tried FINISH_TRIES times; if the whole reply cannot be
 * saved, the row is at least made final (error, with the text saved so
 * far), so it never stays "streaming" after the client was told it
 * ended.  0, or -1 when the whole reply was not saved.
 */
static int
turn_finish(struct ctx *c, int64_t msg_id, enum msg_status st,
    const char *text, size_t len, const char *error)
{
	int	i;

	for (i = 0; i < FINISH_TRIES; i++) {
		if (store_reply_finish(c->db, msg_id, st, text, len, error) == 0)
			return 0;
		util_sleep_ms(100 << i);
	}
	log_warnx("reply %lld: could not be saved whole; keeping what was "
	    "saved so far", (long long)msg_id);
	store_reply_finish(c->db, msg_id, MSG_ERROR, NULL, 0,
	    "The reply could not be saved.");
	return -1;
}

/* Generate, relay and save the reply of a turn just begun. */
static void
turn_stream(struct ctx *c, const struct turn_ids *ids)
{
	struct store_texts	 hist;
	struct relay		 r;
	struct gen_input	 in;
	struct gen_sink		 sink;
	struct gen_result	 res;
	enum msg_status		 st;
	const char		*error = NULL;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.msg_id = ids->assistant_id;
	r.last_save = r.last_saved = r.last_poll = r.last_write =
	    util_mono_ms();

	events_start(&c->h);
	events_turn(&c->h, ids->turn, ids->user_id, ids->assistant_id);

	memset(&res, 0, sizeof(res));
	/* One more than the history: this turn's placeholder comes off. */
	if (store_history(c->db, c->route.arg, ids->turn,
	    c->cfg->history_max + 1, 1, &hist) == -1) {
		res.rc = GEN_FAILED;
		snprintf(res.error, sizeof(res.error), "The assistant is "
		    "unavailable right now. Please try again.");
		snprintf(res.why, sizeof(res.why), "history unreadable");
	} else {
		/* The placeholder of this turn is not part of the prompt. */
		if (hist.n > 0 && hist.roles[hist.n - 1])
			free(hist.texts[--hist.n]);
		in.cfg = c->cfg;
		in.history = &hist;
		in.turn = ids->turn;
		sink.text = relay_text;
		sink.tick = relay_tick;
		sink.arg = &r;
		if (c->cfg->provider == PROVIDER_BUILTIN)
			gen_builtin(&in, &sink, &res);
		else
			gen_llm(&in, &sink, &res);
		store_texts_free(&hist);
	}

	if (r.cancelled)
		st = MSG_CANCELLED;
	else if (api_terminating) {
		st = MSG_INTERRUPTED;
		error = "The reply was interrupted.";
		log_warnx("reply %lld: the web server stopped this process; "
		    "saved as interrupted", (long long)r.msg_id);
	}
	else if (res.rc == GEN_FAILED) {
		st = MSG_ERROR;
		error = res.error;
		log_warnx("reply %lld (conversation %s turn %d): %s",
		    (long long)r.msg_id, c->route.arg, ids->turn, res.why);
	} else
		st = MSG_COMPLETE;
	if (turn_finish(c, r.msg_id, st, r.buf, r.len, error) == -1) {
		st = MSG_ERROR;
		error = "The reply could not be saved.";
	}
	if (c->h.gone)
		log_info("reply %lld: the client left; the reply was read to "
		    "its end and saved (%zu bytes, %s)", (long long)r.msg_id,
		    r.len, store_status_name(st));
	events_end(&c->h, st, error);
	free(r.buf);

	c->after.extract = 1;
	snprintf(c->after.conv_id, sizeof(c->after.conv_id), "%s",
	    c->route.arg);
	c->after.turn = ids->turn;
}

void
turn_handle(struct ctx *c)
{
	struct message_req	m;
	struct turn_ids		ids;

	if (api_auth_conv(c, 0) == -1)
		return;
	if (api_rate(c, "message", c->cfg->rate_messages) == -1)
		return;
	if (turn_request(c, &m) == -1)
		return;
	switch (store_turn_begin(c->db, c->route.arg, m.text, m.text_len,
	    m.client_id, c->cfg->turns_max, &c->self, &ids)) {
	case TURN_STARTED:
		request_free(&m);
		turn_stream(c, &ids);
		return;
	case TURN_REPLAY:
		follow_reply(c, ids.assistant_id, 0);
		break;
	case TURN_BUSY:
		http_error(&c->h, ERR_TURN_IN_PROGRESS, NULL);
		break;
	case TURN_TOO_MANY:
		c->h.retry_after = 3600;
		http_error(&c->h, ERR_RATE_LIMITED, "This conversation has "
		    "reached its limit of messages.");
		break;
	default:
		http_error(&c->h, ERR_UNAVAILABLE, NULL);
		break;
	}
	request_free(&m);
}
