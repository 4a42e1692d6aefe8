/*
 * rules.c: the rule-based extractor, the floor under every model.
 *
 * It reads only what the visitor wrote and finds what a careful reader
 * would: phone numbers and e-mail addresses anywhere, a name after "my
 * name is" and its cousins (or a reply that is nothing but a name),
 * matter-type and urgency keywords.  Matching is by whole words, ASCII
 * case-insensitive; UTF-8 passes through untouched.  Every value goes
 * through field_normalise, so a rule and a model that saw the same thing
 * store the same bytes at the same strength.
 *
 * Messages are read oldest first and a later value replaces an earlier
 * one unless it is weaker: a correction wins, a sparse reply does not
 * erase.  The matter type is the exception: keywords vote across the
 * whole conversation (ties go to the latest mention), so one stray word
 * ("the insurance company") does not undo a clear account.  Words that
 * the script's own questions invite in any matter ("court date") are not
 * matter keywords.  Pure.
 */

#include <string.h>

#include "rules.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Bytes of visitor text joined for the summary (normalised to 600). */
#define SUMMARY_JOIN_MAX	4096

/* A message longer than this, less its contact details, is a summary. */
#define SUMMARY_MIN_BYTES	40

/* Name words taken after a phrase, and in a bare reply. */
#define NAME_WORDS_MAX		4

/*
 * Keyword phrases: lower-case ASCII words, one space between words
 * (matching any white space), "'" matching ' or ’, a trailing '*'
 * matching the rest of a word ("injur*": injured, injury, injuries).
 */
struct matter_words {
	const char		*type;
	const char *const	*words;
};

static const char *const pi_words[] = {
	"accident", "accidents", "injur*", "crash", "crashed", "crashes",
	"car wreck", "slip*", "slip and fall", "fell", "fall", "whiplash",
	"hit by", "rear ended", "rear-ended", "dog bite", "bitten",
	"malpractice", "hurt*", "insurance company", "insurance adjuster", NULL
};
static const char *const family_words[] = {
	"divorc*", "custody", "child support", "separation", "separated",
	"alimony", "visitation", "adoption", "prenup*", "domestic violence",
	"restraining order", NULL
};
static const char *const criminal_words[] = {
	"arrest*", "charged", "dui", "dwi", "police", "jail",
	"in custody", "probation", "felony", "misdemeanor", "warrant",
	"criminal", "bail", NULL
};
static const char *const employment_words[] = {
	"fired", "boss", "employer", "harassment at work",
	"sexual harassment", "wages", "unpaid wages", "overtime",
	"wrongful termination", "wrongfully terminated", "laid off",
	"discriminat*", "workplace", "coworker*", "co-worker*", NULL
};
static const char *const immigration_words[] = {
	"visa", "visas", "green card", "deport*", "asylum", "citizenship",
	"immigra*", "naturaliz*", "work permit", "uscis", NULL
};
static const char *const estate_words[] = {
	"a will", "my will", "the will", "his will", "her will", "their will",
	"wills", "last will", "living will", "probate", "estate plan*",
	"my estate", "the estate", "trust fund", "living trust", "a trust",
	"inheritance", "inherit", "inherited", "executor",
	"power of attorney", NULL
};
static const char *const realestate_words[] = {
	"landlord", "evict*", "lease", "tenant*", "property", "closing",
	"real estate", "mortgage", "foreclos*", "rent", "deed", "hoa", NULL
};
static const char *const business_words[] = {
	"contract", "contracts", "business", "business partner",
	"partnership", "llc", "company", "my company", "our company",
	"corporation", "incorporat*", "shareholder*", "startup", "trademark",
	NULL
};

static const struct matter_words matter_table[] = {
	{ "personal_injury",	pi_words },
	{ "family",		family_words },
	{ "criminal",		criminal_words },
	{ "employment",		employment_words },
	{ "immigration",	immigration_words },
	{ "estate_planning",	estate_words },
	{ "real_estate",	realestate_words },
	{ "business",		business_words },
};

#define MATTER_KINDS	NELEM(matter_table)

