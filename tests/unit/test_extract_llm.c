/*
 * test_extract_llm.c: the model extraction's wire format, both protocols.
 *
 * extract_body: the request is parsed back with jansson and checked
 * field by field (OpenAI: response_format json_schema, strict, stream
 * false; Anthropic: one tool with the same input_schema, forced through
 * tool_choice), the schema has all six fields required, each a string or
 * null, and nothing else allowed; the transcript carries the visitor's
 * and the assistant's lines, in order, each message exactly len bytes.
 *
 * extract_parse, by table: good answers of both protocols come out
 * normalised; invalid values and non-strings count as empty (strength 0)
 * while valid neighbours are kept; an answer with no usable object at
 * all (content not JSON, no tool_use block, not an object, truncated)
 * is -1 with a reason, and leaves the extraction empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "extract_llm.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const six[FIELD__MAX] = {
	"full_name", "phone", "email", "matter_type", "urgency", "summary",
};

/* ------------------------------------------------------------------ */
/* extract_body */

/* The schema: object, six properties each ["string","null"], all required. */
static void
check_schema(json_t *schema, const char *what, int line)
{
	json_t		*props, *req, *p, *t, *ap;
	const char	*key;
	size_t		 i, j;
	int		 found;

	CHECK_AT(line, json_is_object(schema), "%s: schema is not an object",
	    what);
	if (!json_is_object(schema))
		return;
	CHECK_AT(line, json_is_string(json_object_get(schema, "type")) &&
	    strcmp(json_string_value(json_object_get(schema, "type")),
	    "object") == 0, "%s: schema type is not \"object\"", what);
	ap = json_object_get(schema, "additionalProperties");
	CHECK_AT(line, json_is_false(ap),
	    "%s: additionalProperties is not false", what);
	props = json_object_get(schema, "properties");
	CHECK_AT(line, json_is_object(props) && json_object_size(props) ==
	    FIELD__MAX, "%s: properties is not an object of %d fields", what,
	    FIELD__MAX);
	req = json_object_get(schema, "required");
	CHECK_AT(line, json_is_array(req) && json_array_size(req) ==
	    FIELD__MAX, "%s: required is not an array of %d names", what,
	    FIELD__MAX);
	for (i = 0; i < FIELD__MAX; i++) {
		p = json_object_get(props, six[i]);
		CHECK_AT(line, json_is_object(p), "%s: no property %s", what,
		    six[i]);
		t = json_object_get(p, "type");
		CHECK_AT(line, json_is_array(t) && json_array_size(t) == 2 &&
		    json_is_string(json_array_get(t, 0)) &&
		    json_is_string(json_array_get(t, 1)) &&
		    strcmp(json_string_value(json_array_get(t, 0)),
		    "string") == 0 &&
		    strcmp(json_string_value(json_array_get(t, 1)),
		    "null") == 0,
		    "%s: %s type is not [\"string\",\"null\"]", what, six[i]);
		found = 0;
		for (j = 0; j < json_array_size(req); j++)
			if (json_is_string(json_array_get(req, j)) &&
			    strcmp(json_string_value(json_array_get(req, j)),
			    six[i]) == 0)
				found++;
		CHECK_AT(line, found == 1, "%s: %s is required %d times", what,
		    six[i], found);
	}
	/* nothing but the six */
	json_object_foreach(props, key, p) {
		for (i = 0; i < FIELD__MAX; i++)
			if (strcmp(key, six[i]) == 0)
				break;
		CHECK_AT(line, i < FIELD__MAX, "%s: unexpected property %s",
		    what, key);
	}
}

/* The transcript: each line, in order. */
static void
check_transcript(const char *text, const char *const *want, size_t n,
    const char *what, int line)
{
	const char	*at = text, *p;
	size_t		 i;

	CHECK_AT(line, text != NULL, "%s: no transcript", what);
	if (text == NULL)
		return;
	for (i = 0; i < n; i++) {
		p = strstr(at, want[i]);
		CHECK_AT(line, p != NULL, "%s: transcript lacks (in order) "
		    "\"%s\": \"%s\"", what, want[i], text);
		if (p != NULL)
			at = p + strlen(want[i]);
	}
}

static const char *
str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
str_is(json_t *o, const char *key, const char *want)
{
	const char	*s = str_at(o, key);

	return s != NULL && strcmp(s, want) == 0;
}

