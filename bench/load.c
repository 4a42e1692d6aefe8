/*
 * load.c: the benchmarks' HTTP load client.
 *
 *   load -p PORT [-m service|direct|mixed] [-P MOCK_PORT] [-c CONC]
 *        [-n TURNS] [-T SECONDS] [-k TURNS_PER_CONV] [-r RATE]
 *        [-R RAMP_MS] [-o RECORDS] [-w TIMEOUT_S] [-x TEXT] [-F FOLLOW]
 *        [-V] [-s]
 *
 * CONC threads, each with blocking sockets to 127.0.0.1, run turns until
 * TURNS have been started (0: no count) or SECONDS have passed, whichever
 * is first; every socket wait is bounded by TIMEOUT_S.  A service worker
 * creates a conversation (POST /api/conversations), waits for every other
 * worker to have one, then runs turns (POST .../messages) on it, taking a
 * new one every TURNS_PER_CONV turns.  A direct worker posts the same
 * kind of streaming chat request to the mock provider itself (the
 * baseline of relay cost and the mock's own ceiling); mixed runs half of
 * each side by side.  RATE (turns a second, all workers together) makes
 * the load open-loop: turn i starts at i / RATE seconds.  RAMP_MS spreads
 * the workers' first turns over that long.
 *
 * Every response is read off the wire as it arrives: HTTP/1.1 chunked
 * (or Content-Length, or close-delimited) decoded incrementally, the SSE
 * events parsed, each stamped with CLOCK_MONOTONIC at the recv that
 * completed it.  Per turn: time to the first delta, the gaps between
 * deltas, and the dead input time: from the "done" event to the end of
 * the HTTP response (the terminal chunk), and to the connection's EOF.
 * It prints one JSON object; with -o, one line per turn ("TAG KIND OK
 * STATUS T_SEND T_FIRST T_DONE T_END T_EOF N D0 ... DN-1", microseconds)
 * for matching against the mock's log.  The message text carries a tag
 * BTAG<worker>x<turn> that the mock logs.
 *
 * With -F FOLLOW, each service worker has FOLLOW followers: threads that
 * wait for the worker's first turn to show its first delta, then follow
 * that reply from another connection (GET /api/conversations/{id}/events
 * with the conversation's token) to its end; their outcome is counted
 * apart ("follow" in the JSON).  -V makes every worker a new visitor:
 * no conversation is made before the clock starts, each is made when its
 * turn is due, and "visit_us" is the time from that POST
 * /api/conversations to the turn's first delta ("late_us": how late an
 * open-loop turn started against its schedule, when the workers were
 * all busy).  -s prints "ready" on standard error once every worker's
 * first turn and every follower has its first delta (or has failed), for
 * a run that starts something else once the crowd is in.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

enum err {
	E_CONNECT,
	E_IO,
	E_TIMEOUT,
	E_STATUS,
	E_NODONE,
	E_ERROR_EVENT,
	E_CONV,
	E_NOSTART,
	E__MAX
};

static const char *const err_names[E__MAX] = {
	"connect", "io", "timeout", "status", "no_done", "error_event",
	"conversation", "no_start",
};

struct vec {
	int64_t	*v;
	size_t	 n, cap;
};

struct opts {
	int		 port, mock_port;
	int		 mode;		/* 0 service, 1 direct, 2 mixed */
	int		 conc;
	long		 turns;
	double		 seconds;
	long		 per_conv;
	double		 rate;
	long		 ramp_ms;
	const char	*records;
	int		 timeout_s;
	const char	*text;
	int		 follow;	/* followers per service worker */
	int		 visit;		/* -V */
	int		 say_ready;	/* -s */
};

/* What one turn saw. */
struct turn {
	int		 direct;
	int		 status;
	int		 ok;
	enum err	 err;
	int64_t		 t_send, t_head, t_first, t_done, t_end, t_eof;
	struct vec	 deltas;	/* arrival time of each */
	int		 got_done;
	int		 error_event;
};

