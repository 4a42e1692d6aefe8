/*
 * test_checks.c: the findings of --check from modes and owners, as
 * tables.
 *
 * Each row is what stat(2) and access(2) would say of a file, and the
 * finding it must give: how many problems, and a phrase the finding
 * must hold.  The phrases the shared-host test greps for ("not
 * executable", "writable by group or others", "no configuration found",
 * "cannot be read", "inside the web folder", "cannot be written") are
 * held to here, as is the fix each problem names (chmod 755 ..., chmod
 * 600 ...).  suEXEC's rules: nothing group- or world-writable, no setuid
 * or setgid, owned by the account that runs it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checks.h"
#include "config.h"

static struct checks	cs;

static const struct checks_who	acct = { 1001, "acct", "/home/acct" };
static const struct checks_who	root = { 0, "root", "/root" };

/* A file (or folder with dir) of mode m owned by uid, as acct sees it. */
#define F(m, uid, r, w, x)	{ 0, S_IFREG | (m), uid, \
				  (uid) == 1001 ? "acct" : "other", r, w, x }
#define D(m, uid, r, w, x)	{ 0, S_IFDIR | (m), uid, \
				  (uid) == 1001 ? "acct" : "other", r, w, x }
#define GONE			{ ENOENT, 0, 0, "", 0, 0, 0 }
#define DENIED			{ EACCES, 0, 0, "", 0, 0, 0 }

/* After one check: the problems, a phrase in some line, none in any. */
static void
findings(int line, int problems, const char *want, const char *never)
{
	size_t	i;
	int	found = want == NULL;

	CHECK_AT(line, cs.problems == problems, "%d problem(s), want %d%s%s",
	    cs.problems, problems, cs.n > 0 ? ": " : "",
	    cs.n > 0 ? cs.line[0].text : "");
	for (i = 0; i < cs.n; i++) {
		if (want != NULL && strstr(cs.line[i].text, want) != NULL)
			found = 1;
		if (never != NULL)
			CHECK_AT(line, strstr(cs.line[i].text, never) == NULL,
			    "\"%s\" says \"%s\"", cs.line[i].text, never);
		CHECK_AT(line, strchr(cs.line[i].text, '\n') == NULL,
		    "a finding of more than one line: %s", cs.line[i].text);
	}
	CHECK_AT(line, found, "no line says \"%s\" (first: %s)", want,
	    cs.n > 0 ? cs.line[0].text : "(none)");
}

static void
test_config_found(void)
{
	struct paths_list	l;

	l.n = 2;
	snprintf(l.path[0], sizeof(l.path[0]),
	    "/home/acct/public_html/api/intake.conf");
	snprintf(l.path[1], sizeof(l.path[1]), "/home/acct/intake/intake.conf");

	checks_init(&cs);
	checks_config_found(&cs, "/home/acct/intake/intake.conf",
	    CONFIG_HOW_HOME, 0, &l);
	findings(__LINE__, 0, "/home/acct/intake/intake.conf", NULL);
	CHECK(cs.n == 1 && strstr(cs.line[0].text, "intake folder") != NULL,
	    "how it was found: %s", cs.line[0].text);

	checks_init(&cs);
	checks_config_found(&cs, "/etc/intake/intake.conf", CONFIG_HOW_ENV,
	    0, &l);
	findings(__LINE__, 0, "INTAKE_CONFIG", NULL);

	/* None, but INTAKE_DB from the environment: configured. */
	checks_init(&cs);
	checks_config_found(&cs, "", CONFIG_HOW_NONE, 1, &l);
	findings(__LINE__, 0, "INTAKE_DB", "no configuration found");

	/* None: every place looked at is named. */
	checks_init(&cs);
	checks_config_found(&cs, "", CONFIG_HOW_NONE, 0, &l);
	findings(__LINE__, 1, "no configuration found", NULL);
	findings(__LINE__, 1, "/home/acct/public_html/api/intake.conf", NULL);
	findings(__LINE__, 1, "/home/acct/intake/intake.conf", NULL);
	findings(__LINE__, 1, "INTAKE_CONFIG", NULL);

	checks_init(&cs);
	checks_config_found(&cs, NULL, CONFIG_HOW_NONE, 0, NULL);
	findings(__LINE__, 1, "no configuration found", NULL);
}