static void
test_body(void)
{
	struct field_opts	 opts;
	/* The third message is cut by its len: the tail must not be sent. */
	static const char	 m3[] = "555-123-4567NOT-SENT";
	struct llm_msg		 msgs[] = {
		{ 0, "Hi, I'm \"Jane\" Doe.\nI was hurt.", 0 },
		{ 1, "Thanks, Jane. What number can we reach you on?", 0 },
		{ 0, m3, 12 },
		{ 1, "", 0 },	/* an empty reply: left out */
	};
	const char *const	 lines[] = {
		"Visitor: Hi, I'm \"Jane\" Doe.\nI was hurt.",
		"Assistant: Thanks, Jane. What number can we reach you on?",
		"Visitor: 555-123-4567",
	};
	json_t			*root, *m, *rf, *js, *tools, *tc, *t0;
	json_error_t		 jerr;
	char			*body;
	const char		*tr;
	size_t			 i;

	field_opts_default(&opts);
	msgs[0].len = strlen(msgs[0].text);
	msgs[1].len = strlen(msgs[1].text);

	/* ---- OpenAI-compatible */
	body = extract_body(LLM_PROTO_OPENAI, "gpt-test", &opts, msgs,
	    NELEM(msgs));
	CHECK(body != NULL, "openai: extract_body returned NULL");
	root = body ? json_loads(body, 0, &jerr) : NULL;
	CHECK(json_is_object(root), "openai: body is not a JSON object: %s",
	    body ? jerr.text : "(null)");
	if (root != NULL) {
		CHECK(str_is(root, "model", "gpt-test"), "openai: model");
		CHECK(json_is_false(json_object_get(root, "stream")),
		    "openai: stream is not false");
		CHECK(json_object_get(root, "tools") == NULL,
		    "openai: has tools");
		m = json_object_get(root, "messages");
		CHECK(json_is_array(m) && json_array_size(m) == 2,
		    "openai: messages is not [system, user]");
		CHECK(str_is(json_array_get(m, 0), "role", "system"),
		    "openai: messages[0] is not the system prompt");
		tr = str_at(json_array_get(m, 0), "content");
		CHECK(tr != NULL && strstr(tr, "personal_injury") != NULL &&
		    strstr(tr, "estate_planning") != NULL,
		    "openai: the system prompt lacks the matter types: %s",
		    tr ? tr : "(null)");
		CHECK(str_is(json_array_get(m, 1), "role", "user"),
		    "openai: messages[1] is not the user");
		tr = str_at(json_array_get(m, 1), "content");
		check_transcript(tr, lines, NELEM(lines), "openai", __LINE__);
		CHECK(tr != NULL && strstr(tr, "NOT-SENT") == NULL,
		    "openai: bytes past a message's len were sent");
		CHECK(tr != NULL && strstr(tr, "Assistant: \n") == NULL &&
		    (strlen(tr) < 11 || strcmp(tr + strlen(tr) - 11,
		    "Assistant: ") != 0),
		    "openai: an empty message was sent: \"%s\"", tr);
		rf = json_object_get(root, "response_format");
		CHECK(str_is(rf, "type", "json_schema"),
		    "openai: response_format.type is not json_schema");
		js = json_object_get(rf, "json_schema");
		CHECK(json_is_object(js), "openai: no json_schema object");
		CHECK(json_is_true(json_object_get(js, "strict")),
		    "openai: json_schema.strict is not true");
		CHECK(json_is_string(json_object_get(js, "name")) &&
		    json_string_length(json_object_get(js, "name")) > 0,
		    "openai: json_schema.name is missing (required by OpenAI)");
		check_schema(json_object_get(js, "schema"), "openai",
		    __LINE__);
	}
	json_decref(root);
	free(body);

	/* ---- Anthropic Messages */
	body = extract_body(LLM_PROTO_ANTHROPIC, "claude-test", &opts, msgs,
	    NELEM(msgs));
	CHECK(body != NULL, "anthropic: extract_body returned NULL");
	root = body ? json_loads(body, 0, &jerr) : NULL;
	CHECK(json_is_object(root), "anthropic: body is not a JSON object: %s",
	    body ? jerr.text : "(null)");
	if (root != NULL) {
		CHECK(str_is(root, "model", "claude-test"), "anthropic: model");
		CHECK(json_is_integer(json_object_get(root, "max_tokens")) &&
		    json_integer_value(json_object_get(root, "max_tokens")) > 0,
		    "anthropic: max_tokens missing (required)");
		CHECK(json_object_get(root, "stream") == NULL ||
		    json_is_false(json_object_get(root, "stream")),
		    "anthropic: stream is on");
		CHECK(json_object_get(root, "response_format") == NULL,
		    "anthropic: has an OpenAI response_format");
		tr = str_at(root, "system");
		CHECK(tr != NULL && strstr(tr, "personal_injury") != NULL,
		    "anthropic: system lacks the matter types");
		m = json_object_get(root, "messages");
		CHECK(json_is_array(m) && json_array_size(m) == 1 &&
		    str_is(json_array_get(m, 0), "role", "user"),
		    "anthropic: messages is not one user message");
		tr = str_at(json_array_get(m, 0), "content");
		check_transcript(tr, lines, NELEM(lines), "anthropic",
		    __LINE__);
		CHECK(tr != NULL && strstr(tr, "NOT-SENT") == NULL,
		    "anthropic: bytes past a message's len were sent");
		tools = json_object_get(root, "tools");
		CHECK(json_is_array(tools) && json_array_size(tools) == 1,
		    "anthropic: tools is not one tool");
		t0 = json_array_get(tools, 0);
		CHECK(json_is_string(json_object_get(t0, "name")),
		    "anthropic: the tool has no name");
		check_schema(json_object_get(t0, "input_schema"), "anthropic",
		    __LINE__);
		tc = json_object_get(root, "tool_choice");
		CHECK(str_is(tc, "type", "tool"),
		    "anthropic: tool_choice.type is not \"tool\"");
		CHECK(str_at(tc, "name") != NULL && str_at(t0, "name") != NULL &&
		    strcmp(str_at(tc, "name"), str_at(t0, "name")) == 0,
		    "anthropic: tool_choice.name is not the tool's name");
	}
	json_decref(root);
	free(body);

	/* ---- configured matter types reach the prompt; no messages at all */
	opts.matter_types[0] = "tax";
	opts.matter_types[1] = "audit";
	opts.n_matter_types = 2;
	body = extract_body(LLM_PROTO_OPENAI, "m", &opts, msgs, 0);
	CHECK(body != NULL, "openai, no messages: NULL");
	root = body ? json_loads(body, 0, &jerr) : NULL;
	CHECK(json_is_object(root), "openai, no messages: not JSON");
	if (root != NULL) {
		m = json_object_get(root, "messages");
		tr = str_at(json_array_get(m, 0), "content");
		CHECK(tr != NULL && strstr(tr, "tax, audit") != NULL &&
		    strstr(tr, "personal_injury") == NULL,
		    "configured matter types not in the prompt: %s",
		    tr ? tr : "(null)");
		tr = str_at(json_array_get(m, 1), "content");
		CHECK(tr != NULL && strstr(tr, "Visitor:") == NULL,
		    "no messages, yet a transcript: %s", tr ? tr : "(null)");
	}
	json_decref(root);
	free(body);
	/* The most matter types, each long: the list is cut, never overrun. */
	{
		static char	 names[FIELD_MATTER_TYPES_MAX][48];
		size_t		 k;

		for (k = 0; k < FIELD_MATTER_TYPES_MAX; k++) {
			snprintf(names[k], sizeof(names[k]),
			    "matter_type_number_%02zu_with_a_long_name", k);
			opts.matter_types[k] = names[k];
		}
		opts.n_matter_types = FIELD_MATTER_TYPES_MAX;
		for (k = 0; k < 2; k++) {
			body = extract_body(k ? LLM_PROTO_ANTHROPIC :
			    LLM_PROTO_OPENAI, "m", &opts, msgs, NELEM(msgs));
			root = body ? json_loads(body, 0, NULL) : NULL;
			CHECK(json_is_object(root), "%s, 32 long matter types: "
			    "not JSON", k ? "anthropic" : "openai");
			tr = k ? str_at(root, "system") : str_at(json_array_get(
			    json_object_get(root, "messages"), 0), "content");
			CHECK(tr != NULL && strstr(tr,
			    "matter_type_number_00_with_a_long_name") != NULL,
			    "%s: the first matter type is not in the prompt",
			    k ? "anthropic" : "openai");
			CHECK(tr != NULL && strstr(tr, "urgency: one of low") !=
			    NULL, "%s: the prompt after the list is lost",
			    k ? "anthropic" : "openai");
			json_decref(root);
			free(body);
		}
		field_opts_default(&opts);
	}
	for (i = 0; i < 2; i++) {
		body = extract_body(i ? LLM_PROTO_ANTHROPIC : LLM_PROTO_OPENAI,
		    "m", &opts, msgs, 1);
		root = body ? json_loads(body, 0, NULL) : NULL;
		CHECK(json_is_object(root), "%s: one message: not JSON",
		    i ? "anthropic" : "openai");
		json_decref(root);
		free(body);
	}
}

