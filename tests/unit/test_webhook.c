/*
 * test_webhook.c: the Standard Webhooks signature, the key it is made
 * with, the body it signs, and which SMTP URLs are loopback.
 *
 * The signature is checked against the vector the spec's own reference
 * libraries test (standard-webhooks, libraries/python/tests/
 * test_webhooks.py, test_sign_function): a round trip through our own
 * code would pass with the delimiter, the base64 alphabet or the key
 * decoding all wrong; only a signature someone else computed proves a
 * receiver's library will accept ours.  A second vector (a 32-byte key
 * written without padding, and the spec's minified example body) was
 * computed with Python's hmac and base64.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "deliver.h"
#include "fields.h"
#include "webhook.h"

/* base64 of the bytes 0, 1, 2, … n-1, padded. */
#define B15	"AAECAwQFBgcICQoLDA0O"
#define B16	"AAECAwQFBgcICQoLDA0ODw=="
#define B17	"AAECAwQFBgcICQoLDA0ODxA="
#define B24	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
#define B32	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define B128 \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v" \
	"MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f" \
	"YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="
#define B129 \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v" \
	"MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f" \
	"YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+A"

/* The spec's vector. */
#define SPEC_KEY	"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_SECRET	"whsec_" SPEC_KEY
#define SPEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS		1614265330
#define SPEC_BODY	"{\"test\": 2432232314}"
#define SPEC_SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* The spec's minified example body. */
#define MINIFIED	"{\"type\":\"contact.created\",\"timestamp\":" \
	"\"2022-11-03T20:26:10.344522Z\",\"data\":{\"id\":" \
	"\"1f81eb52-5198-4599-803e-771906343485\"}}"

