/*
 * llm_request.c: the request bodies of both provider protocols, built
 * with jansson so the visitor's text is always escaped correctly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "llm_request.h"

static const char system_tmpl[] =
    "You are the virtual intake assistant on the website of {firm}. "
    "You are an automated assistant, not a person and not a lawyer: say so "
    "if asked, and never give legal advice or predict an outcome. Your "
    "job is to gather, politely and briefly, what the firm needs to call "
    "the visitor back: their full name; a phone number or an e-mail "
    "address; what happened (the kind of matter and a short account); and "
    "how urgent it is (any deadline, court date or danger). Ask for one "
    "or two missing things at a time, acknowledge what the visitor has "
    "told you, and keep each reply to a few sentences of plain text "
    "without markdown. If someone may be in danger, tell them to call "
    "their local emergency number now. When you have everything, thank "
    "them and say someone from {firm} will be in touch.";

char *
llm_prompt_fill(const char *tmpl, size_t len, const char *firm)
{
	static const char	 key[] = "{firm}";
	const size_t		 klen = sizeof(key) - 1;
	size_t			 flen, n = 0, i, o;
	char			*out;

	if (firm == NULL || *firm == '\0')
		firm = "our firm";
	flen = strlen(firm);
	for (i = 0; i + klen <= len; i++)
		if (memcmp(tmpl + i, key, klen) == 0) {
			n++;
			i += klen - 1;
		}
	/* len + n * flen cannot overflow for any template we can hold. */
	if (n > 0 && flen > (SIZE_MAX - len - 1) / n)
		return NULL;
	if ((out = malloc(len + n * flen + 1)) == NULL)
		return NULL;
	for (i = o = 0; i < len; ) {
		if (i + klen <= len && memcmp(tmpl + i, key, klen) == 0) {
			memcpy(out + o, firm, flen);
			o += flen;
			i += klen;
		} else
			out[o++] = tmpl[i++];
	}
	out[o] = '\0';
	return out;
}

char *
llm_system_prompt(const char *firm)
{
	return llm_prompt_fill(system_tmpl, sizeof(system_tmpl) - 1, firm);
}

const char *
llm_path(enum llm_proto p)
{
	return p == LLM_PROTO_ANTHROPIC ? "/messages" : "/chat/completions";
}

int
llm_url_join(char *out, size_t outsz, const char *base, const char *path,
    char *why, size_t whysz)
{
	const char	*host, *rest, *end, *query;
	size_t		 i, hlen, blen, plen, qlen;

	if (outsz > 0)
		out[0] = '\0';
	if (base == NULL || *base == '\0') {
		snprintf(why, whysz, "INTAKE_LLM_URL is not set");
		return -1;
	}
	for (i = 0; base[i] != '\0'; i++)
		if ((unsigned char)base[i] <= 0x20 || base[i] == 0x7f) {
			snprintf(why, whysz, "INTAKE_LLM_URL has a space or a "
			    "control character");
			return -1;
		}
	if (strncasecmp(base, "http://", 7) == 0)
		host = base + 7;
	else if (strncasecmp(base, "https://", 8) == 0)
		host = base + 8;
	else {
		snprintf(why, whysz, "INTAKE_LLM_URL must start with http:// "
		    "or https://");
		return -1;
	}
	if (strchr(base, '#') != NULL) {
		snprintf(why, whysz, "INTAKE_LLM_URL has a fragment ('#')");
		return -1;
	}
	if ((hlen = strcspn(host, "/?")) == 0) {
		snprintf(why, whysz, "INTAKE_LLM_URL has no host");
		return -1;
	}
	/* base = scheme://host [path] [?query]; the path loses its end '/'. */
	rest = host + hlen;
	query = strchr(rest, '?');
	end = query != NULL ? query : rest + strlen(rest);
	while (end > rest && end[-1] == '/')
		end--;
	while (*path == '/')
		path++;
	plen = strlen(path);
	if (plen > 0 && (size_t)(end - rest) > plen &&
	    *(end - plen - 1) == '/' &&
	    memcmp(end - plen, path, plen) == 0) {
		snprintf(why, whysz, "INTAKE_LLM_URL is the base URL, without "
		    "/%s", path);
		return -1;
	}
	blen = (size_t)(end - base);
	qlen = query != NULL ? strlen(query) : 0;
	/* Each part is a piece of a NUL-terminated string: no overflow. */
	if (blen + 1 + plen + qlen >= outsz) {
		snprintf(why, whysz, "INTAKE_LLM_URL is too long");
		return -1;
	}
	memcpy(out, base, blen);
	out[blen] = '/';
	memcpy(out + blen + 1, path, plen);
	memcpy(out + blen + 1 + plen, query != NULL ? query : "", qlen);
	out[blen + 1 + plen + qlen] = '\0';
	return 0;
}

