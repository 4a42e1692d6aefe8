/*
 * checks_run.c: stat(2), access(2) and realpath(3) for checks.c.
 *
 * Thin on purpose: it gathers what the file system says (as this
 * account: access(2), which suEXEC and a web server's user make the same
 * as the effective ids) and hands it to the pure findings.  It never
 * opens the database: run as root, even a read would leave root-owned
 * -wal and -shm files that the web server then cannot write.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include <curl/curl.h>
#ifndef INTAKE_NO_POSTGRES
#include <libpq-fe.h>
#endif
#include <sqlite3.h>

#include "checks_run.h"
#include "db.h"
#include "paths.h"
#include "util.h"

#define NAME_MAX_LEN	64

/* Who owns uid, as a name, or "uid N". */
static void
checks_name(uid_t uid, char *out, size_t outsz, char *home, size_t homesz)
{
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL) {
		snprintf(out, outsz, "%s", pw.pw_name);
		if (home != NULL)
			snprintf(home, homesz, "%s", pw.pw_dir);
		return;
	}
	snprintf(out, outsz, "uid %ld", (long)uid);
	if (home != NULL && homesz > 0)
		home[0] = '\0';
}

/* What stat and access say of path; owner is st->owner's buffer. */
static void
checks_look(const char *path, struct checks_stat *st, char *owner,
    size_t ownersz)
{
	struct stat	sb;

	memset(st, 0, sizeof(*st));
	st->owner = owner;
	owner[0] = '\0';
	if (stat(path, &sb) == -1) {
		st->err = errno != 0 ? errno : EIO;
		return;
	}
	st->mode = sb.st_mode;
	st->uid = sb.st_uid;
	checks_name(sb.st_uid, owner, ownersz, NULL, 0);
	st->can_r = access(path, R_OK) == 0;
	st->can_w = access(path, W_OK) == 0;
	st->can_x = access(path, X_OK) == 0;
}

/* The real path of the folder of path into out; 0, or -1. */
static int
checks_real_dir(const char *path, char *out)
{
	char	dir[PATHS_MAX];

	if (paths_dirname(path, dir, sizeof(dir)) == -1 ||
	    realpath(dir, out) == NULL)
		return -1;
	return 0;
}

static void
checks_configuration(struct checks *cs, const struct config *cfg,
    const char *load_err, const char *exe, const struct checks_who *who)
{
	struct paths_list	looked;
	struct checks_stat	st;
	struct stat		prog, sb;
	char			owner[NAME_MAX_LEN];
	size_t			i;

	paths_config_candidates(exe, &looked);
	checks_config_found(cs, cfg->file, cfg->how, cfg->db_env, &looked);
	/*
	 * One that may be there but was not taken: behind a folder this
	 * account cannot enter, or another account's (config_discover's
	 * owner rule).
	 */
	for (i = 0; cfg->file[0] == '\0' && i < looked.n; i++) {
		if (stat(looked.path[i], &sb) == -1) {
			if (errno != EACCES)
				continue;
			checks_look(looked.path[i], &st, owner, sizeof(owner));
			checks_config_file(cs, looked.path[i], &st, who, NULL);
		} else if (stat(exe, &prog) == 0 && sb.st_uid != prog.st_uid) {
			checks_name(sb.st_uid, owner, sizeof(owner), NULL, 0);
			checks_add(cs, CHECKS_PROBLEM, "%s is not read: it "
			    "belongs to %s, and the program to another "
			    "account", looked.path[i], owner);
		}
	}
	if (cfg->file[0] != '\0') {
		checks_look(cfg->file, &st, owner, sizeof(owner));
		checks_config_file(cs, cfg->file, &st, who, load_err);
	} else if (load_err != NULL)
		checks_add(cs, CHECKS_PROBLEM, "the settings in the environment "
		    "have an error: %s", load_err);
}

static void
checks_database(struct checks *cs, const char *db,
    const struct checks_who *who)
{
	struct checks_stat	dir, file, side[2];
	char			path[PATHS_MAX + 8], folder[PATHS_MAX];
	char			o1[NAME_MAX_LEN], o2[NAME_MAX_LEN];
	char			o3[NAME_MAX_LEN], o4[NAME_MAX_LEN];

	if (paths_dirname(db, folder, sizeof(folder)) == -1)
		return;
	checks_look(folder, &dir, o1, sizeof(o1));
	checks_look(db, &file, o2, sizeof(o2));
	snprintf(path, sizeof(path), "%s-wal", db);
	checks_look(path, &side[0], o3, sizeof(o3));
	snprintf(path, sizeof(path), "%s-shm", db);
	checks_look(path, &side[1], o4, sizeof(o4));
	checks_db(cs, db, folder, &dir, &file, side, who);
}

