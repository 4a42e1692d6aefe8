/*
 * rules.h: the rule-based extractor, the floor under every model.
 *
 * It reads what the visitor wrote (phone numbers, e-mail addresses, "my
 * name is ..." phrases, matter-type and urgency keywords) and needs no
 * model and no network.  The built-in intake script uses it to know what
 * is still missing; the extractor merges it on every turn.  Pure.
 */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>

#include "fields.h"

/* One extraction: a normalised value and its strength for every field. */
struct extraction {
	char	value[FIELD__MAX][FIELD_VALUE_MAX];
	int	strength[FIELD__MAX];
};

/* Empty every field (strength 0, value ""). */
void	extraction_clear(struct extraction *);

/*
 * Extract from the visitor's messages, oldest first.  texts[i] is
 * lens[i] bytes of UTF-8 (not necessarily NUL-terminated).  A later
 * message's value for a field wins over an earlier one's (a correction)
 * unless it is weaker.  The matter type is voted by keyword over all the
 * messages, ties going to the latest mention.  opts NULL means defaults.
 */
void	rules_extract(const char *const *texts, const size_t *lens, size_t n,
	    const struct field_opts *opts, struct extraction *out);

#endif
