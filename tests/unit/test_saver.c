/*
 * test_saver.c: the streaming replies' saver (saver.h) on a real
 * database, either engine (testdb.h).  Replies are made with the real
 * store calls; what the saver wrote is read back on another handle.
 *
 *   1. threaded: many streams at once end complete with exactly their
 *	text and no parts left; a reader sees their text grow while they
 *	stream; their saves were committed together (far fewer rounds
 *	than writes);
 *   2. a cancel asked on another handle reaches a streaming and an idle
 *	reply;
 *   3. an erase mid-stream: the news is "erased", a dropped slot and a
 *	final after the erase write nothing, and the final returns;
 *   4. replies whose writes fail (a trigger) do not keep the others
 *	from being saved and made final, in the same rounds;
 *   5. unthreaded (plain CGI): the caller's own rounds;
 *   6. the thread started again after saver_stop.
 *
 * A wait that hangs ends the test (an alarm) as a failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "db.h"
#include "erase.h"
#include "saver.h"
#include "store.h"
#include "testdb.h"
#include "util.h"

#define STREAMS		16	/* replies streaming at once (1.) */
#define PIECES		80	/* pieces of each, PIECE bytes each */
#define PIECE		8
#define PIECE_MS	20	/* between pieces */
#define TEXT_MAX	(PIECES * PIECE + 1)
#define BOUND_MS	5000	/* generous bound for what SAVER_MS promises */
#define QUIET_MS	1500	/* for SAVER_CHECK_MS: well under a heartbeat */
#define GOOD		6	/* good replies beside the bad ones (4.) */
#define ALARM_S		30	/* a phase that takes this long hangs */

static char		 path[64];
static struct config	 cfg;
static struct db	*db;		/* the test's handle: reads, erases */
static struct store_owner self;

static const char *volatile phase = "";

static void
on_alarm(int sig)
{
	static const char msg[] = "test_saver: FAIL: a wait hung (alarm) "
	    "in test_", end[] = "\nsaver: 0 passed, 1 failed\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)!write(STDERR_FILENO, phase, strlen(phase));
	(void)!write(STDERR_FILENO, end, sizeof(end) - 1);
	_exit(1);
}

/* Run one part, ended by the alarm if it hangs. */
#define PHASE(f) do {							\
	phase = #f;							\
	alarm(ALARM_S);							\
	test_##f();							\
	alarm(0);							\
} while (0)

/* Piece k of reply r: PIECE bytes. */
static void
piece(char *out, int r, int k)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "r%02d.%03d|", r % 100, k % 1000);
	memcpy(out, buf, PIECE);
}

/* The whole text of reply r of n pieces. */
static size_t
text_of(char *out, int r, int n)
{
	int	k;

	for (k = 0; k < n; k++)
		piece(out + (size_t)k * PIECE, r, k);
	out[(size_t)n * PIECE] = '\0';
	return (size_t)n * PIECE;
}

/* A conversation conv and its first turn: the reply's id, or -1. */
static int64_t
reply_new(const char *conv)
{
	struct turn_ids	ids;

	if (store_conv_create(db, conv, "token", NULL) == -1)
		return -1;
	if (store_turn_begin(db, conv, "hello", 5, NULL, 100, &self,
	    &ids) != TURN_STARTED)
		return -1;
	return ids.assistant_id;
}

/*
 * The parts of reply id as saved, joined in buf (cap bytes): how many
 * parts, or -1 on error or a gap between them.
 */
static int
parts_read(struct db *h, int64_t id, char *buf, size_t cap, size_t *len)
{
	struct db_stmt	*st;
	size_t		 n;
	int		 count = 0, step;

	*len = 0;
	if ((st = db_prepare(h, "SELECT \"offset\", text FROM message_parts "
	    "WHERE message_id = ? ORDER BY \"offset\"")) == NULL)
		return -1;
	db_bind_int64(st, 1, id);
	while ((step = db_step(st)) == DB_ROW) {
		n = db_column_bytes(st, 1);
		if ((size_t)db_column_int64(st, 0) != *len ||
		    *len + n >= cap) {
			count = -1;
			break;
		}
		memcpy(buf + *len, db_column_text(st, 1), n);
		*len += n;
		count++;
	}
	if (count >= 0 && step != DB_DONE)
		count = -1;
	db_finalize(st);
	if (count >= 0)
		buf[*len] = '\0';
	return count;
}

