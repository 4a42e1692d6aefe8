/*
 * test_llm_request.c: joining INTAKE_LLM_URL's base and the endpoint
 * path (llm_url_join), by table.
 *
 * The join goes by the URL's parts: a host that happens to begin with
 * "messages" or "chat" is a host like any other, a trailing slash is one
 * base with or without it, a query stays at the end, and what cannot be
 * joined (another scheme, no host, a fragment, a space, the endpoint
 * already there, a result too long for the buffer) is refused with a
 * reason and an empty out.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "llm_request.h"

#define CHAT	"/chat/completions"
#define MSGS	"/messages"

static const struct join_row {
	const char	*base;
	const char	*path;
	const char	*want;		/* NULL: refused */
	const char	*why;		/* on refusal: in the reason */
	int		 line;
} join_rows[] = {
	/* The usual bases, with and without a trailing slash. */
	{ "https://api.openai.com/v1", CHAT,
	    "https://api.openai.com/v1/chat/completions", NULL, __LINE__ },
	{ "https://api.openai.com/v1/", CHAT,
	    "https://api.openai.com/v1/chat/completions", NULL, __LINE__ },
	{ "https://api.openai.com/v1//", CHAT,
	    "https://api.openai.com/v1/chat/completions", NULL, __LINE__ },
	{ "https://api.anthropic.com/v1", MSGS,
	    "https://api.anthropic.com/v1/messages", NULL, __LINE__ },
	{ "https://api.anthropic.com/v1/", MSGS,
	    "https://api.anthropic.com/v1/messages", NULL, __LINE__ },
	{ "http://127.0.0.1:11434/v1", CHAT,
	    "http://127.0.0.1:11434/v1/chat/completions", NULL, __LINE__ },
	{ "http://[::1]:8080/v1/", CHAT,
	    "http://[::1]:8080/v1/chat/completions", NULL, __LINE__ },
	/* Hosts named like the endpoints (the bug: "…/v/messages"). */
	{ "https://messages.example.com/v1", MSGS,
	    "https://messages.example.com/v1/messages", NULL, __LINE__ },
	{ "https://messages.example.com/v1/", MSGS,
	    "https://messages.example.com/v1/messages", NULL, __LINE__ },
	{ "https://messages.example.com", MSGS,
	    "https://messages.example.com/messages", NULL, __LINE__ },
	{ "https://chat.example.com/v1", CHAT,
	    "https://chat.example.com/v1/chat/completions", NULL, __LINE__ },
	{ "http://messages/v1", MSGS, "http://messages/v1/messages", NULL,
	    __LINE__ },
	{ "https://gw.example.com/messages-proxy/v1", MSGS,
	    "https://gw.example.com/messages-proxy/v1/messages", NULL,
	    __LINE__ },
	/* No path, or only a slash. */
	{ "https://h", CHAT, "https://h/chat/completions", NULL, __LINE__ },
	{ "https://h/", CHAT, "https://h/chat/completions", NULL, __LINE__ },
	/* The scheme in any case; a user and a port. */
	{ "HTTPS://h/v1", MSGS, "HTTPS://h/v1/messages", NULL, __LINE__ },
	{ "Http://h:81/v1", MSGS, "Http://h:81/v1/messages", NULL, __LINE__ },
	{ "https://u@h/v1", MSGS, "https://u@h/v1/messages", NULL, __LINE__ },
	/* A query is kept after the joined path. */
	{ "https://gw/openai/v1?api-version=2024-10-21", CHAT,
	    "https://gw/openai/v1/chat/completions?api-version=2024-10-21",
	    NULL, __LINE__ },
	{ "https://gw/openai/v1/?a=1&b=/x/", CHAT,
	    "https://gw/openai/v1/chat/completions?a=1&b=/x/", NULL,
	    __LINE__ },
	{ "https://gw?k=v", MSGS, "https://gw/messages?k=v", NULL, __LINE__ },
	/* The path without its slash is joined the same. */
	{ "https://h/v1", "messages", "https://h/v1/messages", NULL,
	    __LINE__ },
	/* An endpoint-like segment that is not the whole end is fine. */
	{ "https://h/v1/completions", CHAT,
	    "https://h/v1/completions/chat/completions", NULL, __LINE__ },
	{ "https://h/xmessages", MSGS, "https://h/xmessages/messages", NULL,
	    __LINE__ },

	/* Refused. */
	{ "", CHAT, NULL, "not set", __LINE__ },
	{ "api.openai.com/v1", CHAT, NULL, "http", __LINE__ },
	{ "ftp://h/v1", CHAT, NULL, "http", __LINE__ },
	{ "file:///etc/passwd", CHAT, NULL, "http", __LINE__ },
	{ "http:/h/v1", CHAT, NULL, "http", __LINE__ },
	{ "https://", CHAT, NULL, "no host", __LINE__ },
	{ "https:///v1", CHAT, NULL, "no host", __LINE__ },
	{ "https://?x=1", CHAT, NULL, "no host", __LINE__ },
	{ "https://h/v1#frag", CHAT, NULL, "fragment", __LINE__ },
	{ "https://h/v1?x=1#f", CHAT, NULL, "fragment", __LINE__ },
	{ "https://h/v 1", CHAT, NULL, "space", __LINE__ },
	{ " https://h/v1", CHAT, NULL, "space", __LINE__ },
	{ "https://h/v1\r\nX: y", CHAT, NULL, "control", __LINE__ },
	{ "https://h/v1\t", CHAT, NULL, "control", __LINE__ },
	{ "https://h/v1\x7f", CHAT, NULL, "control", __LINE__ },
	/* The full endpoint URL pasted as the base. */
	{ "https://api.openai.com/v1/chat/completions", CHAT, NULL,
	    "/chat/completions", __LINE__ },
	{ "https://api.openai.com/v1/chat/completions/", CHAT, NULL,
	    "/chat/completions", __LINE__ },
	{ "https://api.anthropic.com/v1/messages", MSGS, NULL, "/messages",
	    __LINE__ },
	{ "https://h/messages?x=1", MSGS, NULL, "/messages", __LINE__ },
};