/* ------------------------------------------------------------------ */
/* extract_parse */

/* The model's object: as OpenAI content (a string), or as a tool input. */
static char *
wrap_openai(const char *content)
{
	json_t	*r;
	char	*s;

	r = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}",
	    "id", "chatcmpl-1", "object", "chat.completion", "choices",
	    "index", 0, "message", "role", "assistant", "content", content,
	    "finish_reason", "stop");
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return s;
}

static char *
wrap_anthropic(const char *input)
{
	json_t	*r, *in;
	char	*s;

	if ((in = json_loads(input, JSON_DECODE_ANY, NULL)) == NULL)
		return NULL;
	r = json_pack("{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s, s:s, s:o}], "
	    "s:s}", "id", "msg_1", "type", "message", "content",
	    "type", "text", "text", "Recording the lead.",
	    "type", "tool_use", "id", "toolu_1", "name", "record_lead",
	    "input", in, "stop_reason", "tool_use");
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return s;
}

enum wrap {
	W_NONE,		/* body as written */
	W_OPENAI,	/* body is the content string */
	W_ANTHROPIC,	/* body is the tool_use input */
};

struct prow {
	enum llm_proto	 proto;
	enum wrap	 wrap;
	const char	*body;
	long		 cut;		/* > 0: give only this many bytes;
					   < 0: all but -cut bytes */
	int		 rc;
	/* per field: want value ("" = empty) and strength */
	const char	*want[FIELD__MAX];
	int		 strength[FIELD__MAX];
	int		 line;
};

