/*
 * fuzz_request.c: libFuzzer target for the message body validator.
 *
 * The input is a request body as the web server hands it over: any bytes,
 * any length.  request_message must not crash, leak or read past len
 * (the input is copied to a heap buffer of exactly len bytes), and what
 * it accepts must keep its promises: text non-empty, well-formed UTF-8 of
 * at most text_max characters, client_id printable and short enough.
 * request_depth_ok runs on the same bytes, and a body it refuses must
 * never be accepted.  request_patch (a staff PATCH) gets the same bytes:
 * what it accepts has a known status or a note within its limit.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Icgi \
 *	    tests/fuzz/fuzz_request.c cgi/request.c common/utf8.c -ljansson
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "utf8.h"

#define TEXT_MAX	8000
#define CLIENT_ID_MAX	64

#define NOTE_MAX	2000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
status_ok(const char *s)
{
	return strcmp(s, "new") == 0 || strcmp(s, "spam") == 0;
}

/* request_patch on the same bytes keeps its promises. */
static void
fuzz_patch(const char *body, size_t size)
{
	struct patch_req	p;
	char			why[160];

	why[0] = '\0';
	if (request_patch(body, size, NOTE_MAX, status_ok, &p, why,
	    sizeof(why)) == REQUEST_OK) {
		if (p.status == NULL && p.note == NULL)
			abort();
		if (p.status != NULL && !status_ok(p.status))
			abort();
		if (p.note != NULL && (p.note[0] == '\0' ||
		    utf8_count(p.note, strlen(p.note)) > NOTE_MAX))
			abort();
	} else if (p.status != NULL || p.note != NULL || why[0] == '\0')
		abort();
	request_patch_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_req	 m;
	enum request_rc		 rc;
	char			 why[256], *body;
	size_t			 i, n;
	int			 depth_ok;

	if ((body = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(body, data, size);

	depth_ok = request_depth_ok(body, size, REQUEST_DEPTH_MAX);
	(void)request_depth_ok(body, size, 0);
	(void)request_depth_ok(body, size, 1);

	why[0] = '\0';
	rc = request_message(body, size, TEXT_MAX, CLIENT_ID_MAX, &m, why,
	    sizeof(why));
	if (rc == REQUEST_OK) {
		if (!depth_ok || !utf8_valid(body, size))
			abort();	/* accepted what the checks refuse */
		if (m.text == NULL || m.text_len == 0 ||
		    strlen(m.text) != m.text_len ||
		    !utf8_valid(m.text, m.text_len) ||
		    utf8_count(m.text, m.text_len) > TEXT_MAX)
			abort();
		if (m.client_id != NULL) {
			n = strlen(m.client_id);
			if (n == 0 || !utf8_valid(m.client_id, n) ||
			    utf8_count(m.client_id, n) > CLIENT_ID_MAX)
				abort();
			for (i = 0; i < n; i++)
				if ((unsigned char)m.client_id[i] < 0x20 ||
				    m.client_id[i] == 0x7f)
					abort();
		}
	} else {
		if (m.text != NULL || m.client_id != NULL)
			abort();	/* half-filled on failure */
		if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
			abort();
	}
	request_free(&m);

	fuzz_patch(body, size);

	/* The same bytes with a small limit exercise the 413 path. */
	rc = request_message(body, size, 3, 2, &m, why, sizeof(why));
	if (rc == REQUEST_OK && utf8_count(m.text, m.text_len) > 3)
		abort();
	request_free(&m);

	free(body);

	/* And as a Content-Type header. */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(body, data, size);
	body[size] = '\0';
	(void)request_is_json(body);
	free(body);
	return 0;
}
