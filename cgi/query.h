/*
 * query.h: one parameter from a query string.  Pure.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>

/*
 * Find name in qs ("a=1&b=2"), percent-decode its value ('+' is a space)
 * into out (outsz bytes, NUL-terminated).  Returns 1 when found, 0 when
 * absent, -1 when the value does not fit or decodes to a NUL.
 */
int	query_get(const char *qs, const char *name, char *out, size_t outsz);

#endif
