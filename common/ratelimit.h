/*
 * ratelimit.h: a fixed-window counter per client address, in SQLite.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <sqlite3.h>

/*
 * Count one request of kind from addr in the current minute.  Returns 0
 * when it is within limit (limit 0: no limit), 1 when over it with
 * *retry_after set to the seconds left in the minute, -1 on error (the
 * caller lets the request through: a broken counter must not lock
 * visitors out).
 */
int	ratelimit_hit(sqlite3 *, const char *addr, const char *kind,
	    long limit, int *retry_after);

#endif
