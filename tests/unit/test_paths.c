/*
 * test_paths.c: the path rules behind configuration discovery and the
 * web folder checks, as tables.
 *
 * The shared-host bundle depends on these: public_html/api/intake.cgi
 * must find ~/intake/intake.conf and nothing else, a database in
 * ~/public_html/api/var/ must count as inside ~/public_html while one in
 * ~/public_html2 must not, and intake-extract kept in ~/intake/ must
 * look for the web folder beside it.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "paths.h"

static const struct dirname_row {
	const char	*in;
	const char	*want;
	int		 line;
} dirname_rows[] = {
	{ "/a/b/c", "/a/b", __LINE__ },
	{ "/a/b/c/", "/a/b", __LINE__ },
	{ "/a/b//c", "/a/b", __LINE__ },
	{ "/a", "/", __LINE__ },
	{ "/", "/", __LINE__ },
	{ "c", ".", __LINE__ },
	{ "var/intake.db", "var", __LINE__ },
	{ "./intake.db", ".", __LINE__ },
	{ "", ".", __LINE__ },
};

static void
test_dirname(void)
{
	char	out[PATHS_MAX];
	size_t	i;

	for (i = 0; i < sizeof(dirname_rows) / sizeof(dirname_rows[0]); i++) {
		CHECK_AT(dirname_rows[i].line, paths_dirname(dirname_rows[i].in,
		    out, sizeof(out)) == 0 && strcmp(out,
		    dirname_rows[i].want) == 0, "dirname(\"%s\"): \"%s\", want "
		    "\"%s\"", dirname_rows[i].in, out, dirname_rows[i].want);
	}
	CHECK(paths_dirname("/aaaa/bbbb", out, 5) == -1 && out[0] == '\0',
	    "a folder longer than out: not cut");
	CHECK(paths_dirname("/aaaa/bbbb", out, 6) == 0 &&
	    strcmp(out, "/aaaa") == 0, "exactly fits: \"%s\"", out);
}

static const struct join_row {
	const char	*dir;
	const char	*rel;
	const char	*want;
	int		 line;
} join_rows[] = {
	{ "/home/a/intake", "intake.db", "/home/a/intake/intake.db",
	    __LINE__ },
	{ "/home/a/intake/", "intake.db", "/home/a/intake/intake.db",
	    __LINE__ },
	{ "/home/a/intake", "/var/lib/intake/intake.db",
	    "/var/lib/intake/intake.db", __LINE__ },
	{ "/home/a/intake", "../data/x.db", "/home/a/intake/../data/x.db",
	    __LINE__ },
	{ "/", "intake.db", "/intake.db", __LINE__ },
	{ ".", "intake.db", "./intake.db", __LINE__ },
	{ "examples", "intake.db", "examples/intake.db", __LINE__ },
	{ "", "intake.db", "intake.db", __LINE__ },
};

static void
test_join(void)
{
	char	out[PATHS_MAX];
	size_t	i;

	for (i = 0; i < sizeof(join_rows) / sizeof(join_rows[0]); i++)
		CHECK_AT(join_rows[i].line, paths_join(join_rows[i].dir,
		    join_rows[i].rel, out, sizeof(out)) == 0 &&
		    strcmp(out, join_rows[i].want) == 0, "join(\"%s\", \"%s\"): "
		    "\"%s\", want \"%s\"", join_rows[i].dir, join_rows[i].rel,
		    out, join_rows[i].want);
	CHECK(paths_join("/abc", "def", out, 8) == -1 && out[0] == '\0',
	    "a join longer than out: not cut (\"%s\")", out);
	CHECK(paths_join("/abc", "def", out, 9) == 0 &&
	    strcmp(out, "/abc/def") == 0, "exactly fits: \"%s\"", out);
}

static const struct cand_row {
	const char	*exe;
	const char	*want[2];	/* NULL: fewer */
	int		 line;
} cand_rows[] = {
	/* The bundle: public_html/api/intake.cgi finds ~/intake/. */
	{ "/home/acct/public_html/api/intake.cgi",
	    { "/home/acct/public_html/api/intake.conf",
	    "/home/acct/intake/intake.conf" }, __LINE__ },
	/* intake/intake-extract finds its own folder's first. */
	{ "/home/acct/intake/intake-extract",
	    { "/home/acct/intake/intake.conf", "/home/intake/intake.conf" },
	    __LINE__ },
	{ "/var/www/vhosts/example.com/httpdocs/api/intake.cgi",
	    { "/var/www/vhosts/example.com/httpdocs/api/intake.conf",
	    "/var/www/vhosts/example.com/intake/intake.conf" }, __LINE__ },
	{ "/usr/local/bin/intake.fcgi",
	    { "/usr/local/bin/intake.conf", "/usr/intake/intake.conf" },
	    __LINE__ },
	/* Less than two levels: the beside file alone. */
	{ "/bin/intake.fcgi", { "/bin/intake.conf", NULL }, __LINE__ },
	{ "/intake.fcgi", { "/intake.conf", NULL }, __LINE__ },
	/* Not absolute (not /proc/self/exe's): nothing to go by. */
	{ "intake.cgi", { NULL, NULL }, __LINE__ },
	{ "./api/intake.cgi", { NULL, NULL }, __LINE__ },
	{ "", { NULL, NULL }, __LINE__ },
};

