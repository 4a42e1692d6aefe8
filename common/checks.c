/*
 * checks.c: the findings of --check, from modes and owners handed in.
 *
 * Each finding says what is wrong and the command that fixes it, since
 * the person reading it may never have seen a shell.  suEXEC's rules are
 * Apache's (support/suexec.c): it refuses a program or its folder that
 * group or others may write, a program with the setuid or setgid bit,
 * and a program or folder owned by another account than the one it runs
 * as; it says why only in suexec.log, which the account cannot read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "config.h"

void
checks_init(struct checks *cs)
{
	cs->n = 0;
	cs->problems = 0;
}

void
checks_add(struct checks *cs, enum checks_level level, const char *fmt, ...)
{
	va_list	ap;

	if (level == CHECKS_PROBLEM)
		cs->problems++;
	if (cs->n >= CHECKS_MAX)
		return;
	cs->line[cs->n].level = level;
	va_start(ap, fmt);
	vsnprintf(cs->line[cs->n].text, sizeof(cs->line[cs->n].text), fmt,
	    ap);
	va_end(ap);
	cs->n++;
}

static unsigned
perm(const struct checks_stat *st)
{
	return (unsigned)(st->mode & 07777);
}

/* Why stat failed, in words. */
static const char *
checks_why(int err)
{
	switch (err) {
	case ENOENT:
		return "it does not exist";
	case EACCES:
		return "a folder on the way to it cannot be entered by this "
		    "account";
	case ENOTDIR:
		return "a part of its path is a file, not a folder";
	default:
		return "it cannot be looked at";
	}
}

void
checks_config_found(struct checks *cs, const char *file, enum config_how how,
    int db_env, const struct paths_list *looked)
{
	char	list[CHECKS_LINE_MAX / 2];
	size_t	i, len = 0;
	int	n;

	if (file != NULL && file[0] != '\0') {
		checks_add(cs, CHECKS_OK, "configuration: %s (%s)", file,
		    paths_config_how_words(how));
		return;
	}
	if (db_env) {
		checks_add(cs, CHECKS_OK, "no configuration file: the settings "
		    "come from the environment (INTAKE_DB is set)");
		return;
	}
	list[0] = '\0';
	for (i = 0; looked != NULL && i < looked->n; i++) {
		n = snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : ", ", looked->path[i]);
		if (n < 0 || (size_t)n >= sizeof(list) - len)
			break;
		len += (size_t)n;
	}
	checks_add(cs, CHECKS_PROBLEM, "no configuration found: INTAKE_CONFIG "
	    "is not set and there is no intake.conf where this program looks "
	    "(%s); put intake.conf in the intake folder beside the web folder, "
	    "or name it with INTAKE_CONFIG", len > 0 ? list :
	    "its own place is unknown");
}

void
checks_config_file(struct checks *cs, const char *file,
    const struct checks_stat *st, const struct checks_who *who,
    const char *load_err)
{
	if (file == NULL || file[0] == '\0')
		return;
	if (st->err != 0) {
		checks_add(cs, CHECKS_PROBLEM, "the configuration %s cannot be "
		    "read by %s: %s", file, who->name, checks_why(st->err));
		return;
	}
	if (!S_ISREG(st->mode)) {
		checks_add(cs, CHECKS_PROBLEM, "the configuration %s cannot be "
		    "read: it is not a file", file);
		return;
	}
	if (!st->can_r) {
		if (st->uid == who->uid)
			checks_add(cs, CHECKS_PROBLEM, "the configuration %s "
			    "cannot be read by %s (mode %04o): chmod 600 %s",
			    file, who->name, perm(st), file);
		else
			checks_add(cs, CHECKS_PROBLEM, "the configuration %s "
			    "cannot be read by %s, who runs the program: it "
			    "belongs to %s (mode %04o); it must belong to %s, "
			    "mode 600 (upload it again as %s, or as root: "
			    "chown %s %s)", file, who->name, st->owner,
			    perm(st), who->name, who->name, who->name, file);
		return;
	}
	if (load_err != NULL && load_err[0] != '\0') {
		checks_add(cs, CHECKS_PROBLEM, "the configuration has an error: "
		    "%s", load_err);
		return;
	}
	if (st->mode & S_IROTH)
		checks_add(cs, CHECKS_PROBLEM, "the configuration %s can be "
		    "read by every account on this machine (mode %04o), and it "
		    "holds the admin token and the API key: chmod 600 %s",
		    file, perm(st), file);
	else if (st->mode & S_IRGRP)
		checks_add(cs, CHECKS_OK, "the configuration %s can be read by "
		    "%s and by its group (mode %04o); chmod 600 %s keeps its "
		    "secrets to %s alone", file, who->name, perm(st), file,
		    st->owner);
	else
		checks_add(cs, CHECKS_OK, "the configuration can be read by %s "
		    "and no other account (mode %04o)", who->name, perm(st));
}

