/*
 * test_utf8.c: the strict validator against the edges of RFC 3629's
 * table (overlongs, surrogates, beyond U+10FFFF, truncation, NUL), and
 * the two counts the contract needs: characters and byte boundaries.
 *
 * Rows carry an explicit length so a NUL byte can be part of the input.
 */
#include <string.h>

#include "check.h"
#include "utf8.h"

#define B(s)	s, sizeof(s) - 1

static const struct valid_row {
	const char	*in;
	size_t		 len;
	int		 want;
	int		 line;
} valid_rows[] = {
	{ B(""), 1, __LINE__ },
	{ B("a"), 1, __LINE__ },
	{ B("hello, world"), 1, __LINE__ },
	{ B("\x7f"), 1, __LINE__ },
	{ B("\x01"), 1, __LINE__ },
	/* Two bytes: U+0080, U+00E9, U+07FF. */
	{ B("\xc2\x80"), 1, __LINE__ },
	{ B("\xc3\xa9"), 1, __LINE__ },
	{ B("\xdf\xbf"), 1, __LINE__ },
	/* Three bytes: U+0800, U+20AC, U+D7FF, U+E000, U+FFFD, U+FFFF. */
	{ B("\xe0\xa0\x80"), 1, __LINE__ },
	{ B("\xe2\x82\xac"), 1, __LINE__ },
	{ B("\xed\x9f\xbf"), 1, __LINE__ },
	{ B("\xee\x80\x80"), 1, __LINE__ },
	{ B("\xef\xbf\xbd"), 1, __LINE__ },
	{ B("\xef\xbf\xbf"), 1, __LINE__ },
	/* Four bytes: U+10000, U+1F600, U+10FFFF. */
	{ B("\xf0\x90\x80\x80"), 1, __LINE__ },
	{ B("\xf0\x9f\x98\x80"), 1, __LINE__ },
	{ B("\xf4\x8f\xbf\xbf"), 1, __LINE__ },
	{ B("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d"), 1, __LINE__ },

	/* NUL anywhere. */
	{ B("\0"), 0, __LINE__ },
	{ B("a\0"), 0, __LINE__ },
	{ B("\0a"), 0, __LINE__ },
	{ B("ab\0cd"), 0, __LINE__ },
	/* Overlongs. */
	{ B("\xc0\x80"), 0, __LINE__ },
	{ B("\xc0\xaf"), 0, __LINE__ },
	{ B("\xc1\xbf"), 0, __LINE__ },
	{ B("\xe0\x80\x80"), 0, __LINE__ },
	{ B("\xe0\x80\xaf"), 0, __LINE__ },
	{ B("\xe0\x9f\xbf"), 0, __LINE__ },
	{ B("\xf0\x80\x80\x80"), 0, __LINE__ },
	{ B("\xf0\x8f\xbf\xbf"), 0, __LINE__ },
	/* Surrogates U+D800..U+DFFF. */
	{ B("\xed\xa0\x80"), 0, __LINE__ },
	{ B("\xed\xaf\xbf"), 0, __LINE__ },
	{ B("\xed\xb0\x80"), 0, __LINE__ },
	{ B("\xed\xbf\xbf"), 0, __LINE__ },
	{ B("\xed\xa0\xbd\xed\xb8\x80"), 0, __LINE__ },
	/* Above U+10FFFF. */
	{ B("\xf4\x90\x80\x80"), 0, __LINE__ },
	{ B("\xf4\xbf\xbf\xbf"), 0, __LINE__ },
	{ B("\xf5\x80\x80\x80"), 0, __LINE__ },
	{ B("\xf7\xbf\xbf\xbf"), 0, __LINE__ },
	/* Five and six byte forms, and bytes never used. */
	{ B("\xf8\x88\x80\x80\x80"), 0, __LINE__ },
	{ B("\xfb\xbf\xbf\xbf\xbf"), 0, __LINE__ },
	{ B("\xfc\x84\x80\x80\x80\x80"), 0, __LINE__ },
	{ B("\xfd\xbf\xbf\xbf\xbf\xbf"), 0, __LINE__ },
	{ B("\xfe"), 0, __LINE__ },
	{ B("\xff"), 0, __LINE__ },
	{ B("\xfe\xff"), 0, __LINE__ },
	/* A continuation byte on its own, or one too many. */
	{ B("\x80"), 0, __LINE__ },
	{ B("\xbf"), 0, __LINE__ },
	{ B("a\x80" "b"), 0, __LINE__ },
	{ B("\xc3\xa9\xa9"), 0, __LINE__ },
	{ B("\xe2\x82\xac\x80"), 0, __LINE__ },
	/* Truncated: at the end, and followed by something else. */
	{ B("\xc3"), 0, __LINE__ },
	{ B("a\xc3"), 0, __LINE__ },
	{ B("\xe2\x82"), 0, __LINE__ },
	{ B("\xe2"), 0, __LINE__ },
	{ B("\xf0\x9f\x98"), 0, __LINE__ },
	{ B("\xf0\x9f"), 0, __LINE__ },
	{ B("\xf0"), 0, __LINE__ },
	{ B("\xc3" "a"), 0, __LINE__ },
	{ B("\xe2\x82" "a"), 0, __LINE__ },
	{ B("\xf0\x9f\x98" "a"), 0, __LINE__ },
	{ B("\xe2" "ab"), 0, __LINE__ },
	{ B("\xc3\xc3\xa9"), 0, __LINE__ },
	{ B("\xf0\x9f\x98\xc3\xa9"), 0, __LINE__ },
	/* Continuation bytes must be 80..BF, the third and fourth too. */
	{ B("\xe2\x82\xc0"), 0, __LINE__ },
	{ B("\xf0\x9f\x98\xc0"), 0, __LINE__ },
	{ B("\xf0\x9f\x7f\x80"), 0, __LINE__ },
	{ B("\xc3\x7f"), 0, __LINE__ },
};

