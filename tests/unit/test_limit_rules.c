/*
 * test_limit_rules.c: the pure rules of the limits (common/limit_rules.c).
 *
 * The address key, the sliding window and the stream caps, each as a
 * table; then the window driven the way ratelimit.c drives it (a log of
 * admitted times, those older than a minute dropped) through scripted
 * and pseudo-random request times, checking what the rule promises: no
 * 60-second span ever admits more than the limit (across a minute
 * boundary too, where the old per-minute counter admitted twice the
 * limit), a steady pace at the limit is never refused, and a request
 * sent again after the Retry-After it was given gets in.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "limit_rules.h"

static const struct key_row {
	const char	*addr;
	const char	*want;
	int		 line;
} key_rows[] = {
	{ "192.0.2.1", "192.0.2.1", __LINE__ },
	{ "127.0.0.2", "127.0.0.2", __LINE__ },
	{ NULL, "", __LINE__ },
	{ "", "", __LINE__ },
	{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", __LINE__ },
	{ "2001:DB8:1:2::ffff", "2001:db8:1:2::/64", __LINE__ },
	{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64", __LINE__ },
	{ "2001:db8:1:3::1", "2001:db8:1:3::/64", __LINE__ },
	{ "::1", "::/64", __LINE__ },
	{ "::ffff:192.0.2.7", "192.0.2.7", __LINE__ },
	{ "::FFFF:c000:0207", "192.0.2.7", __LINE__ },
	/* Not an address: kept as it is (it is only ever a key). */
	{ "fe80::1%eth0", "fe80::1%eth0", __LINE__ },
	{ "2001:db8::1::2", "2001:db8::1::2", __LINE__ },
	{ "unix:", "unix:", __LINE__ },
	{ "x", "x", __LINE__ },
	{ "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789", "012345678901234567890123456789012345678901234567890"
	    "123456789012", __LINE__ },
};

static void
test_keys(void)
{
	char	out[LIMIT_ADDR_MAX];
	size_t	i;

	for (i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
		const struct key_row *r = &key_rows[i];

		memset(out, 'Z', sizeof(out));
		limit_addr_key(r->addr, out);
		CHECK_AT(r->line, memchr(out, '\0', sizeof(out)) != NULL &&
		    strcmp(out, r->want) == 0, "key(%s) = \"%.*s\", want "
		    "\"%s\"", r->addr ? r->addr : "NULL", LIMIT_ADDR_MAX,
		    out, r->want);
	}
}

static const struct rate_row {
	long	 count;
	int64_t	 expire_at, now;
	long	 limit;
	int	 want, want_retry;
	int	 line;
} rate_rows[] = {
	/* No limit. */
	{ 0, 0, 1000000, 0, 0, 0, __LINE__ },
	{ 99999, 999000, 1000000, 0, 0, 0, __LINE__ },
	{ 5, 999000, 1000000, -1, 0, 0, __LINE__ },
	/* Under the limit. */
	{ 0, 0, 1000000, 1, 0, 0, __LINE__ },
	{ 29, 0, 1000000, 30, 0, 0, __LINE__ },
	/* At it: wait until the oldest that must go has gone. */
	{ 30, 1000000, 1000000, 30, 1, 60, __LINE__ },
	{ 30, 1000000, 1000001, 30, 1, 60, __LINE__ },
	{ 30, 1000000, 1000999, 30, 1, 60, __LINE__ },
	{ 30, 1000000, 1001000, 30, 1, 59, __LINE__ },
	{ 30, 1000000, 1059000, 30, 1, 1, __LINE__ },
	{ 30, 1000000, 1059999, 30, 1, 1, __LINE__ },
	{ 1, 1000000, 1030500, 1, 1, 30, __LINE__ },
	/* Over it (the limit was lowered): the same rule. */
	{ 40, 1020000, 1050000, 30, 1, 30, __LINE__ },
	/* A clock set back: at most a minute, at least a second. */
	{ 30, 2000000, 1000000, 30, 1, 60, __LINE__ },
	{ 30, 0, 1000000, 30, 1, 1, __LINE__ },
};

