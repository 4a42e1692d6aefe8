/*
 * route.c: the contract's paths (routes.c's table) matched segment by
 * segment.  Pure: strings in, a row out, so every path can be tested in
 * a table.
 */
#include <stdio.h>
#include <string.h>

#include "route.h"

static int
route_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 when path matches pattern, with its {id}s copied into arg[0..1]. */
static int
route_fit(const char *pattern, const char *path,
    char arg[2][ROUTE_ID_MAX + 1])
{
	const char	*p = pattern, *s = path;
	size_t		 n, k = 0;

	while (*p != '\0') {
		if (*p == '*') {
			for (n = 0; route_id_char(s[n]); n++)
				if (n == ROUTE_ID_MAX)
					return 0;
			if (n == 0 || (s[n] != '/' && s[n] != '\0') || k == 2)
				return 0;
			memcpy(arg[k], s, n);
			arg[k++][n] = '\0';
			s += n;
			p++;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return *s == '\0';
}

enum route_id
route_match(const char *method, const char *path, struct route *r)
{
	char	arg[2][ROUTE_ID_MAX + 1];
	size_t	i, n;
	int	path_known = 0;

	memset(r, 0, sizeof(*r));
	r->id = ROUTE_NOT_FOUND;
	if (method == NULL || path == NULL)
		return r->id;
	for (i = 0; i < route_rules_n; i++) {
		arg[0][0] = arg[1][0] = '\0';
		if (!route_fit(route_rules[i].pattern, path, arg))
			continue;
		/* A HEAD is its GET without the body (http_start). */
		if (strcmp(method, route_rules[i].method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(route_rules[i].method, "GET") == 0)) {
			r->id = route_rules[i].id;
			r->rule = &route_rules[i];
			r->allow = NULL;
			r->allow_buf[0] = '\0';
			memcpy(r->arg, arg[0], sizeof(r->arg));
			memcpy(r->arg2, arg[1], sizeof(r->arg2));
			return r->id;
		}
		/* Every method the path has, in the table's order. */
		n = strlen(r->allow_buf);
		snprintf(r->allow_buf + n, sizeof(r->allow_buf) - n, "%s%s",
		    n > 0 ? ", " : "", route_rules[i].method);
		r->allow = r->allow_buf;
		path_known = 1;
	}
	if (path_known)
		r->id = ROUTE_BAD_METHOD;
	return r->id;
}

/* Copy from the first "/api/" in s[0..len) into out; 0, 1 none, -1 long. */
static int
route_from_api(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	i, n;

	for (i = 0; i + 5 <= len; i++) {
		if (memcmp(s + i, "/api/", 5) != 0)
			continue;
		n = len - i;
		if (n >= outsz)
			return -1;
		memcpy(out, s + i, n);
		out[n] = '\0';
		return 0;
	}
	return 1;
}

int
route_path(const char *script_name, const char *path_info,
    const char *request_uri, char *out, size_t outsz)
{
	char	joined[4096];
	size_t	a, b;
	int	rc;

	if (outsz == 0)
		return -1;
	/* A rewrite to "intake.cgi/api/..." leaves the whole path here. */
	if (path_info != NULL && strncmp(path_info, "/api/", 5) == 0) {
		if ((b = strlen(path_info)) >= outsz)
			return -1;
		memcpy(out, path_info, b + 1);
		return 0;
	}
	a = script_name ? strlen(script_name) : 0;
	b = path_info ? strlen(path_info) : 0;
	if (a + b < sizeof(joined)) {
		if (a > 0)
			memcpy(joined, script_name, a);
		if (b > 0)
			memcpy(joined + a, path_info, b);
		/* "/api" as the script and "/health" as the info. */
		if ((rc = route_from_api(joined, a + b, out, outsz)) != 1)
			return rc;
	}
	if (request_uri == NULL)
		return -1;
	rc = route_from_api(request_uri, strcspn(request_uri, "?"), out,
	    outsz);
	return rc == 0 ? 0 : -1;
}