static void
test_valid(void)
{
	const struct valid_row	*t;
	size_t			 i;
	int			 got;

	for (i = 0; i < sizeof(valid_rows) / sizeof(valid_rows[0]); i++) {
		t = &valid_rows[i];
		got = utf8_valid(t->in, t->len);
		CHECK_AT(t->line, got == t->want, "utf8_valid: got %d, want %d",
		    got, t->want);
	}
}

/* A valid sequence cut short anywhere is invalid; len bounds the read. */
static void
test_valid_prefix(void)
{
	static const char	 s[] = "\xf0\x9f\x98\x80";
	char			 buf[8];
	size_t			 k;

	for (k = 1; k < 4; k++) {
		CHECK(utf8_valid(s, k) == 0, "prefix of %zu bytes: want 0", k);
		/* A truncated sequence at the end of a heap-like buffer. */
		memcpy(buf, s, k);
		CHECK(utf8_valid(buf, k) == 0, "copy of %zu bytes: want 0", k);
	}
	CHECK(utf8_valid(s, 4) == 1, "whole: want 1");
	/* The length, not a NUL, ends the input. */
	CHECK(utf8_valid("ab\xff", 2) == 1, "len 2 stops before 0xff");
}

static const struct count_row {
	const char	*in;
	size_t		 len;
	size_t		 want;
	int		 line;
} count_rows[] = {
	{ B(""), 0, __LINE__ },
	{ B("a"), 1, __LINE__ },
	{ B("abc"), 3, __LINE__ },
	{ B("\xc3\xa9"), 1, __LINE__ },
	{ B("\xc3\xa9\xc3\xa9\xc3\xa9"), 3, __LINE__ },
	{ B("\xe2\x82\xac"), 1, __LINE__ },
	{ B("\xf0\x9f\x98\x80"), 1, __LINE__ },
	{ B("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d"), 7, __LINE__ },
	{ B("\xf4\x8f\xbf\xbf\xf0\x90\x80\x80"), 2, __LINE__ },
};

static void
test_count(void)
{
	const struct count_row	*t;
	size_t			 i, got;

	for (i = 0; i < sizeof(count_rows) / sizeof(count_rows[0]); i++) {
		t = &count_rows[i];
		got = utf8_count(t->in, t->len);
		CHECK_AT(t->line, got == t->want, "utf8_count: got %zu, want "
		    "%zu", got, t->want);
	}
}

/* 8000 two-byte characters are 8000 characters, not 16000. */
static void
test_count_long(void)
{
	static char	 buf[3 * 8001];
	size_t		 i;

	for (i = 0; i < 8000; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	CHECK(utf8_count(buf, 16000) == 8000, "8000 x U+00E9: got %zu",
	    utf8_count(buf, 16000));
	CHECK(utf8_valid(buf, 16000) == 1, "8000 x U+00E9: not valid");
	for (i = 0; i < 8001; i++)
		memcpy(buf + 3 * i, "\xe2\x82\xac", 3);
	CHECK(utf8_count(buf, 3 * 8001) == 8001, "8001 x U+20AC: got %zu",
	    utf8_count(buf, 3 * 8001));
}

/* "a" U+00E9 U+20AC U+1F600 "z": boundaries 0 1 3 6 10 11. */
#define FLOOR_S		"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"

static const struct floor_row {
	const char	*in;
	size_t		 len;
	size_t		 off;
	size_t		 want;
	int		 line;
} floor_rows[] = {
	{ B(FLOOR_S), 0, 0, __LINE__ },
	{ B(FLOOR_S), 1, 1, __LINE__ },
	{ B(FLOOR_S), 2, 1, __LINE__ },
	{ B(FLOOR_S), 3, 3, __LINE__ },
	{ B(FLOOR_S), 4, 3, __LINE__ },
	{ B(FLOOR_S), 5, 3, __LINE__ },
	{ B(FLOOR_S), 6, 6, __LINE__ },
	{ B(FLOOR_S), 7, 6, __LINE__ },
	{ B(FLOOR_S), 8, 6, __LINE__ },
	{ B(FLOOR_S), 9, 6, __LINE__ },
	{ B(FLOOR_S), 10, 10, __LINE__ },
	{ B(FLOOR_S), 11, 11, __LINE__ },
	{ B(FLOOR_S), 12, 11, __LINE__ },
	{ B(FLOOR_S), 1000, 11, __LINE__ },
	{ B(FLOOR_S), (size_t)-1, 11, __LINE__ },
	{ B(""), 0, 0, __LINE__ },
	{ B(""), 5, 0, __LINE__ },
	{ B("\xc3\xa9"), 1, 0, __LINE__ },
	{ B("\xc3\xa9"), 2, 2, __LINE__ },
	{ B("\xf0\x9f\x98\x80"), 3, 0, __LINE__ },
	{ B("abc"), 2, 2, __LINE__ },
};

static void
test_floor(void)
{
	const struct floor_row	*t;
	size_t			 i, got;

	for (i = 0; i < sizeof(floor_rows) / sizeof(floor_rows[0]); i++) {
		t = &floor_rows[i];
		got = utf8_floor(t->in, t->len, t->off);
		CHECK_AT(t->line, got == t->want, "utf8_floor(%zu): got %zu, "
		    "want %zu", t->off, got, t->want);
	}
}

int
main(void)
{
	test_valid();
	test_valid_prefix();
	test_count();
	test_count_long();
	test_floor();
	return check_done("utf8");
}