static const struct conf_row {
	struct checks_stat	 st;
	const struct checks_who	*who;
	const char		*load_err;
	int			 problems;
	const char		*want;
	const char		*never;
	int			 line;
} conf_rows[] = {
	{ F(0600, 1001, 1, 1, 0), &acct, NULL, 0, "no other account",
	    "chmod", __LINE__ },
	{ F(0400, 1001, 1, 0, 0), &acct, NULL, 0, "mode 0400", NULL,
	    __LINE__ },
	/* Secrets readable by every account: a problem, and its fix. */
	{ F(0644, 1001, 1, 1, 0), &acct, NULL, 1,
	    "chmod 600 /c/intake.conf", NULL, __LINE__ },
	{ F(0604, 1001, 1, 1, 0), &acct, NULL, 1, "every account", NULL,
	    __LINE__ },
	/* By its group alone: said, not refused. */
	{ F(0640, 1001, 1, 1, 0), &acct, NULL, 0, "its group", NULL,
	    __LINE__ },
	/* Its own, mode 000: chmod. */
	{ F(0000, 1001, 0, 0, 0), &acct, NULL, 1, "cannot be read", NULL,
	    __LINE__ },
	{ F(0200, 1001, 0, 1, 0), &acct, NULL, 1, "chmod 600 /c/intake.conf",
	    "chown", __LINE__ },
	/* Another account's 0600 (no suEXEC: the web server's user). */
	{ F(0600, 2002, 0, 0, 0), &acct, NULL, 1, "cannot be read", NULL,
	    __LINE__ },
	{ F(0600, 2002, 0, 0, 0), &acct, NULL, 1, "it belongs to other",
	    NULL, __LINE__ },
	{ F(0600, 2002, 0, 0, 0), &acct, NULL, 1, "chown acct /c/intake.conf",
	    NULL, __LINE__ },
	/* Missing, or behind a folder it cannot enter. */
	{ GONE, &acct, NULL, 1, "cannot be read", NULL, __LINE__ },
	{ GONE, &acct, NULL, 1, "does not exist", NULL, __LINE__ },
	{ DENIED, &acct, NULL, 1, "cannot be entered", NULL, __LINE__ },
	/* A folder named as the file. */
	{ D(0755, 1001, 1, 1, 1), &acct, NULL, 1, "not a file", NULL,
	    __LINE__ },
	/* Readable, with a bad line: the reason, as config_load gave it. */
	{ F(0600, 1001, 1, 1, 0), &acct, "/c/intake.conf:3: unknown key "
	    "\"nope\"", 1, "intake.conf:3: unknown key", NULL, __LINE__ },
	/* Unreadable and bad: unreadable is what to fix first. */
	{ F(0000, 1001, 0, 0, 0), &acct, "/c/intake.conf: Permission denied",
	    1, "cannot be read", "has an error", __LINE__ },
};

static void
test_config_file(void)
{
	const struct conf_row	*t;
	size_t			 i;

	for (i = 0; i < sizeof(conf_rows) / sizeof(conf_rows[0]); i++) {
		t = &conf_rows[i];
		checks_init(&cs);
		checks_config_file(&cs, "/c/intake.conf", &t->st, t->who,
		    t->load_err);
		findings(t->line, t->problems, t->want, t->never);
	}
	checks_init(&cs);
	checks_config_file(&cs, "", &conf_rows[0].st, &acct, NULL);
	CHECK(cs.n == 0, "no file, no finding: %zu", cs.n);
}