struct worker {
	pthread_t	 tid;
	int		 idx;
	int		 direct;
	char		 conv[128], token[128];
	long		 conv_turns;
	int64_t		 conv_t0;	/* its conversation asked for */
	struct worker	*target;	/* a follower's worker, or NULL */
	/* The first turn's conversation, for its followers: 0 until its
	   first delta, 1 then, 2 when it failed before one. */
	int		 started;
	char		 fconv[128], ftoken[128];
	struct vec	 ttfd, gap, dead, dead_eof, total, visit, late;
	long		 ok, errs[E__MAX], ndeltas;
	char		*rec;
	size_t		 reclen, reccap;
	char		 errmsg[200];
};

static struct opts	 o = {
	0, 0, 0, 1, 0, 30.0, 8, 0.0, 0, NULL, 60,
	"Hello, my name is Jane Doe and my phone is (415) 555-0100. I need "
	"help with a custody matter after my divorce, it is urgent.",
	0, 0, 0,
};
static pthread_barrier_t barrier;
static long		 next_slot;
static int64_t		 t_start, t_deadline;
static long		 n_ready, n_ready_want;

/* One more worker's first turn, or follower, is in (or has failed). */
static void
ready_one(void)
{
	if (__atomic_add_fetch(&n_ready, 1, __ATOMIC_ACQ_REL) ==
	    n_ready_want && o.say_ready) {
		fprintf(stderr, "ready %lld\n", (long long)util_mono_us());
		fflush(stderr);
	}
}

static void
sleep_until(int64_t t)
{
	struct timespec	ts;
	int64_t		d;

	while ((d = t - util_mono_us()) > 0) {
		ts.tv_sec = d / 1000000;
		ts.tv_nsec = (d % 1000000) * 1000;
		nanosleep(&ts, NULL);
	}
}

static void
vec_add(struct vec *v, int64_t x)
{
	int64_t	*nv;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		if ((nv = realloc(v->v, v->cap * sizeof(*nv))) == NULL)
			abort();
		v->v = nv;
	}
	v->v[v->n++] = x;
}

