/*
 * test_script.c: the built-in intake script.  What it asks for given
 * what is captured (a table), what it must say (the firm on turn one, the
 * danger line, no legal advice), what it must never say (that it is a
 * lawyer or a person), that its wording varies with the seed, and that a
 * small output buffer gets a clean cut.
 */

#include <string.h>

#include "check.h"
#include "script.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Captured strengths: name, phone, email, matter, urgency, summary. */
struct ask_row {
	int		 s[FIELD__MAX];
	enum script_ask	 want;
	int		 line;
};

static const struct ask_row ask_rows[] = {
	{ { 0, 0, 0, 0, 0, 0 }, ASK_NAME, __LINE__ },
	{ { 0, 2, 2, 2, 1, 1 }, ASK_NAME, __LINE__ },
	{ { 0, 0, 0, 2, 0, 1 }, ASK_NAME, __LINE__ },
	{ { 1, 0, 0, 0, 0, 0 }, ASK_CONTACT, __LINE__ },
	{ { 2, 0, 0, 0, 0, 0 }, ASK_CONTACT, __LINE__ },
	{ { 2, 0, 0, 2, 1, 1 }, ASK_CONTACT, __LINE__ },
	{ { 2, 1, 0, 0, 0, 0 }, ASK_MATTER, __LINE__ },
	{ { 2, 2, 0, 0, 0, 0 }, ASK_MATTER, __LINE__ },
	{ { 2, 0, 2, 0, 0, 0 }, ASK_MATTER, __LINE__ },
	{ { 2, 2, 0, 0, 1, 0 }, ASK_MATTER, __LINE__ },
	{ { 2, 2, 0, 1, 0, 0 }, ASK_URGENCY, __LINE__ },
	{ { 2, 2, 0, 0, 0, 1 }, ASK_URGENCY, __LINE__ },
	{ { 2, 0, 2, 2, 0, 1 }, ASK_URGENCY, __LINE__ },
	{ { 2, 2, 0, 2, 1, 1 }, ASK_NOTHING, __LINE__ },
	{ { 1, 0, 2, 0, 1, 1 }, ASK_NOTHING, __LINE__ },
	{ { 2, 2, 2, 2, 1, 1 }, ASK_NOTHING, __LINE__ },
};

/* Phrases a reply must never contain (compared lower-cased). */
static const char *const forbidden[] = {
	"i am a lawyer", "i'm a lawyer", "i am an attorney", "i'm an attorney",
	"i am a human", "i'm a human", "i am a real", "i'm a real",
	"i am a person", "i'm a person", "as your lawyer", "as your attorney",
	"you should sue", "you have a strong case", "you will win",
};

static void
set(struct extraction *e, enum field f, int s, const char *v)
{
	e->strength[f] = s;
	strcpy(e->value[f], s > 0 ? v : "");
}