static const struct db_row {
	struct checks_stat	 dir, file, side[2];
	int			 problems;
	const char		*want;
	const char		*never;
	int			 line;
} db_rows[] = {
	{ D(0700, 1001, 1, 1, 1), F(0600, 1001, 1, 1, 0),
	    { F(0600, 1001, 1, 1, 0), F(0600, 1001, 1, 1, 0) }, 0,
	    "can be written by acct", NULL, __LINE__ },
	/* Not made yet: made on first use, in a folder it can write. */
	{ D(0755, 1001, 1, 1, 1), GONE, { GONE, GONE }, 0, "first use", NULL,
	    __LINE__ },
	/* The folder. */
	{ GONE, GONE, { GONE, GONE }, 1, "does not exist", NULL, __LINE__ },
	{ GONE, GONE, { GONE, GONE }, 1, "mkdir -m 700 /d", NULL, __LINE__ },
	{ DENIED, GONE, { GONE, GONE }, 1, "cannot be written", NULL,
	    __LINE__ },
	{ D(0555, 1001, 1, 0, 1), GONE, { GONE, GONE }, 1,
	    "cannot be written by acct (mode 0555)", NULL, __LINE__ },
	{ D(0555, 1001, 1, 0, 1), GONE, { GONE, GONE }, 1, "chmod 700 /d",
	    "first use", __LINE__ },
	/* The web server's folder, the account's database (or the other way
	   round, a root-owned folder on a VPS). */
	{ D(0755, 0, 1, 0, 1), F(0600, 1001, 1, 1, 0), { GONE, GONE }, 1,
	    "chown acct /d", NULL, __LINE__ },
	{ F(0644, 1001, 1, 1, 0), GONE, { GONE, GONE }, 1, "not a folder",
	    NULL, __LINE__ },
	/* The file: root's (--init as root), read-only, world-readable. */
	{ D(0700, 1001, 1, 1, 1), F(0644, 0, 1, 0, 0), { GONE, GONE }, 1,
	    "cannot be written", NULL, __LINE__ },
	{ D(0700, 1001, 1, 1, 1), F(0644, 0, 1, 0, 0), { GONE, GONE }, 1,
	    "chown acct /d/intake.db", NULL, __LINE__ },
	{ D(0700, 1001, 1, 1, 1), F(0400, 1001, 1, 0, 0), { GONE, GONE }, 1,
	    "chmod 600 /d/intake.db", NULL, __LINE__ },
	{ D(0700, 1001, 1, 1, 1), F(0644, 1001, 1, 1, 0), { GONE, GONE }, 1,
	    "every account", NULL, __LINE__ },
	{ D(0700, 1001, 1, 1, 1), D(0700, 1001, 1, 1, 1), { GONE, GONE }, 1,
	    "not a file", NULL, __LINE__ },
	/* -wal and -shm: one left read-only, one of another account. */
	{ D(0700, 1001, 1, 1, 1), F(0600, 1001, 1, 1, 0),
	    { F(0400, 1001, 1, 0, 0), GONE }, 1,
	    "/d/intake.db-wal cannot be written", NULL, __LINE__ },
	{ D(0700, 1001, 1, 1, 1), F(0600, 1001, 1, 1, 0),
	    { GONE, F(0600, 0, 0, 0, 0) }, 1,
	    "/d/intake.db-shm cannot be written", "can be written by acct",
	    __LINE__ },
	{ D(0700, 1001, 1, 1, 1), F(0600, 1001, 1, 1, 0),
	    { F(0400, 1001, 1, 0, 0), F(0400, 1001, 1, 0, 0) }, 2, "-shm",
	    NULL, __LINE__ },
	/* Folder and file both wrong: both said. */
	{ D(0555, 1001, 1, 0, 1), F(0400, 1001, 1, 0, 0), { GONE, GONE }, 2,
	    "chmod 600", NULL, __LINE__ },
};

static void
test_db(void)
{
	const struct db_row	*t;
	size_t			 i;

	for (i = 0; i < sizeof(db_rows) / sizeof(db_rows[0]); i++) {
		t = &db_rows[i];
		checks_init(&cs);
		checks_db(&cs, "/d/intake.db", "/d", &t->dir, &t->file,
		    t->side, &acct);
		findings(t->line, t->problems, t->want, t->never);
	}
}

static const struct place_row {
	const char	*real_dir;
	const char	*web;
	int		 problems;
	int		 line;
} place_rows[] = {
	/* The bug of issue 11: made in public_html/api/var/. */
	{ "/home/acct/public_html/api/var", "/home/acct/public_html", 1,
	    __LINE__ },
	{ "/home/acct/public_html", "/home/acct/public_html", 1, __LINE__ },
	{ "/home/acct/intake", "/home/acct/public_html", 0, __LINE__ },
	{ "/home/acct/public_html2", "/home/acct/public_html", 0, __LINE__ },
	{ "/var/lib/intake", "/var/www/html", 0, __LINE__ },
	{ "/var/www/html/data", "/var/www/html", 1, __LINE__ },
};

static void
test_db_place(void)
{
	const struct place_row	*t;
	size_t			 i;

	for (i = 0; i < sizeof(place_rows) / sizeof(place_rows[0]); i++) {
		t = &place_rows[i];
		checks_init(&cs);
		checks_db_place(&cs, "/x/intake.db", t->real_dir, t->web,
		    "DOCUMENT_ROOT");
		findings(t->line, t->problems, t->problems ?
		    "inside the web folder" : "outside the web folder", NULL);
		findings(t->line, t->problems, "DOCUMENT_ROOT", NULL);
	}
}

