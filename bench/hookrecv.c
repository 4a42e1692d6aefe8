/*
 * hookrecv.c: a fast webhook receiver for the benchmarks (the Python one
 * of the tests would be the bottleneck of a sender's throughput).
 *
 *   hookrecv [-p PORT] [-d DELAY_MS] [-s whsec_KEY] [-m MAX_SECONDS]
 *
 * 127.0.0.1 only; a thread per connection, blocking sockets, HTTP/1.1
 * keep-alive.  Every POST is a delivery: its body is read whole, the time
 * it was complete is stamped (CLOCK_MONOTONIC microseconds, the clock
 * bench/load uses), its Standard Webhooks signature is checked with -s
 * (HMAC-SHA256 through libcrypto, written here again rather than taken
 * from common/webhook.c, so the check is not the sender's own code), then
 * after DELAY_MS (a slow receiver) it is answered 200 with an empty body.
 *
 * Control (GET): /_log returns one line per delivery, "T_US WEBHOOK-ID
 * CONVERSATION-ID TYPE SIG" (SIG: 1 good, 0 bad, - not checked), and
 * clears it; /_stats the counters as JSON.  It prints "port N" once listening,
 * and leaves on SIGTERM, SIGINT, its parent's death, or after
 * MAX_SECONDS.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bench.h"
#include "util.h"

#define REQ_MAX		(256 * 1024)	/* a larger request is refused */
#define KEY_MAX		128

static long		 delay_ms;
static unsigned char	 key[KEY_MAX];
static int		 keylen = -1;	/* -1: no -s, signatures unchecked */

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static char		*logbuf;
static size_t		 loglen, logcap;
static unsigned long	 n_req, n_bad_sig, n_conns, n_active, n_active_max;

/* Append one line to the log (under mu). */
static void
log_add(const char *line, size_t len)
{
	char	*nb;
	size_t	 ncap;

	if (loglen + len > logcap) {
		ncap = logcap ? logcap : 65536;
		while (ncap < loglen + len)
			ncap *= 2;
		if ((nb = realloc(logbuf, ncap)) == NULL)
			return;
		logbuf = nb;
		logcap = ncap;
	}
	memcpy(logbuf + loglen, line, len);
	loglen += len;
}

/* The value of header name in the head (NUL-terminated), into out. */
static int
header(const char *head, const char *name, char *out, size_t outsz)
{
	const char	*p = head, *e;
	size_t		 n = strlen(name), len;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((e = strstr(p, "\r\n")) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len >= outsz)
			len = outsz - 1;
		memcpy(out, p, len);
		out[len] = '\0';
		return 0;
	}
	out[0] = '\0';
	return -1;
}

/* 1 when one of the space-separated "v1,SIG" in sigs is the HMAC of
   id.ts.body, else 0. */
static int
sig_check(const char *id, const char *ts, const char *body, size_t len,
    const char *sigs)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		 b64[128], *msg;
	const char	*p, *e;
	size_t		 hl, n;
	int		 ok = 0;

	hl = strlen(id) + strlen(ts) + 2;
	if ((msg = malloc(hl + len + 1)) == NULL)
		return 0;
	snprintf(msg, hl + 1, "%s.%s.", id, ts);
	memcpy(msg + hl, body, len);
	if (HMAC(EVP_sha256(), key, keylen, (unsigned char *)msg, hl + len,
	    mac, &maclen) == NULL) {
		free(msg);
		return 0;
	}
	free(msg);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	n = strlen(b64);
	for (p = sigs; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if (e - p == (long)n + 3 && strncmp(p, "v1,", 3) == 0 &&
		    memcmp(p + 3, b64, n) == 0)
			ok = 1;
	}
	return ok;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Answer a control GET; the connection then closes. */
static void
control(int fd, const char *path)
{
	char	 head[160], stats[256], *body = NULL;
	size_t	 len = 0;
	int	 k;

	pthread_mutex_lock(&mu);
	if (strncmp(path, "/_log", 5) == 0) {
		body = logbuf;
		len = loglen;
		logbuf = NULL;
		loglen = logcap = 0;
	} else {
		k = snprintf(stats, sizeof(stats), "{\"requests\":%lu,"
		    "\"bad_sig\":%lu,\"connections\":%lu,\"active\":%lu,"
		    "\"active_max\":%lu}\n", n_req, n_bad_sig, n_conns,
		    n_active, n_active_max);
		len = (size_t)k;
	}
	pthread_mutex_unlock(&mu);
	k = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    len);
	if (write_all(fd, head, (size_t)k) == 0)
		write_all(fd, body != NULL ? body : stats, len);
	free(body);
}

/* The string value after pre (e.g. "\"type\":\"") in body into out. */
static void
json_str(const char *body, size_t len, const char *pre, char *out,
    size_t outsz)
{
	const char	*p, *e;
	size_t		 k = strlen(pre), n;

	out[0] = '\0';
	if ((p = memmem(body, len, pre, k)) == NULL ||
	    (e = memchr(p + k, '"', len - (size_t)(p + k - body))) == NULL)
		return;
	n = (size_t)(e - (p + k));
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p + k, n);
	out[n] = '\0';
}

