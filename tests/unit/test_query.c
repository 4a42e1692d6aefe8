/*
 * test_query.c: query_get, the reader for ?token= and ?offset= on the
 * events endpoint (EventSource cannot send headers).
 *
 * The value is percent-decoded with '+' as a space; a malformed escape is
 * kept as it is; a value that would decode to NUL, or not fit, is -1.
 */
#include <string.h>

#include "check.h"
#include "query.h"

static const struct row {
	const char	*qs;
	const char	*name;
	size_t		 outsz;
	int		 want;
	const char	*out;		/* when want is 1 */
	int		 line;
} rows[] = {
	/* Found, where it stands in the string. */
	{ "token=abc", "token", 64, 1, "abc", __LINE__ },
	{ "a=1&token=abc", "token", 64, 1, "abc", __LINE__ },
	{ "token=abc&a=1", "token", 64, 1, "abc", __LINE__ },
	{ "a=1&token=abc&b=2", "token", 64, 1, "abc", __LINE__ },
	{ "offset=17", "offset", 64, 1, "17", __LINE__ },
	{ "token=a&offset=17", "offset", 64, 1, "17", __LINE__ },
	/* The first of two. */
	{ "token=one&token=two", "token", 64, 1, "one", __LINE__ },
	/* Empty value; an empty parameter before it. */
	{ "token=", "token", 64, 1, "", __LINE__ },
	{ "token=&a=1", "token", 64, 1, "", __LINE__ },
	{ "&&token=x", "token", 64, 1, "x", __LINE__ },
	{ "a&token=x", "token", 64, 1, "x", __LINE__ },
	/* Missing. */
	{ "", "token", 64, 0, NULL, __LINE__ },
	{ NULL, "token", 64, 0, NULL, __LINE__ },
	{ "a=1&b=2", "token", 64, 0, NULL, __LINE__ },
	{ "token", "token", 64, 0, NULL, __LINE__ },
	{ "token&a=1", "token", 64, 0, NULL, __LINE__ },
	{ "Token=abc", "token", 64, 0, NULL, __LINE__ },
	/* Names that only start or end with the one asked for. */
	{ "tokenx=abc", "token", 64, 0, NULL, __LINE__ },
	{ "xtoken=abc", "token", 64, 0, NULL, __LINE__ },
	{ "tokenx=abc&token=def", "token", 64, 1, "def", __LINE__ },
	{ "xtoken=abc&token=def", "token", 64, 1, "def", __LINE__ },
	{ "tok=abc", "token", 64, 0, NULL, __LINE__ },
	/* A value that looks like a parameter does not count. */
	{ "a=token=abc", "token", 64, 0, NULL, __LINE__ },
	{ "a=x%26token=abc", "token", 64, 0, NULL, __LINE__ },
	/* Percent decoding, either case of hex, and '+'. */
	{ "token=a%20b", "token", 64, 1, "a b", __LINE__ },
	{ "token=a+b", "token", 64, 1, "a b", __LINE__ },
	{ "token=%2B", "token", 64, 1, "+", __LINE__ },
	{ "token=%2b%2F", "token", 64, 1, "+/", __LINE__ },
	{ "token=%26%3D", "token", 64, 1, "&=", __LINE__ },
	{ "token=%41%42c", "token", 64, 1, "ABc", __LINE__ },
	{ "token=%c3%a9", "token", 64, 1, "\xc3\xa9", __LINE__ },
	{ "token=%25", "token", 64, 1, "%", __LINE__ },
	{ "token=%2525", "token", 64, 1, "%25", __LINE__ },
	{ "token=%01", "token", 64, 1, "\x01", __LINE__ },
	{ "token=%ff", "token", 64, 1, "\xff", __LINE__ },
	/* %00 anywhere. */
	{ "token=%00", "token", 64, -1, NULL, __LINE__ },
	{ "token=ab%00cd", "token", 64, -1, NULL, __LINE__ },
	{ "a=%00&token=x", "token", 64, 1, "x", __LINE__ },
	/* Malformed escapes are kept literally. */
	{ "token=%", "token", 64, 1, "%", __LINE__ },
	{ "token=%4", "token", 64, 1, "%4", __LINE__ },
	{ "token=%4&a=1", "token", 64, 1, "%4", __LINE__ },
	{ "token=%zz", "token", 64, 1, "%zz", __LINE__ },
	{ "token=%4g", "token", 64, 1, "%4g", __LINE__ },
	{ "token=%g4", "token", 64, 1, "%g4", __LINE__ },
	{ "token=a%", "token", 64, 1, "a%", __LINE__ },
	{ "token=%%41", "token", 64, 1, "%A", __LINE__ },
	{ "token=%0", "token", 64, 1, "%0", __LINE__ },
	/* Sizes: the value and its NUL must fit. */
	{ "token=abc", "token", 4, 1, "abc", __LINE__ },
	{ "token=abcd", "token", 4, -1, NULL, __LINE__ },
	{ "token=", "token", 1, 1, "", __LINE__ },
	{ "token=a", "token", 1, -1, NULL, __LINE__ },
	{ "token=%41%42%43", "token", 4, 1, "ABC", __LINE__ },
	{ "token=%41%42%43%44", "token", 4, -1, NULL, __LINE__ },
	{ "token=a+b+", "token", 4, -1, NULL, __LINE__ },
	{ "token=abc", "token", 0, 0, NULL, __LINE__ },
};

static void
test_rows(void)
{
	const struct row	*t;
	char			 out[128];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t = &rows[i];
		memset(out, 'Z', sizeof(out));
		rc = query_get(t->qs, t->name, out, t->outsz);
		CHECK_AT(t->line, rc == t->want, "query_get(\"%s\", \"%s\"): "
		    "rc %d, want %d", t->qs ? t->qs : "(null)", t->name, rc,
		    t->want);
		if (t->want == 1 && rc == 1)
			CHECK_AT(t->line, strcmp(out, t->out) == 0,
			    "got \"%s\", want \"%s\"", out, t->out);
		CHECK_AT(t->line, out[t->outsz] == 'Z',
		    "wrote past outsz %zu", t->outsz);
	}
}

/* A token far longer than the buffer is refused, never truncated. */
static void
test_long(void)
{
	char	qs[4096 + 7], out[65];

	memcpy(qs, "token=", 6);
	memset(qs + 6, 'a', 4096);
	qs[6 + 4096] = '\0';
	CHECK(query_get(qs, "token", out, sizeof(out)) == -1,
	    "4096-byte value in a 65-byte buffer: want -1");
	qs[6 + 64] = '\0';
	CHECK(query_get(qs, "token", out, sizeof(out)) == 1 &&
	    strlen(out) == 64, "64-byte value in a 65-byte buffer");
}

int
main(void)
{
	test_rows();
	test_long();
	return check_done("query");
}
