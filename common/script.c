/*
 * script.c: the built-in intake "model", a script with no model behind it.
 *
 * It is stateless: what to say follows from what the rules have captured
 * (and the turn number, for the greeting), so a retried or replayed turn
 * says the same thing.  Each reply acknowledges the step just finished,
 * then asks for the next missing item: name, a way to reach the visitor,
 * what happened, how urgent it is, then wraps up.  Several phrasings per
 * slot, picked by seed and turn, keep it from sounding canned.
 *
 * What it must never do: claim to be a person or a lawyer, give legal
 * advice, or echo visitor text beyond the first word of the normalised
 * name.  Every sentence is fixed text; only the firm's name (from the
 * configuration) and that first name are inserted.  Pure.
 */

#include <string.h>

#include "script.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define FIRST_NAME_MAX	40
#define FIRM_MAX	120
#define REPLY_MAX	2048

/* A phrase list: up to four phrasings of one thing. */
struct phrases {
	const char	*p[4];
};

static const struct phrases asks[ASK__MAX] = {
	[ASK_NAME] = { {
		"May I have your full name?",
		"Could you tell me your full name, please?",
		"What is your full name?",
		"Who am I speaking with? Your first and last name is enough.",
	} },
	[ASK_CONTACT] = { {
		"What is the best phone number or e-mail address to reach you?",
		"How can the firm reach you? A phone number or an e-mail "
		    "address is fine.",
		"Could you share a phone number or an e-mail address where "
		    "someone can contact you?",
		"What phone number or e-mail address should we use to get "
		    "back to you?",
	} },
	[ASK_MATTER] = { {
		"Could you briefly describe what happened?",
		"In a few sentences, what is your matter about?",
		"Could you tell me a little about what happened and what "
		    "you need help with?",
		"What would you like help with? A short description of what "
		    "happened is enough.",
	} },
	[ASK_URGENCY] = { {
		"How urgent is this for you? For example, is there a deadline "
		    "or a court date coming up?",
		"Is there a deadline or an upcoming date we should know about, "
		    "or is this less time-sensitive?",
		"How soon do you need to hear from someone? Please mention any "
		    "dates or deadlines.",
	} },
};

/* Turn one, or nothing known yet: name and what happened at once. */
static const struct phrases ask_first = { {
	"Could you tell me your name and briefly what happened?",
	"To start, may I have your name, and a short description of what "
	    "happened?",
	"Could you share your name and a few words about what happened?",
} };

static const struct phrases thanks_name = { {
	"Thank you, %s.",
	"Thanks, %s.",
	"Got it, %s, thank you.",
} };

static const struct phrases thanks_plain = { {
	"Thank you.",
	"Thanks for that.",
	"Got it, thank you.",
} };

static const struct phrases heard_matter = { {
	"I'm sorry you're dealing with this.",
	"Thank you for explaining.",
	"Thank you for telling me what happened.",
} };

static const struct phrases wrap_up = { {
	"That's everything I need for now.",
	"I have everything I need for now.",
	"That covers everything for now.",
} };

static const struct phrases no_advice = { {
	"I can't give legal advice, but the team will review what you've "
	    "shared and follow up with you.",
	"I can't give legal advice, but someone at the firm can talk "
	    "through your options when they reach out.",
	"I can't give legal advice, but your details are with the team, "
	    "who will take it from here.",
} };

static const char greeting[] =
    "Hello, and thank you for contacting %s. I'm the firm's virtual "
    "intake assistant, an automated program, and I'll take a few details "
    "so the right person can get back to you.";

static const char danger[] =
    "If anyone is in danger, please call 911 or your local emergency "
    "number.";

/* How the acknowledgement names a matter type; others are "your matter". */
static const struct {
	const char	*type;
	const char	*label;
} matter_labels[] = {
	{ "personal_injury",	"a personal injury matter" },
	{ "family",		"a family law matter" },
	{ "criminal",		"a criminal matter" },
	{ "employment",		"an employment matter" },
	{ "immigration",	"an immigration matter" },
	{ "estate_planning",	"an estate planning matter" },
	{ "real_estate",	"a real estate matter" },
	{ "business",		"a business matter" },
};

/* The reply being built: bytes past the buffer are dropped. */
struct reply {
	char	 buf[REPLY_MAX];
	size_t	 len;
};

/* Append s, with each "%s" replaced by arg. */
static void
reply_put(struct reply *r, const char *s, const char *arg)
{
	const char	*pct;
	size_t		 n;

	if (r->len > 0 && r->len < sizeof(r->buf) - 1)
		r->buf[r->len++] = ' ';
	while (*s != '\0') {
		pct = strstr(s, "%s");
		n = pct != NULL ? (size_t)(pct - s) : strlen(s);
		if (n > sizeof(r->buf) - 1 - r->len)
			n = sizeof(r->buf) - 1 - r->len;
		memcpy(r->buf + r->len, s, n);
		r->len += n;
		if (pct == NULL)
			break;
		s = pct + 2;
		if (arg != NULL) {
			n = strlen(arg);
			if (n > sizeof(r->buf) - 1 - r->len)
				n = sizeof(r->buf) - 1 - r->len;
			memcpy(r->buf + r->len, arg, n);
			r->len += n;
		}
	}
	r->buf[r->len] = '\0';
}