/* Rows of reply id: 1 or 0; status and text copied.  -1 on error. */
static int
row_read(int64_t id, char *status, size_t ssz, char *text, size_t cap,
    size_t *len, int64_t *length)
{
	struct db_stmt	*st;
	int		 rc = -1;

	status[0] = text[0] = '\0';
	*len = 0;
	*length = -1;
	if ((st = db_prepare(db, "SELECT status, text, length FROM messages "
	    "WHERE id = ?")) == NULL)
		return -1;
	db_bind_int64(st, 1, id);
	switch (db_step(st)) {
	case DB_ROW:
		snprintf(status, ssz, "%s", db_column_text(st, 0));
		*len = db_column_bytes(st, 1);
		if (*len >= cap)
			*len = cap - 1;
		memcpy(text, db_column_text(st, 1), *len);
		text[*len] = '\0';
		*length = db_column_int64(st, 2);
		rc = 1;
		break;
	case DB_DONE:
		rc = 0;
		break;
	}
	db_finalize(st);
	return rc;
}

/* Reply id is final as status with exactly text, no part left. */
static void
check_final(int line, int64_t id, const char *status, const char *text,
    size_t len)
{
	char	st[32], got[TEXT_MAX], parts[TEXT_MAX];
	size_t	glen, plen;
	int64_t	length;

	CHECK_AT(line, row_read(id, st, sizeof(st), got, sizeof(got), &glen,
	    &length) == 1, "reply %lld: no row", (long long)id);
	CHECK_AT(line, strcmp(st, status) == 0, "reply %lld: status %s, "
	    "want %s", (long long)id, st, status);
	CHECK_AT(line, glen == len && memcmp(got, text, len) == 0 &&
	    length == (int64_t)len, "reply %lld: text of %zu bytes (length "
	    "%lld), want %zu: \"%.40s...\"", (long long)id, glen,
	    (long long)length, len, got);
	CHECK_AT(line, parts_read(db, id, parts, sizeof(parts), &plen) == 0,
	    "reply %lld: parts left", (long long)id);
}

/* Nothing of reply id is in the database. */
static void
check_gone(int line, int64_t id)
{
	char	st[32], got[TEXT_MAX], parts[TEXT_MAX];
	size_t	glen, plen;
	int64_t	length;

	CHECK_AT(line, row_read(id, st, sizeof(st), got, sizeof(got), &glen,
	    &length) == 0, "reply %lld: a row (%s) after the erase",
	    (long long)id, st);
	CHECK_AT(line, parts_read(db, id, parts, sizeof(parts), &plen) == 0,
	    "reply %lld: parts after the erase", (long long)id);
}

/*
 * Wait up to bound ms for slot s's news to become want, meanwhile
 * streaming piece after piece of reply feed_r to slot feed (or none):
 * the ms it took, or -1.
 */
static int64_t
news_within(struct saver_slot *s, enum saver_news want, int64_t bound,
    struct saver_slot *feed, int feed_r)
{
	char	p[PIECE];
	int64_t	t0 = util_mono_ms();
	int	k = 0;

	while (saver_news(s) != want) {
		if (util_mono_ms() - t0 > bound)
			return -1;
		if (feed != NULL) {
			piece(p, feed_r, k++);
			saver_put(feed, p, PIECE);
		}
		util_sleep_ms(10);
	}
	return util_mono_ms() - t0;
}

