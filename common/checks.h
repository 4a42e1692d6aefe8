/*
 * checks.h: what `--check` says about an installation, one finding per
 * line, "ok: ..." or "problem: ...", in words a web person understands.
 *
 * Pure: each function takes what stat(2) and access(2) found (a mode, an
 * owner, whether this account may read or write) and adds its finding;
 * checks_run.c does the looking.  So every wording, and every mode that
 * suEXEC refuses, is table-tested without a file system.  Lines may name
 * paths: they are for the account's owner (a shell, or /api/health with
 * the admin token), never for the public.
 */
#ifndef CHECKS_H
#define CHECKS_H

#include <sys/types.h>

#include <stddef.h>

#include "paths.h"

#define CHECKS_LINE_MAX	2048	/* one finding (cut beyond) */
#define CHECKS_MAX	40	/* findings kept: 80 KiB, not for a stack */

enum checks_level {
	CHECKS_OK,
	CHECKS_PROBLEM,
};

struct checks_line {
	enum checks_level	 level;
	char			 text[CHECKS_LINE_MAX];
};

struct checks {
	size_t			 n;
	int			 problems;	/* also those not kept */
	struct checks_line	 line[CHECKS_MAX];
};

/* A file or folder as this account sees it. */
struct checks_stat {
	int		 err;		/* stat's errno; 0: it exists */
	mode_t		 mode;		/* st_mode */
	uid_t		 uid;		/* its owner */
	const char	*owner;		/* the owner's name, or "uid N" */
	int		 can_r;		/* access(2) R_OK for this account */
	int		 can_w;		/* W_OK */
	int		 can_x;		/* X_OK */
};

/* The account that runs the program. */
struct checks_who {
	uid_t		 uid;
	const char	*name;		/* "www-data", or "uid N" */
	const char	*home;		/* its home folder, or "" */
};

void	checks_init(struct checks *);

/* Add one finding (cut at CHECKS_LINE_MAX; past CHECKS_MAX only counted). */
void	checks_add(struct checks *, enum checks_level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Which configuration: file (how it was found), or none, with where
 * discovery looked (looked) and whether INTAKE_DB came from the
 * environment (then no file is needed).
 */
void	checks_config_found(struct checks *, const char *file,
	    enum config_how how, int db_env, const struct paths_list *looked);

/*
 * The configuration file: readable by this account, and not by others
 * (it holds the admin token and the API key).  load_err: config_load's
 * reason when it failed for another cause (a bad line), or NULL.
 */
void	checks_config_file(struct checks *, const char *file,
	    const struct checks_stat *st, const struct checks_who *who,
	    const char *load_err);

/*
 * The database at db, in folder dir: the folder exists and can be
 * written (SQLite makes -wal and -shm there), the file and its -wal and
 * -shm (side[0], side[1]) can be written when they exist.
 */
void	checks_db(struct checks *, const char *db, const char *dir,
	    const struct checks_stat *dirst, const struct checks_stat *file,
	    const struct checks_stat side[2], const struct checks_who *who);

/*
 * The database (its folder resolved: real_dir) against the web folder
 * web (resolved), which from says how it is known ("DOCUMENT_ROOT", or
 * a guess).  A problem when inside: anyone could download it.
 */
void	checks_db_place(struct checks *, const char *db,
	    const char *real_dir, const char *web, const char *from);

/* The extractor: exists, executable. */
void	checks_extractor(struct checks *, const char *path,
	    const struct checks_stat *st);

/*
 * What suEXEC refuses of the program file: writable by group or others,
 * setuid or setgid, not executable, not owned by the account running it.
 * 1 when it found nothing to say.
 */
int	checks_suexec_program(struct checks *, const char *path,
	    const struct checks_stat *st, const struct checks_who *who);

/*
 * The same for a folder from the program's up to the account's home:
 * writable by group or others; the program's own folder (own set) must
 * also be the account's.  1 when it found nothing to say.
 */
int	checks_suexec_folder(struct checks *, const char *dir,
	    const struct checks_stat *st, const struct checks_who *who,
	    int own);

/* libcurl: version, TLS library ("" none), whether https is built in. */
void	checks_curl(struct checks *, const char *version, const char *ssl,
	    int https);

/* Running as root answers every access question with yes. */
/*
 * Lead delivery (config.h's notify_targets bits): what is on, to how
 * many recipients, whether links to the lead can be made, and, with
 * e-mail on, whether this libcurl speaks SMTP (smtp: it has smtp, or
 * smtps for an smtps:// URL).  Never a URL: it may carry a password or
 * a receiver's secret path.
 */
void	checks_notify(struct checks *, unsigned targets, const char *rcpts,
	    int smtps_url, int curl_smtp, int curl_smtps, int public_url);

void	checks_root(struct checks *, const struct checks_who *who,
	    const char *prog);

/*
 * The problem lines alone, "problem: ..." joined by newlines, into buf
 * (cut at a line's end when full).  The number of problems.
 */
int	checks_problems(const struct checks *, char *buf, size_t bufsz);

#endif
