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

#define MSGS_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t		 i = 0, need, k;
	unsigned long	 cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3;
		else
			return 0;
		if (n - i <= need)
			return 0;
		cp = s[i] & (0x3f >> need);
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

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
		    !utf8_ok((const unsigned char *)e.value[f], len))
			abort();
		/* Normalised values are fixed points (summary aside: "…"). */
		if (s > 0 && f != FIELD_SUMMARY &&
		    (field_normalise(f, e.value[f], len, &opts, again,
		    sizeof(again)) != s || strcmp(again, e.value[f]) != 0))
			abort();
	}
	return 0;
}
