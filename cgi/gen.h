/*
 * gen.h: where a reply's text comes from.
 *
 * A generator writes the assistant's reply for a turn, piece by piece,
 * into a sink: text() as pieces arrive, tick() at least every
 * GEN_TICK_MS while it waits, so the turn can save, send keep-alives and
 * notice a cancel.  Either may return non-zero to stop the generation
 * (the upstream transfer is then aborted at once).
 */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>

#include "config.h"
#include "store.h"

#define GEN_TICK_MS	100

struct gen_sink {
	int	(*text)(void *arg, const char *s, size_t len);
	int	(*tick)(void *arg);
	void	*arg;
};

/* The conversation so far, oldest first, the visitor's newest last. */
struct gen_input {
	const struct config	*cfg;
	const struct store_texts *history;	/* both roles */
	int			 turn;
};

enum gen_rc {
	GEN_OK,		/* the reply ended normally */
	GEN_STOPPED,	/* the sink asked to stop */
	GEN_FAILED,	/* see error (for the visitor) and why (for the log) */
};

struct gen_result {
	enum gen_rc	rc;
	char		error[160];	/* plain words a visitor can read */
	char		why[256];	/* what happened, for the log */
};

/* The built-in intake script, spoken a word at a time. */
void	gen_builtin(const struct gen_input *, const struct gen_sink *,
	    struct gen_result *);

/* An OpenAI-compatible or Anthropic model, streamed over libcurl. */
void	gen_llm(const struct gen_input *, const struct gen_sink *,
	    struct gen_result *);

#endif
