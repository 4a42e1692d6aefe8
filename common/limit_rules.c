/*
 * limit_rules.c: the rules of the rate limits and of the stream caps,
 * apart from the database that counts for them, so that each rule is a
 * table of cases in tests/unit/test_limit_rules.c.
 *
 * The rate limit is a sliding window over the admitted requests
 * themselves rather than a counter per calendar minute: a fixed window
 * admits the limit at 12:00:59 and again at 12:01:00, twice the limit in
 * two seconds.  Counting what was admitted in the last minute, and
 * admitting while that is under the limit, holds every 60-second span to
 * the limit; a refused request is not counted, so a visitor who waits
 * the Retry-After it was given gets in.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "limit_rules.h"

void
limit_addr_key(const char *addr, char out[LIMIT_ADDR_MAX])
{
	unsigned char	a6[16];
	char		buf[INET6_ADDRSTRLEN];
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (addr == NULL)
		addr = "";
	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a6) == 1) {
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			snprintf(out, LIMIT_ADDR_MAX, "%u.%u.%u.%u", a6[12],
			    a6[13], a6[14], a6[15]);
			return;
		}
		memset(a6 + 8, 0, 8);
		if (inet_ntop(AF_INET6, a6, buf, sizeof(buf)) != NULL) {
			snprintf(out, LIMIT_ADDR_MAX, "%s/64", buf);
			return;
		}
	}
	snprintf(out, LIMIT_ADDR_MAX, "%s", addr);
}

int
limit_rate(long count, int64_t expire_at, int64_t now, long limit,
    int *retry_after)
{
	int64_t	wait;

	*retry_after = 0;
	if (limit <= 0 || count < limit)
		return 0;
	/* A clock set back leaves rows "from the future": wait at most a
	   window, never less than a second. */
	wait = expire_at + LIMIT_WINDOW_MS - now;
	if (wait > LIMIT_WINDOW_MS)
		wait = LIMIT_WINDOW_MS;
	if (wait < 1)
		wait = 1;
	*retry_after = (int)((wait + 999) / 1000);
	return 1;
}

enum limit_streams
limit_streams(long addr_n, long per_addr, long conv_n, long per_conv)
{
	if (per_addr > 0 && addr_n >= per_addr)
		return LIMIT_STREAMS_ADDR;
	if (per_conv > 0 && conv_n >= per_conv)
		return LIMIT_STREAMS_CONV;
	return LIMIT_STREAMS_OK;
}
