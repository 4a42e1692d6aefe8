/*
 * fields.h: the lead's fields, how each raw value is normalised, and how
 * strong the result is.  Pure: no I/O, no allocation beyond the caller's
 * buffers, so it is unit-tested and fuzzed on its own.
 *
 * Strength (0 = empty or invalid, dropped) follows DESIGN.md:
 *   full_name    1 one word, 2 two or more
 *   phone        1 fewer than 10 digits, 2 a complete number (E.164)
 *   email        2 a valid address (lower-cased)
 *   matter_type  1 "other", 2 a specific type from the configured list
 *   urgency      1 any of low, normal, high, emergency
 *   summary      1 non-empty
 */
#ifndef FIELDS_H
#define FIELDS_H

#include <stddef.h>

enum field {
	FIELD_FULL_NAME,
	FIELD_PHONE,
	FIELD_EMAIL,
	FIELD_MATTER_TYPE,
	FIELD_URGENCY,
	FIELD_SUMMARY,
	FIELD__MAX
};

/* Largest normalised value of any field, NUL included. */
#define FIELD_VALUE_MAX	1024

/* Largest number of configured matter types. */
#define FIELD_MATTER_TYPES_MAX	32

struct field_opts {
	/* ISO 3166 alpha-2 country for numbers written without "+", e.g. "US". */
	const char	*default_country;
	/* Configured matter types, lower-case identifiers, "other" implied. */
	const char	*matter_types[FIELD_MATTER_TYPES_MAX];
	size_t		 n_matter_types;
};

/* The field's JSON/column name ("full_name", ...); NULL out of range. */
const char	*field_name(enum field);

/* The field whose name is s (len bytes), or FIELD__MAX when none. */
enum field	 field_lookup(const char *s, size_t len);

/* Fill opts with the defaults: country "US" and the built-in matter types. */
void		 field_opts_default(struct field_opts *opts);

/*
 * Normalise raw (len bytes, any bytes at all) for field f into out
 * (outsz bytes, always NUL-terminated when outsz > 0; always valid UTF-8).
 * Returns the strength 0..2; on 0, out is "".  A value that does not fit
 * in outsz is dropped (0), never cut.  opts NULL means the defaults; a
 * default_country not in the built-in table gives no E.164 conversion of
 * numbers written without "+" (they stay strength 1).
 */
int		 field_normalise(enum field f, const char *raw, size_t len,
		    const struct field_opts *opts, char *out, size_t outsz);

#endif
