/*
 * checks_run.h: the looking behind --check and behind /api/health's
 * detail, and the one rule on where a database may be made.
 */
#ifndef CHECKS_RUN_H
#define CHECKS_RUN_H

#include <stdio.h>

#include "checks.h"
#include "config.h"

enum checks_prog {
	CHECKS_WEB,		/* intake.fcgi / intake.cgi */
	CHECKS_EXTRACTOR,	/* intake-extract */
};

/*
 * Look at everything the program needs, as the account running it, and
 * add a finding for each (checks.h): the configuration cfg came from
 * (load_err: config_load's reason when it failed, else NULL), the
 * database and its folder, the database against the web folder
 * (docroot: DOCUMENT_ROOT when known, else NULL: then a web folder is
 * guessed from the program's place), the extractor, the modes suEXEC
 * refuses (for the web program kept under the account's home), libcurl
 * and the C library.  Opens, creates and changes nothing (a database
 * opened here by root would leave root's -wal and -shm behind).
 * Thread-safe: /api/health runs it in a worker.
 */
void	checks_run(struct checks *, const struct config *cfg,
	    const char *load_err, enum checks_prog prog, const char *docroot);

/*
 * May a database be made at cfg->db?  When it does not exist yet: never
 * inside the web folder (docroot, ctxroot: DOCUMENT_ROOT and
 * CONTEXT_DOCUMENT_ROOT, each NULL when unknown; compared as real paths),
 * and, with need_config set, not when nothing configured the program
 * (config_found: a program that found no configuration would make one
 * beside itself, in the web folder).  0 when it may be opened (it exists,
 * or may be made), -1 when not, with the reason in why (for the log and
 * the admin: it names paths).
 */
int	checks_db_create(const struct config *cfg, int need_config,
	    const char *docroot, const char *ctxroot, char *why, size_t whysz);

/* Print "ok: ..." / "problem: ..." lines to f. */
void	checks_print(const struct checks *, FILE *f);

/*
 * --check: checks_run (DOCUMENT_ROOT from the environment, when a shell
 * has one) printed to stdout.  The exit status: 1 when any line is a
 * problem, else 0.
 */
int	checks_main(const struct config *cfg, const char *load_err,
	    enum checks_prog prog);

#endif