/* Append {"role":role,"content":text} to arr; 0, or -1. */
static int
llm_append(json_t *arr, const char *role, const char *text, size_t len)
{
	json_t	*m;

	m = json_pack("{s:s, s:s%}", "role", role, "content", text, len);
	return m == NULL ? -1 : json_array_append_new(arr, m);
}

/* Anthropic: join neighbours of one role, start with the visitor. */
static json_t *
llm_alternate(const struct llm_msg *msgs, size_t n)
{
	json_t		*arr = json_array();
	char		*buf = NULL, *nb;
	size_t		 i, len = 0;
	int		 role = -1;

	if (arr == NULL)
		return NULL;
	for (i = 0; i <= n; i++) {
		if (i < n && (msgs[i].len == 0 ||
		    (role == -1 && msgs[i].assistant)))
			continue;
		if (i == n || msgs[i].assistant != role) {
			if (role != -1 && llm_append(arr, role ? "assistant" :
			    "user", buf, len) == -1)
				goto fail;
			if (i == n)
				break;
			role = msgs[i].assistant;
			len = 0;
		} else {
			if ((nb = realloc(buf, len + 2)) == NULL)
				goto fail;
			buf = nb;
			memcpy(buf + len, "\n\n", 2);
			len += 2;
		}
		if (msgs[i].len > SIZE_MAX - len - 2 ||
		    (nb = realloc(buf, len + msgs[i].len + 2)) == NULL)
			goto fail;
		buf = nb;
		memcpy(buf + len, msgs[i].text, msgs[i].len);
		len += msgs[i].len;
	}
	free(buf);
	return arr;
fail:
	free(buf);
	json_decref(arr);
	return NULL;
}

char *
llm_chat_body(enum llm_proto proto, const char *model, const char *system,
    const struct llm_msg *msgs, size_t n, long max_tokens, int stream)
{
	json_t	*body = NULL, *arr = NULL;
	char	*s = NULL;
	size_t	 i;

	if (proto == LLM_PROTO_ANTHROPIC) {
		if ((arr = llm_alternate(msgs, n)) == NULL)
			return NULL;
		/* "o" steals arr, also when json_pack fails. */
		body = json_pack("{s:s, s:I, s:b, s:s, s:o}", "model", model,
		    "max_tokens", (json_int_t)(max_tokens > 0 ? max_tokens :
		    1024), "stream", stream, "system", system ? system : "",
		    "messages", arr);
	} else {
		if ((arr = json_array()) == NULL)
			return NULL;
		if (system != NULL && *system != '\0' &&
		    llm_append(arr, "system", system, strlen(system)) == -1)
			goto out;
		for (i = 0; i < n; i++)
			if (msgs[i].len > 0 && llm_append(arr,
			    msgs[i].assistant ? "assistant" : "user",
			    msgs[i].text, msgs[i].len) == -1)
				goto out;
		body = json_pack("{s:s, s:b, s:O}", "model", model,
		    "stream", stream, "messages", arr);
		if (body != NULL && max_tokens > 0)
			json_object_set_new(body, "max_tokens",
			    json_integer(max_tokens));
	}
	if (body != NULL)
		s = json_dumps(body, JSON_COMPACT);
out:
	if (proto != LLM_PROTO_ANTHROPIC)
		json_decref(arr);
	json_decref(body);
	return s;
}
