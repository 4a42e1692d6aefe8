/*
 * extract_llm.h: the model extraction's request and the reading of its
 * answer.  Pure.
 *
 * OpenAI-compatible: response_format json_schema, strict, every field
 * required and a string or null, no other properties; the answer is the
 * JSON object in choices[0].message.content.  Anthropic: a forced call of
 * one tool whose input_schema is the same; the answer is that tool_use
 * block's input.  The model's output is untrusted: each field goes
 * through field_normalise, and whatever fails counts as empty.
 */
#ifndef EXTRACT_LLM_H
#define EXTRACT_LLM_H

#include <stddef.h>

#include "fields.h"
#include "llm_decode.h"
#include "llm_request.h"
#include "rules.h"

/* Largest response body read from the provider. */
#define EXTRACT_RESPONSE_MAX	(256 * 1024)

/*
 * The request body (malloc'd JSON) for extracting the lead from the
 * conversation msgs[0..n), or NULL.
 */
char	*extract_body(enum llm_proto, const char *model,
	    const struct field_opts *opts, const struct llm_msg *msgs,
	    size_t n);

/*
 * Read the provider's answer body into ex (normalised).  Returns 0, or
 * -1 with a reason (for the log) in why when the answer has no usable
 * object at all.
 */
int	extract_parse(enum llm_proto, const char *body, size_t len,
	    const struct field_opts *opts, struct extraction *ex, char *why,
	    size_t whysz);

#endif
