/*
 * saver.c: the streaming replies' writes, committed together (saver.h).
 *
 * Slots live on one list under one lock.  A round takes, under the lock,
 * what is due of every slot (a copy of its new text, a heartbeat, a
 * cancel check, its final), lets go of the lock, runs the checks as
 * plain reads and the writes in transactions of at most SAVER_BATCH (so
 * the write lock is never held long), and then, under the lock again,
 * records what went through: saved bytes leave the slot, news is
 * posted, finals are marked done and their writers woken.  A batch that
 * fails is rolled back and its writes are tried again one by one, each
 * in its own transaction, so one bad reply (PostgreSQL aborts a
 * transaction at its first error) cannot keep every other from being
 * saved.  Only the owner frees its
 * slot; a round that holds a slot its owner dropped frees it after.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "saver.h"
#include "util.h"

#define SAVER_TICK_MS	25	/* the thread looks for due slots */
#define SAVER_IDLE_MS	5000	/* no slot this long: close the handle */
#define SAVER_OVERDUE_MS 2000	/* unthreaded: nothing saved this long */
#define SAVER_WAIT_MS	50	/* unthreaded: then a round waits this */
#define SAVER_BACKOFF_MS 100	/* after a failed round, doubled */
#define SAVER_BATCH	32	/* writes in one transaction, at most */

struct saver_slot {
	int64_t			 msg_id;
	char			*pend;		/* bytes not saved yet */
	size_t			 plen, pcap;
	size_t			 off;		/* where pend starts */
	int64_t			 last_saved;	/* text or heartbeat */
	int64_t			 last_checked;	/* cancel looked at */
	_Atomic int		 news;		/* enum saver_news */
	int			 final;		/* saver_finish asked */
	enum msg_status		 status;
	const char		*text, *error;
	size_t			 len;
	int			 tries;
	int			 done;		/* 1 saved, -1 given up */
	int			 in_round;
	int			 dropped;
	struct saver_slot	*prev, *next;
};

/* What a round does for one slot. */
enum sv_kind {
	SV_FINAL,
	SV_SAVE,		/* new text, or a heartbeat (len 0) */
	SV_CHECK,		/* a cancel check alone */
};

struct sv_item {
	struct saver_slot	*s;
	enum sv_kind		 kind;
	int64_t			 msg_id;
	size_t			 off, len;
	size_t			 at;		/* text's place in the arena */
	int			 ok;
	enum saver_news		 news;
};

struct sv_round {
	struct sv_item		*items;
	size_t			 n, cap;
	char			*arena;
	size_t			 alen, acap;
};

static pthread_mutex_t	 sv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 sv_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 sv_done = PTHREAD_COND_INITIALIZER;
static struct saver_slot *sv_head;
static long		 sv_slots;
static int		 sv_urgent;	/* a final waits */
static int		 sv_stopping;
static int		 sv_thread;	/* the thread runs */
static pthread_t	 sv_tid;
static const struct config *sv_cfg;
static struct db	*sv_db;		/* the thread's own */
static struct sv_round	 sv_r;		/* the thread's, or the CGI's */
static long		 sv_rounds, sv_writes;

static void
sv_unlink(struct saver_slot *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sv_head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	sv_slots--;
}

static void
sv_free(struct saver_slot *s)
{
	free(s->pend);
	free(s);
}

/* Room for one more item and n more arena bytes.  0, or -1. */
static int
sv_room(struct sv_round *r, size_t n)
{
	void	*p;
	size_t	 cap;

	if (r->n == r->cap) {
		cap = r->cap ? r->cap * 2 : 64;
		if ((p = realloc(r->items, cap * sizeof(*r->items))) == NULL)
			return -1;
		r->items = p;
		r->cap = cap;
	}
	if (r->alen + n > r->acap) {
		cap = r->acap ? r->acap : 4096;
		while (cap < r->alen + n)
			cap *= 2;
		if ((p = realloc(r->arena, cap)) == NULL)
			return -1;
		r->arena = p;
		r->acap = cap;
	}
	return 0;
}

/*
 * Under the lock: take what is due of every slot into r.  How many
 * items; a slot whose item could not be held waits for a later round.
 */