static void
test_rate_rows(void)
{
	size_t	i;
	int	got, retry;

	for (i = 0; i < sizeof(rate_rows) / sizeof(rate_rows[0]); i++) {
		const struct rate_row *r = &rate_rows[i];

		retry = -7;
		got = limit_rate(r->count, r->expire_at, r->now, r->limit,
		    &retry);
		CHECK_AT(r->line, got == r->want && retry == r->want_retry,
		    "limit_rate(%ld, %lld, %lld, %ld) = %d retry %d, want "
		    "%d retry %d", r->count, (long long)r->expire_at,
		    (long long)r->now, r->limit, got, retry, r->want,
		    r->want_retry);
	}
}

static const struct streams_row {
	long			 addr_n, per_addr, conv_n, per_conv;
	enum limit_streams	 want;
	int			 line;
} streams_rows[] = {
	{ 0, 16, 0, 8, LIMIT_STREAMS_OK, __LINE__ },
	{ 15, 16, 7, 8, LIMIT_STREAMS_OK, __LINE__ },
	{ 16, 16, 0, 8, LIMIT_STREAMS_ADDR, __LINE__ },
	{ 500, 16, 0, 8, LIMIT_STREAMS_ADDR, __LINE__ },
	{ 3, 16, 8, 8, LIMIT_STREAMS_CONV, __LINE__ },
	{ 16, 16, 8, 8, LIMIT_STREAMS_ADDR, __LINE__ },
	/* 0 turns a cap off. */
	{ 500, 0, 7, 8, LIMIT_STREAMS_OK, __LINE__ },
	{ 500, 0, 8, 8, LIMIT_STREAMS_CONV, __LINE__ },
	{ 3, 16, 500, 0, LIMIT_STREAMS_OK, __LINE__ },
	{ 500, 0, 500, 0, LIMIT_STREAMS_OK, __LINE__ },
	{ 1, 1, 0, 0, LIMIT_STREAMS_ADDR, __LINE__ },
};

static void
test_streams(void)
{
	size_t			i;
	enum limit_streams	got;

	for (i = 0; i < sizeof(streams_rows) / sizeof(streams_rows[0]);
	    i++) {
		const struct streams_row *r = &streams_rows[i];

		got = limit_streams(r->addr_n, r->per_addr, r->conv_n,
		    r->per_conv);
		CHECK_AT(r->line, got == r->want, "limit_streams(%ld, %ld, "
		    "%ld, %ld) = %d, want %d", r->addr_n, r->per_addr,
		    r->conv_n, r->per_conv, (int)got, (int)r->want);
	}
}

/*
 * The window as ratelimit.c keeps it: the times of the admitted requests,
 * oldest first; those at or before now - LIMIT_WINDOW_MS leave.
 */
#define LOG_MAX	4096

struct window {
	int64_t	at[LOG_MAX];
	long	n;
	long	limit;
};

/* One request at now; 0 admitted, 1 refused (*retry set). */
static int
window_hit(struct window *w, int64_t now, int *retry)
{
	long	i, keep = 0;
	int	over;

	for (i = 0; i < w->n; i++)
		if (w->at[i] > now - LIMIT_WINDOW_MS)
			w->at[keep++] = w->at[i];
	w->n = keep;
	over = limit_rate(w->n, w->n >= w->limit ? w->at[w->n - w->limit] : 0,
	    now, w->limit, retry);
	if (!over && w->n < LOG_MAX)
		w->at[w->n++] = now;
	return over;
}

/* The most admitted times (sorted) in any LIMIT_WINDOW_MS span. */
static long
most_in_a_minute(const int64_t *t, long n)
{
	long	i, j = 0, most = 0;

	for (i = 0; i < n; i++) {
		while (t[i] - t[j] >= LIMIT_WINDOW_MS)
			j++;
		if (i - j + 1 > most)
			most = i - j + 1;
	}
	return most;
}

/* Every request of times (ascending) through a window of limit. */
static long
run_times(long limit, const int64_t *times, long n, int64_t *admitted)
{
	static struct window	w;
	long			i, na = 0;
	int			retry;

	memset(&w, 0, sizeof(w));
	w.limit = limit;
	for (i = 0; i < n; i++)
		if (window_hit(&w, times[i], &retry) == 0)
			admitted[na++] = times[i];
	return na;
}