#define GOOD_OBJ \
	"{\"full_name\":\"jane doe\",\"phone\":\"(555) 123-4567\"," \
	"\"email\":\"Jane.Doe@Example.COM\",\"matter_type\":\"car accident\"," \
	"\"urgency\":\"urgent\",\"summary\":\"Rear-ended last week; wants " \
	"advice on the insurer's offer.\"}"
#define GOOD_WANT \
	{ "Jane Doe", "+15551234567", "jane.doe@example.com", \
	  "personal_injury", "high", \
	  "Rear-ended last week; wants advice on the insurer's offer." }
#define GOOD_STR	{ 2, 2, 2, 2, 1, 1 }
#define NONE_WANT	{ "", "", "", "", "", "" }
#define NONE_STR	{ 0, 0, 0, 0, 0, 0 }

#define INVALID_OBJ \
	"{\"full_name\":\"Jane Doe\",\"phone\":\"call me\"," \
	"\"email\":\"nope\",\"matter_type\":\"space law\"," \
	"\"urgency\":\"whenever-ish\",\"summary\":\"Needs help.\"}"
#define INVALID_WANT	{ "Jane Doe", "", "", "", "", "Needs help." }
#define INVALID_STR	{ 2, 0, 0, 0, 0, 1 }

#define TYPES_OBJ \
	"{\"full_name\":[\"Jane\",\"Doe\"],\"phone\":5551234567," \
	"\"email\":{\"v\":\"jane@example.com\"},\"matter_type\":true," \
	"\"urgency\":1.5,\"summary\":\"Fired without notice.\"}"
#define TYPES_WANT	{ "", "", "", "", "", "Fired without notice." }
#define TYPES_STR	{ 0, 0, 0, 0, 0, 1 }

#define NULLS_OBJ \
	"{\"full_name\":null,\"phone\":null,\"email\":\"JANE@EXAMPLE.ORG\"," \
	"\"matter_type\":null,\"urgency\":null,\"summary\":null}"
#define NULLS_WANT	{ "", "", "jane@example.org", "", "", "" }
#define NULLS_STR	{ 0, 0, 2, 0, 0, 0 }

