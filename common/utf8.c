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

long
utf8_lower(long cp)
{
	if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xc0 && cp <= 0xde &&
	    cp != 0xd7))
		return cp + 0x20;
	/* Latin Extended-A: capital, small in pairs, shifted by one at
	   U+0139..U+0148 and U+0179..U+017E; U+0130 and U+0138 alone. */
	if ((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) ||
	    (cp >= 0x14a && cp <= 0x177))
		return (cp & 1) == 0 ? cp + 1 : cp;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
		return (cp & 1) == 1 ? cp + 1 : cp;
	if (cp == 0x178)
		return 0xff;
	/* Greek capitals (U+03A2 is unassigned), Cyrillic. */
	if ((cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) ||
	    (cp >= 0x410 && cp <= 0x42f))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 0x50;
	return cp;
}

void
utf8_fold(char *s, size_t len)
{
	size_t	i = 0, n;
	long	cp, lo;

	while (i < len) {
		cp = utf8_decode(s + i, len - i, &n);
		if (cp >= 0 && (lo = utf8_lower(cp)) != cp) {
			if (n == 1)
				s[i] = (char)lo;
			else {		/* two bytes both ways */
				s[i] = (char)(0xc0 | (lo >> 6));
				s[i + 1] = (char)(0x80 | (lo & 0x3f));
			}
		}
		i += n;
	}
}