/*
 * The attack the per-minute counter let through: the limit at the end
 * of one minute, the limit again at the start of the next.
 */
static void
test_minute_boundary(void)
{
	static int64_t	times[200], admitted[200];
	int64_t		minute = 28000000LL * 60000;	/* a minute's start */
	long		limit = 30, n = 0, i, na;

	for (i = 0; i < limit; i++)
		times[n++] = minute - 1000 + i * 10;	/* 12:00:59.0.. */
	for (i = 0; i < limit; i++)
		times[n++] = minute + i * 10;		/* 12:01:00.0.. */
	na = run_times(limit, times, n, admitted);
	CHECK(na == limit, "across a minute boundary: %ld of %ld admitted, "
	    "want %ld", na, n, limit);
	CHECK(most_in_a_minute(admitted, na) <= limit, "a minute held %ld",
	    most_in_a_minute(admitted, na));

	/* Once the first burst is a minute old, a second fits. */
	n = 0;
	for (i = 0; i < limit; i++)
		times[n++] = minute + i;
	for (i = 0; i < limit; i++)
		times[n++] = minute + LIMIT_WINDOW_MS + i;
	na = run_times(limit, times, n, admitted);
	CHECK(na == 2 * limit, "two bursts a minute apart: %ld admitted, "
	    "want %ld", na, 2 * limit);
}

/* The limit's own pace (a request every 60/limit s) is never refused. */
static void
test_steady_pace(void)
{
	static int64_t	times[600], admitted[600];
	long		limit = 30, n, na;

	for (n = 0; n < 600; n++)
		times[n] = 5000000 + n * (LIMIT_WINDOW_MS / limit);
	na = run_times(limit, times, n, admitted);
	CHECK(na == n, "a steady pace at the limit: %ld of %ld admitted",
	    na, n);
}

/* A small deterministic generator (xorshift), for the random runs. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random bursts and pauses: no minute ever holds more than the limit;
 * and every refused request, sent again when its Retry-After says (and
 * nothing else in between), is admitted.
 */
static void
test_random(void)
{
	static int64_t	 times[LOG_MAX], admitted[LOG_MAX];
	static struct window w, copy;
	uint64_t	 seed = 0x9e3779b97f4a7c15ULL;
	int64_t		 now;
	long		 run, n, na, limit, i, bad_retry = 0;
	int		 retry, r2;

	for (run = 0; run < 200; run++) {
		limit = 1 + (long)(rnd(&seed) % 40);
		now = 1000000000 + (int64_t)(rnd(&seed) % 60000);
		for (n = 0; n < 2000; n++) {
			/* Mostly close together, now and then a pause. */
			switch (rnd(&seed) % 4) {
			case 0:
				now += (int64_t)(rnd(&seed) % 30000);
				break;
			default:
				now += (int64_t)(rnd(&seed) % 700);
				break;
			}
			times[n] = now;
		}
		memset(&w, 0, sizeof(w));
		w.limit = limit;
		na = 0;
		for (i = 0; i < n; i++) {
			if (window_hit(&w, times[i], &retry) == 0) {
				admitted[na++] = times[i];
				continue;
			}
			/* Sent again after Retry-After: admitted. */
			copy = w;
			if (retry < 1 || retry > 60 ||
			    window_hit(&copy, times[i] + retry * 1000LL, &r2)
			    != 0)
				bad_retry++;
		}
		CHECK(most_in_a_minute(admitted, na) <= limit, "run %ld: a "
		    "minute held %ld, limit %ld", run,
		    most_in_a_minute(admitted, na), limit);
	}
	CHECK(bad_retry == 0, "%ld refused requests were refused again after "
	    "their Retry-After", bad_retry);
}

int
main(void)
{
	test_keys();
	test_rate_rows();
	test_streams();
	test_minute_boundary();
	test_steady_pace();
	test_random();
	return check_done("limit_rules");
}
