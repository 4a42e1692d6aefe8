/*
 * limit_rules.h: the rules of the limits that keep one client from taking
 * the service from everyone else.  Pure: ratelimit.c and slots.c count
 * in SQLite (so a count holds across every process and thread); whether
 * a count is over its limit, and for how long, is decided here.
 */
#ifndef LIMIT_RULES_H
#define LIMIT_RULES_H

#include <stddef.h>
#include <stdint.h>

#define LIMIT_WINDOW_MS	60000	/* a rate limit's window: the last minute */
#define LIMIT_ADDR_MAX	64	/* an address key, with its NUL */

/*
 * The key a client's limits count under, from REMOTE_ADDR (NULL: ""): an
 * IPv4 address as it is (an IPv4-mapped IPv6 one as IPv4); an IPv6
 * address by its /64, e.g. "2001:db8:1:2::/64", because a host picks any
 * address inside its /64 at will; anything else as it is, cut to fit.
 * out holds LIMIT_ADDR_MAX bytes.
 */
void	limit_addr_key(const char *addr, char out[LIMIT_ADDR_MAX]);

/*
 * The sliding window.  count: the requests admitted in the last
 * LIMIT_WINDOW_MS before now (ms); when count >= limit, expire_at is the
 * time the (count - limit)-th oldest of them (from 0) was admitted: once
 * it has left the window, one more fits.  Returns 0 to admit (limit <= 0:
 * no limit), or 1 to refuse with *retry_after the whole seconds until
 * one more fits (1 to 60).  Admitting only while count < limit, no
 * window of LIMIT_WINDOW_MS ever holds more than limit requests.
 */
int	limit_rate(long count, int64_t expire_at, int64_t now, long limit,
	    int *retry_after);

/* What limit_streams found. */
enum limit_streams {
	LIMIT_STREAMS_OK,
	LIMIT_STREAMS_ADDR,	/* the address holds per_addr streams */
	LIMIT_STREAMS_CONV,	/* the conversation has per_conv follows */
};

/*
 * Whether one more stream fits: addr_n streams held by the address,
 * conv_n follows of the conversation (0 for a turn).  A cap of 0 is off.
 */
enum limit_streams limit_streams(long addr_n, long per_addr, long conv_n,
	    long per_conv);

#endif