/* A capture with the given strengths and plausible values. */
static void
fill(struct extraction *e, const int *s)
{
	extraction_clear(e);
	set(e, FIELD_FULL_NAME, s[FIELD_FULL_NAME],
	    s[FIELD_FULL_NAME] == 1 ? "Jane" : "Jane Doe");
	set(e, FIELD_PHONE, s[FIELD_PHONE],
	    s[FIELD_PHONE] == 1 ? "1234567" : "+15551234567");
	set(e, FIELD_EMAIL, s[FIELD_EMAIL], "jane@example.com");
	set(e, FIELD_MATTER_TYPE, s[FIELD_MATTER_TYPE],
	    s[FIELD_MATTER_TYPE] == 1 ? "other" : "family");
	set(e, FIELD_URGENCY, s[FIELD_URGENCY], "high");
	set(e, FIELD_SUMMARY, s[FIELD_SUMMARY], "My divorce.");
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void
test_next(void)
{
	struct extraction	 e;
	size_t			 i;

	for (i = 0; i < NELEM(ask_rows); i++) {
		fill(&e, ask_rows[i].s);
		CHECK_AT(ask_rows[i].line, script_next(&e) == ask_rows[i].want,
		    "got ask %d, want %d", script_next(&e), ask_rows[i].want);
	}
}

/*
 * Every capture (64 combinations of present fields), turns 1 to 3, ten
 * seeds: never a forbidden phrase, always a question or the wrap-up.
 */
static void
test_never(void)
{
	struct extraction	 e;
	char			 out[2048];
	int			 s[FIELD__MAX], bad;
	unsigned		 mask, turn, seed, f, i;
	size_t			 n;

	for (mask = 0; mask < 64; mask++) {
		for (f = 0; f < FIELD__MAX; f++)
			s[f] = (mask >> f) & 1 ? 2 : 0;
		fill(&e, s);
		for (turn = 1; turn <= 3; turn++)
			for (seed = 0; seed < 10; seed++) {
				n = script_reply(&e, turn, "Smith & Jones LLP",
				    seed, out, sizeof(out));
				lower(out);
				bad = n == 0 || n != strlen(out);
				for (i = 0; i < NELEM(forbidden); i++)
					if (strstr(out, forbidden[i]) != NULL)
						bad = 1;
				if (script_next(&e) == ASK_NOTHING)
					bad |= strstr(out, "i can't give "
					    "legal advice") == NULL;
				else
					bad |= strchr(out, '?') == NULL;
				CHECK(!bad, "mask %u turn %u seed %u: %s", mask,
				    turn, seed, out);
			}
	}
}

static void
test_content(void)
{
	static const int	 none[FIELD__MAX] = { 0 };
	static const int	 all[FIELD__MAX] = { 2, 2, 2, 2, 1, 1 };
	static const int	 name_phone[FIELD__MAX] = { 2, 2, 0, 0, 0, 0 };
	struct extraction	 e;
	char			 out[2048], again[2048];

	fill(&e, none);
	script_reply(&e, 1, "Smith & Jones LLP", 0, out, sizeof(out));
	CHECK(strstr(out, "thank you for contacting Smith & Jones LLP") != NULL,
	    "turn 1 names the firm: %s", out);
	CHECK(strstr(out, "automated") != NULL, "automated: %s", out);
	CHECK(strstr(out, "name") != NULL && strstr(out, "happened") != NULL,
	    "turn 1 asks name and what happened: %s", out);
	script_reply(&e, 2, "Smith & Jones LLP", 0, out, sizeof(out));
	CHECK(strstr(out, "Smith & Jones") == NULL, "no greeting on turn 2: %s",
	    out);
	script_reply(&e, 1, NULL, 0, out, sizeof(out));
	CHECK(strstr(out, "contacting our firm") != NULL, "no firm: %s", out);
	script_reply(&e, 1, "", 0, out, sizeof(out));
	CHECK(strstr(out, "contacting our firm") != NULL, "empty: %s", out);

	/* The first name only, and what was noted. */
	fill(&e, name_phone);
	script_reply(&e, 3, "X", 0, out, sizeof(out));
	CHECK(strstr(out, "Jane") != NULL && strstr(out, "Doe") == NULL,
	    "first name only: %s", out);
	CHECK(strstr(out, "phone number") != NULL, "phone noted: %s", out);
	CHECK(strstr(out, "e-mail address") == NULL, "no e-mail: %s", out);

	/* A long first name (É and 40 é) is capped, on a character. */
	strcpy(out, "\xc3\x89");
	while (strlen(out) < 82)
		strcat(out, "\xc3\xa9");
	strcat(out, " Doe");
	set(&e, FIELD_FULL_NAME, 2, out);
	script_reply(&e, 3, "X", 0, out, sizeof(out));
	CHECK(strstr(out, "Doe") == NULL &&
	    strstr(out, "Éééééééééééééééééééé") != NULL &&
	    strstr(out, "ééééééééééééééééééééé") == NULL,
	    "name capped at 40 bytes: %s", out);

	/* Wrap-up. */
	fill(&e, all);
	script_reply(&e, 5, "Smith & Jones LLP", 0, out, sizeof(out));
	CHECK(strstr(out, "Someone from Smith & Jones LLP will contact you") !=
	    NULL, "wrap-up names the firm: %s", out);
	CHECK(strstr(out, "I can't give legal advice, but") != NULL,
	    "wrap-up: no legal advice: %s", out);
	CHECK(strstr(out, "911") == NULL, "no danger line: %s", out);
	set(&e, FIELD_URGENCY, 1, "emergency");
	script_reply(&e, 5, "X", 0, out, sizeof(out));
	CHECK(strstr(out, "If anyone is in danger, please call 911") != NULL,
	    "emergency: danger line: %s", out);
	set(&e, FIELD_URGENCY, 0, "");
	set(&e, FIELD_PHONE, 0, "");
	set(&e, FIELD_EMAIL, 0, "");
	set(&e, FIELD_URGENCY, 1, "emergency");
	script_reply(&e, 2, "X", 0, out, sizeof(out));
	CHECK(strstr(out, "911") != NULL && strchr(out, '?') != NULL,
	    "emergency while asking: %s", out);

	/* The same inputs, the same reply. */
	script_reply(&e, 2, "X", 7, out, sizeof(out));
	script_reply(&e, 2, "X", 7, again, sizeof(again));
	CHECK(strcmp(out, again) == 0, "deterministic");
}

/* Ten seeds give at least two wordings of each question. */
static void
test_vary(void)
{
	static const int	 caps[ASK__MAX][FIELD__MAX] = {
		[ASK_NAME] =	{ 0, 2, 0, 2, 1, 1 },
		[ASK_CONTACT] =	{ 2, 0, 0, 0, 0, 0 },
		[ASK_MATTER] =	{ 2, 2, 0, 0, 0, 0 },
		[ASK_URGENCY] =	{ 2, 2, 0, 2, 0, 1 },
		[ASK_NOTHING] =	{ 2, 2, 2, 2, 1, 1 },
	};
	struct extraction	 e;
	char			 first[2048], out[2048];
	unsigned		 a, seed;
	int			 differ;

	for (a = 0; a < ASK__MAX; a++) {
		fill(&e, caps[a]);
		CHECK(script_next(&e) == a, "ask %u set up", a);
		script_reply(&e, 3, "X", 0, first, sizeof(first));
		for (differ = 0, seed = 1; seed < 10; seed++) {
			script_reply(&e, 3, "X", seed, out, sizeof(out));
			differ |= strcmp(out, first) != 0;
		}
		CHECK(differ, "ask %u: one wording only: %s", a, first);
	}
}

/* Every outsz from 0 up: NUL-terminated, a prefix, cut between words. */
static void
test_small(void)
{
	static const int	 none[FIELD__MAX] = { 0 };
	struct extraction	 e;
	char			 full[2048], out[2048];
	size_t			 len, n, sz, next;
	int			 ok;

	fill(&e, none);
	len = script_reply(&e, 1, "Café Ünïcode", 3, full, sizeof(full));
	CHECK(len == strlen(full) && len > 100, "full reply: %zu", len);
	memset(out, 'X', sizeof(out));
	CHECK(script_reply(&e, 1, "F", 3, out, 0) == 0 && out[0] == 'X',
	    "outsz 0 writes nothing");
	for (sz = 1; sz <= len + 1; sz++) {
		memset(out, 'X', sizeof(out));
		n = script_reply(&e, 1, "Café Ünïcode", 3, out, sz);
		ok = n < sz && out[n] == '\0' && strlen(out) == n &&
		    memcmp(out, full, n) == 0 && out[sz] == 'X';
		if (n < len && sz - 1 >= strcspn(full, " ")) {
			/* On a space, and the next word would not fit. */
			next = n + 1 + strcspn(full + n + 1, " ");
			ok = ok && full[n] == ' ' && next >= sz;
		} else if (n < len)
			ok = ok && ((unsigned char)full[n] & 0xc0) != 0x80;
		CHECK(ok, "outsz %zu: %zu \"%s\"", sz, n, out);
	}
	/* A firm name over the cap is cut on a character. */
	memset(full, 0, sizeof(full));
	while (strlen(full) < 300)
		strcat(full, "\xc3\xa9");
	n = script_reply(&e, 1, full, 3, out, sizeof(out));
	CHECK(n == strlen(out) && strstr(out, "\xc3.") == NULL &&
	    strstr(out, "\xc3\xa9.") != NULL, "long firm: %s", out);
}

int
main(void)
{
	test_next();
	test_never();
	test_content();
	test_vary();
	test_small();
	return check_done("script");
}