static size_t
sv_take(struct sv_round *r, int64_t now)
{
	struct saver_slot	*s;
	struct sv_item		*it;
	enum sv_kind		 kind;

	r->n = r->alen = 0;
	for (s = sv_head; s != NULL; s = s->next) {
		if (s->dropped || s->done != 0)
			continue;
		/* A final is written even after an erase (it then
		   changes nothing): its writer waits for it. */
		if (s->final)
			kind = SV_FINAL;
		else if (atomic_load(&s->news) == SAVER_ERASED)
			continue;
		else if ((s->plen > 0 && (s->plen >= SAVER_CHARS ||
		    now - s->last_saved >= SAVER_MS)) ||
		    now - s->last_saved >= SAVER_HEART_MS)
			kind = SV_SAVE;
		else if (now - s->last_checked >= SAVER_CHECK_MS)
			kind = SV_CHECK;
		else
			continue;
		if (sv_room(r, kind == SV_SAVE ? s->plen : 0) == -1)
			break;
		it = &r->items[r->n++];
		memset(it, 0, sizeof(*it));
		it->s = s;
		it->kind = kind;
		it->msg_id = s->msg_id;
		it->off = s->off;
		if (kind == SV_SAVE) {
			it->len = s->plen;
			it->at = r->alen;
			if (s->plen > 0)	/* a heartbeat: pend may be NULL */
				memcpy(r->arena + r->alen, s->pend, s->plen);
			r->alen += s->plen;
		}
		s->in_round = 1;
	}
	return r->n;
}

/* One item's writes, inside a transaction.  0, or -1 on error. */
static int
sv_write(struct db *db, struct sv_round *r, struct sv_item *it)
{
	const struct saver_slot	*s = it->s;

	it->news = SAVER_GO_ON;
	switch (it->kind) {
	case SV_FINAL:
		/* The slot's final fields are set before the round and
		   not touched by the owner until done. */
		return store_finish_locked(db, it->msg_id, s->status,
		    s->text, s->len, s->error);
	case SV_SAVE:
		switch (store_save_locked(db, it->msg_id, it->off,
		    r->arena + it->at, it->len)) {
		case SAVE_OK:
			return 0;
		case SAVE_CANCELLED:
			it->news = SAVER_CANCEL;
			return 0;
		case SAVE_GONE:
			it->news = SAVER_ERASED;
			return 0;
		case SAVE_BUSY:
		case SAVE_ERROR:
			break;
		}
		return -1;
	case SV_CHECK:
		switch (store_reply_cancelled(db, it->msg_id)) {
		case REPLY_GO_ON:
			return 0;
		case REPLY_CANCEL_ASKED:
			it->news = SAVER_CANCEL;
			return 0;
		case REPLY_ERASED:
			it->news = SAVER_ERASED;
			return 0;
		case REPLY_CHECK_ERROR:
			break;
		}
		return -1;
	}
	return -1;
}

/*
 * Begin a write transaction: wait_ms < 0 waits as the handle's busy
 * timeout says.  0, 1 when another writer kept the lock, or -1.
 */
static int
sv_begin(struct db *db, long wait_ms)
{
	if (wait_ms < 0)
		return db_begin(db) == 0 ? 0 : -1;
	return db_begin_within(db, wait_ms);
}

/*
 * Items [from, to): in one transaction; if that fails, each in its own.
 * Sets each item's ok.
 */
static void
sv_batch(struct db *db, struct sv_round *r, size_t from, size_t to,
    long wait_ms)
{
	size_t	i;
	int	bad = 0;

	if (sv_begin(db, wait_ms) != 0)
		return;
	for (i = from; i < to && !bad; i++)
		if (r->items[i].kind != SV_CHECK &&
		    sv_write(db, r, &r->items[i]) == -1)
			bad = 1;
	if (!bad && db_commit(db) == 0) {
		for (i = from; i < to; i++)
			if (r->items[i].kind != SV_CHECK)
				r->items[i].ok = 1;
		return;
	}
	if (!bad) {
		/* The commit itself failed: nothing of it went through. */
		log_warnx("saver: a round of %zu could not be committed",
		    to - from);
		return;
	}
	db_rollback(db);
	for (i = from; i < to; i++) {
		if (r->items[i].kind == SV_CHECK)
			continue;
		if (sv_begin(db, wait_ms) != 0)
			break;
		if (sv_write(db, r, &r->items[i]) == -1) {
			db_rollback(db);
			continue;
		}
		if (db_commit(db) == 0)
			r->items[i].ok = 1;
	}
}

/*
 * Run the round's items.  Cancel checks are reads, outside any
 * transaction (they never wait for a writer).  The writes go in
 * transactions of at most SAVER_BATCH items: each holds the write lock
 * for about a millisecond, so a turn that begins, a merge or a cancel
 * waits that long behind the saver, never for a whole round of a
 * thousand streams.
 */
