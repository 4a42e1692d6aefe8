/*
 * mockllm.c: a fast mock of an OpenAI-compatible provider, for the
 * benchmarks (tests/mock_provider.py is right but too slow to load).
 *
 *   mockllm [-p PORT] [-t TOKENS] [-d DELAY_MS] [-f FIRST_MS]
 *           [-x EXTRACT_MS] [-c TOKEN_CHARS] [-l] [-m MAX_SECONDS]
 *
 * One thread, epoll, non-blocking sockets, 127.0.0.1 only.  A POST whose
 * body holds "stream":false is an extraction: after EXTRACT_MS it gets a
 * chat.completion whose message.content is a JSON object of the six lead
 * fields.  Any other POST is a chat stream shaped like the fixture
 * openai-chat-basic.sse: chunked HTTP/1.1, one "data: {chunk}\n\n" per
 * token, a role chunk first, a finish_reason "stop" chunk and
 * "data: [DONE]" last.  The first token goes out FIRST_MS after the
 * request (with the headers), the others DELAY_MS apart; each token is
 * TOKEN_CHARS bytes of plain letters, so a reply is TOKENS * TOKEN_CHARS
 * bytes exactly.  "Expect: 100-continue" is answered, as curl sends it
 * for bodies over 1 KiB.
 *
 * A stream whose request body holds "BLEN" and digits (the last such) has
 * that many tokens, whatever the setting: the bench's new visitors get
 * short replies while a crowd's go on.
 *
 * With -l (or log=1) every stream whose request carries a tag (the last
 * "BTAG" followed by letters and digits in its body) is logged: the time
 * of its first byte and of each token, CLOCK_MONOTONIC microseconds, the
 * clock load.c uses, so a relay's cost is the difference.
 *
 * Control (GET): /_control/set?tokens=&delay=&first=&extract=&chars=&log=
 * changes the settings for requests that start later; /_control/log
 * returns the log ("TAG FIRST_US N T0 ... TN-1" per line) and clears it;
 * /_control/stats the counters (expect: 100-continue answers sent).  It prints "port N" once listening, and
 * leaves on SIGTERM, SIGINT, its parent's death, or after MAX_SECONDS.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

#define IN_MAX		(4 << 20)	/* a request larger than this is refused */
#define TAG_MAX		40
#define MAXEV		256

struct settings {
	long	tokens, delay_ms, first_ms, extract_ms, chars;
	int	log;
};

enum cstate {
	C_READ,		/* reading the request */
	C_STREAM,	/* tokens to send, next at due */
	C_EXTRACT,	/* the extraction answer goes out at due */
	C_CLOSE,	/* send what is buffered, then close */
};

struct conn {
	int		 fd;
	enum cstate	 state;
	char		*in;
	size_t		 inlen, incap;
	size_t		 head, need;	/* head length; head + body */
	int		 sent100;
	char		*out;
	size_t		 outlen, outoff, outcap;
	int		 want_out;	/* EPOLLOUT armed */
	int64_t		 due;		/* µs; 0: no timer */
	struct settings	 s;		/* as when the request arrived */
	long		 tok;		/* next token */
	char		 tag[TAG_MAX];
	int64_t		 first_us;
	int64_t		*times;		/* per token, when logged */
};

static struct settings	 cur = { 20, 0, 0, 0, 5, 0 };
static struct conn	**conns;	/* by fd */
static int		 nconns_max, epfd, maxfd;
static volatile sig_atomic_t stop;

static char	*logbuf;
static size_t	 loglen, logcap;

static unsigned long	 n_stream, n_extract, n_control, n_bad, n_active,
			 n_peak, n_expect;
static unsigned long long n_bytes;

static const char CHUNK_HEAD[] = "data: {\"id\":\"chatcmpl-bench000000000000"
    "0000000\",\"object\":\"chat.completion.chunk\",\"created\":1709819154,"
    "\"model\":\"mock\",\"system_fingerprint\":\"fp_bench\",\"choices\":"
    "[{\"index\":0,\"delta\":";
