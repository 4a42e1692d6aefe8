/*
 * fuzz_route.c: libFuzzer target for the router.
 *
 * The input is split at its first NUL or newline into a method and a
 * path; after a second one, the rest is a REQUEST_URI.  route_match must
 * not crash, must give a row of route_rules exactly when it gives a
 * route (none for 404 and 405), and must only ever hand a handler an
 * {id} of 1 to ROUTE_ID_MAX characters of [A-Za-z0-9_-]; route_path must
 * stay inside its buffer and return a NUL-terminated path starting
 * "/api/".  The table names the handlers, so the target links the
 * library (tests/fuzz/run.sh).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next piece of s[0..len) up to a NUL or newline, as a fresh string. */
static char *
piece(const uint8_t **s, size_t *len)
{
	size_t	 n;
	char	*p;

	for (n = 0; n < *len && (*s)[n] != '\0' && (*s)[n] != '\n'; n++)
		;
	if ((p = malloc(n + 1)) == NULL)
		abort();
	memcpy(p, *s, n);
	p[n] = '\0';
	if (n < *len)
		n++;
	*s += n;
	*len -= n;
	return p;
}

static int
id_ok(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
		    s[n] == '_'))
			return 0;
	return n >= 1 && n <= ROUTE_ID_MAX;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route	 r;
	const uint8_t	*s = data;
	size_t		 len = size, outsz;
	char		*method, *path, *uri, out[256];
	enum route_id	 id;

	method = piece(&s, &len);
	path = piece(&s, &len);
	uri = piece(&s, &len);

	id = route_match(method, path, &r);
	if (id != r.id || id >= ROUTE__MAX ||
	    memchr(r.arg, '\0', sizeof(r.arg)) == NULL)
		abort();
	switch (id) {
	case ROUTE_CONV_GET:
	case ROUTE_MESSAGES:
	case ROUTE_EVENTS:
	case ROUTE_CANCEL:
	case ROUTE_LEAD:
	case ROUTE_LEAD_PATCH:
	case ROUTE_CONV_DELETE:
		if (!id_ok(r.arg) || r.arg2[0] != '\0')
			abort();
		break;
	case ROUTE_NOTIFY_RETRY:
		if (!id_ok(r.arg) || memchr(r.arg2, '\0', sizeof(r.arg2)) ==
		    NULL || !id_ok(r.arg2))
			abort();
		break;
	case ROUTE_BAD_METHOD:
		if (r.allow == NULL || r.arg[0] != '\0')
			abort();
		break;
	default:
		if (r.arg[0] != '\0' || r.arg2[0] != '\0')
			abort();
		break;
	}
	if (id != ROUTE_BAD_METHOD && r.allow != NULL)
		abort();
	if (id == ROUTE_NOT_FOUND || id == ROUTE_BAD_METHOD ?
	    r.rule != NULL : r.rule == NULL || r.rule->id != id ||
	    r.rule->handle == NULL)
		abort();
	(void)route_match(NULL, path, &r);
	(void)route_match(method, NULL, &r);

	/* The three server styles, and a small buffer. */
	outsz = size % sizeof(out);
	if (route_path(method, path, uri, out, outsz) == 0 &&
	    (memchr(out, '\0', outsz) == NULL ||
	    strncmp(out, "/api/", 5) != 0))
		abort();
	if (route_path(path, NULL, uri, out, sizeof(out)) == 0 &&
	    strncmp(out, "/api/", 5) != 0)
		abort();
	if (route_path(NULL, NULL, path, out, sizeof(out)) == 0 &&
	    (strncmp(out, "/api/", 5) != 0 || strchr(out, '?') != NULL))
		abort();
	/* A path route_path produced routes like the path itself. */
	if (route_path(NULL, path, NULL, out, sizeof(out)) == 0 &&
	    strcmp(out, strstr(path, "/api/")) != 0)
		abort();

	free(method);
	free(path);
	free(uri);
	return 0;
}
