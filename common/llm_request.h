/*
 * llm_request.h: the JSON bodies sent to a model provider.  Pure.
 *
 * OpenAI-compatible chat completions and Anthropic Messages want the same
 * conversation in two shapes: OpenAI puts the system prompt first among
 * the messages; Anthropic takes it apart, wants max_tokens, and wants the
 * messages to start with the user and alternate, so neighbours of one
 * role are joined and a leading assistant message is dropped.  Empty
 * messages (a reply that failed before its first word) are left out.
 */
#ifndef LLM_REQUEST_H
#define LLM_REQUEST_H

#include <stddef.h>

#include "llm_decode.h"

struct llm_msg {
	int		 assistant;	/* 0 the visitor, 1 the assistant */
	const char	*text;
	size_t		 len;
};

/* The built-in system prompt, with the firm's name in it (malloc'd). */
char	*llm_system_prompt(const char *firm);

/*
 * Replace every "{firm}" in a prompt template with firm (malloc'd), so a
 * firm's own INTAKE_SYSTEM_PROMPT_FILE can name it.  NULL on no memory.
 */
char	*llm_prompt_fill(const char *tmpl, size_t len, const char *firm);

/*
 * The body of a streaming chat request (malloc'd JSON text), or NULL.
 * max_tokens is used by Anthropic (required there) and sent as
 * max_tokens to OpenAI-compatible servers only when > 0.
 */
char	*llm_chat_body(enum llm_proto, const char *model, const char *system,
	    const struct llm_msg *msgs, size_t n, long max_tokens, int stream);

/* The path under the base URL: "/chat/completions" or "/messages". */
const char *llm_path(enum llm_proto);

/*
 * Join INTAKE_LLM_URL's base and an endpoint path (llm_path) into out, by
 * the URL's parts, never by searching the text.  The base is an absolute
 * http:// or https:// URL with a host; the slashes that end its path are
 * dropped, and a query is kept after the joined path (so a gateway's
 * "https://gw/v1?api-version=2" works).  Refused: another scheme, no
 * host, a fragment ('#'), a space or control byte, a base that already
 * ends in the endpoint path (a deployer who pasted the full URL), and a
 * result longer than outsz - 1.  Returns 0, or -1 with the reason in why
 * (out is then "").
 */
int	llm_url_join(char *out, size_t outsz, const char *base,
	    const char *path, char *why, size_t whysz);

#endif