static const char CHUNK_TAIL[] = ",\"logprobs\":null,\"finish_reason\":";

static const char EXTRACT_BODY[] = "{\"id\":\"chatcmpl-bench1\",\"object\":"
    "\"chat.completion\",\"created\":1709819154,\"model\":\"mock\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"{\\\"full_name\\\":\\\"Jane Doe\\\",\\\"phone\\\":"
    "\\\"(415) 555-0100\\\",\\\"email\\\":\\\"jane.doe@example.com\\\","
    "\\\"matter_type\\\":\\\"family\\\",\\\"urgency\\\":\\\"high\\\","
    "\\\"summary\\\":\\\"The visitor needs help with a custody matter "
    "after a divorce.\\\"}\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,"
    "\"completion_tokens\":48,\"total_tokens\":168}}";

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void *
xrealloc(void *p, size_t n)
{
	void	*q;

	if ((q = realloc(p, n)) == NULL) {
		fprintf(stderr, "mockllm: out of memory\n");
		exit(1);
	}
	return q;
}

static void
log_append(const char *s, size_t n)
{
	if (loglen + n + 1 > logcap) {
		while (loglen + n + 1 > logcap)
			logcap = logcap ? logcap * 2 : 65536;
		logbuf = xrealloc(logbuf, logcap);
	}
	memcpy(logbuf + loglen, s, n);
	loglen += n;
}

static void
arm(struct conn *c, int out)
{
	struct epoll_event	ev;

	if (c->want_out == out)
		return;
	c->want_out = out;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.fd = c->fd;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_free(struct conn *c)
{
	if (c->state == C_STREAM || c->state == C_EXTRACT)
		n_active--;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conns[c->fd] = NULL;
	free(c->in);
	free(c->out);
	free(c->times);
	free(c);
}

/* Send what is buffered; 0, or -1 when the connection is gone (freed). */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->outoff += (size_t)n;
			n_bytes += (unsigned long long)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm(c, 1);
			return 0;
		}
		conn_free(c);
		return -1;
	}
	c->outoff = c->outlen = 0;
	arm(c, 0);
	if (c->state == C_CLOSE) {
		conn_free(c);
		return -1;
	}
	return 0;
}

static void
out_add(struct conn *c, const char *s, size_t n)
{
	if (c->outlen + n > c->outcap) {
		while (c->outlen + n > c->outcap)
			c->outcap = c->outcap ? c->outcap * 2 : 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
}

/* One SSE event as one HTTP chunk. */
static void
out_chunk(struct conn *c, const char *ev, size_t n)
{
	char	hex[24];
	int	k;

	k = snprintf(hex, sizeof(hex), "%zx\r\n", n);
	out_add(c, hex, (size_t)k);
	out_add(c, ev, n);
	out_add(c, "\r\n", 2);
}

static void
out_token(struct conn *c, long i)
{
	char	ev[512], word[128];
	long	j, n = c->s.chars;
	int	k;

	if (n > (long)sizeof(word) - 1)
		n = (long)sizeof(word) - 1;
	for (j = 0; j < n; j++)
		word[j] = j == 0 && i > 0 ? ' ' :
		    (char)('a' + (int)((i * 7 + j * 3) % 26));
	word[n] = '\0';
	k = snprintf(ev, sizeof(ev), "%s{\"content\":\"%s\"}%snull}]}\n\n",
	    CHUNK_HEAD, word, CHUNK_TAIL);
	out_chunk(c, ev, (size_t)k);
}

static void
out_status(struct conn *c, int code, const char *ctype, const char *body,
    size_t len)
{
	char	head[256];
	int	k;

	k = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
	    code == 200 ? "OK" : "Bad Request", ctype, len);
	out_add(c, head, (size_t)k);
	out_add(c, body, len);
}