static void
test_join(void)
{
	const struct join_row	*t;
	char			 out[600], why[128];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(join_rows) / sizeof(join_rows[0]); i++) {
		t = &join_rows[i];
		memset(out, 'Z', sizeof(out));
		why[0] = '\0';
		rc = llm_url_join(out, sizeof(out), t->base, t->path, why,
		    sizeof(why));
		if (t->want != NULL) {
			CHECK_AT(t->line, rc == 0 && strcmp(out, t->want) == 0,
			    "\"%s\" + \"%s\": rc %d \"%s\" (%s), want \"%s\"",
			    t->base, t->path, rc, rc == 0 ? out : "", why,
			    t->want);
			continue;
		}
		CHECK_AT(t->line, rc == -1 && out[0] == '\0',
		    "\"%s\" + \"%s\": rc %d \"%.100s\", want refused",
		    t->base, t->path, rc, rc == 0 ? out : "");
		CHECK_AT(t->line, strstr(why, t->why) != NULL,
		    "\"%s\": reason \"%s\" does not say \"%s\"", t->base, why,
		    t->why);
	}
}

/* The result must fit: exactly, or refused (never cut). */
static void
test_join_sizes(void)
{
	const char	*base = "https://h/v1", *want =
			    "https://h/v1/messages";
	char		 out[64], why[128];
	size_t		 need = strlen(want) + 1, sz;
	int		 rc;

	for (sz = 0; sz <= need + 1; sz++) {
		memset(out, 'Z', sizeof(out));
		rc = llm_url_join(out, sz, base, MSGS, why, sizeof(why));
		if (sz >= need)
			CHECK(rc == 0 && strcmp(out, want) == 0,
			    "outsz %zu: rc %d", sz, rc);
		else {
			CHECK(rc == -1 && strstr(why, "too long") != NULL,
			    "outsz %zu (need %zu): rc %d, why \"%s\"", sz,
			    need, rc, why);
			CHECK(sz == 0 || out[0] == '\0', "outsz %zu: out not "
			    "emptied", sz);
			CHECK(out[sz] == 'Z', "outsz %zu: wrote past it", sz);
		}
	}
}

/* The endpoints themselves. */
static void
test_paths(void)
{
	CHECK(strcmp(llm_path(LLM_PROTO_OPENAI), CHAT) == 0, "openai path");
	CHECK(strcmp(llm_path(LLM_PROTO_ANTHROPIC), MSGS) == 0,
	    "anthropic path");
}

int
main(void)
{
	test_join();
	test_join_sizes();
	test_paths();
	return check_done("llm_request");
}
