/*
 * merge.c: one comparison, kept apart from the SQL that applies it so
 * the property tests can hammer it alone.
 */
#include <string.h>

#include "merge.h"

/* <0, 0, >0 as a is less than, equal to or greater than b. */
static int
merge_cmp(const struct merge_val *a, const struct merge_val *b)
{
	size_t	n;
	int	c;

	if (a->strength != b->strength)
		return a->strength < b->strength ? -1 : 1;
	if (a->turn != b->turn)
		return a->turn < b->turn ? -1 : 1;
	n = a->len < b->len ? a->len : b->len;
	if (n > 0 && (c = memcmp(a->value, b->value, n)) != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

int
merge_wins(const struct merge_val *in, const struct merge_val *stored)
{
	if (in->strength <= 0)
		return 0;
	if (stored->strength <= 0)
		return 1;
	return merge_cmp(in, stored) > 0;
}
