/*
 * fuzz_rules.c: libFuzzer target for rules_extract.
 *
 * The input is split into the visitor's messages on '\n' (each copied to
 * an exact-size buffer, so ASan sees any read past a message).  Whatever
 * comes in, every field's strength is 0..2, its value NUL-terminated and
 * valid UTF-8, empty exactly when the strength is 0, and the same value
 * comes out when field_normalise is run on it again.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "utf8.h"

#define MSGS_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct extraction e;
	struct field_opts	 opts;
	char			*msgs[MSGS_MAX], again[FIELD_VALUE_MAX];
	size_t			 lens[MSGS_MAX], n = 0, i, start = 0, len;
	int			 f, s;

	for (i = 0; i <= size && n < MSGS_MAX; i++) {
		if (i < size && data[i] != '\n')
			continue;
		lens[n] = i - start;
		if ((msgs[n] = malloc(lens[n] ? lens[n] : 1)) == NULL)
			abort();
		memcpy(msgs[n], data + start, lens[n]);
		n++;
		start = i + 1;
	}
	field_opts_default(&opts);
	rules_extract((const char *const *)msgs, lens, n, &opts, &e);
	for (i = 0; i < n; i++)
		free(msgs[i]);

	for (f = 0; f < FIELD__MAX; f++) {
		s = e.strength[f];
		len = strnlen(e.value[f], FIELD_VALUE_MAX);
		if (s < 0 || s > 2 || len == FIELD_VALUE_MAX ||
		    (s == 0) != (len == 0) ||
		    !utf8_valid(e.value[f], len))
			abort();
		/* Normalised values are fixed points (summary aside: "…"). */
		if (s > 0 && f != FIELD_SUMMARY &&
		    (field_normalise(f, e.value[f], len, &opts, again,
		    sizeof(again)) != s || strcmp(again, e.value[f]) != 0))
			abort();
	}
	return 0;
}
