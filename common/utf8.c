/*
 * utf8.c: a strict UTF-8 decoder (RFC 3629), the validator built on it,
 * the two counts the contract needs, and what counts as blank (so a
 * message of no-break or zero-width spaces is as empty as one of
 * spaces).  Pure.
 */
#include "utf8.h"

long
utf8_decode(const char *str, size_t len, size_t *n)
{
	const unsigned char	*s = (const unsigned char *)str;
	long			 cp;
	size_t			 need, i;

	*n = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
	} else
		return -1;
	if (len <= need)
		return -1;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlongs, no surrogates, nothing above U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = need + 1;
	return cp;
}

int
utf8_valid(const char *s, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		if (s[i] == '\0' || utf8_decode(s + i, len - i, &n) == -1)
			return 0;
		i += n;
	}
	return 1;
}

size_t
utf8_count(const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Ranges of utf8_blank code points, in order (Unicode 15.1). */
static const struct {
	long	lo, hi;
} utf8_blanks[] = {
	{ 0x0000, 0x0020 },	/* C0 controls, TAB LF VT FF CR, SPACE */
	{ 0x007f, 0x00a0 },	/* DEL, C1 controls, NEL U+0085, NBSP */
	{ 0x00ad, 0x00ad },	/* SOFT HYPHEN */
	{ 0x034f, 0x034f },	/* COMBINING GRAPHEME JOINER */
	{ 0x061c, 0x061c },	/* ARABIC LETTER MARK */
	{ 0x115f, 0x1160 },	/* HANGUL CHOSEONG/JUNGSEONG FILLER */
	{ 0x1680, 0x1680 },	/* OGHAM SPACE MARK */
	{ 0x17b4, 0x17b5 },	/* KHMER VOWEL INHERENT AQ, AA */
	{ 0x180b, 0x180f },	/* MONGOLIAN FVS1-3, VOWEL SEPARATOR, FVS4 */
	{ 0x2000, 0x200f },	/* EN QUAD..HAIR SPACE, ZWSP, ZWNJ, ZWJ, LRM, RLM */
	{ 0x2028, 0x202f },	/* LINE/PARAGRAPH SEP, bidi embeddings, NNBSP */
	{ 0x205f, 0x206f },	/* MMSP, WORD JOINER, invisible operators, isolates */
	{ 0x2800, 0x2800 },	/* BRAILLE PATTERN BLANK */
	{ 0x3000, 0x3000 },	/* IDEOGRAPHIC SPACE */
	{ 0x3164, 0x3164 },	/* HANGUL FILLER */
	{ 0xfe00, 0xfe0f },	/* VARIATION SELECTORS */
	{ 0xfeff, 0xfeff },	/* ZERO WIDTH NO-BREAK SPACE (BOM) */
	{ 0xffa0, 0xffa0 },	/* HALFWIDTH HANGUL FILLER */
	{ 0xfff0, 0xfff8 },	/* reserved default ignorables */
	{ 0x1bca0, 0x1bca3 },	/* SHORTHAND FORMAT CONTROLS */
	{ 0x1d173, 0x1d17a },	/* MUSICAL SYMBOL BEGIN BEAM..END PHRASE */
	{ 0xe0000, 0xe0fff },	/* TAGS, VARIATION SELECTORS SUPPLEMENT */
};

int
utf8_blank(long cp)
{
	size_t	i;

	for (i = 0; i < sizeof(utf8_blanks) / sizeof(utf8_blanks[0]); i++) {
		if (cp < utf8_blanks[i].lo)
			return 0;
		if (cp <= utf8_blanks[i].hi)
			return 1;
	}
	return 0;
}

int
utf8_all_blank(const char *s, size_t len)
{
	size_t	i = 0, n;
	long	cp;

	while (i < len) {
		if ((cp = utf8_decode(s + i, len - i, &n)) == -1 ||
		    !utf8_blank(cp))
			return 0;
		i += n;
	}
	return 1;
}

size_t
utf8_floor(const char *s, size_t len, size_t off)
{
	if (off >= len)
		return len;
	while (off > 0 && ((unsigned char)s[off] & 0xc0) == 0x80)
		off--;
	return off;
}
