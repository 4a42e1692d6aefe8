/*
 * merge.h: the no-downgrade rule.  Pure.
 *
 * An incoming value replaces the stored one iff (strength, turn) is
 * greater, compared in that order; a tie on both goes to the greater
 * value by bytes.  A value of strength 0 never wins.  The rule is a total
 * order, so merging is a per-field maximum: any order of the same
 * extractions gives the same lead.
 */
#ifndef MERGE_H
#define MERGE_H

#include <stddef.h>

struct merge_val {
	const char	*value;		/* may be NULL when strength is 0 */
	size_t		 len;
	int		 strength;	/* 0: nothing */
	int		 turn;
};

/* 1 when in replaces stored, 0 when stored stays. */
int	merge_wins(const struct merge_val *in, const struct merge_val *stored);

#endif
