/*
 * turn.c: the streaming turn, POST /api/conversations/{id}/messages.
 *
 * Validate everything before anything is stored; one BEGIN IMMEDIATE
 * stores the visitor's message and the reply's placeholder; then each
 * piece of the reply is relayed as a delta and flushed, and handed to the
 * saver (saver.h), which saves what is new within SAVER_MS (at once past
 * SAVER_CHARS bytes) together with every other stream's, beats the
 * reply's heart and brings back a cancel; the stream holds no database
 * handle meanwhile.  The final save precedes the last event, so whoever
 * sees "done" finds the row final; after the last event nothing is done
 * before the caller ends the response.  A client that goes away changes
 * nothing: the reply is read to its end and saved.
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "finals.h"
#include "gen.h"
#include "handler.h"
#include "log.h"
#include "request.h"
#include "saver.h"
#include "utf8.h"
#include "util.h"

#define TURN_UNSAVED	"The reply could not be saved."

struct relay {
	struct ctx		*c;
	int64_t			 msg_id;
	struct saver_slot	*slot;		/* where its text is saved */
	char			*buf;		/* the whole reply so far */
	size_t			 len, cap;
	int64_t			 last_write;
	enum gen_stop		 stop;		/* why the relay stopped the
						   reply */
};

/* Stop the reply for why, unless it was stopped already. */
static enum gen_stop
relay_stop(struct relay *r, enum gen_stop why)
{
	if (r->stop == GEN_GO_ON)
		r->stop = why;
	return r->stop;
}

/*
 * Between pieces: the saver's news (a cancel, an erase), a keep-alive
 * when the client has heard nothing for a while, the process's stop.
 * Unthreaded (plain CGI) the saves themselves run here.
 */
static enum gen_stop
relay_tick(void *arg)
{
	struct relay	*r = arg;
	int64_t		 now;

	saver_tick(r->slot, r->c->db);
	switch (saver_news(r->slot)) {
	case SAVER_CANCEL:
		relay_stop(r, GEN_CANCELLED);
		break;
	case SAVER_ERASED:
		relay_stop(r, GEN_ERASED);
		break;
	case SAVER_GO_ON:
		break;
	}
	if ((now = util_mono_ms()) - r->last_write >= r->c->cfg->ping_ms) {
		events_ping(&r->c->h);
		r->last_write = now;
	}
	if (api_terminating)
		relay_stop(r, GEN_TERMINATED);
	return r->stop;
}