/* Say how to give path (a file or folder) to this account. */
static void
checks_unwritable(struct checks *cs, const char *what, const char *path,
    const struct checks_stat *st, const struct checks_who *who,
    const char *fix_mode, const char *consequence)
{
	if (st->uid == who->uid)
		checks_add(cs, CHECKS_PROBLEM, "%s %s cannot be written by %s "
		    "(mode %04o)%s: chmod %s %s", what, path, who->name,
		    perm(st), consequence, fix_mode, path);
	else
		checks_add(cs, CHECKS_PROBLEM, "%s %s cannot be written by %s, "
		    "who runs the program: it belongs to %s (mode %04o)%s; as "
		    "root: chown %s %s", what, path, who->name, st->owner,
		    perm(st), consequence, who->name, path);
}

void
checks_db(struct checks *cs, const char *db, const char *dir,
    const struct checks_stat *dirst, const struct checks_stat *file,
    const struct checks_stat side[2], const struct checks_who *who)
{
	static const char *const ext[2] = { "-wal", "-shm" };
	char	path[PATHS_MAX + 8];
	int	i, ok = 1;

	if (dirst->err == ENOENT) {
		checks_add(cs, CHECKS_PROBLEM, "the database folder %s does not "
		    "exist: make it as %s (mkdir -m 700 %s), or set db = ... "
		    "in the configuration", dir, who->name, dir);
		return;
	}
	if (dirst->err != 0) {
		checks_add(cs, CHECKS_PROBLEM, "the database folder %s cannot "
		    "be written by %s: %s", dir, who->name,
		    checks_why(dirst->err));
		return;
	}
	if (!S_ISDIR(dirst->mode)) {
		checks_add(cs, CHECKS_PROBLEM, "the database folder %s is not "
		    "a folder", dir);
		return;
	}
	if (!dirst->can_w || !dirst->can_x) {
		checks_unwritable(cs, "the database folder", dir, dirst, who,
		    "700", ", and SQLite makes the database's -wal and -shm "
		    "files there");
		ok = 0;
	}
	if (file->err != 0 && file->err != ENOENT) {
		checks_add(cs, CHECKS_PROBLEM, "the database %s cannot be "
		    "written by %s: %s", db, who->name, checks_why(file->err));
		return;
	}
	if (file->err == ENOENT) {
		if (ok)
			checks_add(cs, CHECKS_OK, "database: %s (not made yet: "
			    "it is made on first use)", db);
		return;
	}
	if (!S_ISREG(file->mode)) {
		checks_add(cs, CHECKS_PROBLEM, "the database %s is not a file",
		    db);
		return;
	}
	if (!file->can_r || !file->can_w) {
		checks_unwritable(cs, "the database", db, file, who, "600",
		    ", so every request answers 503");
		ok = 0;
	} else if (file->mode & S_IROTH) {
		checks_add(cs, CHECKS_PROBLEM, "the database %s can be read by "
		    "every account on this machine (mode %04o), and it holds "
		    "the visitors' messages: chmod 600 %s", db, perm(file), db);
		ok = 0;
	}
	for (i = 0; i < 2; i++) {
		if (side[i].err != 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", db, ext[i]);
		if (!side[i].can_r || !side[i].can_w) {
			checks_unwritable(cs, "the database's file", path,
			    &side[i], who, "600", ", so every write fails");
			ok = 0;
		}
	}
	if (ok)
		checks_add(cs, CHECKS_OK, "database: %s (can be written by %s)",
		    db, who->name);
}

void
checks_db_place(struct checks *cs, const char *db, const char *real_dir,
    const char *web, const char *from)
{
	char	dir[PATHS_MAX], where[PATHS_MAX + 16];

	/* Say where it really is when ".." or a link hides it. */
	where[0] = '\0';
	if (paths_dirname(db, dir, sizeof(dir)) == 0 &&
	    strcmp(dir, real_dir) != 0)
		snprintf(where, sizeof(where), " (in %s)", real_dir);
	if (paths_inside(web, real_dir))
		checks_add(cs, CHECKS_PROBLEM, "the database %s%s is inside the "
		    "web folder %s (%s): anyone could download it; keep it "
		    "outside (the intake folder beside the web folder) and set "
		    "db = ... in the configuration", db, where, web, from);
	else
		checks_add(cs, CHECKS_OK, "the database is outside the web "
		    "folder %s (%s)", web, from);
}

void
checks_extractor(struct checks *cs, const char *path,
    const struct checks_stat *st)
{
	if (st->err == ENOENT) {
		checks_add(cs, CHECKS_PROBLEM, "the extractor %s is missing: "
		    "upload intake-extract there (chmod 755); until then no "
		    "lead is extracted", path);
		return;
	}
	if (st->err != 0) {
		checks_add(cs, CHECKS_PROBLEM, "the extractor %s cannot be "
		    "run: %s", path, checks_why(st->err));
		return;
	}
	if (!S_ISREG(st->mode)) {
		checks_add(cs, CHECKS_PROBLEM, "the extractor %s is not a file",
		    path);
		return;
	}
	if (!st->can_x) {
		checks_add(cs, CHECKS_PROBLEM, "the extractor %s is not "
		    "executable (mode %04o; FTP uploads drop that bit): chmod "
		    "755 %s", path, perm(st), path);
		return;
	}
	checks_add(cs, CHECKS_OK, "extractor: %s (can run)", path);
}

int
checks_suexec_program(struct checks *cs, const char *path,
    const struct checks_stat *st, const struct checks_who *who)
{
	int	quiet = 1;

	if (st->err != 0)
		return 1;	/* it runs: its path was just unreadable */
	if (st->mode & (S_IWGRP | S_IWOTH)) {
		checks_add(cs, CHECKS_PROBLEM, "suEXEC refuses to run a program "
		    "writable by group or others (%s is mode %04o): chmod 755 "
		    "%s", path, perm(st), path);
		quiet = 0;
	}
	if (st->mode & (S_ISUID | S_ISGID)) {
		checks_add(cs, CHECKS_PROBLEM, "suEXEC refuses to run a program "
		    "with the setuid or setgid bit (%s is mode %04o): chmod 755 "
		    "%s", path, perm(st), path);
		quiet = 0;
	}
	if (!(st->mode & S_IXUSR)) {
		checks_add(cs, CHECKS_PROBLEM, "the program %s is not "
		    "executable (mode %04o; FTP uploads drop that bit): chmod "
		    "755 %s", path, perm(st), path);
		quiet = 0;
	}
	if (st->uid != who->uid) {
		checks_add(cs, CHECKS_PROBLEM, "the program %s belongs to %s, "
		    "not to %s, who runs it: suEXEC refuses to run it; upload "
		    "it again as %s (or ask the host to chown it)", path,
		    st->owner, who->name, who->name);
		quiet = 0;
	}
	return quiet;
}

int
checks_suexec_folder(struct checks *cs, const char *dir,
    const struct checks_stat *st, const struct checks_who *who, int own)
{
	int	quiet = 1;

	if (st->err != 0)
		return 1;
	if (st->mode & (S_IWGRP | S_IWOTH)) {
		checks_add(cs, CHECKS_PROBLEM, "suEXEC refuses to run a program "
		    "in a folder writable by group or others (%s is mode %04o): "
		    "chmod 755 %s", dir, perm(st), dir);
		quiet = 0;
	}
	if (own && st->uid != who->uid) {
		checks_add(cs, CHECKS_PROBLEM, "the program's folder %s belongs "
		    "to %s, not to %s, who runs the program: suEXEC refuses "
		    "to run it there", dir, st->owner, who->name);
		quiet = 0;
	}
	return quiet;
}

void
checks_curl(struct checks *cs, const char *version, const char *ssl,
    int https)
{
	if (version == NULL || version[0] == '\0')
		checks_add(cs, CHECKS_PROBLEM, "libcurl is missing: ask the "
		    "host for it (every model provider is reached through "
		    "it)");
	else if (!https)
		checks_add(cs, CHECKS_PROBLEM, "libcurl %s cannot make https "
		    "connections: the model provider cannot be reached; ask "
		    "the host for a libcurl with TLS", version);
	else
		checks_add(cs, CHECKS_OK, "libcurl %s with https (%s)", version,
		    ssl != NULL && ssl[0] != '\0' ? ssl : "TLS");
}

void
checks_notify(struct checks *cs, unsigned targets, const char *rcpts,
    int smtps_url, int curl_smtp, int curl_smtps, int public_url)
{
	const char	*p;
	size_t		 n = 1;

	if (targets == 0) {
		checks_add(cs, CHECKS_OK, "lead delivery is off: set "
		    "INTAKE_NOTIFY_EMAIL (with INTAKE_SMTP_URL and "
		    "INTAKE_SMTP_FROM) or INTAKE_WEBHOOK_URL (with "
		    "INTAKE_WEBHOOK_SECRET) to hear of each lead");
		return;
	}
	if (targets & CONFIG_TARGET_EMAIL) {
		for (p = rcpts; *p != '\0'; p++)
			n += *p == ',';
		if (smtps_url ? !curl_smtps : !curl_smtp)
			checks_add(cs, CHECKS_PROBLEM, "libcurl here cannot "
			    "send e-mail (no %s): no lead e-mail will go out; "
			    "ask the host for a libcurl with it, or use the "
			    "webhook", smtps_url ? "smtps" : "smtp");
		else
			checks_add(cs, CHECKS_OK, "lead e-mail to %zu "
			    "recipient%s (INTAKE_NOTIFY_EMAIL)", n,
			    n == 1 ? "" : "s");
	}
	if (targets & CONFIG_TARGET_WEBHOOK)
		checks_add(cs, CHECKS_OK, "lead webhook on, signed with "
		    "INTAKE_WEBHOOK_SECRET (Standard Webhooks)");
	if (!public_url)
		checks_add(cs, CHECKS_OK, "INTAKE_PUBLIC_URL is not set: lead "
		    "e-mails and webhooks carry no link to the lead");
}

void
checks_root(struct checks *cs, const struct checks_who *who,
    const char *prog)
{
	if (who->uid != 0)
		return;
	checks_add(cs, CHECKS_PROBLEM, "--check runs as root, who may read "
	    "and write every file, so it cannot tell what the program's "
	    "account may: run it as that account (e.g. sudo -u www-data %s "
	    "--check)", prog);
}

int
checks_problems(const struct checks *cs, char *buf, size_t bufsz)
{
	size_t	i, len = 0;
	int	n;

	if (bufsz == 0)
		return cs->problems;
	buf[0] = '\0';
	for (i = 0; i < cs->n; i++) {
		if (cs->line[i].level != CHECKS_PROBLEM)
			continue;
		n = snprintf(buf + len, bufsz - len, "%sproblem: %s",
		    len == 0 ? "" : "\n", cs->line[i].text);
		if (n < 0 || (size_t)n >= bufsz - len) {
			buf[len] = '\0';	/* whole lines only */
			break;
		}
		len += (size_t)n;
	}
	return cs->problems;
}
