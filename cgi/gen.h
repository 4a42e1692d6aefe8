/*
 * gen.h: where a reply's text comes from.
 *
 * A generator writes the assistant's reply for a turn, piece by piece,
 * into a sink: text() as pieces arrive, tick() at least every
 * GEN_TICK_MS while it waits, so the turn can save, send keep-alives and
 * notice a cancel.  Either returns GEN_GO_ON, or the reason to stop (the
 * upstream transfer is then aborted at once).  That one reason travels
 * back up unchanged into gen_result.stop: the turn decides the reply's
 * final status from it alone, in one switch.
 */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>

#include "config.h"
#include "store.h"

#define GEN_TICK_MS	100

/* Why a reply stopped; GEN_GO_ON is a sink's "not stopped". */
enum gen_stop {
	GEN_GO_ON,
	GEN_END,		/* the model ended the reply: complete */
	GEN_CANCELLED,		/* the visitor asked to stop */
	GEN_TOO_LONG,		/* INTAKE_MAX_REPLY reached: cut short */
	GEN_NO_MEMORY,		/* the reply could not be held */
	GEN_TERMINATED,		/* this process is being stopped */
	GEN_FAILED,		/* the model failed: see error and why */
	GEN_ERASED,		/* the conversation was erased: save nothing */
	GEN__MAX
};

struct gen_sink {
	enum gen_stop	(*text)(void *arg, const char *s, size_t len);
	enum gen_stop	(*tick)(void *arg);
	void		*arg;
};

/* The conversation so far, oldest first, the visitor's newest last. */
struct gen_input {
	const struct config	*cfg;
	const struct store_texts *history;	/* both roles */
	int			 turn;
};

struct gen_result {
	enum gen_stop	stop;		/* never GEN_GO_ON once returned */
	char		error[160];	/* plain words a visitor can read */
	char		why[256];	/* what happened, for the log */
};

/* The built-in intake script, spoken a word at a time. */
void	gen_builtin(const struct gen_input *, const struct gen_sink *,
	    struct gen_result *);

/* An OpenAI-compatible or Anthropic model, streamed over libcurl. */
void	gen_llm(const struct gen_input *, const struct gen_sink *,
	    struct gen_result *);

/* At exit: libcurl's cleanup, if a model was ever called. */
void	gen_llm_done(void);

#endif
