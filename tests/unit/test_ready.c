/*
 * test_ready.c: the one rule for telling the firm (common/ready.c), row
 * by row.  A lead is written as "field:strength:value|...", so each row
 * reads as the lead it stands for.
 */

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ready.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A lead that is ready, every field set. */
#define R_NAME	"full_name:2:Jane Doe"
#define R_PHONE	"phone:2:+15551234567"
#define R_EMAIL	"email:2:jane@example.com"
#define R_REST	"matter_type:2:personal_injury|urgency:1:high|" \
		"summary:1:Rear-ended yesterday."
#define R	R_NAME "|" R_PHONE "|" R_EMAIL "|" R_REST

/*
 * Fill x from spec ("field:strength:value" joined by "|"); a field not
 * named is empty.  0, or -1 when spec is malformed.
 */
static int
lead_set(struct extraction *x, const char *spec)
{
	const char	*p = spec, *c1, *c2, *end;
	enum field	 f;
	size_t		 n;

	extraction_clear(x);
	while (*p != '\0') {
		end = p + strcspn(p, "|");
		if ((c1 = memchr(p, ':', (size_t)(end - p))) == NULL ||
		    (c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1))) == NULL)
			return -1;
		if ((f = field_lookup(p, (size_t)(c1 - p))) == FIELD__MAX)
			return -1;
		x->strength[f] = atoi(c1 + 1);
		n = (size_t)(end - c2 - 1);
		if (n >= FIELD_VALUE_MAX)
			return -1;
		memcpy(x->value[f], c2 + 1, n);
		x->value[f][n] = '\0';
		p = *end == '|' ? end + 1 : end;
	}
	return 0;
}

static void
test_is(void)
{
	static const struct {
		const char	*lead;
		int		 want;
		int		 line;
	} rows[] = {
		{ R, 1, __LINE__ },
		{ R_NAME "|" R_PHONE, 1, __LINE__ },
		{ R_NAME "|" R_EMAIL, 1, __LINE__ },
		{ "full_name:1:Jane|" R_PHONE, 1, __LINE__ },
		{ "full_name:1:Jane|" R_EMAIL, 1, __LINE__ },
		{ R_NAME "|phone:1:1234567|" R_EMAIL, 1, __LINE__ },
		/* A phone of strength 1 alone is no way to reach anyone. */
		{ R_NAME "|phone:1:1234567", 0, __LINE__ },
		{ "full_name:1:Jane|phone:1:1234567", 0, __LINE__ },
		/* No name. */
		{ R_PHONE "|" R_EMAIL "|" R_REST, 0, __LINE__ },
		{ "full_name:0:Jane Doe|" R_PHONE, 0, __LINE__ },
		/* A name and no contact. */
		{ R_NAME, 0, __LINE__ },
		{ R_NAME "|" R_REST, 0, __LINE__ },
		{ R_NAME "|phone:0:+15551234567|email:0:jane@example.com", 0,
		    __LINE__ },
		{ "", 0, __LINE__ },
	};
	struct extraction	*x = malloc(sizeof(*x));
	size_t			 i;

	for (i = 0; i < NELEM(rows); i++) {
		CHECK_AT(rows[i].line, lead_set(x, rows[i].lead) == 0,
		    "bad spec");
		CHECK_AT(rows[i].line, ready_is(x) == rows[i].want,
		    "ready_is %d", ready_is(x));
	}
	free(x);
}