static const struct key_row {
	const char	*secret;
	int		 want;
	size_t		 len;		/* on 0: the key's length */
	int		 counting;	/* on 0: the key is 0, 1, 2, … */
	int		 line;
} key_rows[] = {
	/* The spec's key, with and without the prefix. */
	{ SPEC_SECRET, 0, 24, 0, __LINE__ },
	{ SPEC_KEY, 0, 24, 0, __LINE__ },
	{ "whsec_" B24, 0, 24, 1, __LINE__ },
	{ "whsec_" B32, 0, 32, 1, __LINE__ },
	/* Padding: as it should be, or left out (the reference libraries
	   take both); never the wrong amount, never more, never inside. */
	{ "whsec_" B16, 0, 16, 1, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODw", 0, 16, 1, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODw=", -1, 0, 0, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODw===", -1, 0, 0, __LINE__ },
	{ "whsec_" B17, 0, 17, 1, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODxA", 0, 17, 1, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODxA==", -1, 0, 0, __LINE__ },
	{ "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0, 32, 1,
	    __LINE__ },
	{ "whsec_AAEC=AwQFBgcICQoLDA0ODxAREhMUFRYX", -1, 0, 0, __LINE__ },
	{ "whsec_=AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", -1, 0, 0, __LINE__ },
	/* One character over a whole quantum is never base64. */
	{ "whsec_" B24 "A", -1, 0, 0, __LINE__ },
	/* Not base64: another alphabet, a space, a line end, junk. */
	{ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_", -1, 0, 0, __LINE__ },
	{ "whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw", -1, 0, 0, __LINE__ },
	{ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", -1, 0, 0, __LINE__ },
	{ " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", -1, 0, 0, __LINE__ },
	{ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", -1, 0, 0, __LINE__ },
	{ "whsec_MfKQ9r8GKYqrTwjUPD8I\xc3\xa9PZIo2LaLaSw", -1, 0, 0,
	    __LINE__ },
	/* The prefix once, in lower case. */
	{ "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", -1, 0, 0,
	    __LINE__ },
	{ "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", -1, 0, 0, __LINE__ },
	/* Empty. */
	{ "", -1, 0, 0, __LINE__ },
	{ "whsec_", -1, 0, 0, __LINE__ },
	{ "whsec_====", -1, 0, 0, __LINE__ },
	/* Too short (under 16 bytes), too long (over 128). */
	{ "whsec_" B15, -1, 0, 0, __LINE__ },
	{ "whsec_AAAA", -1, 0, 0, __LINE__ },
	{ "whsec_" B128, 0, 128, 1, __LINE__ },
	{ "whsec_" B129, -1, 0, 0, __LINE__ },
	{ "whsec_" B128 B128, -1, 0, 0, __LINE__ },
};

static void
test_key(void)
{
	const struct key_row	*t;
	unsigned char		 key[WEBHOOK_KEY_MAX + 8];
	size_t			 i, j, len;
	int			 rc, counting;

	for (i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
		t = &key_rows[i];
		memset(key, 0xee, sizeof(key));
		len = 9999;
		rc = webhook_key(t->secret, key, &len);
		CHECK_AT(t->line, rc == t->want, "webhook_key(\"%.40s\"): "
		    "rc %d, want %d", t->secret, rc, t->want);
		if (rc != 0 || t->want != 0)
			continue;
		CHECK_AT(t->line, len == t->len, "key of %zu bytes, want %zu",
		    len, t->len);
		for (j = 0, counting = 1; j < len && j < WEBHOOK_KEY_MAX; j++)
			if (key[j] != (unsigned char)j)
				counting = 0;
		if (t->counting)
			CHECK_AT(t->line, counting, "key bytes are not 0, 1, "
			    "2, ...");
		CHECK_AT(t->line, key[WEBHOOK_KEY_MAX] == 0xee,
		    "wrote past WEBHOOK_KEY_MAX");
	}
}

/* sign with secret; sig into out, rc returned. */
static int
sign_with(const char *secret, const char *id, int64_t ts, const char *body,
    size_t len, char *out)
{
	unsigned char	 key[WEBHOOK_KEY_MAX];
	size_t		 keylen;

	if (webhook_key(secret, key, &keylen) == -1)
		return -2;
	return webhook_sign(key, keylen, id, ts, body, len, out);
}

static void
test_sign_vectors(void)
{
	char	 sig[WEBHOOK_SIG_SIZE], other[WEBHOOK_SIG_SIZE];
	int	 rc;

	rc = sign_with(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY,
	    strlen(SPEC_BODY), sig);
	CHECK(rc == 0 && strcmp(sig, SPEC_SIG) == 0, "spec vector: rc %d, "
	    "\"%s\", want \"%s\"", rc, rc == 0 ? sig : "", SPEC_SIG);
	rc = sign_with(SPEC_KEY, SPEC_ID, SPEC_TS, SPEC_BODY,
	    strlen(SPEC_BODY), sig);
	CHECK(rc == 0 && strcmp(sig, SPEC_SIG) == 0, "spec vector, no "
	    "prefix: rc %d", rc);

	/* 32-byte key written unpadded; the spec's minified example. */
	rc = sign_with("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	    "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, MINIFIED,
	    strlen(MINIFIED), sig);
	CHECK(rc == 0 && strcmp(sig,
	    "v1,4PMU5Dl90B4kgwxDpwuMZ/cnZ5ztf+Y+kviYQD66rJg=") == 0,
	    "second vector: rc %d, \"%s\"", rc, rc == 0 ? sig : "");

	/* Exactly len bytes, a NUL among them, nothing after. */
	rc = sign_with("whsec_" B32, "msg_nul", 0, "a\0b and more", 3, sig);
	CHECK(rc == 0 && strcmp(sig,
	    "v1,nSixwSjtnA0XW1l8yo5wKlzmBcauMzFtwcl7uxu4cy8=") == 0,
	    "body with a NUL: rc %d, \"%s\"", rc, rc == 0 ? sig : "");

	/* Every part is signed: id, timestamp, body each change it. */
	sign_with(SPEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJel", SPEC_TS,
	    SPEC_BODY, strlen(SPEC_BODY), other);
	CHECK(strcmp(other, SPEC_SIG) != 0, "id not signed");
	sign_with(SPEC_SECRET, SPEC_ID, SPEC_TS + 1, SPEC_BODY,
	    strlen(SPEC_BODY), other);
	CHECK(strcmp(other, SPEC_SIG) != 0, "timestamp not signed");
	sign_with(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY,
	    strlen(SPEC_BODY) - 1, other);
	CHECK(strcmp(other, SPEC_SIG) != 0, "last byte of the body not "
	    "signed");
}

static const struct id_row {
	const char	*id;
	int		 want;
	int		 line;
} id_rows[] = {
	{ "msg_0123456789abcdef0123456789abcdef", 0, __LINE__ },
	{ "x", 0, __LINE__ },
	{ "", -1, __LINE__ },
	/* A '.' would make "a.1" + "2.body" sign as "a" + "1.2.body". */
	{ "msg.1", -1, __LINE__ },
	{ ".", -1, __LINE__ },
	/* It goes into a header too. */
	{ "msg_1\r\nX-Evil: 1", -1, __LINE__ },
	{ "msg_1\n", -1, __LINE__ },
	{ "msg 1", -1, __LINE__ },
	{ "msg_\x7f", -1, __LINE__ },
	{ "msg_\xc3\xa9", -1, __LINE__ },
};

static void
test_sign_ids(void)
{
	char	 sig[WEBHOOK_SIG_SIZE];
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(id_rows) / sizeof(id_rows[0]); i++) {
		memset(sig, 0, sizeof(sig));
		rc = sign_with(SPEC_SECRET, id_rows[i].id, SPEC_TS, "{}", 2,
		    sig);
		CHECK_AT(id_rows[i].line, rc == id_rows[i].want, "id \"%s\": "
		    "rc %d, want %d", id_rows[i].id, rc, id_rows[i].want);
		if (rc == 0)
			CHECK_AT(id_rows[i].line, strncmp(sig, "v1,", 3) == 0 &&
			    strlen(sig) == 47 && sig[46] == '=', "signature "
			    "\"%s\" is not v1, and 44 base64 characters", sig);
	}
}

/* The body parsed back; the checks every case makes. */
static json_t *
body_parse(int line, const char *body)
{
	json_error_t	 jerr;
	json_t		*root;

	if (body == NULL) {
		CHECK_AT(line, 0, "webhook_body returned NULL");
		return NULL;
	}
	root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	CHECK_AT(line, root != NULL, "body is not JSON (%s): %s", jerr.text,
	    body);
	CHECK_AT(line, strncmp(body, "{\"type\":", 8) == 0, "body does not "
	    "start with the type, compact: %.40s", body);
	return root;
}

static void
test_body(void)
{
	const char	*value[FIELD__MAX];
	json_t		*root, *data, *fields, *v;
	char		*body;
	int		 f, nulls;

	/* Every field, text that needs escaping, a link. */
	value[FIELD_FULL_NAME] = "Ana \"Q\" O'Neil\nJr \xc3\xa9";
	value[FIELD_PHONE] = "+15551234567";
	value[FIELD_EMAIL] = "ana@example.com";
	value[FIELD_MATTER_TYPE] = "family";
	value[FIELD_URGENCY] = "high";
	value[FIELD_SUMMARY] = "Custody; </script> {\"x\":1}";
	body = webhook_body("lead.ready", "2026-01-02T03:04:05Z", "c_42",
	    value, "https://firm.example/leads.html#c_42");
	if ((root = body_parse(__LINE__, body)) != NULL) {
		data = json_object_get(root, "data");
		fields = json_object_get(data, "fields");
		CHECK(json_object_size(root) == 3 &&
		    json_object_size(data) == 3, "keys: %zu at the top, %zu "
		    "in data, want 3 and 3", json_object_size(root),
		    json_object_size(data));
		CHECK(strcmp(json_string_value(json_object_get(root, "type")) ?
		    json_string_value(json_object_get(root, "type")) : "",
		    "lead.ready") == 0, "type");
		CHECK(json_is_string(json_object_get(root, "timestamp")) &&
		    strcmp(json_string_value(json_object_get(root,
		    "timestamp")), "2026-01-02T03:04:05Z") == 0, "timestamp");
		CHECK(json_is_string(json_object_get(data, "conversation_id"))
		    && strcmp(json_string_value(json_object_get(data,
		    "conversation_id")), "c_42") == 0, "conversation_id");
		CHECK(json_is_string(json_object_get(data, "url")) &&
		    strcmp(json_string_value(json_object_get(data, "url")),
		    "https://firm.example/leads.html#c_42") == 0, "url");
		CHECK(json_object_size(fields) == FIELD__MAX, "%zu fields, "
		    "want %d", json_object_size(fields), FIELD__MAX);
		for (f = 0; f < FIELD__MAX; f++) {
			v = json_object_get(fields, field_name((enum field)f));
			CHECK(json_is_string(v) && strcmp(json_string_value(v),
			    value[f]) == 0, "field %s not kept byte for byte",
			    field_name((enum field)f));
		}
		json_decref(root);
	}
	free(body);

	/* Missing values (NULL or "") are null, the url too, not absent. */
	for (f = 0; f < FIELD__MAX; f++)
		value[f] = NULL;
	value[FIELD_FULL_NAME] = "Bo";
	value[FIELD_PHONE] = "";
	body = webhook_body("lead.updated", "2026-01-02T03:04:05Z", "c_7",
	    value, NULL);
	if ((root = body_parse(__LINE__, body)) != NULL) {
		data = json_object_get(root, "data");
		fields = json_object_get(data, "fields");
		CHECK(json_object_size(fields) == FIELD__MAX, "%zu fields",
		    json_object_size(fields));
		for (f = 0, nulls = 0; f < FIELD__MAX; f++)
			if (json_is_null(json_object_get(fields,
			    field_name((enum field)f))))
				nulls++;
		CHECK(nulls == FIELD__MAX - 1, "%d null fields, want %d",
		    nulls, FIELD__MAX - 1);
		CHECK(json_is_null(json_object_get(fields, "phone")),
		    "\"\" phone is not null");
		v = json_object_get(data, "url");
		CHECK(v != NULL && json_is_null(v), "no url: not \"url\":null");
		CHECK(strcmp(json_string_value(json_object_get(root, "type")) ?
		    json_string_value(json_object_get(root, "type")) : "",
		    "lead.updated") == 0, "type lead.updated");
		json_decref(root);
	}
	free(body);

	/* Text that is not UTF-8 cannot make a body that is not JSON. */
	value[FIELD_FULL_NAME] = "Bo \xff";
	body = webhook_body("lead.ready", "2026-01-02T03:04:05Z", "c_7",
	    value, NULL);
	CHECK(body == NULL, "a body made of a value that is not UTF-8");
	free(body);
}

static const struct loop_row {
	const char	*url;
	int		 want;
	int		 line;
} loop_rows[] = {
	{ "smtp://127.0.0.1:25", 1, __LINE__ },
	{ "smtp://127.0.0.1", 1, __LINE__ },
	{ "smtp://localhost", 1, __LINE__ },
	{ "smtp://LOCALHOST:2525", 1, __LINE__ },
	{ "smtp://[::1]:2525", 1, __LINE__ },
	{ "smtp://[::1]", 1, __LINE__ },
	{ "smtp://[::ffff:127.0.0.1]:25", 1, __LINE__ },
	{ "smtps://127.0.0.2", 1, __LINE__ },
	{ "smtp://127.255.255.254:25", 1, __LINE__ },
	{ "smtp://user:pass@127.0.0.1", 1, __LINE__ },
	{ "smtp://user:pass@127.0.0.1:587/client.example", 1, __LINE__ },
	{ "smtp://mail.example.com", 0, __LINE__ },
	{ "smtp://mail.example.com:587", 0, __LINE__ },
	{ "smtp://128.0.0.1", 0, __LINE__ },
	{ "smtp://126.255.255.255", 0, __LINE__ },
	{ "smtp://10.0.0.1", 0, __LINE__ },
	{ "smtp://0.0.0.0", 0, __LINE__ },
	{ "smtp://[::2]", 0, __LINE__ },
	{ "smtp://[::ffff:10.0.0.1]", 0, __LINE__ },
	/* A name that only looks like one. */
	{ "smtp://localhost.example.com", 0, __LINE__ },
	{ "smtp://127.0.0.1.example.com", 0, __LINE__ },
	{ "smtp://mail.example.com/127.0.0.1", 0, __LINE__ },
	{ "smtp://127.0.0.1@mail.example.com", 0, __LINE__ },
	{ "smtp://evil.example?127.0.0.1", 0, __LINE__ },
	/* Not a URL. */
	{ "garbage", 0, __LINE__ },
	{ "", 0, __LINE__ },
	{ "127.0.0.1", 0, __LINE__ },
	{ "smtp://", 0, __LINE__ },
	{ "smtp://[::1", 0, __LINE__ },
};

static void
test_loopback(void)
{
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(loop_rows) / sizeof(loop_rows[0]); i++) {
		got = deliver_loopback(loop_rows[i].url);
		CHECK_AT(loop_rows[i].line, got == loop_rows[i].want,
		    "deliver_loopback(\"%s\") = %d, want %d", loop_rows[i].url,
		    got, loop_rows[i].want);
	}
	CHECK(deliver_loopback(NULL) == 0, "deliver_loopback(NULL)");
}

int
main(void)
{
	test_key();
	test_sign_vectors();
	test_sign_ids();
	test_body();
	test_loopback();
	return check_done("webhook");
}
