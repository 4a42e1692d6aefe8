/*
 * query.c: the query-string reader; the events endpoint takes ?token=
 * and ?offset= because the browser's EventSource cannot send headers.
 */
#include <string.h>

#include "query.h"

static int
query_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
query_get(const char *qs, const char *name, char *out, size_t outsz)
{
	size_t		 nlen = strlen(name), o;
	const char	*p = qs;
	int		 hi, lo;

	if (qs == NULL || outsz == 0)
		return 0;
	while (*p != '\0') {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			for (o = 0; *p != '\0' && *p != '&'; p++) {
				if (o + 1 >= outsz)
					return -1;
				if (*p == '+')
					out[o++] = ' ';
				else if (*p == '%' &&
				    (hi = query_hex(p[1])) >= 0 &&
				    (lo = query_hex(p[2])) >= 0) {
					if (hi == 0 && lo == 0)
						return -1;
					out[o++] = (char)(hi * 16 + lo);
					p += 2;
				} else
					out[o++] = *p;
			}
			out[o] = '\0';
			return 1;
		}
		p += strcspn(p, "&");
		if (*p == '&')
			p++;
	}
	return 0;
}
