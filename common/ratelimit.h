/*
 * ratelimit.h: requests per client address in the last minute (a sliding
 * window, see limit_rules.c), counted in SQLite.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

struct db;


/*
 * Count one request of kind from addr (REMOTE_ADDR; an IPv6 address
 * counts by its /64).  Returns 0 when it is admitted (limit 0: no limit),
 * 1 when limit requests were admitted in the last minute already, with
 * *retry_after set to the seconds until one more fits (a refused request
 * is not counted), -1 on error (the caller lets the request through: a
 * broken counter must not lock visitors out).
 */
int	ratelimit_hit(struct db *, const char *addr, const char *kind,
	    long limit, int *retry_after);

#endif