/* One delivery: stamp, check, log, wait, answer.  0 to go on, -1. */
static int
deliver(int fd, const char *head, const char *body, size_t len, int keep)
{
	static const char ok_keep[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const char ok_close[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	char		 id[128], ts[32], sigs[512], conv[128], type[32];
	char		 line[400];
	int64_t		 t = util_mono_us();
	int		 good = -1, k;

	header(head, "webhook-id", id, sizeof(id));
	header(head, "webhook-timestamp", ts, sizeof(ts));
	header(head, "webhook-signature", sigs, sizeof(sigs));
	json_str(body, len, "\"conversation_id\":\"", conv, sizeof(conv));
	json_str(body, len, "\"type\":\"", type, sizeof(type));
	if (keylen >= 0)
		good = sig_check(id, ts, body, len, sigs);
	k = snprintf(line, sizeof(line), "%lld %s %s %s %s\n", (long long)t,
	    id[0] ? id : "-", conv[0] ? conv : "-", type[0] ? type : "-",
	    good < 0 ? "-" : good ? "1" : "0");
	pthread_mutex_lock(&mu);
	n_req++;
	if (good == 0)
		n_bad_sig++;
	log_add(line, (size_t)k);
	pthread_mutex_unlock(&mu);
	if (delay_ms > 0)
		util_sleep_ms(delay_ms);
	if (keep)
		return write_all(fd, ok_keep, sizeof(ok_keep) - 1);
	write_all(fd, ok_close, sizeof(ok_close) - 1);
	return -1;
}

static void *
conn_main(void *arg)
{
	char		*buf, *end, *body, cl[32], conn[32], path[256];
	size_t		 have = 0, hlen, blen;
	ssize_t		 n;
	int		 fd = (int)(intptr_t)arg, keep, one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((buf = malloc(REQ_MAX + 1)) == NULL)
		goto out;
	for (;;) {
		/* The head. */
		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
			if (have >= REQ_MAX)
				goto out;
			if ((n = recv(fd, buf + have, REQ_MAX - have, 0)) <= 0) {
				if (n == -1 && errno == EINTR)
					continue;
				goto out;
			}
			have += (size_t)n;
			buf[have] = '\0';
		}
		*end = '\0';
		hlen = (size_t)(end - buf) + 4;
		header(buf, "content-length", cl, sizeof(cl));
		header(buf, "connection", conn, sizeof(conn));
		blen = (size_t)strtoul(cl, NULL, 10);
		if (blen > REQ_MAX - hlen)
			goto out;
		/* The body. */
		while (have < hlen + blen) {
			if ((n = recv(fd, buf + have, REQ_MAX - have, 0)) <= 0) {
				if (n == -1 && errno == EINTR)
					continue;
				goto out;
			}
			have += (size_t)n;
		}
		body = buf + hlen;
		keep = strcasecmp(conn, "close") != 0;
		if (sscanf(buf, "%*s %255s", path) != 1)
			goto out;
		if (strncmp(buf, "GET ", 4) == 0) {
			control(fd, path);
			goto out;
		}
		if (deliver(fd, buf, body, blen, keep) == -1)
			goto out;
		/* What followed this request (pipelined) stays. */
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
out:
	free(buf);
	close(fd);
	pthread_mutex_lock(&mu);
	n_active--;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static volatile sig_atomic_t	stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: hookrecv [-p port] [-d delay_ms] "
	    "[-s whsec_key] [-m max_seconds]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct timeval		 tv = { 1, 0 };
	pthread_attr_t		 attr;
	pthread_t		 tid;
	const char		*secret = NULL, *b;
	int64_t			 deadline;
	long			 max_s = 900;
	int			 lfd, fd, ch, port = 0, pad;

	while ((ch = getopt(argc, argv, "p:d:s:m:")) != -1)
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'd': delay_ms = atol(optarg); break;
		case 's': secret = optarg; break;
		case 'm': max_s = atol(optarg); break;
		default: return usage();
		}
	if (secret != NULL) {
		b = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
		if (strlen(b) % 4 != 0 || strlen(b) / 4 * 3 > KEY_MAX) {
			fprintf(stderr, "hookrecv: -s: padded base64 of at most "
			    "%d bytes\n", KEY_MAX);
			return 2;
		}
		keylen = EVP_DecodeBlock(key, (const unsigned char *)b,
		    (int)strlen(b));
		pad = strlen(b) > 0 && b[strlen(b) - 1] == '=' ?
		    (strlen(b) > 1 && b[strlen(b) - 2] == '=' ? 2 : 1) : 0;
		if (keylen < 0) {
			fprintf(stderr, "hookrecv: -s: not base64\n");
			return 2;
		}
		keylen -= pad;
	}
	bench_serve_init(on_signal);	/* no SA_RESTART: accept returns */
	bench_fd_max();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	if ((lfd = bench_listen(port, SOCK_STREAM | SOCK_CLOEXEC)) == -1)
		return 1;
	/* accept wakes up every second to look at the clock. */
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	deadline = util_mono_us() + (int64_t)max_s * 1000000;
	while (!stop && util_mono_us() < deadline) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		pthread_mutex_lock(&mu);
		n_conns++;
		if (++n_active > n_active_max)
			n_active_max = n_active;
		pthread_mutex_unlock(&mu);
		if (pthread_create(&tid, &attr, conn_main,
		    (void *)(intptr_t)fd) != 0) {
			close(fd);
			pthread_mutex_lock(&mu);
			n_active--;
			pthread_mutex_unlock(&mu);
		}
	}
	return 0;
}
