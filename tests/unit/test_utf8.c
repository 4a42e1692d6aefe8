/*
 * test_utf8.c: the strict validator against the edges of RFC 3629's
 * table (overlongs, surrogates, beyond U+10FFFF, truncation, NUL), and
 * the two counts the contract needs: characters and byte boundaries;
 * and which code points are blank (each range's ends and neighbours).
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

static const struct blank_row {
	long	 cp;
	int	 want;
	int	 line;
} blank_rows[] = {
	/* ASCII's white space, and the other controls. */
	{ 0x20, 1, __LINE__ }, { 0x09, 1, __LINE__ }, { 0x0a, 1, __LINE__ },
	{ 0x0b, 1, __LINE__ }, { 0x0c, 1, __LINE__ }, { 0x0d, 1, __LINE__ },
	{ 0x00, 1, __LINE__ }, { 0x01, 1, __LINE__ }, { 0x1f, 1, __LINE__ },
	{ 0x7f, 1, __LINE__ }, { 0x80, 1, __LINE__ }, { 0x9f, 1, __LINE__ },
	/* Unicode's White_Space beyond ASCII. */
	{ 0x0085, 1, __LINE__ }, { 0x00a0, 1, __LINE__ },
	{ 0x1680, 1, __LINE__ }, { 0x2000, 1, __LINE__ },
	{ 0x2005, 1, __LINE__ }, { 0x200a, 1, __LINE__ },
	{ 0x2028, 1, __LINE__ }, { 0x2029, 1, __LINE__ },
	{ 0x202f, 1, __LINE__ }, { 0x205f, 1, __LINE__ },
	{ 0x3000, 1, __LINE__ },
	/* Invisible: zero-width, joiners, marks, BOM, fillers, selectors. */
	{ 0x180e, 1, __LINE__ }, { 0x200b, 1, __LINE__ },
	{ 0x200c, 1, __LINE__ }, { 0x200d, 1, __LINE__ },
	{ 0x200e, 1, __LINE__ }, { 0x200f, 1, __LINE__ },
	{ 0x202a, 1, __LINE__ }, { 0x202e, 1, __LINE__ },
	{ 0x2060, 1, __LINE__ }, { 0x2064, 1, __LINE__ },
	{ 0x206f, 1, __LINE__ }, { 0xfeff, 1, __LINE__ },
	{ 0x00ad, 1, __LINE__ }, { 0x034f, 1, __LINE__ },
	{ 0x061c, 1, __LINE__ }, { 0x115f, 1, __LINE__ },
	{ 0x1160, 1, __LINE__ }, { 0x17b4, 1, __LINE__ },
	{ 0x17b5, 1, __LINE__ }, { 0x180b, 1, __LINE__ },
	{ 0x180f, 1, __LINE__ }, { 0x2800, 1, __LINE__ },
	{ 0x3164, 1, __LINE__ }, { 0xfe00, 1, __LINE__ },
	{ 0xfe0f, 1, __LINE__ }, { 0xffa0, 1, __LINE__ },
	{ 0xfff0, 1, __LINE__ }, { 0xfff8, 1, __LINE__ },
	{ 0x1bca0, 1, __LINE__ }, { 0x1bca3, 1, __LINE__ },
	{ 0x1d173, 1, __LINE__ }, { 0x1d17a, 1, __LINE__ },
	{ 0xe0001, 1, __LINE__ }, { 0xe0100, 1, __LINE__ },
	{ 0xe0fff, 1, __LINE__ },
	/* What shows, the ranges' neighbours included. */
	{ 0x21, 0, __LINE__ }, { 'a', 0, __LINE__ }, { 0x7e, 0, __LINE__ },
	{ 0xa1, 0, __LINE__ }, { 0xac, 0, __LINE__ }, { 0xae, 0, __LINE__ },
	{ 0xe9, 0, __LINE__ }, { 0x034e, 0, __LINE__ },
	{ 0x0350, 0, __LINE__ }, { 0x115e, 0, __LINE__ },
	{ 0x1161, 0, __LINE__ }, { 0x167f, 0, __LINE__ },
	{ 0x1681, 0, __LINE__ }, { 0x180a, 0, __LINE__ },
	{ 0x1810, 0, __LINE__ }, { 0x1fff, 0, __LINE__ },
	{ 0x2010, 0, __LINE__ }, { 0x2027, 0, __LINE__ },
	{ 0x2030, 0, __LINE__ }, { 0x205e, 0, __LINE__ },
	{ 0x2070, 0, __LINE__ }, { 0x27ff, 0, __LINE__ },
	{ 0x2801, 0, __LINE__ }, { 0x2fff, 0, __LINE__ },
	{ 0x3001, 0, __LINE__ }, { 0x3042, 0, __LINE__ },
	{ 0x3163, 0, __LINE__ }, { 0x3165, 0, __LINE__ },
	{ 0xfdff, 0, __LINE__ }, { 0xfe10, 0, __LINE__ },
	{ 0xfefe, 0, __LINE__ }, { 0xff00, 0, __LINE__ },
	{ 0xff9f, 0, __LINE__ }, { 0xffa1, 0, __LINE__ },
	{ 0xfff9, 0, __LINE__ }, { 0xfffd, 0, __LINE__ },
	{ 0x1bc9f, 0, __LINE__ }, { 0x1bca4, 0, __LINE__ },
	{ 0x1d172, 0, __LINE__ }, { 0x1d17b, 0, __LINE__ },
	{ 0x1f600, 0, __LINE__ }, { 0xdffff, 0, __LINE__ },
	{ 0xe1000, 0, __LINE__ }, { 0x10ffff, 0, __LINE__ },
	{ -1, 0, __LINE__ }, { 0x110000, 0, __LINE__ },
};

