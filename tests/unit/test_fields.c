/*
 * test_fields.c: field names, lookup and every field's normaliser, row by
 * row, plus the hostile cases: invalid UTF-8, embedded NULs, 100 KB of
 * input, and output buffers too small for the value.
 */

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fields.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct row {
	enum field	 f;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*country;	/* NULL: the default, "US" */
	const char	*want;
	int		 strength;
	int		 line;
};

static const struct row rows[] = {
	/* full_name */
	{ FIELD_FULL_NAME, "Jane Doe", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "Jane", 0, NULL, "Jane", 1, __LINE__ },
	{ FIELD_FULL_NAME, "  jane   doe  ", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "JANE DOE", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "\"Jane Doe.\"", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "\xe2\x80\x9cJane Doe\xe2\x80\x9d", 0, NULL,
	    "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "o'brien", 0, NULL, "O'Brien", 1, __LINE__ },
	{ FIELD_FULL_NAME, "Seán O\xe2\x80\x99" "Brien", 0, NULL,
	    "Se\xc3\xa1n O'Brien", 2, __LINE__ },
	{ FIELD_FULL_NAME, "mary-jane watson", 0, NULL, "Mary-Jane Watson", 2,
	    __LINE__ },
	{ FIELD_FULL_NAME, "Jos\xc3\xa9 Garc\xc3\xad" "a", 0, NULL,
	    "Jos\xc3\xa9 Garc\xc3\xad" "a", 2, __LINE__ },
	{ FIELD_FULL_NAME, "jos\xc3\xa9 garc\xc3\xad" "a", 0, NULL,
	    "Jos\xc3\xa9 Garc\xc3\xad" "a", 2, __LINE__ },
	{ FIELD_FULL_NAME, "JOS\xc3\x89 GARC\xc3\x8d" "A", 0, NULL,
	    "JOS\xc3\x89 GARC\xc3\x8d" "A", 2, __LINE__ },
	{ FIELD_FULL_NAME, "McDonald", 0, NULL, "McDonald", 1, __LINE__ },
	{ FIELD_FULL_NAME, "J. R. Smith", 0, NULL, "J. R. Smith", 2, __LINE__ },
	{ FIELD_FULL_NAME, "J.R. Smith", 0, NULL, "J.R. Smith", 2, __LINE__ },
	{ FIELD_FULL_NAME, "Mr. John Smith", 0, NULL, "John Smith", 2,
	    __LINE__ },
	{ FIELD_FULL_NAME, "Dr Smith", 0, NULL, "Smith", 1, __LINE__ },
	{ FIELD_FULL_NAME, "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", 0, NULL,
	    "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", 1, __LINE__ },
	{ FIELD_FULL_NAME, "Jane\tDoe\n", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "Jane\xff Doe", 0, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "Jane\0Doe", 8, NULL, "Jane Doe", 2, __LINE__ },
	{ FIELD_FULL_NAME, "Ja\xe2\x80\x8bne", 0, NULL, "Jane", 1, __LINE__ },
	{ FIELD_FULL_NAME, "", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "   ", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "\"...\"", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "J", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "yes", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "No", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "hi", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Hello there", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "thanks!", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Thank you", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Jane Doe 2", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "jane@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "http://x.y/z", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "www.evil.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "<script>alert</script>", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Jane & John", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Jane \xf0\x9f\x98\x80", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "- ' -", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "A B C D E F G H I", 0, NULL, "", 0, __LINE__ },
	{ FIELD_FULL_NAME, "Abcdefghij Abcdefghij Abcdefghij Abcdefghij "
	    "Abcdefghij Abcdefghij Abcdefghij Abcdefghij Abcdefghij", 0, NULL,
	    "", 0, __LINE__ },

	/* phone, US default */
	{ FIELD_PHONE, "(555) 123-4567", 0, NULL, "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "555.123.4567", 0, NULL, "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "555-123-4567", 0, NULL, "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "5551234567", 0, NULL, "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "1 555 123 4567", 0, NULL, "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "+1 (555) 123-4567", 0, NULL, "+15551234567", 2,
	    __LINE__ },
	{ FIELD_PHONE, "555-123-4567 ext. 89", 0, NULL, "+15551234567", 2,
	    __LINE__ },
	{ FIELD_PHONE, "555-123-4567 x89", 0, NULL, "+15551234567", 2,
	    __LINE__ },
	{ FIELD_PHONE, "555 123 4567 extension 1234", 0, NULL, "+15551234567",
	    2, __LINE__ },
	{ FIELD_PHONE, "+44 20 7946 0958", 0, NULL, "+442079460958", 2,
	    __LINE__ },
	{ FIELD_PHONE, "+44 (0)20 7946 0958", 0, NULL, "+442079460958", 2,
	    __LINE__ },
	{ FIELD_PHONE, "00 44 20 7946 0958", 0, NULL, "+442079460958", 2,
	    __LINE__ },
	{ FIELD_PHONE, "011 44 20 7946 0958", 0, NULL, "+442079460958", 2,
	    __LINE__ },
	{ FIELD_PHONE, "+353 87 123 4567", 0, NULL, "+353871234567", 2,
	    __LINE__ },
	{ FIELD_PHONE, "123-4567", 0, NULL, "1234567", 1, __LINE__ },
	{ FIELD_PHONE, "555 1234 56", 0, NULL, "555123456", 1, __LINE__ },
	{ FIELD_PHONE, "0555123456", 0, NULL, "0555123456", 1, __LINE__ },
	{ FIELD_PHONE, "1234567890", 0, NULL, "1234567890", 1, __LINE__ },
	{ FIELD_PHONE, "123456", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "1234567890123456", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "+1 555 1234", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "+123456", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "+0 555 123 4567", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "555-CALL-NOW", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "call 555 123 4567", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "555+123+4567", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "555-123-4567 ext", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "555-123-4567 x1234567", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "+", 0, NULL, "", 0, __LINE__ },
	{ FIELD_PHONE, "555\0" "123 4567", 12, NULL, "+15551234567", 2,
	    __LINE__ },

	/* phone, other countries */
	{ FIELD_PHONE, "020 7946 0958", 0, "GB", "+442079460958", 2, __LINE__ },
	{ FIELD_PHONE, "07700 900123", 0, "gb", "+447700900123", 2, __LINE__ },
	{ FIELD_PHONE, "447700900123", 0, "GB", "+447700900123", 2, __LINE__ },
	{ FIELD_PHONE, "087 123 4567", 0, "IE", "+353871234567", 2, __LINE__ },
	{ FIELD_PHONE, "0412 345 678", 0, "AU", "+61412345678", 2, __LINE__ },
	{ FIELD_PHONE, "021 123 4567", 0, "NZ", "+64211234567", 2, __LINE__ },
	{ FIELD_PHONE, "030 12345678", 0, "DE", "+493012345678", 2, __LINE__ },
	{ FIELD_PHONE, "01 23 45 67 89", 0, "FR", "+33123456789", 2, __LINE__ },
	{ FIELD_PHONE, "612 345 678", 0, "ES", "612345678", 1, __LINE__ },
	{ FIELD_PHONE, "34 612 345 678", 0, "ES", "+34612345678", 2, __LINE__ },
	{ FIELD_PHONE, "06 1234 5678", 0, "IT", "+390612345678", 2, __LINE__ },
	{ FIELD_PHONE, "06 12345678", 0, "NL", "+31612345678", 2, __LINE__ },
	{ FIELD_PHONE, "098765 43210", 0, "IN", "+919876543210", 2, __LINE__ },
	{ FIELD_PHONE, "55 1234 5678", 0, "MX", "+525512345678", 2, __LINE__ },
	{ FIELD_PHONE, "(555) 123-4567", 0, "CA", "+15551234567", 2, __LINE__ },
	{ FIELD_PHONE, "5551234567", 0, "ZZ", "5551234567", 1, __LINE__ },
	{ FIELD_PHONE, "+44 20 7946 0958", 0, "ZZ", "+442079460958", 2,
	    __LINE__ },

	/* email */
	{ FIELD_EMAIL, "jane@example.com", 0, NULL, "jane@example.com", 2,
	    __LINE__ },
	{ FIELD_EMAIL, "  Jane.Doe+Law@Example.COM ", 0, NULL,
	    "jane.doe+law@example.com", 2, __LINE__ },
	{ FIELD_EMAIL, "<jane@example.co.uk>", 0, NULL,
	    "jane@example.co.uk", 2, __LINE__ },
	{ FIELD_EMAIL, "mailto:jane@example.com", 0, NULL,
	    "jane@example.com", 2, __LINE__ },
	{ FIELD_EMAIL, "o'brien@mail-server.ie", 0, NULL,
	    "o'brien@mail-server.ie", 2, __LINE__ },
	{ FIELD_EMAIL, "jane@example", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example.c", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example.c0m", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@ex@ample.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, ".jane@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane.@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "ja..ne@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@-example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example-.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example..com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example.com.", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@exa_mple.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "ja ne@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jan\xc3\xa9@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@example.com\0evil", 21, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "@example.com", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "jane@", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "", 0, NULL, "", 0, __LINE__ },
	{ FIELD_EMAIL, "<>", 0, NULL, "", 0, __LINE__ },

	/* matter_type */
	{ FIELD_MATTER_TYPE, "family", 0, NULL, "family", 2, __LINE__ },
	{ FIELD_MATTER_TYPE, "Personal Injury", 0, NULL, "personal_injury", 2,
	    __LINE__ },
	{ FIELD_MATTER_TYPE, "real-estate", 0, NULL, "real_estate", 2,
	    __LINE__ },
	{ FIELD_MATTER_TYPE, " ESTATE_PLANNING. ", 0, NULL, "estate_planning",
	    2, __LINE__ },
	{ FIELD_MATTER_TYPE, "other", 0, NULL, "other", 1, __LINE__ },
	{ FIELD_MATTER_TYPE, "Other", 0, NULL, "other", 1, __LINE__ },
	{ FIELD_MATTER_TYPE, "car accident", 0, NULL, "personal_injury", 2,
	    __LINE__ },
	{ FIELD_MATTER_TYPE, "Divorce", 0, NULL, "family", 2, __LINE__ },
	{ FIELD_MATTER_TYPE, "DUI", 0, NULL, "criminal", 2, __LINE__ },
	{ FIELD_MATTER_TYPE, "wrongful termination", 0, NULL, "employment", 2,
	    __LINE__ },
	{ FIELD_MATTER_TYPE, "visa", 0, NULL, "immigration", 2, __LINE__ },
	{ FIELD_MATTER_TYPE, "will", 0, NULL, "estate_planning", 2, __LINE__ },
	{ FIELD_MATTER_TYPE, "probate", 0, NULL, "estate_planning", 2,
	    __LINE__ },
	{ FIELD_MATTER_TYPE, "tax", 0, NULL, "", 0, __LINE__ },
	{ FIELD_MATTER_TYPE, "family!!law", 0, NULL, "", 0, __LINE__ },
	{ FIELD_MATTER_TYPE, "famille\xc3\xa9", 0, NULL, "", 0, __LINE__ },
	{ FIELD_MATTER_TYPE, "", 0, NULL, "", 0, __LINE__ },
	{ FIELD_MATTER_TYPE, " - ", 0, NULL, "", 0, __LINE__ },

	/* urgency */
	{ FIELD_URGENCY, "low", 0, NULL, "low", 1, __LINE__ },
	{ FIELD_URGENCY, "Normal", 0, NULL, "normal", 1, __LINE__ },
	{ FIELD_URGENCY, "HIGH", 0, NULL, "high", 1, __LINE__ },
	{ FIELD_URGENCY, "emergency!", 0, NULL, "emergency", 1, __LINE__ },
	{ FIELD_URGENCY, "urgent", 0, NULL, "high", 1, __LINE__ },
	{ FIELD_URGENCY, "ASAP", 0, NULL, "high", 1, __LINE__ },
	{ FIELD_URGENCY, "medium", 0, NULL, "normal", 1, __LINE__ },
	{ FIELD_URGENCY, "critical", 0, NULL, "emergency", 1, __LINE__ },
	{ FIELD_URGENCY, "not  urgent", 0, NULL, "low", 1, __LINE__ },
	{ FIELD_URGENCY, "highest", 0, NULL, "", 0, __LINE__ },
	{ FIELD_URGENCY, "lo", 0, NULL, "", 0, __LINE__ },
	{ FIELD_URGENCY, "", 0, NULL, "", 0, __LINE__ },

	/* summary */
	{ FIELD_SUMMARY, "  I was rear-ended\n\n on the I-5.  ", 0, NULL,
	    "I was rear-ended on the I-5.", 1, __LINE__ },
	{ FIELD_SUMMARY, "a\x01" "b\x7f" "c", 0, NULL, "a b c", 1, __LINE__ },
	{ FIELD_SUMMARY, "caf\xc3\xa9 \xc3", 0, NULL, "caf\xc3\xa9", 1,
	    __LINE__ },
	{ FIELD_SUMMARY, "\xed\xa0\x80 \xc0\xaf ok", 0, NULL, "ok", 1,
	    __LINE__ },
	{ FIELD_SUMMARY, "x\0y", 3, NULL, "x y", 1, __LINE__ },
	{ FIELD_SUMMARY, "", 0, NULL, "", 0, __LINE__ },
	{ FIELD_SUMMARY, " \t\r\n ", 0, NULL, "", 0, __LINE__ },
	{ FIELD_SUMMARY, "\xff\xfe", 0, NULL, "", 0, __LINE__ },
	{ FIELD_SUMMARY, "\xe2\x80\x8b", 0, NULL, "", 0, __LINE__ },
};

/* Is s valid UTF-8 (no overlongs, no surrogates)? */
static int
utf8_ok(const char *p)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 need, i;
	unsigned long		 cp;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			need = 1;
		else if (*s >= 0xe0 && *s <= 0xef)
			need = 2;
		else if (*s >= 0xf0 && *s <= 0xf4)
			need = 3;
		else
			return 0;
		cp = *s & (0x3f >> need);
		for (i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += need + 1;
	}
	return 1;
}

static void
test_rows(void)
{
	struct field_opts	 opts;
	const struct row	*r;
	char			 out[FIELD_VALUE_MAX];
	size_t			 i, len;
	int			 s;

	for (i = 0; i < NELEM(rows); i++) {
		r = &rows[i];
		field_opts_default(&opts);
		if (r->country != NULL)
			opts.default_country = r->country;
		len = r->len ? r->len : strlen(r->in);
		memset(out, 'X', sizeof(out));
		s = field_normalise(r->f, r->in, len, &opts, out, sizeof(out));
		CHECK_AT(r->line, s == r->strength && strcmp(out, r->want) == 0,
		    "%s \"%s\": got %d \"%s\", want %d \"%s\"",
		    field_name(r->f), r->in, s, out, r->strength, r->want);
	}
}

static void
test_names(void)
{
	static const struct {
		const char	*name;
		enum field	 f;
		int		 line;
	} t[] = {
		{ "full_name",	FIELD_FULL_NAME,	__LINE__ },
		{ "phone",	FIELD_PHONE,		__LINE__ },
		{ "email",	FIELD_EMAIL,		__LINE__ },
		{ "matter_type", FIELD_MATTER_TYPE,	__LINE__ },
		{ "urgency",	FIELD_URGENCY,		__LINE__ },
		{ "summary",	FIELD_SUMMARY,		__LINE__ },
		{ "Phone",	FIELD__MAX,		__LINE__ },
		{ "phon",	FIELD__MAX,		__LINE__ },
		{ "phones",	FIELD__MAX,		__LINE__ },
		{ "",		FIELD__MAX,		__LINE__ },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		CHECK_AT(t[i].line, field_lookup(t[i].name,
		    strlen(t[i].name)) == t[i].f, "lookup %s", t[i].name);
		if (t[i].f != FIELD__MAX)
			CHECK_AT(t[i].line, strcmp(field_name(t[i].f),
			    t[i].name) == 0, "name %s", t[i].name);
	}
	CHECK(field_lookup("phone\0x", 7) == FIELD__MAX, "NUL inside");
	CHECK(field_lookup("phonex", 5) == FIELD_PHONE, "length, not NUL");
	CHECK(field_lookup(NULL, 0) == FIELD__MAX, "NULL");
	CHECK(field_name(FIELD__MAX) == NULL, "name out of range");
	CHECK(field_name((enum field)-1) == NULL, "name negative");
}

static void
test_opts(void)
{
	struct field_opts	 opts;
	char			 out[64];
	int			 s;

	field_opts_default(&opts);
	CHECK(strcmp(opts.default_country, "US") == 0, "default country");
	CHECK(opts.n_matter_types == 9, "9 default types, got %zu",
	    opts.n_matter_types);
	CHECK(strcmp(opts.matter_types[0], "personal_injury") == 0 &&
	    strcmp(opts.matter_types[8], "other") == 0, "default types");

	/* A firm that takes family matters only. */
	opts.matter_types[0] = "family";
	opts.n_matter_types = 1;
	s = field_normalise(FIELD_MATTER_TYPE, "divorce", 7, &opts, out,
	    sizeof(out));
	CHECK(s == 2 && strcmp(out, "family") == 0, "synonym, configured");
	s = field_normalise(FIELD_MATTER_TYPE, "car accident", 12, &opts, out,
	    sizeof(out));
	CHECK(s == 0 && out[0] == '\0', "synonym, not configured: %d", s);
	s = field_normalise(FIELD_MATTER_TYPE, "personal_injury", 15, &opts,
	    out, sizeof(out));
	CHECK(s == 0, "type not configured: %d", s);
	s = field_normalise(FIELD_MATTER_TYPE, "other", 5, &opts, out,
	    sizeof(out));
	CHECK(s == 1 && strcmp(out, "other") == 0, "other is implied");

	/* A custom type, a NULL slot, a count past the maximum. */
	opts.matter_types[0] = NULL;
	opts.matter_types[1] = "tax";
	opts.n_matter_types = 1000;
	s = field_normalise(FIELD_MATTER_TYPE, "Tax", 3, &opts, out,
	    sizeof(out));
	CHECK(s == 2 && strcmp(out, "tax") == 0, "custom type");

	/* No country: no E.164 without "+". */
	field_opts_default(&opts);
	opts.default_country = NULL;
	s = field_normalise(FIELD_PHONE, "5551234567", 10, &opts, out,
	    sizeof(out));
	CHECK(s == 1 && strcmp(out, "5551234567") == 0, "no country: %d", s);
	opts.default_country = "";
	s = field_normalise(FIELD_PHONE, "5551234567", 10, &opts, out,
	    sizeof(out));
	CHECK(s == 1, "empty country: %d", s);

	/* NULL opts means the defaults. */
	s = field_normalise(FIELD_PHONE, "555 123 4567", 12, NULL, out,
	    sizeof(out));
	CHECK(s == 2 && strcmp(out, "+15551234567") == 0, "NULL opts");
}

static void
test_summary_cap(void)
{
	char	 in[2000], out[FIELD_VALUE_MAX];
	size_t	 i, n;
	int	 s;

	/* Words of 9 letters and a space: cut on a word, "…" at the end. */
	for (i = 0; i < sizeof(in) - 1; i++)
		in[i] = i % 10 == 9 ? ' ' : 'a' + (char)(i % 10);
	in[sizeof(in) - 1] = '\0';
	s = field_normalise(FIELD_SUMMARY, in, strlen(in), NULL, out,
	    sizeof(out));
	n = strlen(out);
	CHECK(s == 1 && n <= 600 && n > 550, "capped: %zu", n);
	CHECK(n >= 3 && strcmp(out + n - 3, "\xe2\x80\xa6") == 0, "ellipsis");
	CHECK(n >= 4 && out[n - 4] == 'i', "cut on a word: %c", out[n - 4]);

	/* Two-byte characters, no spaces: cut on a character. */
	for (i = 0; i + 2 < sizeof(in); i += 2) {
		in[i] = (char)0xc3;
		in[i + 1] = (char)0xa9;
	}
	in[i] = '\0';
	s = field_normalise(FIELD_SUMMARY, in, strlen(in), NULL, out,
	    sizeof(out));
	n = strlen(out);
	CHECK(s == 1 && n <= 600 && utf8_ok(out), "utf-8 cut: %zu", n);

	/* Exactly 600 bytes is kept whole. */
	memset(in, 'a', 600);
	in[600] = '\0';
	s = field_normalise(FIELD_SUMMARY, in, 600, NULL, out, sizeof(out));
	CHECK(s == 1 && strlen(out) == 600, "600 whole");
	in[600] = 'a';
	s = field_normalise(FIELD_SUMMARY, in, 601, NULL, out, sizeof(out));
	CHECK(s == 1 && strlen(out) == 600, "601 cut: %zu", strlen(out));
}

/* Every field with hostile input: huge, random, and tiny output buffers. */
static void
test_hostile(void)
{
	char		*big;
	char		 out[FIELD_VALUE_MAX];
	size_t		 i, n = 100 * 1024;
	unsigned	 x = 12345;
	int		 f, s;

	if ((big = malloc(n)) == NULL)
		abort();
	for (f = 0; f < FIELD__MAX; f++) {
		memset(big, 'a', n);
		s = field_normalise(f, big, n, NULL, out, sizeof(out));
		CHECK(s == (f == FIELD_SUMMARY) && utf8_ok(out),
		    "%s: 100 KB of a: %d", field_name(f), s);
		memset(big, '5', n);
		s = field_normalise(f, big, n, NULL, out, sizeof(out));
		CHECK((f == FIELD_SUMMARY ? s == 1 : s == 0) && utf8_ok(out),
		    "%s: 100 KB of 5: %d", field_name(f), s);
		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			big[i] = (char)(x >> 16);
		}
		s = field_normalise(f, big, n, NULL, out, sizeof(out));
		CHECK(s >= 0 && s <= 2 && utf8_ok(out) &&
		    strlen(out) < sizeof(out), "%s: random", field_name(f));
		s = field_normalise(f, NULL, 10, NULL, out, sizeof(out));
		CHECK(s == 0 && out[0] == '\0', "%s: NULL", field_name(f));
	}
	free(big);

	s = field_normalise(FIELD__MAX, "x", 1, NULL, out, sizeof(out));
	CHECK(s == 0 && out[0] == '\0', "field out of range");

	/* A value that does not fit is dropped, never cut. */
	out[0] = 'X';
	s = field_normalise(FIELD_PHONE, "555 123 4567", 12, NULL, out, 0);
	CHECK(s == 0 && out[0] == 'X', "outsz 0 writes nothing");
	s = field_normalise(FIELD_PHONE, "555 123 4567", 12, NULL, out, 1);
	CHECK(s == 0 && out[0] == '\0', "outsz 1");
	s = field_normalise(FIELD_PHONE, "555 123 4567", 12, NULL, out, 12);
	CHECK(s == 0 && out[0] == '\0', "outsz one short");
	s = field_normalise(FIELD_PHONE, "555 123 4567", 12, NULL, out, 13);
	CHECK(s == 2 && strcmp(out, "+15551234567") == 0, "outsz exact");
	s = field_normalise(FIELD_SUMMARY, "hello", 5, NULL, out, 3);
	CHECK(s == 0 && out[0] == '\0', "summary too long for out");
}

int
main(void)
{
	test_rows();
	test_names();
	test_opts();
	test_summary_cap();
	test_hostile();
	return check_done("fields");
}
