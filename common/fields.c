/*
 * fields.c: the lead's fields and how each raw value is normalised.
 *
 * Every value that reaches the lead record, whether the model or the
 * rules found it, goes through field_normalise, so two sources that saw
 * the same phone number store the same bytes with the same strength and
 * the no-downgrade merge compares like with like.  One table,
 * rules[FIELD__MAX], holds each field's name and normaliser.
 *
 * Input is hostile: any bytes, any length.  Each normaliser works in a
 * bounded scratch buffer, never reads past len, and produces valid UTF-8
 * only (invalid sequences are dropped).  A value that does not fit the
 * caller's buffer is dropped (strength 0), never truncated: a cut-off
 * phone number must not be stored as if it were whole.
 */

#include <string.h>

#include "fields.h"
#include "utf8.h"

#define NAME_MAX_BYTES		100
#define NAME_MAX_WORDS		8
#define EMAIL_MAX_BYTES		254
#define EMAIL_LOCAL_MAX		64
#define MATTER_MAX_BYTES	64
#define SUMMARY_MAX_BYTES	600
#define PHONE_MAX_DIGITS	15

typedef int (*field_norm_fn)(const char *, size_t, const struct field_opts *,
    char *);

static int	norm_name(const char *, size_t, const struct field_opts *,
		    char *);
static int	norm_phone(const char *, size_t, const struct field_opts *,
		    char *);
static int	norm_email(const char *, size_t, const struct field_opts *,
		    char *);
static int	norm_matter(const char *, size_t, const struct field_opts *,
		    char *);
static int	norm_urgency(const char *, size_t, const struct field_opts *,
		    char *);
static int	norm_summary(const char *, size_t, const struct field_opts *,
		    char *);

/*
 * Each normaliser reads len bytes of raw and writes the value into v
 * (FIELD_VALUE_MAX bytes); it returns the strength, and v is ignored on 0.
 */
struct field_rule {
	const char	*name;
	field_norm_fn	 normalise;
};

static const struct field_rule rules[FIELD__MAX] = {
	[FIELD_FULL_NAME] =	{ "full_name",		norm_name },
	[FIELD_PHONE] =		{ "phone",		norm_phone },
	[FIELD_EMAIL] =		{ "email",		norm_email },
	[FIELD_MATTER_TYPE] =	{ "matter_type",	norm_matter },
	[FIELD_URGENCY] =	{ "urgency",		norm_urgency },
	[FIELD_SUMMARY] =	{ "summary",		norm_summary },
};

static const char *const default_matter_types[] = {
	"personal_injury", "family", "criminal", "employment", "immigration",
	"estate_planning", "real_estate", "business", "other",
};

/* Words that are never part of a name ("yes", "hello", "thanks"). */
static const char *const name_stopwords[] = {
	"yes", "yeah", "yep", "yup", "no", "nope", "nah", "ok", "okay", "hi",
	"hello", "hey", "hiya", "thanks", "thank", "thx", "you", "please",
	"sure", "sorry", "help", "the", "my", "name", "is", "am", "i", "i'm",
	"im", "me", "an", "and", "or", "not", "what", "why", "how", "who",
	"where", "when", "it", "this", "that", "here", "there", "good",
	"morning", "afternoon", "evening", "bye", "goodbye", "anonymous",
	"unknown", "none", "nobody", "test", "lawyer", "attorney", "need",
	"want", "urgent", "emergency", "asap", "dear", "sir", "madam", "maam",
	"don't", "dont", "know", "can't", "cant", "call", "phone", "email",
	"null", "n/a", "na",
};

/* Honorifics dropped from the front of a name. */
static const char *const name_titles[] = {
	"mr", "mrs", "ms", "miss", "mx", "dr", "prof",
};

