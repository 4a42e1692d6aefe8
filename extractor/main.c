/*
 * main.c: intake-extract, the program that works after the response.
 *
 *   intake-extract --job ID   run the job the web program claimed for us,
 *                             then drain pending jobs while under the cap
 *   intake-extract --drain    reclaim jobs whose extractor died and drain
 *                             pending jobs (what intake.fcgi starts for
 *                             jobs nobody else will run)
 *   intake-extract --sweep    reclaim jobs whose extractor died, retry
 *                             failed ones with tries left, drain pending
 *                             jobs (safe from cron, and concurrently)
 *   intake-extract --init     create or migrate the database (mode 0600)
 *
 * It reads the same configuration as intake.fcgi (INTAKE_CONFIG and the
 * INTAKE_* environment).  It opens its own SQLite handle and initialises
 * curl itself: nothing of the web program's crosses the exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "run.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: intake-extract --job ID | --drain | --sweep | "
	    "--init\n");
	return 2;
}

/* SQLite refuses descriptors 0-2 for a database: keep them taken. */
static void
fds_sane(void)
{
	int	fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* Run j and record how it ended.  -1 when the database failed. */
static int
job_do(sqlite3 *db, const struct config *cfg, const struct job *j)
{
	char	err[256];
	int	rc;

	rc = run_job(db, cfg, j, err, sizeof(err));
	if (rc == 0)
		return jobs_done(db, j->id);
	if (rc == 1)
		return jobs_fail(db, j->id, err);
	/* The database failed: leave it for the sweep to reclaim. */
	jobs_fail(db, j->id, "database error");
	return -1;
}

/*
 * Claim and run pending jobs until none is left or the cap is full.
 * Jobs whose extractor died are made pending first, so they are run
 * again by the next extractor even where no cron runs the sweep.
 */
static void
drain(sqlite3 *db, const struct config *cfg, long pid, int64_t start)
{
	struct job	j;

	jobs_reclaim(db, cfg->stale_ms, 0);
	while (jobs_claim_next(db, pid, start, cfg->max_extractors,
	    cfg->stale_ms, &j) == 1)
		if (job_do(db, cfg, &j) == -1)
			break;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct job	 j;
	sqlite3		*db;
	char		 err[512], *end;
	long		 pid = (long)getpid();
	int64_t		 start, id;
	int		 rc = 0, n;

	fds_sane();
	signal(SIGPIPE, SIG_IGN);
	log_init("intake-extract");
	db_init();
	if (argc < 2)
		return usage();
	if (config_load(&cfg, err, sizeof(err)) == -1) {
		log_warnx("configuration: %s", err);
		return 1;
	}
	if ((db = db_open(cfg.db, cfg.busy_timeout_ms)) == NULL)
		return 1;
	if (strcmp(argv[1], "--init") == 0 && argc == 2) {
		/* A database that cannot be written is not ready. */
		if (!db_writable(db))
			rc = 1;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("curl_global_init failed");
		rc = 1;
		goto out;
	}
	start = util_proc_start(pid);
	if (strcmp(argv[1], "--job") == 0 && argc == 3) {
		errno = 0;
		id = strtoll(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || id <= 0) {
			rc = usage();
			goto done;
		}
		if (jobs_attach(db, id, pid, start, &j) == 1 &&
		    job_do(db, &cfg, &j) == -1) {
			rc = 1;
			goto done;
		}
		drain(db, &cfg, pid, start);
	} else if (strcmp(argv[1], "--drain") == 0 && argc == 2) {
		drain(db, &cfg, pid, start);
	} else if (strcmp(argv[1], "--sweep") == 0 && argc == 2) {
		if ((n = jobs_reclaim(db, cfg.stale_ms, 1)) == -1)
			rc = 1;
		else if (n > 0)
			log_info("sweep: %d job(s) pending again", n);
		drain(db, &cfg, pid, start);
	} else
		rc = usage();
done:
	curl_global_cleanup();
out:
	db_close(db);
	return rc;
}