static const struct ex_row {
	struct checks_stat	 st;
	int			 problems;
	const char		*want;
	int			 line;
} ex_rows[] = {
	{ F(0755, 1001, 1, 0, 1), 0, "can run", __LINE__ },
	{ F(0700, 1001, 1, 1, 1), 0, "can run", __LINE__ },
	/* Uploaded by FTP: no execute bit. */
	{ F(0644, 1001, 1, 1, 0), 1, "not executable", __LINE__ },
	{ F(0644, 1001, 1, 1, 0), 1, "chmod 755 /h/intake/intake-extract",
	    __LINE__ },
	{ F(0644, 1001, 1, 1, 0), 1, "mode 0644", __LINE__ },
	{ GONE, 1, "missing", __LINE__ },
	{ DENIED, 1, "cannot be entered", __LINE__ },
	{ D(0755, 1001, 1, 1, 1), 1, "not a file", __LINE__ },
};

static void
test_extractor(void)
{
	size_t	i;

	for (i = 0; i < sizeof(ex_rows) / sizeof(ex_rows[0]); i++) {
		checks_init(&cs);
		checks_extractor(&cs, "/h/intake/intake-extract",
		    &ex_rows[i].st);
		findings(ex_rows[i].line, ex_rows[i].problems, ex_rows[i].want,
		    NULL);
	}
}

static const struct suexec_row {
	struct checks_stat	 st;
	int			 problems;
	const char		*want;
	int			 line;
} prog_rows[] = {
	{ F(0755, 1001, 1, 1, 1), 0, NULL, __LINE__ },
	{ F(0700, 1001, 1, 1, 1), 0, NULL, __LINE__ },
	{ F(0775, 1001, 1, 1, 1), 1, "writable by group or others",
	    __LINE__ },
	{ F(0775, 1001, 1, 1, 1), 1, "chmod 755 /h/p/api/intake.cgi",
	    __LINE__ },
	{ F(0757, 1001, 1, 1, 1), 1, "writable by group or others",
	    __LINE__ },
	{ F(0777, 1001, 1, 1, 1), 1, "mode 0777", __LINE__ },
	{ F(04755, 1001, 1, 1, 1), 1, "setuid", __LINE__ },
	{ F(02755, 1001, 1, 1, 1), 1, "setuid or setgid", __LINE__ },
	{ F(0644, 1001, 1, 1, 0), 1, "not executable", __LINE__ },
	/* Uploaded by another account (or root). */
	{ F(0755, 0, 1, 0, 1), 1, "belongs to other, not to acct",
	    __LINE__ },
	{ F(0777, 0, 1, 1, 1), 2, "suEXEC refuses", __LINE__ },
	{ GONE, 0, NULL, __LINE__ },
};

static const struct suexec_dir_row {
	struct checks_stat	 st;
	int			 own;
	int			 problems;
	const char		*want;
	int			 line;
} dir_rows[] = {
	{ D(0755, 1001, 1, 1, 1), 1, 0, NULL, __LINE__ },
	{ D(0711, 1001, 1, 1, 1), 0, 0, NULL, __LINE__ },
	{ D(0775, 1001, 1, 1, 1), 1, 1, "suEXEC refuses to run a program in "
	    "a folder writable by group or others", __LINE__ },
	{ D(0775, 1001, 1, 1, 1), 0, 1, "chmod 755 /h/p/api", __LINE__ },
	{ D(0777, 1001, 1, 1, 1), 1, 1, "mode 0777", __LINE__ },
	{ D(01777, 0, 1, 1, 1), 0, 1, "writable by group or others",
	    __LINE__ },
	/* The program's own folder must be the account's; those above need
	   not (/home is root's). */
	{ D(0755, 0, 1, 0, 1), 1, 1, "belongs to other", __LINE__ },
	{ D(0755, 0, 1, 0, 1), 0, 0, NULL, __LINE__ },
};

static void
test_suexec(void)
{
	size_t	i;
	int	quiet;

	for (i = 0; i < sizeof(prog_rows) / sizeof(prog_rows[0]); i++) {
		checks_init(&cs);
		quiet = checks_suexec_program(&cs, "/h/p/api/intake.cgi",
		    &prog_rows[i].st, &acct);
		findings(prog_rows[i].line, prog_rows[i].problems,
		    prog_rows[i].want, NULL);
		CHECK_AT(prog_rows[i].line, quiet == (prog_rows[i].problems ==
		    0), "quiet %d with %d problem(s)", quiet,
		    prog_rows[i].problems);
	}
	for (i = 0; i < sizeof(dir_rows) / sizeof(dir_rows[0]); i++) {
		checks_init(&cs);
		quiet = checks_suexec_folder(&cs, "/h/p/api", &dir_rows[i].st,
		    &acct, dir_rows[i].own);
		findings(dir_rows[i].line, dir_rows[i].problems,
		    dir_rows[i].want, NULL);
		CHECK_AT(dir_rows[i].line, quiet == (dir_rows[i].problems ==
		    0), "quiet %d with %d problem(s)", quiet,
		    dir_rows[i].problems);
	}
}