/* Synonyms for the default matter types, in the normalised key form. */
static const struct {
	const char	*word;
	const char	*type;
} matter_synonyms[] = {
	{ "car_accident",	"personal_injury" },
	{ "auto_accident",	"personal_injury" },
	{ "accident",		"personal_injury" },
	{ "injury",		"personal_injury" },
	{ "slip_and_fall",	"personal_injury" },
	{ "medical_malpractice", "personal_injury" },
	{ "divorce",		"family" },
	{ "custody",		"family" },
	{ "child_custody",	"family" },
	{ "child_support",	"family" },
	{ "family_law",		"family" },
	{ "dui",		"criminal" },
	{ "dwi",		"criminal" },
	{ "criminal_defense",	"criminal" },
	{ "criminal_law",	"criminal" },
	{ "wrongful_termination", "employment" },
	{ "employment_law",	"employment" },
	{ "discrimination",	"employment" },
	{ "harassment",		"employment" },
	{ "labor",		"employment" },
	{ "labour",		"employment" },
	{ "visa",		"immigration" },
	{ "green_card",		"immigration" },
	{ "deportation",	"immigration" },
	{ "asylum",		"immigration" },
	{ "citizenship",	"immigration" },
	{ "immigration_law",	"immigration" },
	{ "will",		"estate_planning" },
	{ "wills",		"estate_planning" },
	{ "probate",		"estate_planning" },
	{ "estate",		"estate_planning" },
	{ "trust",		"estate_planning" },
	{ "trusts",		"estate_planning" },
	{ "landlord_tenant",	"real_estate" },
	{ "eviction",		"real_estate" },
	{ "property",		"real_estate" },
	{ "realestate",		"real_estate" },
	{ "contract",		"business" },
	{ "business_law",	"business" },
	{ "corporate",		"business" },
	{ "llc",		"business" },
};

static const struct {
	const char	*word;
	const char	*level;
} urgency_words[] = {
	{ "low",		"low" },
	{ "normal",		"normal" },
	{ "high",		"high" },
	{ "emergency",		"emergency" },
	{ "urgent",		"high" },
	{ "very urgent",	"high" },
	{ "asap",		"high" },
	{ "medium",		"normal" },
	{ "moderate",		"normal" },
	{ "routine",		"normal" },
	{ "critical",		"emergency" },
	{ "not urgent",		"low" },
};

/*
 * Calling codes for numbers written without "+".  trunk: national
 * numbers are written with a leading 0 that E.164 drops.  nsn_*: the
 * plausible length of the national significant number.
 */