enum urgency_level {
	URG_NONE,
	URG_LOW,
	URG_NORMAL,
	URG_HIGH,
	URG_EMERGENCY,
	URG__MAX
};

static const char *const urgency_names[URG__MAX] = {
	[URG_NONE] = "",
	[URG_LOW] = "low",
	[URG_NORMAL] = "normal",
	[URG_HIGH] = "high",
	[URG_EMERGENCY] = "emergency",
};

/*
 * The longest phrase starting at a word wins and the scan goes on after
 * it, so "not urgent" is low and its "urgent" is not read again.
 */
static const struct {
	const char		*phrase;
	enum urgency_level	 level;
} urgency_table[] = {
	{ "emergency",			URG_EMERGENCY },
	{ "an emergency",		URG_EMERGENCY },
	{ "in jail",			URG_EMERGENCY },
	{ "in custody",			URG_EMERGENCY },
	{ "arrested right now",		URG_EMERGENCY },
	{ "being arrested",		URG_EMERGENCY },
	{ "just arrested",		URG_EMERGENCY },
	{ "just been arrested",		URG_EMERGENCY },
	{ "being deported",		URG_EMERGENCY },
	{ "hearing tomorrow",		URG_EMERGENCY },
	{ "hearing today",		URG_EMERGENCY },
	{ "court tomorrow",		URG_EMERGENCY },
	{ "court today",		URG_EMERGENCY },
	{ "court date tomorrow",	URG_EMERGENCY },
	{ "court date is tomorrow",	URG_EMERGENCY },
	{ "hearing is tomorrow",	URG_EMERGENCY },
	{ "court is tomorrow",		URG_EMERGENCY },
	{ "trial tomorrow",		URG_EMERGENCY },
	{ "in danger",			URG_EMERGENCY },
	{ "urgent",			URG_HIGH },
	{ "urgently",			URG_HIGH },
	{ "asap",			URG_HIGH },
	{ "as soon as possible",	URG_HIGH },
	{ "this week",			URG_HIGH },
	{ "deadline",			URG_HIGH },
	{ "today",			URG_HIGH },
	{ "tomorrow",			URG_HIGH },
	{ "immediately",		URG_HIGH },
	{ "right away",			URG_HIGH },
	{ "time sensitive",		URG_HIGH },
	{ "next week",			URG_NORMAL },
	{ "next month",			URG_NORMAL },
	{ "in a few weeks",		URG_NORMAL },
	{ "within a month",		URG_NORMAL },
	{ "not an emergency",		URG_NORMAL },
	{ "no emergency",		URG_NORMAL },
	{ "isn't an emergency",		URG_NORMAL },
	{ "not urgent",			URG_LOW },
	{ "not very urgent",		URG_LOW },
	{ "not really urgent",		URG_LOW },
	{ "isn't urgent",		URG_LOW },
	{ "no rush",			URG_LOW },
	{ "no particular rush",		URG_LOW },
	{ "no hurry",			URG_LOW },
	{ "not in a hurry",		URG_LOW },
	{ "not in any hurry",		URG_LOW },
	{ "whenever",			URG_LOW },
	{ "not time sensitive",		URG_LOW },
	{ "low priority",		URG_LOW },
	{ "when you have time",		URG_LOW },
};

/*
 * Phrases before a name.  caps: the name's words must be capitalised
 * ("I'm Jane", not "I'm worried"); here: "here" must follow the name
 * ("it's Jane here").
 */
static const struct {
	const char	*phrase;
	int		 caps, here;
} name_table[] = {
	{ "my name is",		0, 0 },
	{ "my name's",		0, 0 },
	{ "my full name is",	0, 0 },
	{ "name's",		0, 0 },
	{ "i'm",		1, 0 },
	{ "i am",		1, 0 },
	{ "this is",		1, 0 },
	{ "call me",		1, 0 },
	{ "it's",		1, 1 },
	{ "it is",		1, 1 },
};

