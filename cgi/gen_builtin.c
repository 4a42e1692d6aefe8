/*
 * gen_builtin.c: the default model.  The rule-based extractor reads the
 * visitor's messages, the intake script writes a reply that asks for what
 * is missing, and this file speaks it a word at a time at reading pace
 * (INTAKE_WORD_DELAY_MS), ticking the sink while it waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "rules.h"
#include "script.h"
#include "util.h"

/*
 * Sleep ms, ticking the sink at least every GEN_TICK_MS: GEN_GO_ON, or
 * the sink's reason to stop.
 */
static enum gen_stop
gen_wait(const struct gen_sink *sink, long ms)
{
	int64_t		until = util_mono_ms() + ms, left;
	enum gen_stop	stop;

	for (;;) {
		if ((stop = sink->tick(sink->arg)) != GEN_GO_ON)
			return stop;
		if ((left = until - util_mono_ms()) <= 0)
			return GEN_GO_ON;
		util_sleep_ms(left < GEN_TICK_MS ? left : GEN_TICK_MS);
	}
}

void
gen_builtin(const struct gen_input *in, const struct gen_sink *sink,
    struct gen_result *res)
{
	struct extraction	*ex;	/* 6 KiB: kept off a thread's stack */
	struct field_opts	 opts;
	const char		*texts[256];
	size_t			 lens[256], n = 0, i, len, start;
	char			 reply[2048], buf[512];
	unsigned		 seed = 0;

	memset(res, 0, sizeof(*res));
	if ((ex = calloc(1, sizeof(*ex))) == NULL) {
		res->stop = GEN_NO_MEMORY;
		return;
	}
	config_field_opts(in->cfg, &opts, buf, sizeof(buf));
	for (i = 0; i < in->history->n && n < 256; i++) {
		if (in->history->roles[i])
			continue;
		texts[n] = in->history->texts[i];
		lens[n] = in->history->lens[i];
		/* The seed varies wording by what the visitor wrote. */
		for (len = 0; len < lens[n]; len++)
			seed = seed * 31 + (unsigned char)texts[n][len];
		n++;
	}
	rules_extract(texts, lens, n, &opts, ex);
	len = script_reply(ex, (unsigned)in->turn, in->cfg->firm_name, seed,
	    reply, sizeof(reply));
	free(ex);
	/* A word and the space before it make one piece. */
	for (i = 0; i < len; ) {
		start = i;
		while (i < len && reply[i] == ' ')
			i++;
		while (i < len && reply[i] != ' ')
			i++;
		if (start > 0 && (res->stop = gen_wait(sink,
		    in->cfg->word_delay_ms)) != GEN_GO_ON)
			return;
		if ((res->stop = sink->text(sink->arg, reply + start,
		    i - start)) != GEN_GO_ON)
			return;
	}
	res->stop = GEN_END;
}