static void
vec_cat(struct vec *to, const struct vec *from)
{
	size_t	i;

	for (i = 0; i < from->n; i++)
		vec_add(to, from->v[i]);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* {"n":..,"p50":..,"p90":..,"p99":..,"max":..,"mean":..} in µs. */
static void
print_stats(const char *name, struct vec *v, int comma)
{
	double	sum = 0;
	size_t	i;

	printf("\"%s\":", name);
	if (v->n == 0) {
		printf("{\"n\":0}%s\n", comma ? "," : "");
		return;
	}
	qsort(v->v, v->n, sizeof(*v->v), cmp64);
	for (i = 0; i < v->n; i++)
		sum += (double)v->v[i];
#define PCT(p)	v->v[(size_t)((double)(v->n - 1) * (p) + 0.5)]
	printf("{\"n\":%zu,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,"
	    "\"max\":%lld,\"mean\":%.1f}%s\n", v->n, (long long)PCT(0.50),
	    (long long)PCT(0.90), (long long)PCT(0.99),
	    (long long)v->v[v->n - 1], sum / (double)v->n, comma ? "," : "");
#undef PCT
}

/* ---- HTTP over one connection -------------------------------------- */

enum { CS_SIZE, CS_DATA, CS_DATA_END, CS_TRAILER, CS_DONE };

struct resp {
	int		 status;
	int		 chunked;
	long		 clen;		/* -1: none */
	long		 got;
	int		 cstate;
	size_t		 cleft;
	char		 line[64];
	size_t		 ll;
	int		 done;		/* body complete */
	/* the body, to its consumer */
	void		(*on_body)(void *, const char *, size_t, int64_t);
	void		*arg;
};

/* Feed body bytes through the chunked decoder. */
static void
chunked_feed(struct resp *r, const char *p, size_t n, int64_t t)
{
	size_t	k;
	char	c;

	while (n > 0 && r->cstate != CS_DONE) {
		switch (r->cstate) {
		case CS_SIZE:
			c = *p++;
			n--;
			if (c == '\n') {
				r->line[r->ll] = '\0';
				r->cleft = strtoul(r->line, NULL, 16);
				r->ll = 0;
				r->cstate = r->cleft == 0 ? CS_TRAILER :
				    CS_DATA;
			} else if (r->ll + 1 < sizeof(r->line))
				r->line[r->ll++] = c;
			break;
		case CS_DATA:
			k = n < r->cleft ? n : r->cleft;
			r->on_body(r->arg, p, k, t);
			p += k;
			n -= k;
			r->cleft -= k;
			if (r->cleft == 0)
				r->cstate = CS_DATA_END;
			break;
		case CS_DATA_END:
			c = *p++;
			n--;
			if (c == '\n')
				r->cstate = CS_SIZE;
			break;
		case CS_TRAILER:
			c = *p++;
			n--;
			if (c == '\n') {
				if (r->ll == 0)
					r->cstate = CS_DONE;
				r->ll = 0;
			} else if (c != '\r')
				r->ll++;
			break;
		}
	}
	if (r->cstate == CS_DONE)
		r->done = 1;
}

static void
body_feed(struct resp *r, const char *p, size_t n, int64_t t)
{
	if (r->chunked) {
		chunked_feed(r, p, n, t);
		return;
	}
	if (r->clen >= 0 && (long)n > r->clen - r->got)
		n = (size_t)(r->clen - r->got);
	r->got += (long)n;
	if (n > 0)
		r->on_body(r->arg, p, n, t);
	if (r->clen >= 0 && r->got >= r->clen)
		r->done = 1;
}

/* Parse the head in buf[0..len); 1 when complete (*used set), 0 if not. */
static int
head_parse(struct resp *r, const char *buf, size_t len, size_t *used)
{
	const char	*end, *line, *next;

	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	*used = (size_t)(end - buf) + 4;
	r->status = 0;
	if (len > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
		r->status = atoi(buf + 9);
	r->clen = -1;
	for (line = memchr(buf, '\n', *used); line != NULL && line < end;
	    line = next) {
		line++;
		next = memchr(line, '\n', (size_t)(end - line) + 1);
		if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    memmem(line, (size_t)(next ? next - line : 0), "chunked",
		    7) != NULL)
			r->chunked = 1;
		else if (strncasecmp(line, "content-length:", 15) == 0)
			r->clen = strtol(line + 15, NULL, 10);
	}
	return 1;
}

/*
 * One request on a new connection to 127.0.0.1:port; the body goes to
 * r->on_body as it arrives.  Fills the times of tu; 0, or -1 with tu->err.
 */
static int
http_do(int port, const char *req, size_t reqlen, struct resp *r,
    struct turn *tu, char *buf, size_t bufsz)
{
	struct sockaddr_in	 sa;
	struct timeval		 tv;
	size_t			 len = 0, used, off;
	ssize_t			 n;
	int			 fd, one = 1, head = 0;
	int64_t			 t;

	tu->t_send = util_mono_us();
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		tu->err = E_CONNECT;
		return -1;
	}
	tv.tv_sec = o.timeout_s;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bench_loopback(&sa, port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		tu->err = E_CONNECT;
		close(fd);
		return -1;
	}
	for (off = 0; off < reqlen; off += (size_t)n)
		if ((n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL))
		    <= 0) {
			tu->err = E_IO;
			close(fd);
			return -1;
		}
	for (;;) {
		n = recv(fd, buf + len, bufsz - len, 0);
		t = util_mono_us();
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			tu->err = errno == EAGAIN || errno == EWOULDBLOCK ?
			    E_TIMEOUT : E_IO;
			close(fd);
			return -1;
		}
		if (n == 0) {
			tu->t_eof = t;
			if (head && !r->chunked && r->clen < 0 && !r->done) {
				r->done = 1;
				tu->t_end = t;
			}
			break;
		}
		if (r->done)
			continue;	/* after the end: wait for EOF */
		if (!head) {
			len += (size_t)n;
			if (!head_parse(r, buf, len, &used)) {
				if (len == bufsz) {
					tu->err = E_IO;
					close(fd);
					return -1;
				}
				continue;
			}
			head = 1;
			tu->t_head = t;
			tu->status = r->status;
			body_feed(r, buf + used, len - used, t);
			len = 0;
		} else
			body_feed(r, buf, (size_t)n, t);
		if (r->done)
			tu->t_end = t;
	}
	close(fd);
	if (!head || !r->done) {
		tu->err = E_IO;
		return -1;
	}
	return 0;
}