static void
test_event(void)
{
	static const struct {
		int		 announced;
		const char	*before;
		const char	*after;
		enum ready_event want;
		int		 line;
	} rows[] = {
		/* Not announced: ready or not is all that counts. */
		{ 0, "", R_NAME "|" R_PHONE, READY_ANNOUNCE, __LINE__ },
		{ 0, "", R, READY_ANNOUNCE, __LINE__ },
		{ 0, R_NAME "|phone:1:1234567", R_NAME "|" R_PHONE,
		    READY_ANNOUNCE, __LINE__ },
		{ 0, R_NAME, R_NAME "|" R_EMAIL, READY_ANNOUNCE, __LINE__ },
		{ 0, R_PHONE, "full_name:1:Jane|" R_PHONE, READY_ANNOUNCE,
		    __LINE__ },
		{ 0, "", R_NAME "|phone:1:1234567", READY_NOTHING, __LINE__ },
		{ 0, R_PHONE, R_PHONE "|" R_EMAIL, READY_NOTHING, __LINE__ },
		{ 0, R_NAME, R_NAME "|" R_REST, READY_NOTHING, __LINE__ },
		{ 0, "", "", READY_NOTHING, __LINE__ },
		/*
		 * Ready but never announced (a lead from before the outbox):
		 * its next merge announces it, whatever it changed.
		 */
		{ 0, R, R, READY_ANNOUNCE, __LINE__ },

		/* Announced: the same values are worth nothing. */
		{ 1, R, R, READY_NOTHING, __LINE__ },
		{ 1, "", "", READY_NOTHING, __LINE__ },
		{ 1, R_NAME "|" R_PHONE, R_NAME "|" R_PHONE, READY_NOTHING,
		    __LINE__ },
		/* Any changed value is worth an update. */
		{ 1, R, "full_name:2:Jane Smith|" R_PHONE "|" R_EMAIL "|"
		    R_REST, READY_UPDATE, __LINE__ },
		{ 1, R, "full_name:2:jane doe|" R_PHONE "|" R_EMAIL "|"
		    R_REST, READY_UPDATE, __LINE__ },
		{ 1, R, R_NAME "|phone:2:+15557654321|" R_EMAIL "|" R_REST,
		    READY_UPDATE, __LINE__ },
		{ 1, R, R_NAME "|" R_PHONE "|email:2:jd@example.com|" R_REST,
		    READY_UPDATE, __LINE__ },
		{ 1, R_NAME "|" R_PHONE, R_NAME "|" R_PHONE "|" R_EMAIL,
		    READY_UPDATE, __LINE__ },
		{ 1, R, R_NAME "|" R_PHONE "|" R_EMAIL "|matter_type:2:family|"
		    "urgency:1:high|summary:1:Rear-ended yesterday.",
		    READY_UPDATE, __LINE__ },
		{ 1, R, R_NAME "|" R_PHONE "|" R_EMAIL "|matter_type:2:"
		    "personal_injury|urgency:1:emergency|summary:1:"
		    "Rear-ended yesterday.", READY_UPDATE, __LINE__ },
		{ 1, R, R_NAME "|" R_PHONE "|" R_EMAIL "|matter_type:2:"
		    "personal_injury|urgency:1:high|summary:1:"
		    "Rear-ended yesterday; neck pain.", READY_UPDATE,
		    __LINE__ },
		{ 1, R_NAME "|" R_PHONE, R_NAME "|" R_PHONE "|summary:1:x",
		    READY_UPDATE, __LINE__ },
		/* Only the strength moved: the value is the same. */
		{ 1, "full_name:1:Jane Doe|" R_PHONE, R_NAME "|" R_PHONE,
		    READY_NOTHING, __LINE__ },
		{ 1, R_NAME "|phone:1:1234567|" R_EMAIL,
		    R_NAME "|phone:2:1234567|" R_EMAIL, READY_NOTHING,
		    __LINE__ },
		{ 1, R_NAME "|" R_PHONE "|matter_type:1:other",
		    R_NAME "|" R_PHONE "|matter_type:2:other", READY_NOTHING,
		    __LINE__ },
		/* A value at strength 0 is no value: bytes left over differ. */
		{ 1, R_NAME "|" R_PHONE "|email:0:old@example.com",
		    R_NAME "|" R_PHONE "|email:0:new@example.com",
		    READY_NOTHING, __LINE__ },
		{ 1, R_NAME "|" R_PHONE "|email:0:old@example.com",
		    R_NAME "|" R_PHONE "|email:2:old@example.com",
		    READY_UPDATE, __LINE__ },
	};
	struct extraction	*b = malloc(sizeof(*b)), *a = malloc(sizeof(*a));
	enum ready_event	 ev;
	size_t			 i;

	for (i = 0; i < NELEM(rows); i++) {
		CHECK_AT(rows[i].line, lead_set(b, rows[i].before) == 0 &&
		    lead_set(a, rows[i].after) == 0, "bad spec");
		ev = ready_event(rows[i].announced, b, a);
		CHECK_AT(rows[i].line, ev == rows[i].want, "ready_event %d",
		    (int)ev);
	}
	free(a);
	free(b);
}

static void
test_type_name(void)
{
	const char	*s;

	s = ready_type_name(READY_ANNOUNCE);
	CHECK(s != NULL && strcmp(s, "lead.ready") == 0, "announce: %s", s);
	s = ready_type_name(READY_UPDATE);
	CHECK(s != NULL && strcmp(s, "lead.updated") == 0, "update: %s", s);
	CHECK(ready_type_name(READY_NOTHING) == NULL, "nothing");
	CHECK(ready_type_name((enum ready_event)3) == NULL, "out of range");
}

int
main(void)
{
	test_is();
	test_event();
	test_type_name();
	return check_done("ready");
}