static void
test_curl_and_root(void)
{
	checks_init(&cs);
	checks_curl(&cs, "7.88.1", "OpenSSL/3.0.11", 1);
	findings(__LINE__, 0, "7.88.1 with https (OpenSSL/3.0.11)", NULL);
	checks_init(&cs);
	checks_curl(&cs, "7.88.1", "", 0);
	findings(__LINE__, 1, "cannot make https", NULL);
	checks_init(&cs);
	checks_curl(&cs, NULL, NULL, 0);
	findings(__LINE__, 1, "libcurl is missing", NULL);

	checks_init(&cs);
	checks_notify(&cs, 0, "", 0, 1, 1, 0);
	findings(__LINE__, 0, "lead delivery is off", "INTAKE_PUBLIC_URL");
	checks_init(&cs);
	checks_notify(&cs, CONFIG_TARGET_EMAIL, "a@b.example, c@d.example", 0,
	    1, 1, 1);
	findings(__LINE__, 0, "lead e-mail to 2 recipients", "webhook");
	checks_init(&cs);
	checks_notify(&cs, CONFIG_TARGET_EMAIL, "a@b.example", 1, 1, 0, 1);
	findings(__LINE__, 1, "cannot send e-mail (no smtps)", NULL);
	checks_init(&cs);
	checks_notify(&cs, CONFIG_TARGET_EMAIL, "a@b.example", 0, 0, 1, 1);
	findings(__LINE__, 1, "cannot send e-mail (no smtp)", NULL);
	checks_init(&cs);
	checks_notify(&cs, CONFIG_TARGET_WEBHOOK, "", 0, 0, 0, 0);
	findings(__LINE__, 0, "lead webhook on", "e-mail to");
	findings(__LINE__, 0, "carry no link to the lead", NULL);

	checks_init(&cs);
	checks_root(&cs, &acct, "/h/p/api/intake.cgi");
	CHECK(cs.n == 0 && cs.problems == 0, "root's line for an account");
	checks_init(&cs);
	checks_root(&cs, &root, "/usr/local/bin/intake.fcgi");
	findings(__LINE__, 1, "sudo -u www-data /usr/local/bin/intake.fcgi "
	    "--check", NULL);
}

static void
test_problems_text(void)
{
	static char	big[CHECKS_LINE_MAX + 500];
	char		buf[256], small[40];
	int	i, n;

	checks_init(&cs);
	checks_add(&cs, CHECKS_OK, "fine");
	checks_add(&cs, CHECKS_PROBLEM, "first wrong");
	checks_add(&cs, CHECKS_OK, "also fine");
	checks_add(&cs, CHECKS_PROBLEM, "second wrong");
	n = checks_problems(&cs, buf, sizeof(buf));
	CHECK(n == 2 && strcmp(buf, "problem: first wrong\nproblem: second "
	    "wrong") == 0, "problems text: %d \"%s\"", n, buf);
	/* Whole lines only when the buffer is short. */
	n = checks_problems(&cs, small, 30);
	CHECK(n == 2 && strcmp(small, "problem: first wrong") == 0,
	    "cut text: \"%s\"", small);
	n = checks_problems(&cs, small, 5);
	CHECK(small[0] == '\0', "nothing fits: \"%s\"", small);
	checks_problems(&cs, small, 0);	/* must not write */

	/* Past CHECKS_MAX lines: still counted. */
	checks_init(&cs);
	for (i = 0; i < CHECKS_MAX + 5; i++)
		checks_add(&cs, CHECKS_PROBLEM, "p%d", i);
	CHECK(cs.n == CHECKS_MAX && cs.problems == CHECKS_MAX + 5,
	    "overflow: %zu kept, %d counted", cs.n, cs.problems);
	/* A finding longer than a line is cut, not overrun. */
	checks_init(&cs);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	checks_add(&cs, CHECKS_OK, "%s", big);
	CHECK(strlen(cs.line[0].text) == CHECKS_LINE_MAX - 1, "a long line: "
	    "%zu", strlen(cs.line[0].text));
}

int
main(void)
{
	test_config_found();
	test_config_file();
	test_db();
	test_db_place();
	test_extractor();
	test_suexec();
	test_curl_and_root();
	test_problems_text();
	return check_done("checks");
}