/* messages.heartbeat_at of reply id, or -1. */
static int64_t
heartbeat_of(int64_t id)
{
	struct db_stmt	*st;
	int64_t		 v = -1;

	if ((st = db_prepare(db, "SELECT heartbeat_at FROM messages "
	    "WHERE id = ?")) == NULL)
		return -1;
	db_bind_int64(st, 1, id);
	if (db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* 1. Many streams, threaded. */

struct stream {
	int			 r;
	int64_t			 id;
	char			 text[TEXT_MAX];
	size_t			 len;
	int64_t			 opened;
	_Atomic int		 finished;
	int			 bad_news;	/* news other than go on */
	int			 rc;
};

static pthread_barrier_t	 start_line;

static void *
stream_main(void *arg)
{
	struct stream		*t = arg;
	struct saver_slot	*s;
	int			 k;

	pthread_barrier_wait(&start_line);
	t->opened = util_mono_ms();
	if ((s = saver_open(t->id)) == NULL) {
		t->rc = -2;
		return NULL;
	}
	for (k = 0; k < PIECES; k++) {
		if (saver_put(s, t->text + (size_t)k * PIECE, PIECE) == -1)
			t->rc = -2;
		if (saver_news(s) != SAVER_GO_ON)
			t->bad_news++;
		util_sleep_ms(PIECE_MS);
	}
	t->rc = saver_finish(s, NULL, MSG_COMPLETE, t->text, t->len, NULL);
	atomic_store(&t->finished, 1);
	return NULL;
}

static void
test_threaded(void)
{
	static struct stream	 t[STREAMS];
	pthread_t		 tid[STREAMS];
	struct saver_stats	 a, b;
	char			 conv[32], buf[TEXT_MAX];
	size_t			 len, last[STREAMS];
	int64_t			 first[STREAMS], now;
	int			 grew[STREAMS], wrong = 0, running, i, n;

	memset(t, 0, sizeof(t));
	for (i = 0; i < STREAMS; i++) {
		snprintf(conv, sizeof(conv), "stream%d", i);
		t[i].r = i;
		t[i].id = reply_new(conv);
		t[i].len = text_of(t[i].text, i, PIECES);
		CHECK(t[i].id > 0, "reply %d not begun", i);
		last[i] = 0;
		first[i] = -1;
		grew[i] = 0;
	}
	saver_stats(&a);
	pthread_barrier_init(&start_line, NULL, STREAMS + 1);
	for (i = 0; i < STREAMS; i++)
		pthread_create(&tid[i], NULL, stream_main, &t[i]);
	pthread_barrier_wait(&start_line);

	/* The reader: what is saved of each grows, and is its text's
	   beginning, while it streams. */
	do {
		running = 0;
		for (i = 0; i < STREAMS; i++) {
			if (atomic_load(&t[i].finished))
				continue;
			running++;
			n = parts_read(db, t[i].id, buf, sizeof(buf), &len);
			now = util_mono_ms();
			if (n < 0 || len > t[i].len ||
			    memcmp(buf, t[i].text, len) != 0) {
				wrong++;
				continue;
			}
			if (len > 0 && first[i] < 0)
				first[i] = now - t[i].opened;
			if (len > last[i]) {
				if (last[i] > 0)
					grew[i]++;
				last[i] = len;
			}
		}
		util_sleep_ms(15);
	} while (running > 0);
	for (i = 0; i < STREAMS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start_line);
	saver_stats(&b);

	CHECK(wrong == 0, "%d reads of the parts were not the text's "
	    "beginning", wrong);
	for (i = 0; i < STREAMS; i++) {
		CHECK(t[i].rc == 0, "stream %d: saver_finish %d", i, t[i].rc);
		CHECK(t[i].bad_news == 0, "stream %d: news while streaming", i);
		CHECK(first[i] >= 0 && first[i] <= BOUND_MS, "stream %d: its "
		    "text was first seen saved after %lld ms", i,
		    (long long)first[i]);
		CHECK(grew[i] >= 1, "stream %d: saved text seen growing %d "
		    "times", i, grew[i]);
		check_final(__LINE__, t[i].id, "complete", t[i].text,
		    t[i].len);
	}
	CHECK(b.slots == 0, "%ld slots left", b.slots);
	/* Each save of its own round would make rounds == writes. */
	CHECK(b.writes - a.writes >= STREAMS * 3, "only %ld writes",
	    b.writes - a.writes);
	CHECK((b.rounds - a.rounds) * 2 < b.writes - a.writes, "%ld rounds "
	    "for %ld writes: not committed together", b.rounds - a.rounds,
	    b.writes - a.writes);
}

/*
 * 2. A cancel asked from another handle, to a quiet reply (found by the
 * cancel check) and to a streaming one (found by its save).  The quiet
 * one has just beaten its heart, so its next heartbeat (which would see
 * the cancel too) is SAVER_HEART_MS away: QUIET_MS tells the two apart.
 */
static void
test_cancel(void)
{
	struct saver_slot	*s[2];
	char			 text[TEXT_MAX], conv[2][16] = { "cancel0",
				    "cancel1" };
	int64_t			 id[2], hb, t0, ms;
	size_t			 len;
	int			 i, k;

	for (i = 0; i < 2; i++) {
		id[i] = reply_new(conv[i]);
		CHECK(id[i] > 0, "cancel reply %d not begun", i);
		s[i] = saver_open(id[i]);
	}
	/* Reply 0 streams; reply 1, quiet, still beats its heart. */
	len = text_of(text, 40, 20);
	hb = heartbeat_of(id[1]);
	t0 = util_mono_ms();
	k = 0;
	while (heartbeat_of(id[1]) == hb &&
	    util_mono_ms() - t0 < SAVER_HEART_MS + BOUND_MS) {
		if (k < 20)
			saver_put(s[0], text + (size_t)k++ * PIECE, PIECE);
		util_sleep_ms(PIECE_MS);
	}
	CHECK(heartbeat_of(id[1]) > hb, "a quiet reply's heartbeat not "
	    "beaten in %lld ms", (long long)(util_mono_ms() - t0));
	for (i = 0; i < 2; i++)
		CHECK(saver_news(s[i]) == SAVER_GO_ON, "cancel reply %d: news "
		    "before any cancel", i);
	CHECK(store_cancel(db, conv[1], &self) == CANCEL_ASKED, "cancel 1");
	ms = news_within(s[1], SAVER_CANCEL, QUIET_MS, s[0], 41);
	CHECK(ms >= 0, "quiet reply: no cancel within %d ms", QUIET_MS);
	CHECK(saver_news(s[0]) == SAVER_GO_ON, "the other reply cancelled");
	CHECK(store_cancel(db, conv[0], &self) == CANCEL_ASKED, "cancel 0");
	ms = news_within(s[0], SAVER_CANCEL, BOUND_MS, s[0], 42);
	CHECK(ms >= 0, "streaming reply: no cancel within %d ms", BOUND_MS);
	for (i = 0; i < 2; i++) {
		CHECK(saver_finish(s[i], db, MSG_CANCELLED, text, len,
		    NULL) == 0, "cancel reply %d: final not saved", i);
		check_final(__LINE__, id[i], "cancelled", text, len);
	}
}

/*
 * 3. The conversation erased while its reply streams.  s[0]: quiet after
 * a save (the cancel check finds the erase), then dropped.  s[1]: streams
 * on (its save finds it), then finished.  s[2]: finished before the
 * saver could notice.
 */
static void
test_erase(void)
{
	struct saver_slot	*s[3];
	char			 text[TEXT_MAX], buf[TEXT_MAX], conv[32];
	int64_t			 id[3], t0;
	size_t			 len, plen;
	int			 i, k;

	len = text_of(text, 50, 30);
	for (i = 0; i < 3; i++) {
		snprintf(conv, sizeof(conv), "erase%d", i);
		id[i] = reply_new(conv);
		CHECK(id[i] > 0, "erase reply %d not begun", i);
		s[i] = saver_open(id[i]);
	}
	for (k = 0; k < 30; k++) {
		for (i = 0; i < 3; i++)
			saver_put(s[i], text + (size_t)k * PIECE, PIECE);
		util_sleep_ms(PIECE_MS);
	}

	/* 1: erased between two of its pieces. */
	CHECK(erase_conversation(db, "erase1") == 1, "erase 1");
	CHECK(news_within(s[1], SAVER_ERASED, BOUND_MS, s[1], 51) >= 0,
	    "streaming reply: no erase news within %d ms", BOUND_MS);
	saver_put(s[1], "more", 4);
	t0 = util_mono_ms();
	saver_finish(s[1], db, MSG_ERROR, text, len, "erased");
	CHECK(util_mono_ms() - t0 < BOUND_MS, "a final after the erase news "
	    "took %lld ms", (long long)(util_mono_ms() - t0));

	/* 0: erased as soon as all of it is saved. */
	t0 = util_mono_ms();
	while ((parts_read(db, id[0], buf, sizeof(buf), &plen) < 0 ||
	    plen < len) && util_mono_ms() - t0 < BOUND_MS)
		util_sleep_ms(5);
	CHECK(plen == len, "quiet reply: %zu of %zu bytes saved", plen, len);
	CHECK(erase_conversation(db, "erase0") == 1, "erase 0");
	CHECK(news_within(s[0], SAVER_ERASED, QUIET_MS, NULL, 0) >= 0,
	    "quiet reply: no erase news within %d ms", QUIET_MS);
	saver_put(s[0], "more", 4);
	saver_drop(s[0]);

	/* 2: finished right after the erase. */
	CHECK(erase_conversation(db, "erase2") == 1, "erase 2");
	t0 = util_mono_ms();
	/* It changes nothing: what it returns does not matter. */
	saver_finish(s[2], db, MSG_COMPLETE, text, len, NULL);
	CHECK(util_mono_ms() - t0 < BOUND_MS, "a final after an erase took "
	    "%lld ms", (long long)(util_mono_ms() - t0));

	/* A round still holding the dropped slot writes nothing either. */
	util_sleep_ms(SAVER_MS + 100);
	for (i = 0; i < 3; i++)
		check_gone(__LINE__, id[i]);
}

/* 4. Replies whose writes fail, streaming beside good ones. */

struct fin {
	struct saver_slot	*s;
	const char		*text;
	size_t			 len;
	int			 rc;
	int64_t			 ms;
};

static void *
fin_main(void *arg)
{
	struct fin	*f = arg;
	int64_t		 t0 = util_mono_ms();

	f->rc = saver_finish(f->s, NULL, MSG_COMPLETE, f->text, f->len, NULL);
	f->ms = util_mono_ms() - t0;
	return NULL;
}

static int
triggers(int64_t bad_part, int64_t bad_all)
{
	char	sql[1024];

	if (db_engine(db) == DB_SQLITE) {
		snprintf(sql, sizeof(sql), "CREATE TRIGGER bad_part BEFORE "
		    "INSERT ON message_parts WHEN NEW.message_id IN (%lld, "
		    "%lld) BEGIN SELECT RAISE(ABORT, 'bad part'); END",
		    (long long)bad_part, (long long)bad_all);
		if (db_exec(db, sql, "trigger") == -1)
			return -1;
		snprintf(sql, sizeof(sql), "CREATE TRIGGER bad_row BEFORE "
		    "UPDATE ON messages WHEN OLD.id = %lld BEGIN "
		    "SELECT RAISE(ABORT, 'bad row'); END", (long long)bad_all);
		return db_exec(db, sql, "trigger");
	}
	snprintf(sql, sizeof(sql), "CREATE FUNCTION bad_part() RETURNS "
	    "trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.message_id IN "
	    "(%lld, %lld) THEN RAISE EXCEPTION 'bad part'; END IF; "
	    "RETURN NEW; END $$", (long long)bad_part, (long long)bad_all);
	if (db_exec(db, sql, "trigger") == -1)
		return -1;
	snprintf(sql, sizeof(sql), "CREATE FUNCTION bad_row() RETURNS "
	    "trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.id = %lld THEN "
	    "RAISE EXCEPTION 'bad row'; END IF; RETURN NEW; END $$",
	    (long long)bad_all);
	if (db_exec(db, sql, "trigger") == -1)
		return -1;
	if (db_exec(db, "CREATE TRIGGER bad_part BEFORE INSERT ON "
	    "message_parts FOR EACH ROW EXECUTE FUNCTION bad_part()",
	    "trigger") == -1)
		return -1;
	return db_exec(db, "CREATE TRIGGER bad_row BEFORE UPDATE ON messages "
	    "FOR EACH ROW EXECUTE FUNCTION bad_row()", "trigger");
}

static int
triggers_drop(void)
{
	if (db_engine(db) == DB_SQLITE)
		return db_exec(db, "DROP TRIGGER bad_part", "drop") |
		    db_exec(db, "DROP TRIGGER bad_row", "drop");
	return db_exec(db, "DROP TRIGGER bad_part ON message_parts",
	    "drop") | db_exec(db, "DROP TRIGGER bad_row ON messages", "drop") |
	    db_exec(db, "DROP FUNCTION bad_part()", "drop") |
	    db_exec(db, "DROP FUNCTION bad_row()", "drop");
}

static void
test_bad(void)
{
	enum { N = GOOD + 2, BAD_PART = GOOD, BAD_ALL = GOOD + 1 };
	static char	 text[N][TEXT_MAX];
	struct fin	 f[N];
	pthread_t	 tid[N];
	char		 conv[32], buf[TEXT_MAX], st[32];
	int64_t		 id[N], length;
	size_t		 len, plen;
	int		 i, k;

	for (i = 0; i < N; i++) {
		snprintf(conv, sizeof(conv), "bad%d", i);
		id[i] = reply_new(conv);
		CHECK(id[i] > 0, "reply %d not begun", i);
		len = text_of(text[i], 60 + i, 50);
		f[i].text = text[i];
		f[i].len = len;
		f[i].rc = 1;
	}
	/* BAD_PART: none of its parts can be written, its final can.
	   BAD_ALL: nothing of it can be written, its final neither. */
	CHECK(triggers(id[BAD_PART], id[BAD_ALL]) == 0, "triggers");
	for (i = 0; i < N; i++)
		f[i].s = saver_open(id[i]);
	for (k = 0; k < 50; k++) {
		for (i = 0; i < N; i++)
			saver_put(f[i].s, text[i] + (size_t)k * PIECE, PIECE);
		util_sleep_ms(PIECE_MS);
	}
	/* Saved as they streamed, beside the failing ones. */
	for (i = 0; i < N; i++) {
		CHECK(parts_read(db, id[i], buf, sizeof(buf), &plen) >= 0 &&
		    memcmp(buf, text[i], plen) == 0, "reply %d: parts", i);
		if (i < GOOD)
			CHECK(plen > 0, "good reply %d: nothing saved while "
			    "it streamed", i);
		else
			CHECK(plen == 0, "bad reply %d: parts saved", i);
	}
	/* The finals at once, so they share rounds. */
	for (i = 0; i < N; i++)
		pthread_create(&tid[i], NULL, fin_main, &f[i]);
	for (i = 0; i < N; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < GOOD + 1; i++) {
		CHECK(f[i].rc == 0, "reply %d: final %d", i, f[i].rc);
		check_final(__LINE__, id[i], "complete", text[i], f[i].len);
	}
	/* Given up after SAVER_TRIES rounds: still streaming, unchanged. */
	CHECK(f[BAD_ALL].rc == -1, "a final that cannot be written: %d",
	    f[BAD_ALL].rc);
	CHECK(f[BAD_ALL].ms < 4 * BOUND_MS, "gave up after %lld ms",
	    (long long)f[BAD_ALL].ms);
	CHECK(row_read(id[BAD_ALL], st, sizeof(st), buf, sizeof(buf), &len,
	    &length) == 1 && strcmp(st, "streaming") == 0 && len == 0,
	    "the unwritable reply: %s, %zu bytes", st, len);
	CHECK(triggers_drop() == 0, "triggers dropped");
}

/* 5. Unthreaded: the caller runs the rounds on its own handle. */
static void
test_unthreaded(void)
{
	struct saver_slot	*s;
	struct saver_stats	 a, b;
	struct db		*other;
	char			 text[TEXT_MAX], buf[TEXT_MAX];
	int64_t			 id;
	size_t			 len, plen, seen = 0;
	int			 k, grew = 0;

	CHECK(saver_init(&cfg, 0) == 0 && !saver_threaded(), "unthreaded");
	other = testdb_open(path);
	CHECK(other != NULL, "a second handle");
	id = reply_new("cgi");
	CHECK(id > 0, "cgi reply not begun");
	len = text_of(text, 70, PIECES);
	saver_stats(&a);
	s = saver_open(id);
	for (k = 0; k < PIECES; k++) {
		saver_put(s, text + (size_t)k * PIECE, PIECE);
		saver_tick(s, db);
		if (other != NULL && k % 10 == 9 && parts_read(other, id, buf,
		    sizeof(buf), &plen) >= 0 && plen > seen &&
		    memcmp(buf, text, plen) == 0) {
			grew += seen > 0;
			seen = plen;
		}
		util_sleep_ms(PIECE_MS);
	}
	CHECK(saver_news(s) == SAVER_GO_ON, "news");
	CHECK(seen > 0 && grew >= 1, "saved text not seen growing: %zu "
	    "bytes, grew %d times", seen, grew);
	CHECK(saver_finish(s, db, MSG_COMPLETE, text, len, NULL) == 0,
	    "final not saved");
	saver_stats(&b);
	CHECK(b.rounds > a.rounds && b.slots == 0, "rounds %ld, slots %ld",
	    b.rounds - a.rounds, b.slots);
	check_final(__LINE__, id, "complete", text, len);
	db_close(other);
	saver_stop();
}

/*
 * 6. The thread again, after saver_stop: two replies one after the
 * other, each opened once the thread sits idle.
 */
static void
test_restart(void)
{
	struct saver_slot	*s;
	char			 text[TEXT_MAX], conv[32];
	int64_t			 id;
	size_t			 len;
	int			 i;

	CHECK(saver_init(&cfg, 1) == 0 && saver_threaded(), "threaded again");
	for (i = 0; i < 2; i++) {
		snprintf(conv, sizeof(conv), "again%d", i);
		id = reply_new(conv);
		CHECK(id > 0, "reply not begun");
		len = text_of(text, 80 + i, 10);
		util_sleep_ms(100);
		s = saver_open(id);
		saver_put(s, text, len);
		CHECK(saver_finish(s, NULL, MSG_COMPLETE, text, len, NULL) ==
		    0, "final not saved");
		check_final(__LINE__, id, "complete", text, len);
	}
	saver_stop();
}

int
main(void)
{
	int	fd;

	signal(SIGALRM, on_alarm);
	db_init();
	snprintf(path, sizeof(path), "/tmp/test_saver.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	if ((db = testdb_fresh(path)) == NULL)
		return 1;
	config_defaults(&cfg);
	snprintf(cfg.db, sizeof(cfg.db), "%s", testdb_uri(path));
	cfg.busy_timeout_ms = 5000;
	self.pid = (long)getpid();
	self.start = util_proc_start(self.pid);
	self.stale_ms = 60000;

	if (saver_init(&cfg, 1) == -1)
		return 1;
	CHECK(saver_threaded(), "threaded");
	PHASE(threaded);
	PHASE(cancel);
	PHASE(erase);
	PHASE(bad);
	saver_stop();
	PHASE(unthreaded);
	PHASE(restart);

	db_close(db);
	testdb_remove(path);
	return check_done("saver");
}