/* One of ph's phrasings for this seed, turn and slot. */
static const char *
phrase_pick(const struct phrases *ph, unsigned seed, unsigned turn,
    unsigned slot)
{
	unsigned	 n, h;

	for (n = 0; n < NELEM(ph->p) && ph->p[n] != NULL; n++)
		;
	h = seed * 2654435761u + turn * 40503u + slot * 97u;
	h ^= h >> 15;
	return ph->p[h % n];
}

/* Copy at most max bytes of s into dst (max + 1 bytes), on a UTF-8 boundary. */
static void
copy_capped(char *dst, const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

enum script_ask
script_next(const struct extraction *have)
{
	if (have->strength[FIELD_FULL_NAME] == 0)
		return ASK_NAME;
	if (have->strength[FIELD_PHONE] == 0 &&
	    have->strength[FIELD_EMAIL] == 0)
		return ASK_CONTACT;
	if (have->strength[FIELD_MATTER_TYPE] == 0 &&
	    have->strength[FIELD_SUMMARY] == 0)
		return ASK_MATTER;
	if (have->strength[FIELD_URGENCY] == 0)
		return ASK_URGENCY;
	return ASK_NOTHING;
}

/* "I've noted your phone number." and the like, or NULL. */
static const char *
noted_contact(const struct extraction *have)
{
	int	 p = have->strength[FIELD_PHONE] > 0;
	int	 e = have->strength[FIELD_EMAIL] > 0;

	if (p && e)
		return "I've noted your phone number and e-mail address.";
	if (p)
		return "I've noted your phone number.";
	if (e)
		return "I've noted your e-mail address.";
	return NULL;
}

static const char *
matter_label(const struct extraction *have)
{
	size_t	 i;

	for (i = 0; i < NELEM(matter_labels); i++)
		if (have->strength[FIELD_MATTER_TYPE] > 0 &&
		    strcmp(have->value[FIELD_MATTER_TYPE],
		    matter_labels[i].type) == 0)
			return matter_labels[i].label;
	return "your matter";
}

size_t
script_reply(const struct extraction *have, unsigned turn, const char *firm,
    unsigned seed, char *out, size_t outsz)
{
	struct reply		 r;
	enum script_ask		 ask;
	char			 name[FIRST_NAME_MAX + 1];
	char			 firmbuf[FIRM_MAX + 1];
	const char		*s;
	size_t			 n;
	int			 matter, emergency;

	r.len = 0;
	r.buf[0] = '\0';
	ask = script_next(have);
	matter = have->strength[FIELD_MATTER_TYPE] > 0 ||
	    have->strength[FIELD_SUMMARY] > 0;
	emergency = have->strength[FIELD_URGENCY] > 0 &&
	    strcmp(have->value[FIELD_URGENCY], "emergency") == 0;

	if (firm == NULL || firm[0] == '\0')
		firm = "our firm";
	copy_capped(firmbuf, firm, strlen(firm), FIRM_MAX);
	name[0] = '\0';
	if (have->strength[FIELD_FULL_NAME] > 0) {
		s = have->value[FIELD_FULL_NAME];
		n = strcspn(s, " ");
		while (n > 0 && s[n - 1] == '.')
			n--;
		copy_capped(name, s, n, FIRST_NAME_MAX);
	}

	if (turn <= 1)
		reply_put(&r, greeting, firmbuf);
	if (name[0] != '\0')
		reply_put(&r, phrase_pick(&thanks_name, seed, turn, 1), name);
	else if (turn > 1 && !(ask == ASK_NAME && matter))
		reply_put(&r, phrase_pick(&thanks_plain, seed, turn, 1), NULL);

	/* Acknowledge what came in at the steps before the one asked for. */
	switch (ask) {
	case ASK_NAME:
		if (matter)
			reply_put(&r, phrase_pick(&heard_matter, seed, turn,
			    2), NULL);
		break;
	case ASK_MATTER:
		if ((s = noted_contact(have)) != NULL)
			reply_put(&r, s, NULL);
		break;
	case ASK_URGENCY:
		if ((s = noted_contact(have)) != NULL)
			reply_put(&r, s, NULL);
		reply_put(&r, "I understand this is about %s.",
		    matter_label(have));
		break;
	default:
		break;
	}
	if (emergency)
		reply_put(&r, danger, NULL);

	if (ask == ASK_NAME && !matter)
		reply_put(&r, phrase_pick(&ask_first, seed, turn, 3), NULL);
	else if (ask != ASK_NOTHING)
		reply_put(&r, phrase_pick(&asks[ask], seed, turn, 3), NULL);
	else {
		reply_put(&r, phrase_pick(&wrap_up, seed, turn, 3), NULL);
		reply_put(&r, have->strength[FIELD_URGENCY] > 0 &&
		    strcmp(have->value[FIELD_URGENCY], "low") != 0 &&
		    strcmp(have->value[FIELD_URGENCY], "normal") != 0 ?
		    "Someone from %s will contact you as soon as possible." :
		    "Someone from %s will contact you soon.", firmbuf);
		reply_put(&r, phrase_pick(&no_advice, seed, turn, 4), NULL);
		reply_put(&r, "If you think of anything else, you can add it "
		    "here.", NULL);
	}

	/* Fit out, cut at a word boundary. */
	if (outsz == 0)
		return 0;
	n = r.len;
	if (n >= outsz) {
		n = outsz - 1;
		while (n > 0 && r.buf[n] != ' ')
			n--;
		if (n == 0) {
			n = outsz - 1;
			while (n > 0 &&
			    ((unsigned char)r.buf[n] & 0xc0) == 0x80)
				n--;
		}
	}
	memcpy(out, r.buf, n);
	out[n] = '\0';
	return n;
}
