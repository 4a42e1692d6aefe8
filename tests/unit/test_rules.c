/*
 * test_rules.c: the rule-based extractor over realistic conversations.
 * Each row is the visitor's messages, oldest first, and every field's
 * expected value and strength: corrections in a later message win, a
 * later and weaker value does not erase an earlier one.
 */

#include <string.h>

#include "check.h"
#include "rules.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MSGS_MAX	6

/* summary: NULL means only its strength is checked. */
struct conv {
	const char	*msgs[MSGS_MAX];
	const char	*name;
	int		 name_s;
	const char	*phone;
	int		 phone_s;
	const char	*email;
	const char	*matter;
	const char	*urgency;
	int		 summary_s;
	const char	*summary;
	int		 line;
};

static const struct conv convs[] = {
	{ { "Hi, my name is Jane Doe and I was in a car accident last week.",
	    "You can reach me at 555-123-4567.",
	    "It's pretty urgent, the insurance company keeps calling me." },
	  "Jane Doe", 2, "+15551234567", 2, "", "personal_injury", "high", 1,
	  "Hi, my name is Jane Doe and I was in a car accident last week. "
	  "It's pretty urgent, the insurance company keeps calling me.",
	  __LINE__ },
	/* A correction at the same strength wins. */
	{ { "my number is 555-123-4567",
	    "sorry, my number is actually 555-987-6543" },
	  "", 0, "+15559876543", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "my name is Jane Doe", "sorry, my name is actually Janet Doe" },
	  "Janet Doe", 2, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "email jane@old.com", "actually use jane@new.org instead" },
	  "", 0, "", 0, "jane@new.org", "", "", 0, NULL, __LINE__ },
	/* A later, weaker value does not erase. */
	{ { "call me at (555) 123-4567", "my cell is 123-4567" },
	  "", 0, "+15551234567", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "My name is Jane Doe", "call me Jane" },
	  "Jane Doe", 2, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "I'm Jane", "Jane Doe" },
	  "Jane Doe", 2, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "my cell is 123-4567", "it's 555-123-4567 actually" },
	  "", 0, "+15551234567", 2, "", "", "", 0, NULL, __LINE__ },
	/* Names. */
	{ { "My name's john smith" },
	  "John Smith", 2, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "I am Maria Garcia Lopez and I need help with a visa" },
	  "Maria Garcia Lopez", 2, "", 0, "", "immigration", "", 1, NULL,
	  __LINE__ },
	{ { "This is John Smith, my landlord is trying to evict me and I have "
	    "a hearing tomorrow" },
	  "John Smith", 2, "", 0, "", "real_estate", "emergency", 1, NULL,
	  __LINE__ },
	{ { "It's Jane Smith here, I need help with custody of my kids" },
	  "Jane Smith", 2, "", 0, "", "family", "", 1, NULL, __LINE__ },
	{ { "name's Bob" }, "Bob", 1, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "you can call me Bob" }, "Bob", 1, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "I\xe2\x80\x99m Jane Doe" }, "Jane Doe", 2, "", 0, "", "", "", 0,
	  NULL, __LINE__ },
	{ { "My name is Jos\xc3\xa9 Garc\xc3\xad" "a." },
	  "Jos\xc3\xa9 Garc\xc3\xad" "a", 2, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "I'M JOHN SMITH AND I NEED HELP" }, "John Smith", 2, "", 0, "", "",
	  "", 0, NULL, __LINE__ },
	{ { "Hi I'm J. R. Smith." }, "J. R. Smith", 2, "", 0, "", "", "", 0,
	  NULL, __LINE__ },
	{ { "Jane Doe" }, "Jane Doe", 2, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "  Mary Ann Jones.  " }, "Mary Ann Jones", 2, "", 0, "", "", "", 0,
	  NULL, __LINE__ },
	/* Not names. */
	{ { "I'm worried about my son, he was arrested last night" },
	  "", 0, "", 0, "", "criminal", "", 1, NULL, __LINE__ },
	{ { "I'm looking for a divorce lawyer" },
	  "", 0, "", 0, "", "family", "", 1, NULL, __LINE__ },
	{ { "I'm Sorry to bother you" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "i'm jane" }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "I am not sure what to do" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "This is about my divorce" }, "", 0, "", 0, "", "family", "", 1,
	  NULL, __LINE__ },
	{ { "Call me ASAP at 555-123-4567" },
	  "", 0, "+15551234567", 2, "", "", "high", 0, NULL, __LINE__ },
	{ { "Thank You" }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "Hello" }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { "Car Accident" }, "", 0, "", 0, "", "personal_injury", "", 1,
	  "Car Accident", __LINE__ },
	{ { "Jane Doe, 555-123-4567" },
	  "", 0, "+15551234567", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "it's Jane" }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
	/* Phones and e-mail addresses. */
	{ { "you can email me at Jane.Doe@Example.com." },
	  "", 0, "", 0, "jane.doe@example.com", "", "", 0, NULL, __LINE__ },
	{ { "<jane@example.com> or (jane@work.example.org)" },
	  "", 0, "", 0, "jane@work.example.org", "", "", 0, NULL, __LINE__ },
	{ { "my number is +1 (555) 123 4567" },
	  "", 0, "+15551234567", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "+44 20 7946 0958 is my mobile" },
	  "", 0, "+442079460958", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "phone: 555.123.4567 ext 12" },
	  "", 0, "+15551234567", 2, "", "", "", 0, NULL, __LINE__ },
	{ { "text me on 555 1234" }, "", 0, "5551234", 1, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "I live at 555 1234th Street" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "text me, 123 4567" }, "", 0, "1234567", 1, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "I have 1234567 reasons" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "The accident was on 12/05/2023 and again on 03.04.2023 and "
	    "2023-05-12" },
	  "", 0, "", 0, "", "personal_injury", "", 1, NULL, __LINE__ },
	{ { "They owe me $25,000 in unpaid wages, about 1,234,567 total" },
	  "", 0, "", 0, "", "employment", "", 1, NULL, __LINE__ },
	{ { "My email is jane@example.com and my phone is 555-123-4567" },
	  "", 0, "+15551234567", 2, "jane@example.com", "", "", 0, NULL,
	  __LINE__ },
	{ { "call 5551234567890123456789" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "order A5551234567 shipped" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	/* Matter type votes across the conversation. */
	{ { "I was injured in a car crash.",
	    "The other driver's company truck hit me." },
	  "", 0, "", 0, "", "personal_injury", "", 1, NULL, __LINE__ },
	{ { "I need help with my divorce", "actually it's about my business" },
	  "", 0, "", 0, "", "business", "", 1, NULL, __LINE__ },
	{ { "My boss fired me after I complained about harassment at work" },
	  "", 0, "", 0, "", "employment", "", 1, NULL, __LINE__ },
	{ { "My mother passed away and we need help with probate" },
	  "", 0, "", 0, "", "estate_planning", "", 1, NULL, __LINE__ },
	{ { "I will call you later" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	{ { "My husband got a DUI" }, "", 0, "", 0, "", "criminal", "", 1, NULL,
	  __LINE__ },
	{ { "I'm worried my green card application was denied" },
	  "", 0, "", 0, "", "immigration", "", 1, NULL, __LINE__ },
	{ { "We're starting an LLC and need a contract reviewed" },
	  "", 0, "", 0, "", "business", "", 1, NULL, __LINE__ },
	{ { "I was rear-ended and my neck hurts", "my court date is tomorrow" },
	  "", 0, "", 0, "", "personal_injury", "emergency", 1, NULL, __LINE__ },
	/* Urgency: the most urgent in a message, the latest message wins. */
	{ { "this is urgent", "actually no rush" },
	  "", 0, "", 0, "", "", "low", 0, NULL, __LINE__ },
	{ { "It's not urgent, I just want to update my will" },
	  "", 0, "", 0, "", "estate_planning", "low", 1, NULL, __LINE__ },
	{ { "not an emergency but my hearing tomorrow worries me" },
	  "", 0, "", 0, "", "", "emergency", 1, NULL, __LINE__ },
	{ { "It's not an emergency." }, "", 0, "", 0, "", "", "normal", 0, NULL,
	  __LINE__ },
	{ { "My brother is in jail" }, "", 0, "", 0, "", "criminal",
	  "emergency", 1, NULL, __LINE__ },
	{ { "I need this done ASAP." }, "", 0, "", 0, "", "", "high", 0, NULL,
	  __LINE__ },
	{ { "Deadline is Friday", "whenever is fine for the call" },
	  "", 0, "", 0, "", "", "low", 0, NULL, __LINE__ },
	{ { "we're not in a hurry, maybe next month" },
	  "", 0, "", 0, "", "", "normal", 0, NULL, __LINE__ },
	{ { "emergencyroom bills" }, "", 0, "", 0, "", "", "", 0, NULL,
	  __LINE__ },
	/* Summary: what describes the matter, not contact details. */
	{ { "I slipped at the grocery store.", "Jane Doe", "555-123-4567",
	    "It happened on Monday and my back still hurts a lot since then." },
	  "Jane Doe", 2, "+15551234567", 2, "", "personal_injury", "", 1,
	  "I slipped at the grocery store. It happened on Monday and my back "
	  "still hurts a lot since then.", __LINE__ },
	{ { "My neighbour keeps parking in front of my driveway every day." },
	  "", 0, "", 0, "", "", "", 1,
	  "My neighbour keeps parking in front of my driveway every day.",
	  __LINE__ },
	{ { "" }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
	{ { NULL }, "", 0, "", 0, "", "", "", 0, NULL, __LINE__ },
};

static void
check_field(int line, const struct extraction *e, enum field f,
    const char *want, int want_s)
{
	CHECK_AT(line, e->strength[f] == want_s &&
	    strcmp(e->value[f], want) == 0,
	    "%s: got %d \"%s\", want %d \"%s\"", field_name(f),
	    e->strength[f], e->value[f], want_s, want);
}

static void
test_convs(void)
{
	static struct extraction e;
	const struct conv	*c;
	size_t			 i, n, lens[MSGS_MAX];

	for (i = 0; i < NELEM(convs); i++) {
		c = &convs[i];
		for (n = 0; n < MSGS_MAX && c->msgs[n] != NULL; n++)
			lens[n] = strlen(c->msgs[n]);
		rules_extract(c->msgs, lens, n, NULL, &e);
		check_field(c->line, &e, FIELD_FULL_NAME, c->name, c->name_s);
		check_field(c->line, &e, FIELD_PHONE, c->phone, c->phone_s);
		check_field(c->line, &e, FIELD_EMAIL, c->email,
		    c->email[0] ? 2 : 0);
		check_field(c->line, &e, FIELD_MATTER_TYPE, c->matter,
		    c->matter[0] == '\0' ? 0 :
		    strcmp(c->matter, "other") == 0 ? 1 : 2);
		check_field(c->line, &e, FIELD_URGENCY, c->urgency,
		    c->urgency[0] ? 1 : 0);
		CHECK_AT(c->line, e.strength[FIELD_SUMMARY] == c->summary_s,
		    "summary strength %d, want %d: \"%s\"",
		    e.strength[FIELD_SUMMARY], c->summary_s,
		    e.value[FIELD_SUMMARY]);
		if (c->summary != NULL)
			check_field(c->line, &e, FIELD_SUMMARY, c->summary, 1);
	}
}

/* Options: the firm's matter types and country decide what is kept. */
static void
test_opts(void)
{
	static struct extraction e;
	struct field_opts	 opts;
	const char		*msgs[2];
	size_t			 lens[2];

	field_opts_default(&opts);
	opts.matter_types[0] = "family";
	opts.n_matter_types = 1;
	opts.default_country = "GB";
	msgs[0] = "I was hurt in a car crash, ring me on 07700 900123";
	lens[0] = strlen(msgs[0]);
	rules_extract(msgs, lens, 1, &opts, &e);
	check_field(__LINE__, &e, FIELD_MATTER_TYPE, "other", 1);
	check_field(__LINE__, &e, FIELD_PHONE, "+447700900123", 2);

	msgs[1] = "but really it is the divorce, custody and child support";
	lens[1] = strlen(msgs[1]);
	rules_extract(msgs, lens, 2, &opts, &e);
	check_field(__LINE__, &e, FIELD_MATTER_TYPE, "family", 2);
}

/* Hostile input: NULs, invalid UTF-8, huge messages, NULL pointers. */
static void
test_hostile(void)
{
	static struct extraction e;
	static char		 big[200 * 1024];
	const char		*msgs[3];
	size_t			 lens[3], i;

	msgs[0] = "my name is Jane\0Doe, call 555-123-4567\0";
	lens[0] = 40;
	msgs[1] = "\xff\xfe jane@example.com \xc3";
	lens[1] = strlen(msgs[1]);
	msgs[2] = NULL;
	lens[2] = 5;
	rules_extract(msgs, lens, 3, NULL, &e);
	check_field(__LINE__, &e, FIELD_FULL_NAME, "Jane", 1);
	check_field(__LINE__, &e, FIELD_PHONE, "+15551234567", 2);
	check_field(__LINE__, &e, FIELD_EMAIL, "jane@example.com", 2);

	for (i = 0; i < sizeof(big); i++)
		big[i] = "accident 555-123-4567 x@y.zz I'm Al "[i % 36];
	msgs[0] = big;
	lens[0] = sizeof(big);
	rules_extract(msgs, lens, 1, NULL, &e);
	check_field(__LINE__, &e, FIELD_PHONE, "+15551234567", 2);
	check_field(__LINE__, &e, FIELD_MATTER_TYPE, "personal_injury", 2);
	CHECK(e.strength[FIELD_SUMMARY] == 1 &&
	    strlen(e.value[FIELD_SUMMARY]) <= 600, "big summary capped");

	memset(big, '7', sizeof(big));
	rules_extract(msgs, lens, 1, NULL, &e);
	check_field(__LINE__, &e, FIELD_PHONE, "", 0);

	rules_extract(NULL, NULL, 3, NULL, &e);
	check_field(__LINE__, &e, FIELD_PHONE, "", 0);
	rules_extract(msgs, lens, 0, NULL, &e);
	check_field(__LINE__, &e, FIELD_SUMMARY, "", 0);
}

int
main(void)
{
	test_convs();
	test_opts();
	test_hostile();
	return check_done("rules");
}
