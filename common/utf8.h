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

#endif