static void
test_blank(void)
{
	const struct blank_row	*t;
	size_t			 i;

	for (i = 0; i < sizeof(blank_rows) / sizeof(blank_rows[0]); i++) {
		t = &blank_rows[i];
		CHECK_AT(t->line, utf8_blank(t->cp) == t->want, "utf8_blank("
		    "U+%04lX): want %d", (unsigned long)t->cp, t->want);
	}
}

static const struct all_blank_row {
	const char	*in;
	size_t		 len;
	int		 want;
	int		 line;
} all_blank_rows[] = {
	{ B(""), 1, __LINE__ },
	{ B(" \t\r\n"), 1, __LINE__ },
	{ B("\xc2\xa0"), 1, __LINE__ },			/* NBSP */
	{ B("\xe2\x80\x8b\xe2\x80\x8b"), 1, __LINE__ },	/* ZWSP x 2 */
	{ B("\xef\xbb\xbf"), 1, __LINE__ },		/* BOM */
	{ B("\xe3\x80\x80 \xc2\x85"), 1, __LINE__ },	/* U+3000, NEL */
	{ B("\xf3\xa0\x80\x81\xf3\xa0\x81\xbf"), 1, __LINE__ }, /* tags */
	{ B("\xc2\xa0" "a"), 0, __LINE__ },
	{ B("a"), 0, __LINE__ },
	{ B("\xe2\x80\x8b" "."), 0, __LINE__ },
	{ B("\xf0\x9f\x98\x80"), 0, __LINE__ },
	/* Not well-formed: not blank. */
	{ B(" \xc2"), 0, __LINE__ },
	{ B("\xe2\x80"), 0, __LINE__ },
	{ B("\xc0\xa0"), 0, __LINE__ },
	/* The length, not a NUL, ends the input. */
	{ " x", 1, 1, __LINE__ },
};

static void
test_all_blank(void)
{
	const struct all_blank_row	*t;
	size_t				 i;

	for (i = 0; i < sizeof(all_blank_rows) / sizeof(all_blank_rows[0]);
	    i++) {
		t = &all_blank_rows[i];
		CHECK_AT(t->line, utf8_all_blank(t->in, t->len) == t->want,
		    "utf8_all_blank (%zu bytes): want %d", t->len, t->want);
	}
}

/* Case folding: every capital of the ranges, and what stays. */
static void
test_fold(void)
{
	static const struct {
		const char	*in, *want;
		int		 line;
	} rows[] = {
		{ "JANE Doe", "jane doe", __LINE__ },
		{ "\xc3\x89MILIE \xc3\x85NGSTR\xc3\x96M", /* ÉMILIE ÅNGSTRÖM */
		    "\xc3\xa9milie \xc3\xa5ngstr\xc3\xb6m", __LINE__ },
		{ "\xc3\x97", "\xc3\x97", __LINE__ },	/* × stays */
		{ "\xc3\x9f", "\xc3\x9f", __LINE__ },	/* ß stays */
		{ "\xc5\x81UKASZ", "\xc5\x82ukasz", __LINE__ }, /* Ł */
		{ "\xc4\x8c\xc3\x81P", "\xc4\x8d\xc3\xa1p", __LINE__ }, /* ČÁP */
		{ "\xc5\xb8", "\xc3\xbf", __LINE__ },	/* Ÿ -> ÿ */
		{ "\xc5\xbd", "\xc5\xbe", __LINE__ },	/* Ž */
		{ "\xc4\xb0", "\xc4\xb0", __LINE__ },	/* İ stays */
		{ "\xce\xa3\xce\x9f\xce\xa6", "\xcf\x83\xce\xbf\xcf\x86",
		    __LINE__ },				/* ΣΟΦ */
		{ "\xd0\x90\xd0\xaf\xd0\x81", "\xd0\xb0\xd1\x8f\xd1\x91",
		    __LINE__ },				/* АЯЁ */
		{ "\xe5\xb1\xb1\xe7\x94\xb0 +1 555", "\xe5\xb1\xb1\xe7\x94\xb0 +1 555",
		    __LINE__ },				/* 山田 stays */
		{ "A\xff" "B\xc3", "a\xff" "b\xc3", __LINE__ },	/* invalid kept */
	};
	char	buf[64];
	size_t	i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = strlen(rows[i].in);
		memcpy(buf, rows[i].in, n + 1);
		utf8_fold(buf, n);
		CHECK_AT(rows[i].line, strcmp(buf, rows[i].want) == 0,
		    "fold: got \"%s\"", buf);
	}
	/* Every code point keeps its length; folding twice changes nothing. */
	for (i = 0; i < 0x800; i++)
		CHECK(utf8_lower((long)i) < 0x800 && (i < 0x80) ==
		    (utf8_lower((long)i) < 0x80) &&
		    utf8_lower(utf8_lower((long)i)) == utf8_lower((long)i),
		    "U+%04zx folds to U+%04lx", i, utf8_lower((long)i));
}

int
main(void)
{
	test_valid();
	test_valid_prefix();
	test_count();
	test_count_long();
	test_floor();
	test_blank();
	test_all_blank();
	test_fold();
	return check_done("utf8");
}