static void
stream_end(struct conn *c)
{
	char		 ev[512], num[32];
	long		 i;
	int		 k;

	k = snprintf(ev, sizeof(ev), "%s{}%s\"stop\"}]}\n\n", CHUNK_HEAD,
	    CHUNK_TAIL);
	out_chunk(c, ev, (size_t)k);
	out_chunk(c, "data: [DONE]\n\n", 14);
	out_add(c, "0\r\n\r\n", 5);
	if (c->times != NULL) {
		k = snprintf(num, sizeof(num), "%s %lld %ld", c->tag,
		    (long long)c->first_us, c->s.tokens);
		log_append(num, (size_t)k);
		for (i = 0; i < c->s.tokens; i++) {
			k = snprintf(num, sizeof(num), " %lld",
			    (long long)c->times[i]);
			log_append(num, (size_t)k);
		}
		log_append("\n", 1);
	}
	n_active--;
	c->state = C_CLOSE;
	c->due = 0;
}

/*
 * Send what is due of a stream: the next token, or every token left when
 * there is no delay.  -1 when the connection went away (freed).
 */
static int
stream_tick(struct conn *c)
{
	int64_t	t;
	long	i, from = c->tok;

	do {
		out_token(c, c->tok);
		c->tok++;
	} while (c->s.delay_ms <= 0 && c->tok < c->s.tokens);
	if (conn_flush(c) == -1)
		return -1;
	t = util_mono_us();
	if (c->first_us == 0)
		c->first_us = t;
	if (c->times != NULL)
		for (i = from; i < c->tok; i++)
			c->times[i] = t;
	if (c->tok < c->s.tokens) {
		c->due = t + c->s.delay_ms * 1000;
		return 0;
	}
	stream_end(c);
	return conn_flush(c);
}

static void
stream_start(struct conn *c)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	char	ev[512];
	int	k;

	n_stream++;
	if (++n_active > n_peak)
		n_peak = n_active;
	c->state = C_STREAM;
	if (c->s.log && c->tag[0] != '\0' && c->s.tokens > 0)
		c->times = calloc((size_t)c->s.tokens, sizeof(*c->times));
	out_add(c, head, sizeof(head) - 1);
	k = snprintf(ev, sizeof(ev), "%s{\"role\":\"assistant\",\"content\":"
	    "\"\"}%snull}]}\n\n", CHUNK_HEAD, CHUNK_TAIL);
	out_chunk(c, ev, (size_t)k);
	if (c->s.tokens <= 0) {
		stream_end(c);
		conn_flush(c);
		return;
	}
	if (c->s.first_ms > 0) {
		if (conn_flush(c) == -1)
			return;
		c->first_us = util_mono_us();
		c->due = c->first_us + c->s.first_ms * 1000;
		return;
	}
	stream_tick(c);
}

static void
extract_send(struct conn *c)
{
	out_status(c, 200, "application/json", EXTRACT_BODY,
	    sizeof(EXTRACT_BODY) - 1);
	n_active--;
	c->state = C_CLOSE;
	c->due = 0;
	conn_flush(c);
}

static long
qnum(const char *q, const char *key, long def)
{
	const char	*p = q;
	size_t		 n = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == q || p[-1] == '?' || p[-1] == '&') && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
		p += n;
	}
	return def;
}