static const struct country {
	char	 iso[3];
	char	 code[4];
	int	 trunk;
	int	 nsn_min, nsn_max;
} countries[] = {
	{ "US", "1",	0, 10, 10 },
	{ "CA", "1",	0, 10, 10 },
	{ "GB", "44",	1, 9, 10 },
	{ "IE", "353",	1, 7, 9 },
	{ "AU", "61",	1, 9, 9 },
	{ "NZ", "64",	1, 8, 10 },
	{ "DE", "49",	1, 7, 11 },
	{ "FR", "33",	1, 9, 9 },
	{ "ES", "34",	0, 9, 9 },
	{ "IT", "39",	0, 9, 11 },
	{ "NL", "31",	1, 9, 9 },
	{ "IN", "91",	1, 10, 10 },
	{ "MX", "52",	0, 10, 10 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
ascii_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Case-insensitive ASCII comparison of s (len bytes) with NUL-terminated w. */
static int
word_eq(const char *s, size_t len, const char *w)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (w[i] == '\0' || ascii_lower((unsigned char)s[i]) != w[i])
			return 0;
	return w[len] == '\0';
}

static int
in_list(const char *s, size_t len, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (word_eq(s, len, list[i]))
			return 1;
	return 0;
}

static int
is_space(long cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* C0 and C1 controls and DEL: read as white space, so no words merge. */
static int
is_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Invisible format characters (zero-width, bidi overrides): dropped. */
static int
is_format(long cp)
{
	return (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff;
}

/*
 * Copy raw into dst (dstsz > 0 bytes) as clean text: valid UTF-8 only,
 * format characters dropped, each run of white space or controls one
 * space, none at either end.  Returns the length (dst is NUL-terminated);
 * *more is set when text was left over that did not fit.
 */
static size_t
text_clean(const char *raw, size_t len, char *dst, size_t dstsz, int *more)
{
	const unsigned char	*s = (const unsigned char *)raw;
	size_t			 i = 0, n, o = 0, need;
	long			 cp;
	int			 space = 0;

	*more = 0;
	while (raw != NULL && i < len) {
		cp = utf8_decode((const char *)s + i, len - i, &n);
		if (cp >= 0 && (is_space(cp) || is_control(cp))) {
			space = o > 0;
		} else if (cp >= 0 && !is_format(cp)) {
			need = n + (space ? 1 : 0);
			if (need >= dstsz - o) {
				*more = 1;
				break;
			}
			if (space)
				dst[o++] = ' ';
			space = 0;
			memcpy(dst + o, s + i, n);
			o += n;
		}
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/* Strip ASCII punctuation in set from both ends of s (length *n). */
static char *
trim_set(char *s, size_t *n, const char *set)
{
	while (*n > 0 && (strchr(set, s[0]) != NULL || s[0] == ' ')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (strchr(set, s[*n - 1]) != NULL || s[*n - 1] == ' '))
		(*n)--;
	s[*n] = '\0';
	return s;
}

/* Length of a typographic quote (“ ” ‘ ’ „ « ») at s, or 0. */
static size_t
quote_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 3 && u[0] == 0xe2 && u[1] == 0x80 &&
	    (u[2] == 0x98 || u[2] == 0x99 || u[2] == 0x9c || u[2] == 0x9d ||
	    u[2] == 0x9e))
		return 3;
	if (n >= 2 && u[0] == 0xc2 && (u[1] == 0xab || u[1] == 0xbb))
		return 2;
	return 0;
}

/* Strip punctuation and quotes (ASCII or typographic) from both ends. */
static char *
trim_name_edges(char *s, size_t *n)
{
	static const char set[] = "\"'`.,;:!?()[]{}<>*_-~";
	size_t		 q;
	int		 again = 1;

	while (again) {
		again = 0;
		s = trim_set(s, n, set);
		if ((q = quote_len(s, *n)) > 0) {
			s += q;
			*n -= q;
			again = 1;
		}
		if (*n >= 3 && quote_len(s + *n - 3, 3) == 3) {
			*n -= 3;
			again = 1;
		} else if (*n >= 2 && quote_len(s + *n - 2, 2) == 2) {
			*n -= 2;
			again = 1;
		}
		s[*n] = '\0';
	}
	return s;
}

/* Could code point cp (>= 0x80) be a letter of a name? */
static int
is_name_letter(long cp)
{
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7)
		return 0;
	/* Punctuation, symbols, private use, half/full-width forms, emoji. */
	if ((cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) ||
	    (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfe00 && cp <= 0xfe6f) ||
	    (cp >= 0xff00 && cp <= 0xff20) || cp >= 0xfff0)
		return cp >= 0x10000 && cp < 0x1f000;
	return 1;
}

/*
 * Title-case the ASCII letters of one word (s, n bytes) when it is all
 * lower-case, or all upper-case and pure ASCII: a capital at the start
 * and after each apostrophe or hyphen ("o'brien" -> "O'Brien").
 */
static void
name_case(char *s, size_t n)
{
	size_t	 i;
	int	 lower = 0, upper = 0, ascii = 1, start = 1;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			ascii = 0;
		else if (s[i] >= 'a' && s[i] <= 'z')
			lower = 1;
		else if (s[i] >= 'A' && s[i] <= 'Z')
			upper = 1;
	}
	if (upper && (lower || !ascii))
		return;
	for (i = 0; i < n; i++) {
		if (start && is_alpha(s[i]))
			s[i] = (char)ascii_upper(s[i]);
		else
			s[i] = (char)ascii_lower(s[i]);
		start = s[i] == '\'' || s[i] == '-' || s[i] == '.';
	}
}

/*
 * full_name: letters (ASCII or any script), spaces, apostrophes, hyphens
 * and initials' dots; no digits, '@' or URLs; no greeting or filler
 * words; 100 bytes at most.  Honorifics are dropped, ASCII words written
 * all in one case are title-cased.  1 for one word, 2 for two or more.
 */
static int
norm_name(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	char	 buf[FIELD_VALUE_MAX], *s, *w;
	size_t	 n, i, cl, o = 0, wl, seg = 0;
	long	 cp;
	int	 more, words = 0, letters = 0, wletters;

	(void)opts;
	n = text_clean(raw, len, buf, sizeof(buf), &more);
	if (more)
		return 0;
	s = trim_name_edges(buf, &n);
	if (n == 0 || n > NAME_MAX_BYTES)
		return 0;

	/* Keep only name characters, typographic apostrophes made ASCII. */
	for (i = 0; i < n; i += cl) {
		cp = utf8_decode(s + i, n - i, &cl);
		if (cp == 0x2019 || cp == '\'' || cp == 0x2010 ||
		    cp == 0x2011 || cp == '-') {
			v[o++] = cp == 0x2019 || cp == '\'' ? '\'' : '-';
			seg = 0;
		} else if (cp == '.') {
			/*
			 * After a letter and before a space ("Jr. Smith"), or
			 * between single-letter initials ("J.R."); never
			 * inside a word ("example.com").
			 */
			if (seg == 0 || (i + 1 < n && s[i + 1] != ' ' &&
			    !(seg == 1 && is_alpha(s[i + 1]) && (i + 2 == n ||
			    s[i + 2] == '.' || s[i + 2] == ' '))))
				return 0;
			v[o++] = '.';
			seg = 0;
		} else if (cp == ' ' || is_alpha((int)cp) ||
		    is_name_letter(cp)) {
			memcpy(v + o, s + i, cl);
			o += cl;
			seg = cp == ' ' ? 0 : seg + 1;
		} else
			return 0;
	}
	v[o] = '\0';

	/* Check and case each word; drop leading honorifics. */
	w = v;
	for (;;) {
		wl = strcspn(w, " ");
		if (words == 0 && in_list(w, wl - (wl > 0 && w[wl - 1] == '.'),
		    name_titles, NELEM(name_titles)) && w[wl] == ' ') {
			memmove(w, w + wl + 1, strlen(w + wl + 1) + 1);
			continue;
		}
		if (in_list(w, wl, name_stopwords, NELEM(name_stopwords)))
			return 0;
		for (i = 0, wletters = 0; i < wl; i++)
			if (is_alpha(w[i]) || (unsigned char)w[i] >= 0xc0)
				wletters++;
		if (wletters == 0 || ++words > NAME_MAX_WORDS)
			return 0;
		letters += wletters;
		name_case(w, wl);
		if (w[wl] == '\0')
			break;
		w += wl + 1;
	}
	if (letters < 2)
		return 0;
	return words >= 2 ? 2 : 1;
}

static const struct country *
country_find(const char *iso)
{
	size_t	 i;

	if (iso == NULL || iso[0] == '\0' || iso[1] == '\0' || iso[2] != '\0')
		return NULL;
	for (i = 0; i < NELEM(countries); i++)
		if (ascii_upper((unsigned char)iso[0]) == countries[i].iso[0] &&
		    ascii_upper((unsigned char)iso[1]) == countries[i].iso[1])
			return &countries[i];
	return NULL;
}

/*
 * Does the rest of a phone number, from s, read as an extension: "ext",
 * "ext.", "extension", "x" or "#", then 1 to 6 digits and nothing else?
 */
static int
phone_extension(const char *s)
{
	static const char *const marks[] = {
		"extension", "ext.", "ext", "x", "#"
	};
	size_t	 i, m, d = 0;

	for (m = 0; m < NELEM(marks); m++) {
		for (i = 0; marks[m][i] != '\0' &&
		    ascii_lower((unsigned char)s[i]) == marks[m][i]; i++)
			;
		if (marks[m][i] == '\0')
			break;
	}
	if (m == NELEM(marks))
		return 0;
	s += i;
	while (*s == ' ' || *s == '.' || *s == ':')
		s++;
	while (is_digit(s[d]))
		d++;
	return d >= 1 && d <= 6 && s[d] == '\0';
}

/* E.164 from national digits d (n of them) for country c, or 0. */
static int
phone_e164(const struct country *c, const char *d, size_t n, char *v)
{
	size_t	 cl = strlen(c->code);

	if (c->trunk && n > 1 && d[0] == '0') {
		d++;
		n--;
	} else if (n > cl && memcmp(d, c->code, cl) == 0 &&
	    (int)(n - cl) >= c->nsn_min && (int)(n - cl) <= c->nsn_max &&
	    d[cl] != '0') {
		d += cl;
		n -= cl;
	}
	if ((int)n < c->nsn_min || (int)n > c->nsn_max ||
	    (c->trunk && d[0] == '0') ||
	    cl + n > PHONE_MAX_DIGITS)
		return 0;
	if (strcmp(c->code, "1") == 0 && d[0] < '2')
		return 0;
	v[0] = '+';
	memcpy(v + 1, c->code, cl);
	memcpy(v + 1 + cl, d, n);
	v[1 + cl + n] = '\0';
	return 2;
}

/*
 * phone: digits, separators " -.()/", a leading "+" (or "00", or "011"
 * in NANP countries) and an optional extension, which is dropped.
 * 2 for a complete number, stored as E.164; 1 for 7 to 9 digits (or an
 * unrecognised longer national number), stored as the digits written.
 */
static int
norm_phone(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	const struct country	*c;
	char			 buf[FIELD_VALUE_MAX], d[PHONE_MAX_DIGITS + 2];
	const char		*p;
	size_t			 n, nd = 0;
	int			 more, plus = 0;

	n = text_clean(raw, len, buf, sizeof(buf), &more);
	if (more || n == 0)
		return 0;
	p = buf;
	if (*p == '+') {
		plus = 1;
		p++;
	}
	for (; *p != '\0'; p++) {
		if (is_digit(*p)) {
			if (nd > PHONE_MAX_DIGITS)
				return 0;
			d[nd++] = *p;
		} else if (plus && nd > 0 && strncmp(p, "(0)", 3) == 0)
			p += 2;
		else if (strchr(" -.()/", *p) != NULL)
			continue;
		else if (nd > 0 && phone_extension(p))
			break;
		else
			return 0;
	}
	d[nd] = '\0';
	c = country_find(opts->default_country);

	if (!plus && nd > 2 && d[0] == '0' && d[1] == '0') {
		plus = 1;
		memmove(d, d + 2, nd - 1);
		nd -= 2;
	} else if (!plus && nd > 3 && c != NULL && strcmp(c->code, "1") == 0 &&
	    strncmp(d, "011", 3) == 0) {
		plus = 1;
		memmove(d, d + 3, nd - 2);
		nd -= 3;
	}
	if (nd < 7 || nd > PHONE_MAX_DIGITS)
		return 0;
	if (plus) {
		if (nd < 8 || d[0] == '0' || (d[0] == '1' && nd != 11))
			return 0;
		v[0] = '+';
		memcpy(v + 1, d, nd + 1);
		return 2;
	}
	if (nd >= 10 && c != NULL && phone_e164(c, d, nd, v) == 2)
		return 2;
	memcpy(v, d, nd + 1);
	return 1;
}

static int
email_atext(int c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/*
 * email: local@domain.tld, local part of atext and single inner dots,
 * domain labels of letters, digits and inner hyphens, an alphabetic TLD
 * of two letters or more; surrounding <> and "mailto:" dropped, the whole
 * address lower-cased, 254 bytes at most.  2 when valid.
 */
static int
norm_email(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	char		 buf[FIELD_VALUE_MAX], *s, *at, *lab;
	size_t		 n, i, ll;
	int		 more, labels = 0, alpha;

	(void)opts;
	n = text_clean(raw, len, buf, sizeof(buf), &more);
	if (more)
		return 0;
	s = buf;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s[--n] = '\0';
		s++;
		n--;
	}
	if (n > 7 && word_eq(s, 7, "mailto:")) {
		s += 7;
		n -= 7;
	}
	if (n == 0 || n > EMAIL_MAX_BYTES)
		return 0;
	for (i = 0; i < n; i++)
		s[i] = (char)ascii_lower((unsigned char)s[i]);

	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	ll = (size_t)(at - s);
	if (ll == 0 || ll > EMAIL_LOCAL_MAX || s[0] == '.' || at[-1] == '.')
		return 0;
	for (i = 0; i < ll; i++)
		if (!(email_atext((unsigned char)s[i]) ||
		    (s[i] == '.' && s[i + 1] != '.')))
			return 0;

	for (lab = at + 1;; lab += ll + 1) {
		ll = strcspn(lab, ".");
		if (ll == 0 || ll > 63 || lab[0] == '-' || lab[ll - 1] == '-')
			return 0;
		for (i = 0, alpha = 1; i < ll; i++) {
			if (!(is_alpha(lab[i]) || is_digit(lab[i]) ||
			    lab[i] == '-'))
				return 0;
			if (!is_alpha(lab[i]))
				alpha = 0;
		}
		labels++;
		if (lab[ll] == '\0')
			break;
	}
	if (labels < 2 || !alpha || ll < 2)
		return 0;
	memcpy(v, s, n + 1);
	return 2;
}

static int
matter_configured(const struct field_opts *opts, const char *type)
{
	size_t	 i, n;

	n = opts->n_matter_types < FIELD_MATTER_TYPES_MAX ?
	    opts->n_matter_types : FIELD_MATTER_TYPES_MAX;
	for (i = 0; i < n; i++)
		if (opts->matter_types[i] != NULL &&
		    strcmp(opts->matter_types[i], type) == 0)
			return 1;
	return 0;
}

/*
 * Lower-case s into key, spaces and hyphens as single underscores; fails
 * (returns 0) on anything but ASCII letters, digits and those.
 */
static int
matter_key(const char *s, char *key, size_t keysz)
{
	size_t	 o = 0;

	for (; *s != '\0'; s++) {
		if (o + 1 >= keysz)
			return 0;
		if (*s == ' ' || *s == '-' || *s == '_') {
			if (o > 0 && key[o - 1] != '_')
				key[o++] = '_';
		} else if (is_alpha(*s) || is_digit(*s))
			key[o++] = (char)ascii_lower((unsigned char)*s);
		else
			return 0;
	}
	while (o > 0 && key[o - 1] == '_')
		o--;
	key[o] = '\0';
	return o > 0;
}

/*
 * matter_type: a configured type (2), "other" (1), or a common synonym
 * ("car accident", "divorce") of a configured type (2).
 */
static int
norm_matter(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	char	 buf[FIELD_VALUE_MAX], key[MATTER_MAX_BYTES + 1], *s;
	size_t	 n, i;
	int	 more;

	n = text_clean(raw, len, buf, sizeof(buf), &more);
	if (more)
		return 0;
	s = trim_set(buf, &n, "\"'`.,;:!?()[]{}<>*");
	if (!matter_key(s, key, sizeof(key)))
		return 0;
	if (strcmp(key, "other") == 0) {
		strcpy(v, key);
		return 1;
	}
	if (matter_configured(opts, key)) {
		strcpy(v, key);
		return 2;
	}
	for (i = 0; i < NELEM(matter_synonyms); i++)
		if (strcmp(key, matter_synonyms[i].word) == 0 &&
		    matter_configured(opts, matter_synonyms[i].type)) {
			strcpy(v, matter_synonyms[i].type);
			return 2;
		}
	return 0;
}

/* urgency: low, normal, high or emergency, or a synonym of one.  1. */
static int
norm_urgency(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	char	 buf[FIELD_VALUE_MAX], *s;
	size_t	 n, i;
	int	 more;

	(void)opts;
	n = text_clean(raw, len, buf, sizeof(buf), &more);
	if (more)
		return 0;
	s = trim_set(buf, &n, "\"'`.,;:!?()[]{}<>*");
	for (i = 0; i < NELEM(urgency_words); i++)
		if (word_eq(s, n, urgency_words[i].word)) {
			strcpy(v, urgency_words[i].level);
			return 1;
		}
	return 0;
}

/*
 * summary: clean text, at most 600 bytes; a longer text is cut at a word
 * boundary (a character boundary when no word boundary is near) and ends
 * in "…".  1 when non-empty.
 */
static int
norm_summary(const char *raw, size_t len, const struct field_opts *opts,
    char *v)
{
	static const char	 ellipsis[] = "\xe2\x80\xa6";
	size_t			 n, cut, sp;
	int			 more;

	(void)opts;
	n = text_clean(raw, len, v, FIELD_VALUE_MAX, &more);
	if (n == 0)
		return 0;
	if (n <= SUMMARY_MAX_BYTES && !more)
		return 1;
	cut = SUMMARY_MAX_BYTES - (sizeof(ellipsis) - 1);
	while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
		cut--;
	for (sp = cut; sp > SUMMARY_MAX_BYTES / 2 && v[sp] != ' '; sp--)
		;
	if (v[sp] == ' ')
		cut = sp;
	while (cut > 0 && v[cut - 1] == ' ')
		cut--;
	memcpy(v + cut, ellipsis, sizeof(ellipsis));
	return 1;
}

const char *
field_name(enum field f)
{
	if ((unsigned)f >= FIELD__MAX)
		return NULL;
	return rules[f].name;
}

enum field
field_lookup(const char *s, size_t len)
{
	size_t	 f;

	if (s == NULL)
		return FIELD__MAX;
	for (f = 0; f < FIELD__MAX; f++)
		if (strlen(rules[f].name) == len &&
		    memcmp(rules[f].name, s, len) == 0)
			return (enum field)f;
	return FIELD__MAX;
}

void
field_opts_default(struct field_opts *opts)
{
	size_t	 i;

	memset(opts, 0, sizeof(*opts));
	opts->default_country = "US";
	for (i = 0; i < NELEM(default_matter_types); i++)
		opts->matter_types[i] = default_matter_types[i];
	opts->n_matter_types = NELEM(default_matter_types);
}

int
field_normalise(enum field f, const char *raw, size_t len,
    const struct field_opts *opts, char *out, size_t outsz)
{
	struct field_opts	 def;
	char			 v[FIELD_VALUE_MAX];
	int			 strength = 0;
	size_t			 n;

	if (opts == NULL) {
		field_opts_default(&def);
		opts = &def;
	}
	if ((unsigned)f < FIELD__MAX && raw != NULL)
		strength = rules[f].normalise(raw, len, opts, v);
	if (strength > 0 && (n = strlen(v)) < outsz)
		memcpy(out, v, n + 1);
	else {
		strength = 0;
		if (outsz > 0)
			out[0] = '\0';
	}
	return strength;
}