/* Make room for n more bytes (and a NUL).  0, or -1. */
static int
relay_grow(struct relay *r, size_t n)
{
	size_t	 ncap;
	char	*nb;

	if (r->len + n + 1 <= r->cap)
		return 0;
	ncap = r->cap ? r->cap : 1024;
	while (ncap < r->len + n + 1)
		ncap *= 2;
	if ((nb = realloc(r->buf, ncap)) == NULL)
		return -1;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

/*
 * A piece of the reply: kept, relayed as a delta, saved now and then.
 * A reply that would grow past INTAKE_MAX_REPLY keeps what fits (cut at
 * a character) and stops as GEN_TOO_LONG.
 */
static enum gen_stop
relay_text(void *arg, const char *s, size_t n)
{
	struct relay	*r = arg;
	size_t		 room = (size_t)r->c->cfg->reply_max - r->len;
	int		 cut = 0;

	if (r->stop != GEN_GO_ON)
		return r->stop;
	if (n > room) {
		n = utf8_floor(s, n, room);
		cut = 1;
	}
	if (relay_grow(r, n) == -1)
		return relay_stop(r, GEN_NO_MEMORY);
	if (n > 0) {
		memcpy(r->buf + r->len, s, n);
		r->len += n;
		r->buf[r->len] = '\0';
		events_delta(&r->c->h, r->len, s, n);
		r->last_write = util_mono_ms();
		if (saver_put(r->slot, s, n) == -1)
			return relay_stop(r, GEN_NO_MEMORY);
	}
	if (cut)
		return relay_stop(r, GEN_TOO_LONG);
	return relay_tick(r);
}

/* Validate the request; 0 with m filled, or -1 answered. */
static int
turn_request(struct ctx *c, struct message_req *m)
{
	char		*body = NULL, why[160] = "The request is malformed.";
	size_t		 len;

	if (handler_body(c, &body, &len) == -1)
		return -1;
	switch (request_message(body, len, c->cfg->text_max,
	    c->cfg->client_id_max, m, why, sizeof(why))) {
	case REQUEST_OK:
		free(body);
		return 0;
	case REQUEST_TOO_LARGE:
		http_error(&c->h, ERR_TOO_LARGE, why);
		break;
	case REQUEST_NO_MEMORY:
		log_warnx("turn: out of memory reading a message");
		http_error(&c->h, ERR_UNAVAILABLE, why);
		break;
	case REQUEST_BAD:
		http_error(&c->h, ERR_BAD_REQUEST, why);
		break;
	}
	free(body);
	return -1;
}

/*
 * The final save, through the saver (tried SAVER_TRIES rounds).  If the
 * reply cannot be saved (the disk is full, the database is locked for
 * longer than the tries last), the visitor is told so and the reply is
 * handed to the process's list of unsaved finals (finals.h): made final,
 * as an error with its text, as soon as a write goes through, and
 * meanwhile shown to readers as interrupted rather than as a reply still
 * being written.  Frees the slot.  0, or -1 when it was not saved.
 */
static int
turn_finish(struct ctx *c, struct relay *r, enum msg_status st,
    const char *error)
{
	if (saver_finish(r->slot, c->db, st, r->buf, r->len, error) == 0)
		return 0;
	log_warnx("reply %lld: could not be saved; it will be saved as an "
	    "error as soon as the database takes a write",
	    (long long)r->msg_id);
	finals_add(r->msg_id, r->buf, r->len, TURN_UNSAVED);
	return -1;
}

/*
 * The reply's final status and what the visitor is told, from the one
 * reason it stopped; the reason is logged when it is not the reply's
 * natural end or the visitor's own Stop.
 */
static enum msg_status
turn_outcome(const struct ctx *c, int64_t msg_id, int turn,
    const struct gen_result *res, const char **error)
{
	*error = NULL;
	switch (res->stop) {
	case GEN_END:
		return MSG_COMPLETE;
	case GEN_CANCELLED:
		return MSG_CANCELLED;
	case GEN_TOO_LONG:
		log_warnx("reply %lld: longer than INTAKE_MAX_REPLY (%ld "
		    "bytes); cut short", (long long)msg_id,
		    c->cfg->reply_max);
		*error = "The reply was too long and was cut short.";
		return MSG_ERROR;
	case GEN_NO_MEMORY:
		log_warnx("reply %lld: out of memory; the reply was stopped",
		    (long long)msg_id);
		*error = "The reply could not be completed. Please try again.";
		return MSG_ERROR;
	case GEN_TERMINATED:
		log_warnx("reply %lld: this process is being stopped; saved "
		    "as interrupted", (long long)msg_id);
		*error = "The reply was interrupted.";
		return MSG_INTERRUPTED;
	case GEN_FAILED:
		log_warnx("reply %lld (conversation %s turn %d): %s",
		    (long long)msg_id, c->route.arg, turn, res->why);
		*error = res->error;
		return MSG_ERROR;
	case GEN_ERASED:
		log_info("reply %lld: its conversation was erased; stopped",
		    (long long)msg_id);
		*error = "This conversation was erased.";
		return MSG_ERROR;
	case GEN_GO_ON:
	case GEN__MAX:
		break;
	}
	log_warnx("reply %lld: the generator ended without a reason (%d)",
	    (long long)msg_id, (int)res->stop);
	*error = "The reply could not be completed. Please try again.";
	return MSG_ERROR;
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
	const char		*error;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.msg_id = ids->assistant_id;
	r.stop = GEN_GO_ON;
	r.last_write = util_mono_ms();

	events_start(&c->h);
	events_turn(&c->h, ids->turn, ids->user_id, ids->assistant_id);
	if ((r.slot = saver_open(r.msg_id)) == NULL) {
		log_warnx("reply %lld: out of memory", (long long)r.msg_id);
		error = "The reply could not be completed. Please try again.";
		store_reply_finish(c->db, r.msg_id, MSG_ERROR, "", 0, error);
		events_end(&c->h, MSG_ERROR, error);
		return;
	}

	memset(&res, 0, sizeof(res));
	/* One more than the history: this turn's placeholder comes off. */
	if (store_history(c->db, c->route.arg, ids->turn,
	    c->cfg->history_max + 1, 1, &hist) == -1) {
		res.stop = GEN_FAILED;
		snprintf(res.error, sizeof(res.error), "The assistant is "
		    "unavailable right now. Please try again.");
		snprintf(res.why, sizeof(res.why), "history unreadable");
	} else {
		/* The placeholder of this turn is not part of the prompt. */
		if (hist.n > 0 && hist.roles[hist.n - 1])
			free(hist.texts[--hist.n]);
		/* While it streams, the saver writes: no handle held. */
		if (saver_threaded())
			handler_db_put(c);
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

	st = turn_outcome(c, r.msg_id, ids->turn, &res, &error);
	/* Erased: nothing of it is written again, nor extracted. */
	if (res.stop == GEN_ERASED) {
		saver_drop(r.slot);
		events_end(&c->h, st, error);
		free(r.buf);
		return;
	}
	if (turn_finish(c, &r, st, error) == -1) {
		st = MSG_ERROR;
		error = TURN_UNSAVED;
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

/*
 * The turn, once the dispatcher has authenticated the conversation,
 * counted the message and taken the turn's stream slot (held from before
 * the body is read until the reply is saved, whether or not anyone still
 * reads it): read, store, stream.
 */
void
turn_post(struct ctx *c)
{
	struct message_req	m;
	struct turn_ids		ids;

	if (turn_request(c, &m) == -1)
		return;
	switch (store_turn_begin(c->db, c->route.arg, m.text, m.text_len,
	    m.client_id, c->cfg->turns_max, &c->self, &ids)) {
	case TURN_STARTED:
		/* What the page showed before the first message, if it is
		   the text the firm has now (an older one is not vouched
		   for). */
		if (ids.turn == 1 && m.disclosure[0] != '\0' &&
		    strcmp(m.disclosure, c->cfg->disclosure_sha256) == 0)
			store_conv_disclosure(c->db, c->route.arg,
			    m.disclosure);
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