/* The database against the web folder: DOCUMENT_ROOT, else a guess. */
static void
checks_web(struct checks *cs, const char *db, const char *docroot,
    const char *self_dir)
{
	struct paths_list	sib;
	struct stat		sb;
	char			db_dir[PATHS_MAX], web[PATHS_MAX];
	char			real[PATHS_MAX];
	size_t			i;

	if (checks_real_dir(db, db_dir) == -1) {
		/* No folder yet: compare what it would be. */
		if (db[0] != '/' ||
		    paths_dirname(db, db_dir, sizeof(db_dir)) == -1)
			return;
	}
	if (docroot != NULL && docroot[0] != '\0') {
		if (realpath(docroot, real) != NULL)
			checks_db_place(cs, db, db_dir, real,
			    "DOCUMENT_ROOT");
		return;
	}
	if (self_dir[0] == '\0')
		return;
	if (paths_web_guess(self_dir, web, sizeof(web))) {
		checks_db_place(cs, db, db_dir, web, "the web folder this "
		    "program is in");
		return;
	}
	paths_web_siblings(self_dir, &sib);
	for (i = 0; i < sib.n; i++)
		if (stat(sib.path[i], &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    realpath(sib.path[i], real) != NULL)
			checks_db_place(cs, db, db_dir, real, "the web "
			    "folder beside this program's");
}

/* The modes suEXEC refuses, for a program kept under the home folder. */
static void
checks_suexec(struct checks *cs, const char *exe, const char *self_dir,
    const struct checks_who *who)
{
	struct checks_stat	 st;
	char			 owner[NAME_MAX_LEN], dir[PATHS_MAX];
	char			 up[PATHS_MAX];
	int			 quiet, own = 1;

	checks_look(exe, &st, owner, sizeof(owner));
	quiet = checks_suexec_program(cs, exe, &st, who);
	snprintf(dir, sizeof(dir), "%s", self_dir);
	for (;;) {
		checks_look(dir, &st, owner, sizeof(owner));
		quiet &= checks_suexec_folder(cs, dir, &st, who, own);
		own = 0;
		if (strcmp(dir, who->home) == 0 || strcmp(dir, "/") == 0 ||
		    paths_dirname(dir, up, sizeof(up)) == -1)
			break;
		memcpy(dir, up, strlen(up) + 1);
	}
	if (quiet)
		checks_add(cs, CHECKS_OK, "suEXEC accepts the modes of %s and "
		    "of its folders up to %s", exe, who->home);
}

/* 1 when this libcurl speaks protocol name. */
static int
checks_curl_has(const curl_version_info_data *cv, const char *name)
{
	const char *const	*p;

	for (p = cv != NULL ? cv->protocols : NULL; p != NULL && *p != NULL;
	    p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

static void
checks_libraries(struct checks *cs, const struct config *cfg, int loaded)
{
	const curl_version_info_data	*cv;

	cv = curl_version_info(CURLVERSION_NOW);
	checks_curl(cs, cv != NULL ? cv->version : NULL,
	    cv != NULL ? cv->ssl_version : NULL, checks_curl_has(cv, "https"));
	/* Settings that did not load are said by the configuration's line. */
	if (loaded)
		checks_notify(cs, cfg->notify_targets, cfg->notify_email,
		    strncasecmp(cfg->smtp_url, "smtps://", 8) == 0,
		    checks_curl_has(cv, "smtp"), checks_curl_has(cv, "smtps"),
		    cfg->public_url[0] != '\0');
#ifdef __GLIBC__
	checks_add(cs, CHECKS_OK, "C library: glibc %s", gnu_get_libc_version());
#endif
	checks_add(cs, CHECKS_OK, "SQLite %s", sqlite3_libversion());
#ifdef INTAKE_NO_POSTGRES
	checks_add(cs, CHECKS_OK, "libpq: not in this build (SQLite only)");
#else
	checks_add(cs, CHECKS_OK, "libpq %d.%d", PQlibVersion() / 10000,
	    PQlibVersion() % 10000);
#endif
}

/*
 * A PostgreSQL database: reached, and its schema made or migrated (what
 * a request would do), or why not.  The URI is never shown: it may hold
 * a password; libpq's reason (the host, the port, what refused) is
 * logged by db_open, on the line above.
 */
static void
checks_postgres(struct checks *cs, const struct config *cfg)
{
	struct db	*db;

	if ((db = db_open(cfg->db, cfg->busy_timeout_ms)) == NULL) {
		checks_add(cs, CHECKS_PROBLEM, "Database: the PostgreSQL "
		    "database INTAKE_DB names cannot be reached or its tables "
		    "made (the line above says why; the URI is not shown: it "
		    "may hold a password)");
		return;
	}
	checks_add(cs, CHECKS_OK, "Database: %s, schema %d, node %s",
	    db_version(db), db_schema_version(), util_node());
	db_close(db);
}

void
checks_run(struct checks *cs, const struct config *cfg, const char *load_err,
    enum checks_prog prog, const char *docroot)
{
	struct checks_who	who;
	struct checks_stat	st;
	char			name[NAME_MAX_LEN], home[PATHS_MAX];
	char			real_home[PATHS_MAX], owner[NAME_MAX_LEN];
	char			exe[PATHS_MAX], self_dir[PATHS_MAX];
	char			extractor[PATHS_MAX], db[PATHS_MAX];
	char			cwd[PATHS_MAX];

	who.uid = geteuid();
	checks_name(who.uid, name, sizeof(name), home, sizeof(home));
	who.name = name;
	who.home = "";
	if (home[0] == '/' && strcmp(home, "/") != 0 &&
	    realpath(home, real_home) != NULL)
		who.home = real_home;
	if (config_self(self_dir, sizeof(self_dir), exe, sizeof(exe)) == -1)
		exe[0] = self_dir[0] = '\0';

	/* A relative database is named from the working folder. */
	if (cfg->db[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL ||
	    paths_join(cwd, cfg->db, db, sizeof(db)) == -1)
		snprintf(db, sizeof(db), "%s", cfg->db);

	checks_configuration(cs, cfg, load_err, exe, &who);
	/* A PostgreSQL database is the server's: no file to look at. */
	if (db_engine_of(cfg->db) == DB_POSTGRES)
		checks_postgres(cs, cfg);
	else {
		checks_database(cs, db, &who);
		checks_web(cs, db, docroot, self_dir);
	}
	if (prog == CHECKS_WEB) {
		if (config_extractor(cfg, extractor, sizeof(extractor)) == 0) {
			checks_look(extractor, &st, owner, sizeof(owner));
			checks_extractor(cs, extractor, &st);
		}
		if (exe[0] != '\0' && who.home[0] != '\0' &&
		    paths_inside(who.home, self_dir))
			checks_suexec(cs, exe, self_dir, &who);
	} else if (exe[0] != '\0') {
		checks_look(exe, &st, owner, sizeof(owner));
		checks_extractor(cs, exe, &st);
	}
	checks_libraries(cs, cfg, load_err == NULL);
}

int
checks_db_create(const struct config *cfg, int need_config,
    const char *docroot, const char *ctxroot, char *why, size_t whysz)
{
	const char	*roots[2], *names[2] = { "DOCUMENT_ROOT",
			    "CONTEXT_DOCUMENT_ROOT" };
	char		 db_dir[PATHS_MAX], real[PATHS_MAX];
	size_t		 i;

	if (db_engine_of(cfg->db) == DB_POSTGRES ||
	    access(cfg->db, F_OK) == 0 || errno != ENOENT)
		return 0;	/* there (or db_open says why it is not) */
	if (need_config && !config_found(cfg)) {
		snprintf(why, whysz, "no configuration found (INTAKE_CONFIG is "
		    "not set and there is no intake.conf where the program "
		    "looks; --check lists where): not making a database at "
		    "%s", cfg->db);
		return -1;
	}
	if (checks_real_dir(cfg->db, db_dir) == -1)
		return 0;	/* no folder: db_open says so */
	roots[0] = docroot;
	roots[1] = ctxroot;
	for (i = 0; i < 2; i++) {
		if (roots[i] == NULL || roots[i][0] == '\0' ||
		    realpath(roots[i], real) == NULL)
			continue;
		if (paths_inside(real, db_dir)) {
			snprintf(why, whysz, "the database %s would be inside "
			    "the web folder %s (%s): not making it there; set "
			    "db = ... in the configuration to a folder outside "
			    "it", cfg->db, real, names[i]);
			return -1;
		}
	}
	return 0;
}

void
checks_print(const struct checks *cs, FILE *f)
{
	size_t	i;
	int	shown = 0;

	for (i = 0; i < cs->n; i++) {
		fprintf(f, "%s: %s\n", cs->line[i].level == CHECKS_PROBLEM ?
		    "problem" : "ok", cs->line[i].text);
		if (cs->line[i].level == CHECKS_PROBLEM)
			shown++;
	}
	if (cs->problems > shown)
		fprintf(f, "problem: %d more problem(s) not shown\n",
		    cs->problems - shown);
}

int
checks_main(const struct config *cfg, const char *load_err,
    enum checks_prog prog)
{
	struct checks		*cs;
	struct checks_who	 who;
	char			 exe[PATHS_MAX], dir[PATHS_MAX];
	int			 rc;

	if ((cs = malloc(sizeof(*cs))) == NULL) {
		fprintf(stdout, "problem: out of memory\n");
		return 1;
	}
	checks_init(cs);
	if (geteuid() == 0) {
		who.uid = 0;
		who.name = "root";
		who.home = "";
		if (config_self(dir, sizeof(dir), exe, sizeof(exe)) == -1)
			snprintf(exe, sizeof(exe), "PROGRAM");
		checks_root(cs, &who, exe);
	}
	checks_run(cs, cfg, load_err, prog, getenv("DOCUMENT_ROOT"));
	checks_print(cs, stdout);
	fflush(stdout);
	rc = cs->problems > 0 ? 1 : 0;
	free(cs);
	return rc;
}