static void
control(struct conn *c, const char *path)
{
	char	buf[512];
	int	k;

	n_control++;
	c->state = C_CLOSE;
	if (strncmp(path, "/_control/set", 13) == 0) {
		cur.tokens = qnum(path, "tokens", cur.tokens);
		cur.delay_ms = qnum(path, "delay", cur.delay_ms);
		cur.first_ms = qnum(path, "first", cur.first_ms);
		cur.extract_ms = qnum(path, "extract", cur.extract_ms);
		cur.chars = qnum(path, "chars", cur.chars);
		cur.log = (int)qnum(path, "log", cur.log);
		if (cur.chars < 1)
			cur.chars = 1;
		k = snprintf(buf, sizeof(buf), "tokens=%ld delay=%ld first=%ld "
		    "extract=%ld chars=%ld log=%d\n", cur.tokens, cur.delay_ms,
		    cur.first_ms, cur.extract_ms, cur.chars, cur.log);
		out_status(c, 200, "text/plain", buf, (size_t)k);
	} else if (strncmp(path, "/_control/log", 13) == 0) {
		out_status(c, 200, "text/plain", logbuf ? logbuf : "", loglen);
		loglen = 0;
	} else if (strncmp(path, "/_control/stats", 15) == 0) {
		k = snprintf(buf, sizeof(buf), "{\"stream\":%lu,\"extract\":%lu,"
		    "\"control\":%lu,\"bad\":%lu,\"active\":%lu,\"peak\":%lu,"
		    "\"expect\":%lu,\"bytes\":%llu}\n", n_stream, n_extract,
		    n_control, n_bad, n_active, n_peak, n_expect, n_bytes);
		n_peak = n_active;
		out_status(c, 200, "application/json", buf, (size_t)k);
	} else
		out_status(c, 400, "text/plain", "no such control\n", 16);
	conn_flush(c);
}

/* The last "BTAG..." of the body, or "". */
static void
find_tag(struct conn *c, const char *body, size_t len)
{
	const char	*p, *last = NULL;
	size_t		 i;

	c->tag[0] = '\0';
	for (p = body; (p = memmem(p, len - (size_t)(p - body), "BTAG", 4))
	    != NULL; p += 4)
		last = p;
	if (last == NULL)
		return;
	for (i = 0; i + 1 < sizeof(c->tag) && last + i < body + len; i++) {
		char	ch = last[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_'))
			break;
		c->tag[i] = ch;
	}
	c->tag[i] = '\0';
}

/* The last "BLEN<digits>" of the body: that many tokens for this one. */
static void
find_len(struct conn *c, const char *body, size_t len)
{
	const char	*p, *last = NULL;
	long		 n = 0;

	for (p = body; (p = memmem(p, len - (size_t)(p - body), "BLEN", 4))
	    != NULL; p += 4)
		last = p;
	if (last == NULL)
		return;
	for (p = last + 4; p < body + len && *p >= '0' && *p <= '9' &&
	    n < 1000000; p++)
		n = n * 10 + (*p - '0');
	if (p > last + 4)
		c->s.tokens = n;
}

static void
dispatch(struct conn *c)
{
	char		*body = c->in + c->head, *sp;
	size_t		 blen = c->need - c->head;
	char		 path[512];

	if ((sp = memchr(c->in, ' ', c->head)) == NULL) {
		n_bad++;
		c->state = C_CLOSE;
		out_status(c, 400, "text/plain", "bad\n", 4);
		conn_flush(c);
		return;
	}
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(sp + 1, " \r\n"),
	    sp + 1);
	if (strncmp(path, "/_control/", 10) == 0) {
		control(c, path);
		return;
	}
	c->s = cur;
	if (memmem(body, blen, "\"stream\":false", 14) != NULL ||
	    memmem(body, blen, "\"stream\": false", 15) != NULL) {
		n_extract++;
		if (++n_active > n_peak)
			n_peak = n_active;
		c->state = C_EXTRACT;
		if (c->s.extract_ms <= 0)
			extract_send(c);
		else
			c->due = util_mono_us() + c->s.extract_ms * 1000;
		return;
	}
	find_tag(c, body, blen);
	find_len(c, body, blen);
	stream_start(c);
}

/* The request head is in: find the body's length, answer Expect. */
static int
parse_head(struct conn *c)
{
	char	*end, *line, *next;
	long	 cl = 0;
	int	 expect = 0;

	if ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4)) == NULL)
		return 0;
	c->head = (size_t)(end - c->in) + 4;
	for (line = memchr(c->in, '\n', c->head); line != NULL &&
	    line < c->in + c->head; line = next) {
		line++;
		next = memchr(line, '\n', c->head - (size_t)(line - c->in));
		if (strncasecmp(line, "content-length:", 15) == 0)
			cl = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "expect:", 7) == 0)
			expect = 1;
	}
	if (cl < 0 || cl > IN_MAX)
		return -1;
	c->need = c->head + (size_t)cl;
	if (expect && c->inlen < c->need && !c->sent100) {
		c->sent100 = 1;
		n_expect++;
		out_add(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (conn_flush(c) == -1)
			return -2;
	}
	return 1;
}

