/*
 * fuzz_fields.c: libFuzzer target for field_normalise.
 *
 * The first byte picks the field (and, by its high bits, the default
 * country and the output buffer's size); the rest is the raw value, any
 * bytes at all.  Whatever comes in, the strength is 0..2, the output is
 * NUL-terminated, valid UTF-8 and inside the buffer, and empty on 0.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Is s (n bytes) valid UTF-8, no overlongs, no surrogates? */
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
	static const char *const countries[] = { "US", "GB", "IT", "ZZ" };
	static const size_t	 sizes[] = { FIELD_VALUE_MAX, 1, 13, 0 };
	struct field_opts	 opts;
	char			*raw, out[FIELD_VALUE_MAX + 1];
	size_t			 outsz, n;
	int			 s;

	if (size == 0)
		return 0;
	field_opts_default(&opts);
	opts.default_country = countries[(data[0] >> 4) & 3];
	outsz = sizes[(data[0] >> 6) & 3];

	/* An exact-size copy, so ASan sees any read past the value. */
	if ((raw = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(raw, data + 1, size - 1);
	memset(out, 0x55, sizeof(out));
	s = field_normalise((enum field)(data[0] % (FIELD__MAX + 1)), raw,
	    size - 1, &opts, out, outsz);
	free(raw);

	if (s < 0 || s > 2)
		abort();
	if (outsz == 0) {
		if (out[0] != 0x55 || s != 0)
			abort();
		return 0;
	}
	n = strnlen(out, outsz);
	if (n >= outsz || !utf8_ok((const unsigned char *)out, n))
		abort();
	if ((s == 0) != (n == 0) || out[outsz] != 0x55)
		abort();
	return 0;
}