static void
test_config_candidates(void)
{
	struct paths_list	 l;
	const struct cand_row	*t;
	size_t			 i, k, want;

	for (i = 0; i < sizeof(cand_rows) / sizeof(cand_rows[0]); i++) {
		t = &cand_rows[i];
		want = t->want[0] == NULL ? 0 : t->want[1] == NULL ? 1 : 2;
		memset(&l, 0x5a, sizeof(l));
		paths_config_candidates(t->exe, &l);
		CHECK_AT(t->line, l.n == want, "%s: %zu candidates, want %zu",
		    t->exe, l.n, want);
		for (k = 0; k < want && k < l.n; k++)
			CHECK_AT(t->line, strcmp(l.path[k], t->want[k]) == 0,
			    "%s: candidate %zu \"%s\", want \"%s\"", t->exe, k,
			    l.path[k], t->want[k]);
	}
	paths_config_candidates(NULL, &l);
	CHECK(l.n == 0, "NULL exe: %zu candidates", l.n);
	CHECK(paths_config_how(0) == CONFIG_HOW_BESIDE &&
	    paths_config_how(1) == CONFIG_HOW_HOME, "how of the candidates");
}

static const struct ex_row {
	const char	*explicit_path;
	const char	*exe_dir;
	const char	*config;
	const char	*want[2];
	int		 line;
} ex_rows[] = {
	/* The bundle: beside intake.cgi first, then beside intake.conf. */
	{ "", "/home/a/public_html/api", "/home/a/intake/intake.conf",
	    { "/home/a/public_html/api/intake-extract",
	    "/home/a/intake/intake-extract" }, __LINE__ },
	/* The setting alone when set. */
	{ "/opt/x/intake-extract", "/home/a/public_html/api",
	    "/home/a/intake/intake.conf", { "/opt/x/intake-extract", NULL },
	    __LINE__ },
	{ NULL, "/usr/local/bin", "", { "/usr/local/bin/intake-extract",
	    NULL }, __LINE__ },
	/* The configuration in the program's folder: one candidate. */
	{ "", "/srv/intake", "/srv/intake/intake.conf",
	    { "/srv/intake/intake-extract", NULL }, __LINE__ },
	{ "", "", "/etc/intake/intake.conf",
	    { "/etc/intake/intake-extract", NULL }, __LINE__ },
	{ "", "", "", { NULL, NULL }, __LINE__ },
};

static void
test_extractor_candidates(void)
{
	struct paths_list	 l;
	const struct ex_row	*t;
	size_t			 i, k, want;

	for (i = 0; i < sizeof(ex_rows) / sizeof(ex_rows[0]); i++) {
		t = &ex_rows[i];
		want = t->want[0] == NULL ? 0 : t->want[1] == NULL ? 1 : 2;
		paths_extractor_candidates(t->explicit_path, t->exe_dir,
		    t->config, &l);
		CHECK_AT(t->line, l.n == want, "%zu candidates, want %zu", l.n,
		    want);
		for (k = 0; k < want && k < l.n; k++)
			CHECK_AT(t->line, strcmp(l.path[k], t->want[k]) == 0,
			    "candidate %zu \"%s\", want \"%s\"", k, l.path[k],
			    t->want[k]);
	}
}

static const struct inside_row {
	const char	*root;
	const char	*path;
	int		 want;
	int		 line;
} inside_rows[] = {
	{ "/home/a/public_html", "/home/a/public_html", 1, __LINE__ },
	{ "/home/a/public_html", "/home/a/public_html/api/var", 1, __LINE__ },
	{ "/home/a/public_html/", "/home/a/public_html/api", 1, __LINE__ },
	{ "/home/a/public_html", "/home/a/public_html/", 1, __LINE__ },
	/* Whole components only. */
	{ "/home/a/public_html", "/home/a/public_html2", 0, __LINE__ },
	{ "/home/a/public_html", "/home/a/public_htm", 0, __LINE__ },
	{ "/home/a/public_html", "/home/a/intake", 0, __LINE__ },
	{ "/home/a/public_html", "/home/a", 0, __LINE__ },
	{ "/var/www/html", "/var/www", 0, __LINE__ },
	{ "/", "/anything/at/all", 1, __LINE__ },
	/* Relative paths are never compared. */
	{ "public_html", "public_html/api", 0, __LINE__ },
	{ "/home/a/public_html", "public_html/api", 0, __LINE__ },
};