static void
sv_run(struct db *db, struct sv_round *r, long wait_ms)
{
	size_t	i, from, n;

	if (db == NULL)
		return;
	for (i = 0; i < r->n; i++)
		if (r->items[i].kind == SV_CHECK)
			r->items[i].ok = sv_write(db, r, &r->items[i]) == 0;
	for (from = 0; from < r->n; from = i) {
		for (i = from, n = 0; i < r->n && n < SAVER_BATCH; i++)
			if (r->items[i].kind != SV_CHECK)
				n++;
		if (n == 0)
			continue;
		/* Between two batches, a writer queued meanwhile goes
		   first (the gate's waiter needs a moment to run). */
		if (from > 0)
			util_sleep_ms(1);
		sv_batch(db, r, from, i, wait_ms);
	}
}

/*
 * Under the lock: record what the round did.  Returns 1 when a final
 * could not be saved this round (the caller waits before the next).
 */
static int
sv_apply(struct sv_round *r, int64_t now)
{
	struct sv_item		*it;
	struct saver_slot	*s;
	size_t			 i;
	int			 failed = 0, woke = 0;

	for (i = 0; i < r->n; i++) {
		it = &r->items[i];
		s = it->s;
		s->in_round = 0;
		if (it->ok) {
			sv_writes++;
			if (it->news != SAVER_GO_ON &&
			    atomic_load(&s->news) != SAVER_ERASED)
				atomic_store(&s->news, it->news);
			s->last_checked = now;
			if (it->kind == SV_SAVE) {
				if (it->len > 0)	/* pend may be NULL */
					memmove(s->pend, s->pend + it->len,
					    s->plen - it->len);
				s->plen -= it->len;
				s->off += it->len;
				s->last_saved = now;
			}
		}
		if (it->kind == SV_FINAL) {
			if (it->ok)
				s->done = 1;
			else if (++s->tries >= SAVER_TRIES)
				s->done = -1;
			else
				failed = 1;
			if (s->done != 0) {
				sv_unlink(s);
				woke = 1;
			}
		}
		if (s->dropped && s->done == 0) {
			sv_unlink(s);
			sv_free(s);
		}
	}
	if (woke)
		pthread_cond_broadcast(&sv_done);
	sv_rounds++;
	return failed;
}

/* A round: take, run with the lock let go, apply.  1 if a final failed. */
static int
sv_round(struct db *db, long wait_ms)
{
	int64_t	now = util_mono_ms();
	int	failed;

	if (sv_take(&sv_r, now) == 0)
		return 0;
	pthread_mutex_unlock(&sv_lock);
	sv_run(db, &sv_r, wait_ms);
	pthread_mutex_lock(&sv_lock);
	failed = sv_apply(&sv_r, util_mono_ms());
	return failed;
}

static void *
sv_main(void *arg)
{
	struct timespec	 until;
	int64_t		 idle_since = util_mono_ms();
	int		 fails = 0;

	(void)arg;
	pthread_mutex_lock(&sv_lock);
	for (;;) {
		if (sv_head == NULL) {
			if (sv_stopping)
				break;
			if (sv_db != NULL && util_mono_ms() - idle_since >=
			    SAVER_IDLE_MS) {
				db_close(sv_db);
				sv_db = NULL;
			}
			util_deadline(&until, CLOCK_MONOTONIC, sv_db != NULL ?
			    SAVER_IDLE_MS : 60000);
			pthread_cond_timedwait(&sv_wake, &sv_lock, &until);
			continue;
		}
		if (!sv_urgent) {
			util_deadline(&until, CLOCK_MONOTONIC, fails > 0 ?
			    SAVER_BACKOFF_MS << (fails < 3 ? fails : 3) :
			    SAVER_TICK_MS);
			pthread_cond_timedwait(&sv_wake, &sv_lock, &until);
		}
		sv_urgent = 0;
		if (sv_db == NULL) {
			pthread_mutex_unlock(&sv_lock);
			sv_db = db_open(sv_cfg->db, sv_cfg->busy_timeout_ms);
			pthread_mutex_lock(&sv_lock);
		}
		fails = sv_round(sv_db, -1) ? fails + 1 : 0;
		idle_since = util_mono_ms();
	}
	pthread_mutex_unlock(&sv_lock);
	return NULL;
}

