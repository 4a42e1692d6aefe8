/*
 * health.c: GET /api/health, the one route that answers without the
 * database, since it is what says why there is none.
 *
 * ok only when the program was configured (a file, or INTAKE_DB in the
 * environment), the database takes a write and the extractor can run.
 * Otherwise 503 with a reason that names no path; the admin gets the
 * --check problem lines instead (paths and all).
 */
#include <stdlib.h>

#include "checks_run.h"
#include "db.h"
#include "handler.h"
#include "spawn.h"

#define HEALTH_DETAIL_MAX	8192	/* the admin's reasons, at most */

void
health_get(struct ctx *c)
{
	struct checks	*cs = NULL;
	char		*msg = NULL;
	int		 configured, db_ok, ex_ok;

	configured = config_found(c->cfg);
	db_ok = c->db != NULL && store_health(c->db);
	ex_ok = spawn_ready();
	if (configured && db_ok && ex_ok) {
		http_json(&c->h, 200, json_pack("{s:b}", "ok", 1));
		return;
	}
	if (!handler_admin(c) || (cs = malloc(sizeof(*cs))) == NULL ||
	    (msg = malloc(HEALTH_DETAIL_MAX)) == NULL) {
		http_error(&c->h, ERR_UNAVAILABLE, "The service is not set up "
		    "correctly.");
		goto out;
	}
	checks_init(cs);
	/* Not made on purpose (checks_run says why), or failed: */
	if (!db_ok && configured && checks_db_create(c->cfg, 0,
	    http_param(&c->h, "DOCUMENT_ROOT"), http_param(&c->h,
	    "CONTEXT_DOCUMENT_ROOT"), msg, HEALTH_DETAIL_MAX) == 0)
		checks_add(cs, CHECKS_PROBLEM, "the database %s cannot be "
		    "opened or cannot be written (the log says why)",
		    /* A URI may hold a password: never shown. */
		    db_engine_of(c->cfg->db) == DB_POSTGRES ?
		    "(PostgreSQL, INTAKE_DB)" : c->cfg->db);
	if (!ex_ok)
		checks_add(cs, CHECKS_PROBLEM, "extraction is off: the "
		    "extractor %s could not be run when last looked at",
		    spawn_program()[0] != '\0' ? spawn_program() : "(none)");
	checks_run(cs, c->cfg, NULL, CHECKS_WEB,
	    http_param(&c->h, "DOCUMENT_ROOT"));
	checks_problems(cs, msg, HEALTH_DETAIL_MAX);
	http_error(&c->h, ERR_UNAVAILABLE, msg);
out:
	free(msg);
	free(cs);
}
