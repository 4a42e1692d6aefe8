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
#include "utf8.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The search's case folding (utf8_fold) on the same bytes: in place, so
 * valid text stays valid with as many characters, and folding is
 * idempotent.
 */
static void
fuzz_fold(const uint8_t *data, size_t size)
{
	char	*a, *b;
	size_t	 valid;

	if ((a = malloc(size)) == NULL || (b = malloc(size)) == NULL) {
		free(a);
		return;
	}
	memcpy(a, data, size);
	valid = utf8_valid(a, size);
	utf8_fold(a, size);
	if (valid && (!utf8_valid(a, size) ||
	    utf8_count(a, size) != utf8_count((const char *)data, size)))
		abort();
	memcpy(b, a, size);
	utf8_fold(b, size);
	if (memcmp(a, b, size) != 0)
		abort();
	free(a);
	free(b);
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
	fuzz_fold(data, size);
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
	if (n >= outsz || !utf8_valid(out, n))
		abort();
	if ((s == 0) != (n == 0) || out[outsz] != 0x55)
		abort();
	return 0;
}