/* ---- SSE ------------------------------------------------------------ */

struct sse {
	char		*buf;
	size_t		 len, cap;
	struct turn	*tu;
	int		 direct;
	void		(*on_first)(void *);	/* at the first delta */
	void		*first_arg;
};

/* One complete event block (without its blank line). */
static void
sse_event(struct sse *s, const char *ev, size_t n, int64_t t)
{
	const char	*p;

	if (s->direct) {
		if (memmem(ev, n, "data: [DONE]", 12) != NULL) {
			s->tu->got_done = 1;
			s->tu->t_done = t;
		} else if ((p = memmem(ev, n, "\"content\":\"", 11)) != NULL &&
		    p[11] != '"') {
			if (s->tu->deltas.n == 0)
				s->tu->t_first = t;
			vec_add(&s->tu->deltas, t);
		}
		return;
	}
	if (memmem(ev, n, "event: delta\n", 13) != NULL) {
		if (s->tu->deltas.n == 0) {
			s->tu->t_first = t;
			if (s->on_first != NULL)
				s->on_first(s->first_arg);
		}
		vec_add(&s->tu->deltas, t);
	} else if (memmem(ev, n, "event: done\n", 12) != NULL) {
		s->tu->got_done = 1;
		s->tu->t_done = t;
	} else if (memmem(ev, n, "event: error\n", 13) != NULL) {
		s->tu->got_done = 1;
		s->tu->error_event = 1;
		s->tu->t_done = t;
	}
}

