/*
 * paths.c: path arithmetic for configuration discovery and the web
 * folder checks.  Lexical only: the callers hand in paths the kernel
 * resolved (/proc/self/exe, realpath), so ".." here is always the real
 * parent, and nothing is looked up.
 */
#include <stdio.h>
#include <string.h>

#include "paths.h"

static const char *const web_names[] = {
	"public_html", "www", "htdocs", "httpdocs",
};

#define NWEB	(sizeof(web_names) / sizeof(web_names[0]))

static int
paths_copy(char *out, size_t outsz, const char *s, size_t len)
{
	if (outsz == 0)
		return -1;
	if (len >= outsz) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* len of path without its trailing slashes (a lone "/" is kept). */
static size_t
paths_trim(const char *path)
{
	size_t	len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

int
paths_dirname(const char *path, char *out, size_t outsz)
{
	size_t	len = paths_trim(path);

	while (len > 0 && path[len - 1] != '/')
		len--;
	if (len == 0)
		return paths_copy(out, outsz, ".", 1);
	while (len > 1 && path[len - 1] == '/')
		len--;
	return paths_copy(out, outsz, path, len);
}

const char *
paths_basename(const char *path, size_t *len)
{
	size_t	end = paths_trim(path), start = end;

	while (start > 0 && path[start - 1] != '/')
		start--;
	*len = end - start;
	if (*len == 1 && path[start] == '/')
		*len = 0;
	return path + start;
}

int
paths_join(const char *dir, const char *rel, char *out, size_t outsz)
{
	size_t	dlen;
	int	n;

	if (rel[0] == '/' || dir[0] == '\0')
		return paths_copy(out, outsz, rel, strlen(rel));
	dlen = paths_trim(dir);
	if (dlen == 1 && dir[0] == '/')
		n = snprintf(out, outsz, "/%s", rel);
	else
		n = snprintf(out, outsz, "%.*s/%s", (int)dlen, dir, rel);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Append path to list when it fits (and is not there yet). */
static void
paths_add(struct paths_list *out, const char *path)
{
	size_t	i;

	if (out->n >= PATHS_LIST_MAX || path[0] == '\0')
		return;
	for (i = 0; i < out->n; i++)
		if (strcmp(out->path[i], path) == 0)
			return;
	if (paths_copy(out->path[out->n], PATHS_MAX, path, strlen(path)) == 0)
		out->n++;
}

void
paths_config_candidates(const char *exe, struct paths_list *out)
{
	char	dir[PATHS_MAX], up[PATHS_MAX], top[PATHS_MAX];
	char	path[PATHS_MAX];

	out->n = 0;
	if (exe == NULL || exe[0] != '/' ||
	    paths_dirname(exe, dir, sizeof(dir)) == -1)
		return;
	if (paths_join(dir, "intake.conf", path, sizeof(path)) == 0)
		paths_add(out, path);
	/* Two levels up: from /, or a folder right under it, there are none. */
	if (strcmp(dir, "/") == 0 ||
	    paths_dirname(dir, up, sizeof(up)) == -1 || strcmp(up, "/") == 0 ||
	    paths_dirname(up, top, sizeof(top)) == -1)
		return;
	if (paths_join(top, "intake/intake.conf", path, sizeof(path)) == 0)
		paths_add(out, path);
}

enum config_how
paths_config_how(size_t i)
{
	return i == 0 ? CONFIG_HOW_BESIDE : CONFIG_HOW_HOME;
}

const char *
paths_config_how_words(enum config_how how)
{
	switch (how) {
	case CONFIG_HOW_ENV:
		return "named by INTAKE_CONFIG";
	case CONFIG_HOW_BESIDE:
		return "found beside the program";
	case CONFIG_HOW_HOME:
		return "found in the intake folder two levels above the "
		    "program";
	default:
		return "none";
	}
}

void
paths_extractor_candidates(const char *explicit_path, const char *exe_dir,
    const char *config_file, struct paths_list *out)
{
	char	dir[PATHS_MAX], path[PATHS_MAX];

	out->n = 0;
	if (explicit_path != NULL && explicit_path[0] != '\0') {
		paths_add(out, explicit_path);
		return;
	}
	if (exe_dir != NULL && exe_dir[0] != '\0' &&
	    paths_join(exe_dir, "intake-extract", path, sizeof(path)) == 0)
		paths_add(out, path);
	if (config_file != NULL && config_file[0] != '\0' &&
	    paths_dirname(config_file, dir, sizeof(dir)) == 0 &&
	    paths_join(dir, "intake-extract", path, sizeof(path)) == 0)
		paths_add(out, path);
}

int
paths_inside(const char *root, const char *path)
{
	size_t	rlen = paths_trim(root), plen = paths_trim(path);

	if (root[0] != '/' || path[0] != '/')
		return 0;
	if (rlen == 1)
		return 1;		/* everything is under / */
	if (plen < rlen || memcmp(root, path, rlen) != 0)
		return 0;
	return plen == rlen || path[rlen] == '/';
}

int
paths_web_name(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < NWEB; i++)
		if (strlen(web_names[i]) == len &&
		    memcmp(web_names[i], name, len) == 0)
			return 1;
	return 0;
}

int
paths_web_guess(const char *dir, char *out, size_t outsz)
{
	char		 cur[PATHS_MAX], up[PATHS_MAX];
	const char	*name;
	size_t		 len;
	int		 level;

	if (dir[0] != '/' ||
	    paths_copy(cur, sizeof(cur), dir, paths_trim(dir)) == -1)
		return 0;
	for (level = 0; level < 3; level++) {
		name = paths_basename(cur, &len);
		if (paths_web_name(name, len))
			return paths_copy(out, outsz, cur, strlen(cur)) == 0;
		if (strcmp(cur, "/") == 0 ||
		    paths_dirname(cur, up, sizeof(up)) == -1)
			return 0;
		memcpy(cur, up, strlen(up) + 1);
	}
	return 0;
}

void
paths_web_siblings(const char *dir, struct paths_list *out)
{
	char	up[PATHS_MAX], path[PATHS_MAX];
	size_t	i;

	out->n = 0;
	if (dir[0] != '/' || paths_dirname(dir, up, sizeof(up)) == -1 ||
	    strcmp(dir, "/") == 0)
		return;
	for (i = 0; i < NWEB; i++)
		if (paths_join(up, web_names[i], path, sizeof(path)) == 0 &&
		    strcmp(path, dir) != 0)
			paths_add(out, path);
}