/* Words that start no name after a phrase ("I'm Worried", "call me ASAP"). */
static const char *const name_first_stop[] = {
	"worried", "sorry", "not", "looking", "calling", "writing", "here",
	"so", "very", "really", "afraid", "scared", "trying", "in", "at",
	"from", "a", "an", "the", "just", "still", "being", "going",
	"interested", "concerned", "unsure", "married", "divorced", "injured",
	"hurt", "ok", "okay", "fine", "good", "glad", "happy", "currently",
	"also", "back", "on", "tomorrow", "today", "asap", "anytime", "any",
	"whenever", "later", "now", "after", "before", "if", "when", "please",
	"soon", "about", "regarding", "urgent", "my", "your", "it", "this",
	"that", "what", "i", "we", "they", "he", "she", "hi", "hello",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday", "mr", "mrs", "ms", "dr",
};

/* Filler between a phrase and the name ("my name is actually Jane"). */
static const char *const name_filler[] = {
	"actually", "really", "just", "still",
};

/* Words that end a name ("Jane Doe and I ..."). */
static const char *const name_end_stop[] = {
	"and", "but", "or", "so", "here", "from", "calling", "writing",
	"speaking", "with", "i", "i'm", "im", "i've", "ive", "i'd", "my", "we",
	"our", "you", "your", "thanks", "thank", "please", "regarding",
	"about", "in", "at", "on", "for", "of", "a", "an", "the", "to", "was",
	"is", "am", "have", "had", "need", "want", "who", "just", "also",
};

/* Words that make a short number a phone number. */
static const char *const phone_context[] = {
	"call*", "phone*", "number*", "cell*", "mobile", "tel", "reach*",
	"text*", "landline", "whatsapp", "contact*",
};

/* Keyword votes for the matter type, across the whole conversation. */
struct matter_votes {
	unsigned long	score[MATTER_KINDS];
	unsigned long	last[MATTER_KINDS];	/* 1 + order of latest hit */
	unsigned long	hits;
};

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || is_upper(c);
}

