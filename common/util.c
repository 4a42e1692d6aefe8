/*
 * util.c: random identifiers from getrandom(2), clocks, and the process
 * start time that, with the pid, names the owner of a streaming reply so a
 * reader can tell a live owner from a recycled pid.
 */
#include <sys/random.h>
#include <sys/types.h>

#include <signal.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int
util_random(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("getrandom");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_random_id(size_t nbytes, char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char	raw[64];
	size_t		i, o = 0, bits = 0;
	unsigned	acc = 0;

	if (nbytes > sizeof(raw) || outsz < (nbytes * 4 + 2) / 3 + 1)
		return -1;
	if (util_random(raw, nbytes) == -1)
		return -1;
	for (i = 0; i < nbytes; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = b64[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	return 0;
}

int64_t
util_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
util_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_iso_time(int64_t ms, char *out, size_t outsz)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void
util_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Read /proc/PID/stat: the state letter (field 3) and the start time in
 * clock ticks since boot (field 22).  0, or -1 when there is no process.
 */
static int
util_proc_stat(long pid, char *state, int64_t *start)
{
	char		 path[64], buf[1024], *p;
	FILE		*f;
	size_t		 n;
	long long	 st = 0;
	int		 field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -1;
	*state = p[2];
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%lld", &st) != 1)
		return -1;
	*start = st;
	return 0;
}

int64_t
util_proc_start(long pid)
{
	char	state;
	int64_t	start;

	return util_proc_stat(pid, &state, &start) == -1 ? 0 : start;
}

int
util_pid_alive(long pid, int64_t start)
{
	char	state;
	int64_t	st;

	if (pid <= 0)
		return 0;
	if (kill((pid_t)pid, 0) == -1 && errno != EPERM)
		return 0;
	if (util_proc_stat(pid, &state, &st) == -1)
		return start == 0;	/* no /proc: trust kill() */
	/* A zombie, dead but not yet reaped, is gone. */
	if (state == 'Z' || state == 'X')
		return 0;
	return start == 0 || st == start;
}

static char	util_node_name[128];

void
util_set_node(const char *name)
{
	if (name != NULL && name[0] != '\0')
		snprintf(util_node_name, sizeof(util_node_name), "%s", name);
	else if (gethostname(util_node_name, sizeof(util_node_name) - 1) ==
	    -1 || util_node_name[0] == '\0')
		snprintf(util_node_name, sizeof(util_node_name), "localhost");
}

const char *
util_node(void)
{
	if (util_node_name[0] == '\0')
		util_set_node(NULL);
	return util_node_name;
}

int
util_secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char	diff = 0;
	size_t			i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

void
util_deadline(struct timespec *ts, clockid_t clock, long ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
util_every(_Atomic int64_t *last, long ms)
{
	int64_t	now = util_mono_ms(), was = atomic_load(last);

	if (was != 0 && now - was < ms)
		return 0;
	return atomic_compare_exchange_strong(last, &was, now);
}
