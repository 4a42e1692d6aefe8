/*
 * extract_llm.c: the model extraction's wire format, both protocols.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extract_llm.h"

#define TOOL_NAME	"record_lead"

static const char instructions[] =
    "You read an intake conversation between a law firm's website "
    "assistant and a visitor, and fill in a lead record from what the "
    "VISITOR said. Use null for anything the visitor has not stated; never "
    "guess or invent. If the visitor corrected something, use the "
    "correction. full_name: the visitor's own name. phone: as written. "
    "email: as written. matter_type: one of %s (other when none fits). "
    "urgency: one of low, normal, high, emergency. summary: two or three "
    "plain sentences on what happened and what the visitor wants.";

/* The JSON schema of the six fields (new reference). */
static json_t *
extract_schema(void)
{
	json_t	*props, *req;
	int	 f;

	props = json_object();
	req = json_array();
	if (props == NULL || req == NULL)
		goto fail;
	for (f = 0; f < FIELD__MAX; f++) {
		json_object_set_new(props, field_name((enum field)f),
		    json_pack("{s:[s,s]}", "type", "string", "null"));
		json_array_append_new(req,
		    json_string(field_name((enum field)f)));
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object",
	    "properties", props, "required", req,
	    "additionalProperties", 0);
fail:
	json_decref(props);
	json_decref(req);
	return NULL;
}

/* "Visitor: …\n\nAssistant: …" of the conversation, malloc'd. */
static char *
extract_transcript(const struct llm_msg *msgs, size_t n)
{
	size_t	 len = 1, i, o = 0;
	char	*s;

	for (i = 0; i < n; i++) {
		if (msgs[i].len > SIZE_MAX / 2 - len - 16)
			return NULL;
		len += msgs[i].len + 16;
	}
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (msgs[i].len == 0)
			continue;
		o += (size_t)snprintf(s + o, len - o, "%s%s: ",
		    o ? "\n\n" : "", msgs[i].assistant ? "Assistant" :
		    "Visitor");
		memcpy(s + o, msgs[i].text, msgs[i].len);
		o += msgs[i].len;
	}
	s[o] = '\0';
	return s;
}

char *
extract_body(enum llm_proto proto, const char *model,
    const struct field_opts *opts, const struct llm_msg *msgs, size_t n)
{
	json_t	*body = NULL, *schema;
	char	*transcript, *out = NULL, types[600], sys[1600];
	size_t	 i, o = 0;

	types[0] = '\0';
	for (i = 0; i < opts->n_matter_types && o < sizeof(types) - 1; i++)
		o += (size_t)snprintf(types + o, sizeof(types) - o, "%s%s",
		    i ? ", " : "", opts->matter_types[i]);
	if (o >= sizeof(types))
		types[sizeof(types) - 1] = '\0';
	snprintf(sys, sizeof(sys), instructions, types);
	if ((transcript = extract_transcript(msgs, n)) == NULL)
		return NULL;
	if ((schema = extract_schema()) == NULL) {
		free(transcript);
		return NULL;
	}
	if (proto == LLM_PROTO_ANTHROPIC)
		body = json_pack("{s:s, s:i, s:s, s:[{s:s, s:s}], "
		    "s:[{s:s, s:s, s:o}], s:{s:s, s:s}}",
		    "model", model, "max_tokens", 1024, "system", sys,
		    "messages", "role", "user", "content", transcript,
		    "tools", "name", TOOL_NAME, "description",
		    "Record the lead's fields.", "input_schema", schema,
		    "tool_choice", "type", "tool", "name", TOOL_NAME);
	else
		body = json_pack("{s:s, s:b, s:i, s:[{s:s, s:s}, {s:s, s:s}], "
		    "s:{s:s, s:{s:s, s:b, s:o}}}",
		    "model", model, "stream", 0, "temperature", 0,
		    "messages", "role", "system", "content", sys,
		    "role", "user", "content", transcript,
		    "response_format", "type", "json_schema", "json_schema",
		    "name", "lead", "strict", 1, "schema", schema);
	if (body != NULL)
		out = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	free(transcript);
	return out;
}

/* Normalise each field of obj into ex; non-strings count as empty. */
static void
extract_fields(json_t *obj, const struct field_opts *opts,
    struct extraction *ex)
{
	json_t	*v;
	int	 f;

	for (f = 0; f < FIELD__MAX; f++) {
		v = json_object_get(obj, field_name((enum field)f));
		if (!json_is_string(v))
			continue;
		ex->strength[f] = field_normalise((enum field)f,
		    json_string_value(v), json_string_length(v), opts,
		    ex->value[f], sizeof(ex->value[f]));
	}
}

int
extract_parse(enum llm_proto proto, const char *body, size_t len,
    const struct field_opts *opts, struct extraction *ex, char *why,
    size_t whysz)
{
	json_t		*root, *obj = NULL, *content, *block, *msg;
	json_error_t	 jerr;
	const char	*text;
	size_t		 i;
	int		 rc = -1;

	extraction_clear(ex);
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL) {
		snprintf(why, whysz, "answer is not JSON: %.80s", jerr.text);
		return -1;
	}
	if (proto == LLM_PROTO_ANTHROPIC) {
		content = json_object_get(root, "content");
		json_array_foreach(content, i, block) {
			if (json_is_object(block) && json_is_string(
			    json_object_get(block, "type")) && strcmp(
			    json_string_value(json_object_get(block, "type")),
			    "tool_use") == 0) {
				obj = json_incref(json_object_get(block,
				    "input"));
				break;
			}
		}
		if (obj == NULL)
			snprintf(why, whysz, "answer has no tool_use block");
	} else {
		msg = json_object_get(json_array_get(json_object_get(root,
		    "choices"), 0), "message");
		text = json_string_value(json_object_get(msg, "content"));
		if (text == NULL)
			snprintf(why, whysz, "answer has no message content");
		else if ((obj = json_loads(text, 0, &jerr)) == NULL)
			snprintf(why, whysz, "content is not JSON: %.80s",
			    jerr.text);
	}
	if (obj != NULL && !json_is_object(obj))
		snprintf(why, whysz, "the extraction is not an object");
	else if (obj != NULL) {
		extract_fields(obj, opts, ex);
		rc = 0;
	}
	json_decref(obj);
	json_decref(root);
	return rc;
}