static int
is_ws(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A byte of a word: an ASCII letter or digit, or part of a UTF-8 letter. */
static int
is_wordc(int c)
{
	return is_alpha(c) || is_digit(c) || c >= 0x80;
}

/* U+2000..U+203F (dashes, quotes, spaces) at t[i]: not part of a word. */
static int
is_punct_utf8(const unsigned char *t, size_t n, size_t i)
{
	return i + 2 < n && t[i] == 0xe2 && t[i + 1] == 0x80;
}

/* Does a word start at t[i]? */
static int
word_start(const unsigned char *t, size_t n, size_t i)
{
	if (i >= n || !is_wordc(t[i]) || is_punct_utf8(t, n, i))
		return 0;
	if (i == 0 || !is_wordc(t[i - 1]))
		return 1;
	return i >= 3 && is_punct_utf8(t, n, i - 3);
}

/* Does a word end at t[i] (the byte after its last)? */
static int
word_end(const unsigned char *t, size_t n, size_t i)
{
	return i >= n || !is_wordc(t[i]) || is_punct_utf8(t, n, i);
}

/*
 * Does phrase p (see matter_words) occur at t[i], a word start?  Returns
 * the offset just past it, or 0.
 */
static size_t
phrase_at(const unsigned char *t, size_t n, size_t i, const char *p)
{
	for (; *p != '\0'; p++) {
		if (*p == ' ') {
			if (i >= n || !is_ws(t[i]))
				return 0;
			while (i < n && is_ws(t[i]))
				i++;
		} else if (*p == '*') {
			while (!word_end(t, n, i))
				i++;
		} else if (*p == '\'' && i + 2 < n && t[i] == 0xe2 &&
		    t[i + 1] == 0x80 && t[i + 2] == 0x99)
			i += 3;
		else if (i < n && lc(t[i]) == *p)
			i++;
		else
			return 0;
	}
	return word_end(t, n, i) ? i : 0;
}

/* Is any phrase of list (n entries, or NULL-terminated if n is 0) in t? */
static int
phrase_any(const unsigned char *t, size_t len, const char *const *list,
    size_t n)
{
	size_t	 i, k;

	for (i = 0; i < len; i++) {
		if (!word_start(t, len, i))
			continue;
		for (k = 0; n ? k < n : list[k] != NULL; k++)
			if (phrase_at(t, len, i, list[k]))
				return 1;
	}
	return 0;
}

/* Is the word t[0..len) (ASCII case-insensitive) in list? */
static int
word_in(const unsigned char *t, size_t len, const char *const *list,
    size_t n)
{
	size_t	 k;

	for (k = 0; k < n; k++)
		if (phrase_at(t, len, 0, list[k]) == len)
			return 1;
	return 0;
}

/*
 * Offer a raw value for field f: normalised, it replaces what out holds
 * unless it is weaker.  Returns its strength.
 */
static int
rules_offer(struct extraction *out, enum field f, const char *raw,
    size_t len, const struct field_opts *opts)
{
	char	 v[FIELD_VALUE_MAX];
	int	 s;

	s = field_normalise(f, raw, len, opts, v, sizeof(v));
	if (s > 0 && s >= out->strength[f]) {
		memcpy(out->value[f], v, strlen(v) + 1);
		out->strength[f] = s;
	}
	return s;
}

/*
 * Phone numbers in t: digit runs joined by " -.()", optionally after a
 * '+'.  Dates (12/05/2023, 1.2.2024) are left alone; numbers of fewer
 * than 10 digits count only when the message speaks of calling.  Returns
 * the bytes of the numbers taken.
 */
static size_t
rules_phones(const unsigned char *t, size_t n, const struct field_opts *opts,
    struct extraction *out)
{
	size_t	 i, j, end, digits, groups, glen[4], g, taken = 0;
	int	 context = -1, date;

	for (i = 0; i < n; i++) {
		if (!(is_digit(t[i]) || ((t[i] == '+' || t[i] == '(') &&
		    i + 1 < n && is_digit(t[i + 1]))))
			continue;
		if (i > 0 && (is_wordc(t[i - 1]) || t[i - 1] == '+' ||
		    t[i - 1] == '$' || t[i - 1] == '#'))
			continue;
		digits = groups = g = 0;
		memset(glen, 0, sizeof(glen));
		for (j = end = i; j < n; j++) {
			if (is_digit(t[j])) {
				if (j == 0 || !is_digit(t[j - 1]))
					groups++;
				if (groups <= 4)
					glen[groups - 1]++;
				digits++;
				end = j + 1;
			} else if (j == i && (t[j] == '+' || t[j] == '(')) {
				continue;
			} else if (t[j] != '\0' && j - end < 3 &&
			    strchr(" -.()", t[j]) != NULL) {
				continue;
			} else
				break;
			if (digits > 16)
				break;
		}
		j = end;
		if (digits > 16 || !word_end(t, n, j) ||
		    (j < n && t[j] == '%')) {
			i = j;
			continue;
		}
		date = groups == 3 && glen[1] <= 2 && ((glen[0] <= 2 &&
		    (glen[2] == 2 || glen[2] == 4)) ||
		    (glen[0] == 4 && glen[2] <= 2));
		if (digits >= 7 && !date) {
			if (digits < 10 && t[i] != '+' && context < 0)
				context = phrase_any(t, n, phone_context,
				    NELEM(phone_context));
			if (digits >= 10 || t[i] == '+' || context == 1)
				if (rules_offer(out, FIELD_PHONE,
				    (const char *)t + i, j - i, opts) > 0)
					taken += j - i;
		}
		i = j;
	}
	return taken;
}

static int
email_char(int c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-.", c) != NULL);
}

/* E-mail addresses in t.  Returns the bytes of the addresses taken. */
static size_t
rules_emails(const unsigned char *t, size_t n, const struct field_opts *opts,
    struct extraction *out)
{
	size_t	 at, a, b, taken = 0;

	for (at = 1; at + 1 < n; at++) {
		if (t[at] != '@')
			continue;
		for (a = at; a > 0 && email_char(t[a - 1]); a--)
			;
		while (a < at && (t[a] == '.' || t[a] == '\''))
			a++;
		for (b = at + 1; b < n && (is_alpha(t[b]) || is_digit(t[b]) ||
		    t[b] == '.' || t[b] == '-'); b++)
			;
		while (b > at + 1 && (t[b - 1] == '.' || t[b - 1] == '-'))
			b--;
		if (a < at && rules_offer(out, FIELD_EMAIL, (const char *)t + a,
		    b - a, opts) > 0)
			taken += b - a;
		at = b > at ? b - 1 : at;
	}
	return taken;
}

/* Length of the word at t[i]: letters, apostrophes, hyphens. */
static size_t
name_word(const unsigned char *t, size_t n, size_t i)
{
	size_t	 j = i;

	while (j < n && (is_alpha(t[j]) || t[j] == '\'' || t[j] == '-' ||
	    (t[j] >= 0x80 && !is_punct_utf8(t, n, j)) ||
	    (j + 2 < n && t[j] == 0xe2 && t[j + 1] == 0x80 &&
	    t[j + 2] == 0x99)))
		j += (t[j] == 0xe2 && is_punct_utf8(t, n, j)) ? 3 : 1;
	return j - i;
}

/*
 * Take up to NAME_WORDS_MAX name words at t[i].  caps: each must start
 * with a capital (or a non-ASCII letter).  Stops at punctuation, a stop
 * word, or (caps) a lower-case word; an initial keeps its dot.  Returns
 * the number of words and sets *end past the last one.
 */
static int
name_grab(const unsigned char *t, size_t n, size_t i, int caps, size_t *end)
{
	size_t	 wl, j;
	int	 words = 0;

	*end = i;
	while (words < NAME_WORDS_MAX && i < n) {
		if ((wl = name_word(t, n, i)) == 0)
			break;
		if (caps && !is_upper(t[i]) && t[i] < 0x80)
			break;
		if (!is_alpha(t[i]) && t[i] < 0x80)
			break;
		if (word_in(t + i, wl, words == 0 ? name_first_stop :
		    name_end_stop, words == 0 ? NELEM(name_first_stop) :
		    NELEM(name_end_stop)))
			break;
		words++;
		j = i + wl;
		if (wl == 1 && j < n && t[j] == '.')
			j++;
		*end = j;
		if (j >= n || !is_ws(t[j]))
			break;
		while (j < n && is_ws(t[j]))
			j++;
		i = j;
	}
	return words;
}

/*
 * A name after a phrase ("my name is Jane Doe", "I'm Jane"), or a reply
 * that is nothing but two or three capitalised words (bare: no keyword
 * or contact detail in the message).  Returns the bytes of the name.
 */
static size_t
rules_name(const unsigned char *t, size_t n, int bare,
    const struct field_opts *opts, struct extraction *out)
{
	size_t	 i, k, j, end, e, taken = 0;
	int	 words;

	for (i = 0; i < n; i++) {
		if (!word_start(t, n, i))
			continue;
		for (k = 0; k < NELEM(name_table); k++) {
			j = phrase_at(t, n, i, name_table[k].phrase);
			if (j == 0 || j >= n || !is_ws(t[j]))
				continue;
			for (;;) {
				while (j < n && is_ws(t[j]))
					j++;
				e = name_word(t, n, j);
				if (e == 0 || !word_in(t + j, e, name_filler,
				    NELEM(name_filler)))
					break;
				j += e;
			}
			words = name_grab(t, n, j, name_table[k].caps, &end);
			if (words == 0)
				continue;
			if (name_table[k].here) {
				for (e = end; e < n && is_ws(t[e]); e++)
					;
				if (e == end || phrase_at(t, n, e, "here") == 0)
					continue;
			}
			if (rules_offer(out, FIELD_FULL_NAME,
			    (const char *)t + j, end - j, opts) > 0)
				taken += end - j;
		}
	}
	if (taken > 0 || !bare)
		return taken;

	for (i = 0; i < n && is_ws(t[i]); i++)
		;
	words = name_grab(t, n, i, 1, &end);
	for (e = end; e < n && (is_ws(t[e]) || t[e] == '.' || t[e] == '!'); e++)
		;
	if (words >= 2 && words <= 3 && e == n &&
	    rules_offer(out, FIELD_FULL_NAME, (const char *)t + i, end - i,
	    opts) > 0)
		taken = end - i;
	return taken;
}

/* Vote for matter types by keyword.  Returns the number of hits. */
static unsigned long
rules_matter(const unsigned char *t, size_t n, struct matter_votes *mv)
{
	size_t		 i, k, w, j, best, bestk;
	unsigned long	 hits = 0;

	for (i = 0; i < n; i++) {
		if (!word_start(t, n, i))
			continue;
		best = 0;
		bestk = 0;
		for (k = 0; k < MATTER_KINDS; k++)
			for (w = 0; matter_table[k].words[w] != NULL; w++)
				if ((j = phrase_at(t, n, i,
				    matter_table[k].words[w])) > best) {
					best = j;
					bestk = k;
				}
		if (best == 0)
			continue;
		mv->score[bestk]++;
		mv->last[bestk] = ++mv->hits;
		hits++;
		i = best - 1;
	}
	return hits;
}

/* The most urgent level the message states, or URG_NONE. */
static enum urgency_level
rules_urgency(const unsigned char *t, size_t n)
{
	enum urgency_level	 lvl = URG_NONE, bestl;
	size_t			 i, k, j, best;

	for (i = 0; i < n; i++) {
		if (!word_start(t, n, i))
			continue;
		best = 0;
		bestl = URG_NONE;
		for (k = 0; k < NELEM(urgency_table); k++)
			if ((j = phrase_at(t, n, i, urgency_table[k].phrase)) >
			    best) {
				best = j;
				bestl = urgency_table[k].level;
			}
		if (best == 0)
			continue;
		if (bestl > lvl)
			lvl = bestl;
		i = best - 1;
	}
	return lvl;
}

void
extraction_clear(struct extraction *e)
{
	memset(e, 0, sizeof(*e));
}

void
rules_extract(const char *const *texts, const size_t *lens, size_t n,
    const struct field_opts *opts, struct extraction *out)
{
	struct field_opts	 def;
	struct matter_votes	 mv;
	char			 sum[SUMMARY_JOIN_MAX];
	const unsigned char	*t;
	size_t			 m, len, k, bestk, used = 0, sl = 0, c;
	unsigned long		 hits;
	enum urgency_level	 u;

	extraction_clear(out);
	memset(&mv, 0, sizeof(mv));
	if (opts == NULL) {
		field_opts_default(&def);
		opts = &def;
	}
	for (m = 0; texts != NULL && lens != NULL && m < n; m++) {
		if ((t = (const unsigned char *)texts[m]) == NULL)
			continue;
		len = lens[m];
		used = rules_phones(t, len, opts, out);
		used += rules_emails(t, len, opts, out);
		hits = rules_matter(t, len, &mv);
		if ((u = rules_urgency(t, len)) != URG_NONE)
			rules_offer(out, FIELD_URGENCY, urgency_names[u],
			    strlen(urgency_names[u]), opts);
		used += rules_name(t, len, hits == 0 && used == 0 &&
		    u == URG_NONE, opts, out);

		/* What happened: keywords, or a long message of its own. */
		if ((hits > 0 || len - (used < len ? used : len) >
		    SUMMARY_MIN_BYTES) && sl < sizeof(sum) - 1) {
			if (sl > 0)
				sum[sl++] = ' ';
			c = sizeof(sum) - 1 - sl;
			if (len < c)
				c = len;
			memcpy(sum + sl, t, c);
			sl += c;
		}
	}

	if (mv.hits > 0) {
		for (k = 1, bestk = 0; k < MATTER_KINDS; k++)
			if (mv.score[k] > mv.score[bestk] ||
			    (mv.score[k] == mv.score[bestk] &&
			    mv.last[k] > mv.last[bestk]))
				bestk = k;
		k = strlen(matter_table[bestk].type);
		if (rules_offer(out, FIELD_MATTER_TYPE,
		    matter_table[bestk].type, k, opts) == 0)
			rules_offer(out, FIELD_MATTER_TYPE, "other", 5, opts);
	}
	if (sl > 0)
		rules_offer(out, FIELD_SUMMARY, sum, sl, opts);
}
