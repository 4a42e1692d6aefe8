/*
 * utf8.h: UTF-8 checks and counts.  Pure.
 *
 * The contract counts a message's length in characters (code points) and
 * a reply's offsets in bytes; both need a strict validator (no overlongs,
 * no surrogates, nothing above U+10FFFF) and a way to round a byte offset
 * down to a character boundary.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/*
 * Decode the character at s (len > 0 bytes).  Returns its code point and
 * sets *n to its length, or returns -1 with *n = 1 for an invalid,
 * overlong, surrogate or truncated sequence.
 */
long	utf8_decode(const char *s, size_t len, size_t *n);

/* 1 when s[0..len) is well-formed UTF-8 with no NUL byte, 0 otherwise. */
int	utf8_valid(const char *s, size_t len);

/* Code points in well-formed s[0..len). */
size_t	utf8_count(const char *s, size_t len);

/* The largest boundary <= off in well-formed s[0..len) (off > len: len). */
size_t	utf8_floor(const char *s, size_t len, size_t off);

/*
 * 1 when code point cp shows nothing by itself, 0 otherwise: Unicode's
 * White_Space (ASCII's, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000), its Default_Ignorable_Code_Point
 * (U+200B-U+200F, U+2060-U+206F, U+FEFF, U+180B-U+180F, the Hangul
 * fillers, variation selectors, tags, ...), the other controls (C0, DEL,
 * C1), and U+2800 BRAILLE PATTERN BLANK, which is drawn empty.
 */
int	utf8_blank(long cp);

/*
 * 1 when well-formed s[0..len) is empty or only utf8_blank characters: a
 * message that says nothing.  0 for anything else (invalid UTF-8 too).
 */
int	utf8_all_blank(const char *s, size_t len);

/*
 * The lower-case of code point cp for the letters a firm's visitors
 * write names in: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
 * capitals; any other cp is returned as it is.  The result always has
 * the same UTF-8 length as cp, so a string folds in place.
 */
long	utf8_lower(long cp);

/*
 * Fold s (len bytes) to lower case in place with utf8_lower; invalid
 * bytes are left as they are.  For case-insensitive search: the text
 * searched and the search are folded the same way.
 */
void	utf8_fold(char *s, size_t len);

#endif
