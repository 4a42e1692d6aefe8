/*
 * script.h: the built-in intake "model".  Given what has been captured so
 * far (the rule-based extraction of the visitor's messages) it writes the
 * assistant's next reply: greets on behalf of the firm, acknowledges what
 * it has, asks for what is still missing, varies its wording, never gives
 * legal advice, never claims to be a person or a lawyer.  Pure.
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#include <stddef.h>

#include "rules.h"

/* What the next reply asks for; exposed so tests can check the choice. */
enum script_ask {
	ASK_NAME,
	ASK_CONTACT,	/* a phone number or an e-mail address */
	ASK_MATTER,	/* what happened */
	ASK_URGENCY,
	ASK_NOTHING,	/* everything captured: wrap up */
	ASK__MAX
};

/* The question the next reply should ask, given what is captured. */
enum script_ask	script_next(const struct extraction *have);

/*
 * Write the reply for the visitor's turn'th message (1-based) into out
 * (outsz bytes, NUL-terminated, truncated at a word boundary if small).
 * firm is the firm's display name (may be NULL or "": "our firm").
 * seed varies the wording; the same inputs give the same reply.
 * Returns the reply's length in bytes.
 */
size_t		script_reply(const struct extraction *have, unsigned turn,
		    const char *firm, unsigned seed, char *out, size_t outsz);

#endif