static void
conn_read(struct conn *c)
{
	ssize_t	n;
	int	rc;

	for (;;) {
		if (c->inlen + 65536 + 1 > c->incap) {
			c->incap = c->inlen + 65536 + 1;
			c->in = xrealloc(c->in, c->incap);
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen - 1, 0);
		if (n == 0) {
			/* The client left: a stream stops with it. */
			conn_free(c);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_free(c);
			return;
		}
		if (c->state != C_READ)
			continue;	/* nothing more is expected: drop */
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if (c->inlen > IN_MAX) {
			conn_free(c);
			return;
		}
		if (c->head == 0) {
			if ((rc = parse_head(c)) == -2)
				return;
			if (rc == -1) {
				conn_free(c);
				return;
			}
			if (rc == 0)
				continue;
		}
		if (c->inlen >= c->need) {
			dispatch(c);
			return;
		}
	}
}

static void
conn_accept(int lfd)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    != -1) {
		if (fd >= nconns_max) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		conns[fd] = c;
		if (fd > maxfd)
			maxfd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Fire every timer that is due; the time to the next one in ms, or -1. */
static int
timers(void)
{
	struct conn	*c;
	int64_t		 now = util_mono_us(), next = 0;
	int		 fd;

	for (fd = 0; fd <= maxfd; fd++) {
		if ((c = conns[fd]) == NULL || c->due == 0)
			continue;
		if (c->due <= now) {
			c->due = 0;
			if (c->state == C_STREAM) {
				if (stream_tick(c) == -1)
					continue;
			} else if (c->state == C_EXTRACT) {
				extract_send(c);
				continue;
			}
			now = util_mono_us();
		}
		if (conns[fd] == c && c->due != 0 && (next == 0 ||
		    c->due < next))
			next = c->due;
	}
	if (next == 0)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

static int
usage(void)
{
	fprintf(stderr, "usage: mockllm [-p port] [-t tokens] [-d delay_ms] "
	    "[-f first_ms] [-x extract_ms] [-c token_chars] [-l] "
	    "[-m max_seconds]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[MAXEV], ev;
	rlim_t			 fd_max;
	int64_t			 deadline;
	long			 max_s = 900;
	int			 lfd, ch, n, i, port = 0, to;

	while ((ch = getopt(argc, argv, "p:t:d:f:x:c:lm:")) != -1)
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 't': cur.tokens = atol(optarg); break;
		case 'd': cur.delay_ms = atol(optarg); break;
		case 'f': cur.first_ms = atol(optarg); break;
		case 'x': cur.extract_ms = atol(optarg); break;
		case 'c': cur.chars = atol(optarg) < 1 ? 1 : atol(optarg); break;
		case 'l': cur.log = 1; break;
		case 'm': max_s = atol(optarg); break;
		default: return usage();
		}
	bench_serve_init(on_signal);
	fd_max = bench_fd_max();
	nconns_max = fd_max > 65536 ? 65536 : (int)fd_max;
	if ((conns = calloc((size_t)nconns_max, sizeof(*conns))) == NULL)
		return 1;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	if ((lfd = bench_listen(port, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = -1;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

	deadline = util_mono_us() + (int64_t)max_s * 1000000;
	while (!stop && util_mono_us() < deadline) {
		to = timers();
		if (to < 0 || to > 1000)
			to = 1000;
		n = epoll_wait(epfd, evs, MAXEV, to);
		for (i = 0; i < n; i++) {
			struct conn	*c;

			if (evs[i].data.fd == -1) {
				conn_accept(lfd);
				continue;
			}
			if ((c = conns[evs[i].data.fd]) == NULL)
				continue;
			if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
				if (conn_flush(c) == -1)
					continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(c);
		}
	}
	return 0;
}