#define OTHER_OBJ \
	"{\"full_name\":\"Jane\",\"phone\":\"123-4567\",\"email\":\"\"," \
	"\"matter_type\":\"other\",\"urgency\":\"LOW\",\"summary\":\"\"," \
	"\"notes\":\"an extra property is ignored\"}"
#define OTHER_WANT	{ "Jane", "1234567", "", "other", "low", "" }
#define OTHER_STR	{ 1, 1, 0, 1, 1, 0 }

static const struct prow prows[] = {
	/* good answers */
	{ LLM_PROTO_OPENAI, W_OPENAI, GOOD_OBJ, 0, 0, GOOD_WANT, GOOD_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, GOOD_OBJ, 0, 0, GOOD_WANT,
	    GOOD_STR, __LINE__ },
	/* a real-looking OpenAI answer, written out */
	{ LLM_PROTO_OPENAI, W_NONE,
	    "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":\"{\\\"full_name\\\":\\\"Jane Doe\\\",\\\"phone\\\":"
	    "\\\"555.123.4567\\\",\\\"email\\\":null,\\\"matter_type\\\":"
	    "\\\"divorce\\\",\\\"urgency\\\":\\\"emergency\\\",\\\"summary\\\":"
	    "null}\",\"refusal\":null},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":10}}", 0, 0,
	    { "Jane Doe", "+15551234567", "", "family", "emergency", "" },
	    { 2, 2, 0, 2, 1, 0 }, __LINE__ },
	/* a real-looking Anthropic answer: the tool_use block after text */
	{ LLM_PROTO_ANTHROPIC, W_NONE,
	    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"Sure.\"},"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":"
	    "\"record_lead\",\"input\":{\"full_name\":\"Ann Lee\",\"phone\":"
	    "\"+44 20 7946 0958\",\"email\":\"ann@lee.co.uk\",\"matter_type\":"
	    "\"immigration\",\"urgency\":\"normal\",\"summary\":\"Visa.\"}}],"
	    "\"stop_reason\":\"tool_use\"}", 0, 0,
	    { "Ann Lee", "+442079460958", "ann@lee.co.uk", "immigration",
	      "normal", "Visa." }, { 2, 2, 2, 2, 1, 1 }, __LINE__ },

	/* invalid values: those fields 0, the valid ones kept */
	{ LLM_PROTO_OPENAI, W_OPENAI, INVALID_OBJ, 0, 0, INVALID_WANT,
	    INVALID_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, INVALID_OBJ, 0, 0, INVALID_WANT,
	    INVALID_STR, __LINE__ },
	/* non-strings count as empty */
	{ LLM_PROTO_OPENAI, W_OPENAI, TYPES_OBJ, 0, 0, TYPES_WANT, TYPES_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, TYPES_OBJ, 0, 0, TYPES_WANT,
	    TYPES_STR, __LINE__ },
	/* nulls are empty; the one string is kept */
	{ LLM_PROTO_OPENAI, W_OPENAI, NULLS_OBJ, 0, 0, NULLS_WANT, NULLS_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, NULLS_OBJ, 0, 0, NULLS_WANT,
	    NULLS_STR, __LINE__ },
	/* weak values keep their weak strength; extra keys ignored */
	{ LLM_PROTO_OPENAI, W_OPENAI, OTHER_OBJ, 0, 0, OTHER_WANT, OTHER_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, OTHER_OBJ, 0, 0, OTHER_WANT,
	    OTHER_STR, __LINE__ },
	/* an empty object, and fields missing: a usable, empty answer */
	{ LLM_PROTO_OPENAI, W_OPENAI, "{}", 0, 0, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, "{\"phone\":\"5551234567\"}", 0, 0,
	    { "", "+15551234567", "", "", "", "" }, { 0, 2, 0, 0, 0, 0 },
	    __LINE__ },

	/* no usable object: -1 */
	{ LLM_PROTO_OPENAI, W_OPENAI, "Sure! Her name is Jane Doe.", 0, -1,
	    NONE_WANT, NONE_STR, __LINE__ },		/* content not JSON */
	{ LLM_PROTO_OPENAI, W_OPENAI, "{\"full_name\":\"Jane Doe\"", 0, -1,
	    NONE_WANT, NONE_STR, __LINE__ },		/* content cut short */
	{ LLM_PROTO_OPENAI, W_OPENAI, "[{\"full_name\":\"Jane Doe\"}]", 0,
	    -1, NONE_WANT, NONE_STR, __LINE__ },	/* an array */
	{ LLM_PROTO_OPENAI, W_OPENAI, "\"Jane Doe\"", 0, -1, NONE_WANT,
	    NONE_STR, __LINE__ },			/* a string */
	{ LLM_PROTO_OPENAI, W_OPENAI, "42", 0, -1, NONE_WANT, NONE_STR,
	    __LINE__ },					/* a number */
	{ LLM_PROTO_OPENAI, W_OPENAI, "", 0, -1, NONE_WANT, NONE_STR,
	    __LINE__ },					/* empty content */
	{ LLM_PROTO_OPENAI, W_NONE,
	    "{\"choices\":[{\"message\":{\"role\":\"assistant\","
	    "\"content\":null,\"refusal\":\"I can't help with that.\"}}]}",
	    0, -1, NONE_WANT, NONE_STR, __LINE__ },	/* a refusal */
	{ LLM_PROTO_OPENAI, W_NONE, "{\"choices\":[]}", 0, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
	{ LLM_PROTO_OPENAI, W_NONE, "{\"error\":{\"message\":\"overloaded\"}}",
	    0, -1, NONE_WANT, NONE_STR, __LINE__ },
	{ LLM_PROTO_OPENAI, W_NONE, "[]", 0, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_OPENAI, W_NONE, "", 0, -1, NONE_WANT, NONE_STR, __LINE__ },
	/* the Anthropic shape read as OpenAI, and the other way round */
	{ LLM_PROTO_OPENAI, W_ANTHROPIC, GOOD_OBJ, 0, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_OPENAI, GOOD_OBJ, 0, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	/* no tool_use block */
	{ LLM_PROTO_ANTHROPIC, W_NONE,
	    "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"{\\\"full_name\\\":\\\"Jane Doe\\\"}\"}],\"stop_reason\":"
	    "\"end_turn\"}", 0, -1, NONE_WANT, NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_NONE, "{\"type\":\"message\",\"content\":[]}",
	    0, -1, NONE_WANT, NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_NONE, "{\"type\":\"message\"}", 0, -1,
	    NONE_WANT, NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_NONE,
	    "{\"content\":[{\"type\":\"tool_use\",\"name\":\"record_lead\"}]}",
	    0, -1, NONE_WANT, NONE_STR, __LINE__ },	/* no input */
	/* tool input not an object */
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, "[\"Jane Doe\"]", 0, -1,
	    NONE_WANT, NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, "\"Jane Doe\"", 0, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_NONE,
	    "{\"error\":{\"type\":\"overloaded_error\"}}", 0, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
	/* truncated bodies: a good answer cut short (by len, too) */
	{ LLM_PROTO_OPENAI, W_OPENAI, GOOD_OBJ, -1, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_OPENAI, W_OPENAI, GOOD_OBJ, -40, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_OPENAI, W_OPENAI, GOOD_OBJ, 30, -1, NONE_WANT, NONE_STR,
	    __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, GOOD_OBJ, -1, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, GOOD_OBJ, -60, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
	{ LLM_PROTO_ANTHROPIC, W_ANTHROPIC, GOOD_OBJ, 1, -1, NONE_WANT,
	    NONE_STR, __LINE__ },
};

static void
test_parse(void)
{
	struct field_opts	 opts;
	struct extraction	*ex;
	const struct prow	*r;
	char			*body, why[160], small[8];
	size_t			 i, len;
	int			 f, rc;

	field_opts_default(&opts);
	if ((ex = malloc(sizeof(*ex))) == NULL) {
		CHECK(0, "out of memory");
		return;
	}
	for (i = 0; i < NELEM(prows); i++) {
		r = &prows[i];
		switch (r->wrap) {
		case W_OPENAI:
			body = wrap_openai(r->body);
			break;
		case W_ANTHROPIC:
			body = wrap_anthropic(r->body);
			break;
		default:
			body = strdup(r->body);
			break;
		}
		CHECK_AT(r->line, body != NULL, "could not build the body");
		if (body == NULL)
			continue;
		len = strlen(body);
		if (r->cut > 0 && (size_t)r->cut < len)
			len = (size_t)r->cut;
		else if (r->cut < 0 && (size_t)-r->cut <= len)
			len -= (size_t)-r->cut;
		/* Stale contents must not survive the parse. */
		memset(ex, 0, sizeof(*ex));
		for (f = 0; f < FIELD__MAX; f++) {
			snprintf(ex->value[f], sizeof(ex->value[f]), "stale");
			ex->strength[f] = 2;
		}
		snprintf(why, sizeof(why), "untouched");
		rc = extract_parse(r->proto, body, len, &opts, ex, why,
		    sizeof(why));
		CHECK_AT(r->line, rc == r->rc, "rc %d, want %d (why: %s; "
		    "body %.*s)", rc, r->rc, why, (int)len, body);
		if (rc == -1)
			CHECK_AT(r->line, why[0] != '\0' &&
			    strcmp(why, "untouched") != 0,
			    "-1 without a reason");
		for (f = 0; f < FIELD__MAX; f++) {
			CHECK_AT(r->line, ex->strength[f] == r->strength[f],
			    "%s: strength %d, want %d (value \"%s\")", six[f],
			    ex->strength[f], r->strength[f], ex->value[f]);
			CHECK_AT(r->line, strcmp(ex->value[f], r->want[f]) ==
			    0, "%s: \"%s\", want \"%s\"", six[f],
			    ex->value[f], r->want[f]);
		}
		/* A tiny reason buffer is never overrun (ASan watches). */
		memset(small, 'x', sizeof(small));
		(void)extract_parse(r->proto, body, len, &opts, ex, small,
		    sizeof(small));
		if (rc == -1)
			CHECK_AT(r->line, memchr(small, '\0', sizeof(small)) !=
			    NULL, "the reason is not terminated in a small "
			    "buffer");
		free(body);
	}
	free(ex);
}

/* The request built here and a mock's answer to it, end to end: the
 * field names in the schema are the names extract_parse reads. */
static void
test_roundtrip(void)
{
	struct field_opts	 opts;
	struct extraction	 *ex;
	struct llm_msg		 msg = { 0, "hello", 5 };
	json_t			*root, *props, *obj, *v;
	const char		*key;
	char			*body, *content, *ans, why[160];
	int			 p, f, rc;

	field_opts_default(&opts);
	if ((ex = malloc(sizeof(*ex))) == NULL)
		return;
	for (p = 0; p < 2; p++) {
		body = extract_body(p ? LLM_PROTO_ANTHROPIC : LLM_PROTO_OPENAI,
		    "m", &opts, &msg, 1);
		root = body ? json_loads(body, 0, NULL) : NULL;
		props = p ? json_object_get(json_object_get(json_array_get(
		    json_object_get(root, "tools"), 0), "input_schema"),
		    "properties") : json_object_get(json_object_get(
		    json_object_get(json_object_get(root, "response_format"),
		    "json_schema"), "schema"), "properties");
		obj = json_object();
		json_object_foreach(props, key, v) {
			if (strcmp(key, "phone") == 0)
				json_object_set_new(obj, key,
				    json_string("555-123-4567"));
			else
				json_object_set_new(obj, key, json_null());
		}
		content = json_dumps(obj, JSON_COMPACT);
		ans = content == NULL ? NULL : p ? wrap_anthropic(content) :
		    wrap_openai(content);
		rc = ans ? extract_parse(p ? LLM_PROTO_ANTHROPIC :
		    LLM_PROTO_OPENAI, ans, strlen(ans), &opts, ex, why,
		    sizeof(why)) : -2;
		CHECK(rc == 0, "%s round trip: rc %d", p ? "anthropic" :
		    "openai", rc);
		CHECK(rc == 0 && ex->strength[FIELD_PHONE] == 2 &&
		    strcmp(ex->value[FIELD_PHONE], "+15551234567") == 0,
		    "%s round trip: the schema's phone is not read back",
		    p ? "anthropic" : "openai");
		for (f = 0; f < FIELD__MAX; f++)
			if (f != FIELD_PHONE)
				CHECK(ex->strength[f] == 0, "%s round trip: "
				    "%s not empty", p ? "anthropic" : "openai",
				    six[f]);
		free(ans);
		free(content);
		json_decref(obj);
		json_decref(root);
		free(body);
	}
	free(ex);
}

int
main(void)
{
	test_body();
	test_parse();
	test_roundtrip();
	return check_done("extract_llm");
}