static void
test_inside(void)
{
	size_t	i;

	for (i = 0; i < sizeof(inside_rows) / sizeof(inside_rows[0]); i++)
		CHECK_AT(inside_rows[i].line, paths_inside(inside_rows[i].root,
		    inside_rows[i].path) == inside_rows[i].want,
		    "inside(\"%s\", \"%s\") != %d", inside_rows[i].root,
		    inside_rows[i].path, inside_rows[i].want);
}

static const struct web_row {
	const char	*dir;
	const char	*want;		/* NULL: none */
	int		 line;
} web_rows[] = {
	{ "/home/a/public_html/api", "/home/a/public_html", __LINE__ },
	{ "/home/a/public_html", "/home/a/public_html", __LINE__ },
	{ "/home/a/public_html/x/api", "/home/a/public_html", __LINE__ },
	/* Three levels at most: deeper is not the program's web folder. */
	{ "/home/a/public_html/x/y/api", NULL, __LINE__ },
	{ "/var/www/vhosts/e.com/httpdocs/api", "/var/www/vhosts/e.com/httpdocs",
	    __LINE__ },
	{ "/srv/site/htdocs/cgi-bin", "/srv/site/htdocs", __LINE__ },
	{ "/home/a/www/api", "/home/a/www", __LINE__ },
	/* The nearest: Plesk's home is under /var/www. */
	{ "/var/www/vhosts/e.com/intake", NULL, __LINE__ },
	{ "/home/a/intake", NULL, __LINE__ },
	{ "/usr/local/bin", NULL, __LINE__ },
	{ "/", NULL, __LINE__ },
	{ "public_html/api", NULL, __LINE__ },
	/* A name that only starts like one. */
	{ "/home/a/public_html_old/api", NULL, __LINE__ },
};

static void
test_web_guess(void)
{
	char	out[PATHS_MAX];
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(web_rows) / sizeof(web_rows[0]); i++) {
		out[0] = '\0';
		got = paths_web_guess(web_rows[i].dir, out, sizeof(out));
		if (web_rows[i].want == NULL)
			CHECK_AT(web_rows[i].line, got == 0, "%s: guessed "
			    "\"%s\"", web_rows[i].dir, out);
		else
			CHECK_AT(web_rows[i].line, got == 1 &&
			    strcmp(out, web_rows[i].want) == 0, "%s: \"%s\", "
			    "want \"%s\"", web_rows[i].dir, out,
			    web_rows[i].want);
	}
}

static void
test_web_siblings(void)
{
	struct paths_list	l;

	paths_web_siblings("/home/a/intake", &l);
	CHECK(l.n == 4 && strcmp(l.path[0], "/home/a/public_html") == 0 &&
	    strcmp(l.path[1], "/home/a/www") == 0 &&
	    strcmp(l.path[2], "/home/a/htdocs") == 0 &&
	    strcmp(l.path[3], "/home/a/httpdocs") == 0,
	    "siblings of /home/a/intake: %zu", l.n);
	paths_web_siblings("/home/a/www", &l);
	CHECK(l.n == 3, "a web folder is not its own sibling: %zu", l.n);
	paths_web_siblings("/", &l);
	CHECK(l.n == 0, "/ has no siblings: %zu", l.n);
	paths_web_siblings("intake", &l);
	CHECK(l.n == 0, "relative: %zu", l.n);
}

static void
test_basename(void)
{
	const char	*p;
	size_t		 len;

	p = paths_basename("/home/a/public_html/", &len);
	CHECK(len == 11 && strncmp(p, "public_html", len) == 0,
	    "basename with a trailing slash: %.*s", (int)len, p);
	p = paths_basename("/", &len);
	CHECK(len == 0, "basename of /: %zu", len);
	p = paths_basename("www", &len);
	CHECK(len == 3 && strncmp(p, "www", 3) == 0, "basename www");
	CHECK(paths_web_name("www", 3) && paths_web_name("httpdocs", 8) &&
	    !paths_web_name("wwww", 4) && !paths_web_name("ww", 2) &&
	    !paths_web_name("html", 4), "web names");
}

int
main(void)
{
	test_dirname();
	test_join();
	test_config_candidates();
	test_extractor_candidates();
	test_inside();
	test_web_guess();
	test_web_siblings();
	test_basename();
	return check_done("paths");
}