static void
sse_body(void *arg, const char *p, size_t n, int64_t t)
{
	struct sse	*s = arg;
	char		*e, *nb;
	size_t		 start = 0, k;

	if (s->len + n + 1 > s->cap) {
		while (s->len + n + 1 > s->cap)
			s->cap = s->cap ? s->cap * 2 : 8192;
		if ((nb = realloc(s->buf, s->cap)) == NULL)
			abort();
		s->buf = nb;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	while ((e = memmem(s->buf + start, s->len - start, "\n\n", 2))
	    != NULL) {
		k = (size_t)(e - (s->buf + start));
		sse_event(s, s->buf + start, k + 1, t);
		start += k + 2;
	}
	if (start > 0) {
		memmove(s->buf, s->buf + start, s->len - start);
		s->len -= start;
	}
}

/* A JSON body, kept whole (small): for the conversation's id and token. */
struct small {
	char	buf[2048];
	size_t	len;
};

static void
small_body(void *arg, const char *p, size_t n, int64_t t)
{
	struct small	*b = arg;

	(void)t;
	if (n > sizeof(b->buf) - 1 - b->len)
		n = sizeof(b->buf) - 1 - b->len;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static int
json_str(const char *json, const char *key, char *out, size_t outsz)
{
	char		 pat[64];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >= outsz)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

/* ---- the workers ---------------------------------------------------- */

static char *
worker_buf(void)
{
	static __thread char	*b;

	if (b == NULL && (b = malloc(65536)) == NULL)
		abort();
	return b;
}

static int
conv_create(struct worker *w)
{
	struct resp	r;
	struct turn	tu;
	struct small	b;
	char		req[256];
	int		n;

	memset(&r, 0, sizeof(r));
	memset(&tu, 0, sizeof(tu));
	memset(&b, 0, sizeof(b));
	r.on_body = small_body;
	r.arg = &b;
	w->conv_t0 = util_mono_us();
	n = snprintf(req, sizeof(req), "POST /api/conversations HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nContent-Length: 0\r\nConnection: close\r\n"
	    "\r\n", o.port);
	if (http_do(o.port, req, (size_t)n, &r, &tu, worker_buf(), 65536)
	    == -1 || tu.status != 201 ||
	    json_str(b.buf, "id", w->conv, sizeof(w->conv)) == -1 ||
	    json_str(b.buf, "token", w->token, sizeof(w->token)) == -1) {
		w->errs[E_CONV]++;
		snprintf(w->errmsg, sizeof(w->errmsg), "create conversation: "
		    "status %d %.100s", tu.status, b.buf);
		return -1;
	}
	w->conv_turns = 0;
	return 0;
}

static void
rec_add(struct worker *w, const char *s, size_t n)
{
	char	*nb;

	if (w->reclen + n > w->reccap) {
		while (w->reclen + n > w->reccap)
			w->reccap = w->reccap ? w->reccap * 2 : 65536;
		if ((nb = realloc(w->rec, w->reccap)) == NULL)
			abort();
		w->rec = nb;
	}
	memcpy(w->rec + w->reclen, s, n);
	w->reclen += n;
}

static void
turn_record(struct worker *w, const char *tag, struct turn *tu)
{
	char	line[256];
	size_t	i;
	int	n;

	n = snprintf(line, sizeof(line), "%s %c %d %d %lld %lld %lld %lld "
	    "%lld %zu", tag, tu->direct ? 'd' : 's', tu->ok, tu->status,
	    (long long)tu->t_send, (long long)tu->t_first,
	    (long long)tu->t_done, (long long)tu->t_end,
	    (long long)tu->t_eof, tu->deltas.n);
	rec_add(w, line, (size_t)n);
	for (i = 0; i < tu->deltas.n; i++) {
		n = snprintf(line, sizeof(line), " %lld",
		    (long long)tu->deltas.v[i]);
		rec_add(w, line, (size_t)n);
	}
	rec_add(w, "\n", 1);
}

/* The first delta of a worker's first turn: its followers may start. */
static void
worker_started(void *arg)
{
	struct worker	*w = arg;

	if (__atomic_load_n(&w->started, __ATOMIC_ACQUIRE) != 0)
		return;
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	ready_one();
}

/* The worker's first turn failed before any delta. */
static void
worker_failed(struct worker *w)
{
	if (__atomic_load_n(&w->started, __ATOMIC_ACQUIRE) != 0)
		return;
	__atomic_store_n(&w->started, 2, __ATOMIC_RELEASE);
	ready_one();
}

/* How a response ended: tu->ok, or tu->err. */
static void
turn_judge(struct turn *tu, int http_rc)
{
	if (http_rc == -1)
		;
	else if (tu->status != 200)
		tu->err = E_STATUS;
	else if (!tu->got_done)
		tu->err = E_NODONE;
	else if (tu->error_event)
		tu->err = E_ERROR_EVENT;
	else
		tu->ok = 1;
}

static void
turn_run(struct worker *w, long slot)
{
	struct resp	 r;
	struct turn	 tu;
	struct sse	 s;
	char		 tag[48], *req, *body;
	size_t		 i, blen, rlen;
	int		 port;

	memset(&r, 0, sizeof(r));
	memset(&tu, 0, sizeof(tu));
	memset(&s, 0, sizeof(s));
	snprintf(tag, sizeof(tag), "BTAG%dx%ld", w->idx, slot);
	blen = strlen(o.text) + 256;
	rlen = blen + 1024;
	if ((body = malloc(blen)) == NULL || (req = malloc(rlen)) == NULL)
		abort();
	tu.direct = w->direct;
	s.tu = &tu;
	s.direct = w->direct;
	if (!w->direct && w->started == 0) {
		/* The first turn: what its followers will follow. */
		snprintf(w->fconv, sizeof(w->fconv), "%s", w->conv);
		snprintf(w->ftoken, sizeof(w->ftoken), "%s", w->token);
		s.on_first = worker_started;
		s.first_arg = w;
	}
	r.on_body = sse_body;
	r.arg = &s;
	if (w->direct) {
		snprintf(body, blen, "{\"model\":\"mock\",\"stream\":true,"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"%s %s\"}]}",
		    o.text, tag);
		snprintf(req, rlen, "POST /v1/chat/completions HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
		    "Accept: text/event-stream\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", o.mock_port, strlen(body),
		    body);
		port = o.mock_port;
	} else {
		snprintf(body, blen, "{\"text\":\"%s %s\"}", o.text, tag);
		snprintf(req, rlen, "POST /api/conversations/%s/messages "
		    "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer "
		    "%s\r\nContent-Type: application/json\r\nAccept: "
		    "text/event-stream\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n%s", w->conv, o.port, w->token, strlen(body),
		    body);
		port = o.port;
	}
	turn_judge(&tu, http_do(port, req, strlen(req), &r, &tu,
	    worker_buf(), 65536));
	if (!w->direct && tu.deltas.n == 0)
		worker_failed(w);
	if (tu.ok) {
		w->ok++;
		w->ndeltas += (long)tu.deltas.n;
		if (tu.deltas.n > 0)
			vec_add(&w->ttfd, tu.t_first - tu.t_send);
		if (tu.deltas.n > 0 && w->conv_turns == 0 && o.visit)
			vec_add(&w->visit, tu.t_first - w->conv_t0);
		for (i = 1; i < tu.deltas.n; i++)
			vec_add(&w->gap, tu.deltas.v[i] - tu.deltas.v[i - 1]);
		vec_add(&w->dead, tu.t_end - tu.t_done);
		if (tu.t_eof > 0)
			vec_add(&w->dead_eof, tu.t_eof - tu.t_done);
		vec_add(&w->total, tu.t_end - tu.t_send);
	} else {
		w->errs[tu.err]++;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s: status %d "
		    "(%zu deltas)", err_names[tu.err], tu.status,
		    tu.deltas.n);
	}
	if (o.records != NULL)
		turn_record(w, tag, &tu);
	free(tu.deltas.v);
	free(s.buf);
	free(body);
	free(req);
}

/* A follower's first delta. */
static void
follower_first(void *arg)
{
	(void)arg;
	ready_one();
}

/*
 * A follower: once its worker's first turn has its first delta, that
 * reply read from another connection to its end.
 */
static void
follow_run(struct worker *f)
{
	struct worker	*w = f->target;
	struct resp	 r;
	struct turn	 tu;
	struct sse	 s;
	char		 req[512];
	int64_t		 until;
	int		 st;

	until = util_mono_us() + (int64_t)o.timeout_s * 1000000;
	while ((st = __atomic_load_n(&w->started, __ATOMIC_ACQUIRE)) == 0 &&
	    util_mono_us() < until)
		usleep(2000);
	memset(&tu, 0, sizeof(tu));
	if (st != 1) {
		/* Nothing to follow: its turn failed (counted there). */
		f->errs[E_NOSTART]++;
		snprintf(f->errmsg, sizeof(f->errmsg), "follow: the turn "
		    "never started");
		ready_one();
		return;
	}
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.tu = &tu;
	s.on_first = follower_first;
	r.on_body = sse_body;
	r.arg = &s;
	snprintf(req, sizeof(req), "GET /api/conversations/%s/events "
	    "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
	    "Accept: text/event-stream\r\nConnection: close\r\n\r\n",
	    w->fconv, o.port, w->ftoken);
	turn_judge(&tu, http_do(o.port, req, strlen(req), &r, &tu,
	    worker_buf(), 65536));
	if (tu.deltas.n == 0)
		ready_one();
	if (tu.ok) {
		f->ok++;
		f->ndeltas += (long)tu.deltas.n;
		if (tu.deltas.n > 0)
			vec_add(&f->ttfd, tu.t_first - tu.t_send);
		for (size_t i = 1; i < tu.deltas.n; i++)
			vec_add(&f->gap, tu.deltas.v[i] - tu.deltas.v[i - 1]);
	} else {
		f->errs[tu.err]++;
		snprintf(f->errmsg, sizeof(f->errmsg), "follow: %s: status %d "
		    "(%zu deltas)", err_names[tu.err], tu.status,
		    tu.deltas.n);
	}
	free(tu.deltas.v);
	free(s.buf);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	long		 slot;
	int64_t		 due;
	int		 have = 0;

	if (w->target != NULL) {
		pthread_barrier_wait(&barrier);
		pthread_barrier_wait(&barrier);
		follow_run(w);
		return NULL;
	}
	if (!w->direct && !o.visit)
		have = conv_create(w) == 0;
	pthread_barrier_wait(&barrier);	/* every worker is ready */
	pthread_barrier_wait(&barrier);	/* the clock has started */
	if (o.ramp_ms > 0)
		sleep_until(t_start + (int64_t)o.ramp_ms * 1000 * w->idx /
		    o.conc);
	for (;;) {
		slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
		if (o.turns > 0 && slot >= o.turns)
			break;
		if (util_mono_us() >= t_deadline)
			break;
		if (o.rate > 0) {
			due = t_start + (int64_t)((double)slot * 1e6 / o.rate);
			sleep_until(due);
			vec_add(&w->late, util_mono_us() - due);
		}
		if (!w->direct && (!have || w->conv_turns >= o.per_conv)) {
			if (conv_create(w) == -1) {
				have = 0;
				worker_failed(w);
				usleep(10000);
				continue;
			}
			have = 1;
		}
		turn_run(w, slot);
		w->conv_turns++;
	}
	/* A worker that never turned: its followers stop waiting. */
	worker_failed(w);
	return NULL;
}

static int
usage(void)
{
	fprintf(stderr, "usage: load -p port [-m service|direct|mixed] "
	    "[-P mock_port] [-c conc] [-n turns] [-T seconds] "
	    "[-k turns_per_conv] [-r rate] [-R ramp_ms] [-o records] "
	    "[-w timeout_s] [-x text] [-F followers] [-V] [-s]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct worker	*ws;
	struct vec	 ttfd = { 0 }, gap = { 0 }, dead = { 0 },
			 dead_eof = { 0 }, total = { 0 }, visit = { 0 },
			 late = { 0 }, fttfd = { 0 }, fgap = { 0 };
	pthread_attr_t	 attr;
	long		 ok = 0, errs[E__MAX] = { 0 }, ndeltas = 0;
	long		 fok = 0, ferrs[E__MAX] = { 0 }, fdeltas = 0;
	int64_t		 t_end;
	double		 el;
	const char	*lastmsg = "", *flastmsg = "";
	FILE		*f;
	int		 ch, i, e, nthreads;

	while ((ch = getopt(argc, argv, "p:m:P:c:n:T:k:r:R:o:w:x:F:Vs")) != -1)
		switch (ch) {
		case 'p': o.port = atoi(optarg); break;
		case 'm':
			o.mode = strcmp(optarg, "direct") == 0 ? 1 :
			    strcmp(optarg, "mixed") == 0 ? 2 : 0;
			break;
		case 'P': o.mock_port = atoi(optarg); break;
		case 'c': o.conc = atoi(optarg); break;
		case 'n': o.turns = atol(optarg); break;
		case 'T': o.seconds = atof(optarg); break;
		case 'k': o.per_conv = atol(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'R': o.ramp_ms = atol(optarg); break;
		case 'o': o.records = optarg; break;
		case 'w': o.timeout_s = atoi(optarg); break;
		case 'x': o.text = optarg; break;
		case 'F': o.follow = atoi(optarg); break;
		case 'V': o.visit = 1; break;
		case 's': o.say_ready = 1; break;
		default: return usage();
		}
	if (o.conc < 1 || o.conc > 5000 || o.seconds <= 0 ||
	    o.seconds > 900 || o.per_conv < 1 || o.follow < 0 ||
	    o.follow > 100 || (o.follow > 0 && o.mode != 0) ||
	    o.conc * (1 + o.follow) > 10000 ||
	    (o.mode != 0 && o.mock_port == 0) || (o.mode != 1 && o.port == 0))
		return usage();
	if (o.mode == 1)
		o.port = o.mock_port;
	bench_fd_max();
	nthreads = o.conc * (1 + o.follow);
	n_ready_want = nthreads;
	if ((ws = calloc((size_t)nthreads, sizeof(*ws))) == NULL)
		return 1;
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < nthreads; i++) {
		ws[i].idx = i;
		ws[i].direct = o.mode == 1 || (o.mode == 2 && i % 2 == 1);
		if (i >= o.conc)
			ws[i].target = &ws[(i - o.conc) % o.conc];
		if ((errno = pthread_create(&ws[i].tid, &attr, worker_main,
		    &ws[i])) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&barrier);
	t_start = util_mono_us();
	t_deadline = t_start + (int64_t)(o.seconds * 1e6);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < nthreads; i++)
		pthread_join(ws[i].tid, NULL);
	t_end = util_mono_us();
	el = (double)(t_end - t_start) / 1e6;

	f = o.records ? fopen(o.records, "w") : NULL;
	for (i = o.conc; i < nthreads; i++) {
		vec_cat(&fttfd, &ws[i].ttfd);
		vec_cat(&fgap, &ws[i].gap);
		fok += ws[i].ok;
		fdeltas += ws[i].ndeltas;
		for (e = 0; e < E__MAX; e++)
			ferrs[e] += ws[i].errs[e];
		if (ws[i].errmsg[0] != '\0')
			flastmsg = ws[i].errmsg;
	}
	for (i = 0; i < o.conc; i++) {
		vec_cat(&visit, &ws[i].visit);
		vec_cat(&late, &ws[i].late);
		vec_cat(&ttfd, &ws[i].ttfd);
		vec_cat(&gap, &ws[i].gap);
		vec_cat(&dead, &ws[i].dead);
		vec_cat(&dead_eof, &ws[i].dead_eof);
		vec_cat(&total, &ws[i].total);
		ok += ws[i].ok;
		ndeltas += ws[i].ndeltas;
		for (e = 0; e < E__MAX; e++)
			errs[e] += ws[i].errs[e];
		if (ws[i].errmsg[0] != '\0')
			lastmsg = ws[i].errmsg;
		if (f != NULL && ws[i].reclen > 0)
			fwrite(ws[i].rec, 1, ws[i].reclen, f);
	}
	if (f != NULL)
		fclose(f);
	printf("{\"mode\":\"%s\",\"conc\":%d,\"ok\":%ld,\"elapsed_s\":%.3f,"
	    "\"turns_per_s\":%.1f,\"deltas_per_turn\":%.1f,\"errors\":{",
	    o.mode == 1 ? "direct" : o.mode == 2 ? "mixed" : "service",
	    o.conc, ok, el, (double)ok / el,
	    ok ? (double)ndeltas / (double)ok : 0.0);
	for (e = 0; e < E__MAX; e++)
		printf("%s\"%s\":%ld", e ? "," : "", err_names[e], errs[e]);
	printf("},\"last_error\":\"");
	for (; *lastmsg != '\0'; lastmsg++)
		putchar(*lastmsg == '"' || *lastmsg == '\\' ||
		    (unsigned char)*lastmsg < 0x20 ? '\'' : *lastmsg);
	printf("\",\n");
	if (o.follow > 0) {
		printf("\"follow\":{\"n\":%d,\"ok\":%ld,\"deltas_per\":%.1f,"
		    "\"errors\":{", o.conc * o.follow, fok,
		    fok ? (double)fdeltas / (double)fok : 0.0);
		for (e = 0; e < E__MAX; e++)
			printf("%s\"%s\":%ld", e ? "," : "", err_names[e],
			    ferrs[e]);
		printf("},\"last_error\":\"");
		for (; *flastmsg != '\0'; flastmsg++)
			putchar(*flastmsg == '"' || *flastmsg == '\\' ||
			    (unsigned char)*flastmsg < 0x20 ? '\'' : *flastmsg);
		printf("\",\n");
		print_stats("first_us", &fttfd, 1);
		print_stats("gap_us", &fgap, 0);
		printf("},\n");
	}
	if (o.visit)
		print_stats("visit_us", &visit, 1);
	if (o.rate > 0)
		print_stats("late_us", &late, 1);
	print_stats("ttfd_us", &ttfd, 1);
	print_stats("gap_us", &gap, 1);
	print_stats("dead_us", &dead, 1);
	print_stats("dead_eof_us", &dead_eof, 1);
	print_stats("turn_us", &total, 0);
	printf("}\n");
	return 0;
}