int
saver_init(const struct config *cfg, int threaded)
{
	pthread_condattr_t	ca;
	pthread_attr_t		attr;

	sv_cfg = cfg;
	if (!threaded)
		return 0;
	/* The waits are timed on the monotonic clock. */
	if ((errno = pthread_condattr_init(&ca)) != 0 ||
	    (errno = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (errno = pthread_cond_destroy(&sv_wake)) != 0 ||
	    (errno = pthread_cond_init(&sv_wake, &ca)) != 0 ||
	    (errno = pthread_cond_destroy(&sv_done)) != 0 ||
	    (errno = pthread_cond_init(&sv_done, &ca)) != 0) {
		log_warn("saver: condition variables");
		return -1;
	}
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	errno = pthread_create(&sv_tid, &attr, sv_main, NULL);
	pthread_attr_destroy(&attr);
	if (errno != 0) {
		log_warn("saver: pthread_create");
		return -1;
	}
	sv_thread = 1;
	return 0;
}

void
saver_stop(void)
{
	pthread_mutex_lock(&sv_lock);
	sv_stopping = 1;
	pthread_cond_signal(&sv_wake);
	pthread_mutex_unlock(&sv_lock);
	if (sv_thread) {
		pthread_join(sv_tid, NULL);
		sv_thread = 0;
	}
	sv_stopping = 0;	/* saver_init may start it again */
	db_close(sv_db);
	sv_db = NULL;
	free(sv_r.items);
	free(sv_r.arena);
	memset(&sv_r, 0, sizeof(sv_r));
}

int
saver_threaded(void)
{
	return sv_thread;
}

struct saver_slot *
saver_open(int64_t msg_id)
{
	struct saver_slot	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->msg_id = msg_id;
	s->last_saved = s->last_checked = util_mono_ms();
	atomic_init(&s->news, SAVER_GO_ON);
	pthread_mutex_lock(&sv_lock);
	if ((s->next = sv_head) != NULL)
		sv_head->prev = s;
	sv_head = s;
	sv_slots++;
	if (sv_slots == 1)
		pthread_cond_signal(&sv_wake);
	pthread_mutex_unlock(&sv_lock);
	return s;
}

int
saver_put(struct saver_slot *s, const char *text, size_t len)
{
	char	*p;
	size_t	 cap;
	int	 rc = 0;

	pthread_mutex_lock(&sv_lock);
	if (s->plen + len > s->pcap) {
		cap = s->pcap ? s->pcap : 256;
		while (cap < s->plen + len)
			cap *= 2;
		if ((p = realloc(s->pend, cap)) == NULL) {
			rc = -1;
			goto out;
		}
		s->pend = p;
		s->pcap = cap;
	}
	memcpy(s->pend + s->plen, text, len);
	s->plen += len;
out:
	pthread_mutex_unlock(&sv_lock);
	return rc;
}

enum saver_news
saver_news(const struct saver_slot *s)
{
	return (enum saver_news)atomic_load(&s->news);
}

void
saver_tick(struct saver_slot *s, struct db *db)
{
	long	wait;

	if (sv_thread)
		return;
	wait = util_mono_ms() - s->last_saved >= SAVER_OVERDUE_MS ?
	    SAVER_WAIT_MS : 0;
	pthread_mutex_lock(&sv_lock);
	sv_round(db, wait);
	pthread_mutex_unlock(&sv_lock);
}

int
saver_finish(struct saver_slot *s, struct db *db, enum msg_status status,
    const char *text, size_t len, const char *error)
{
	int	rc, failed;

	pthread_mutex_lock(&sv_lock);
	s->status = status;
	s->text = text;
	s->len = len;
	s->error = error;
	s->final = 1;
	if (sv_thread) {
		sv_urgent = 1;
		pthread_cond_signal(&sv_wake);
		while (s->done == 0)
			pthread_cond_wait(&sv_done, &sv_lock);
	} else
		for (;;) {
			failed = sv_round(db, -1);
			if (s->done != 0)
				break;
			if (!failed) {
				/* Not taken (no memory for it). */
				sv_unlink(s);
				s->done = -1;
				break;
			}
			pthread_mutex_unlock(&sv_lock);
			util_sleep_ms(SAVER_BACKOFF_MS << (s->tries - 1));
			pthread_mutex_lock(&sv_lock);
		}
	rc = s->done == 1 ? 0 : -1;
	pthread_mutex_unlock(&sv_lock);
	sv_free(s);
	return rc;
}

void
saver_drop(struct saver_slot *s)
{
	pthread_mutex_lock(&sv_lock);
	s->dropped = 1;
	if (!s->in_round) {
		sv_unlink(s);
		sv_free(s);
	}
	pthread_mutex_unlock(&sv_lock);
}

void
saver_stats(struct saver_stats *st)
{
	pthread_mutex_lock(&sv_lock);
	st->slots = sv_slots;
	st->rounds = sv_rounds;
	st->writes = sv_writes;
	pthread_mutex_unlock(&sv_lock);
}
