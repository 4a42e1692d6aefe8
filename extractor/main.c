/*
 * main.c: intake-extract, the program that works after the response.
 *
 *   intake-extract --job ID   run the job the web program claimed for us,
 *                             then drain pending jobs while under the cap,
 *                             then wait up to INTAKE_EXTRACT_LINGER_MS for
 *                             the web program to hand us the next turn's
 *                             job (no process started for it)
 *   intake-extract --drain    reclaim jobs whose extractor died, drain
 *                             pending jobs and send due notifications
 *                             (what intake.fcgi starts for work nobody
 *                             else will do)
 *   intake-extract --sweep [--retry-failed]
 *                             reclaim jobs whose extractor died, retry
 *                             failed ones with tries left, drain pending
 *                             jobs, send the notifications that are due
 *                             (with --retry-failed, failed ones first
 *                             made pending again), and erase what
 *                             INTAKE_RETENTION_DAYS no longer keeps;
 *                             safe from cron, and
 *                             concurrently; says what it did in one line
 *                             on stdout
 *   intake-extract --init [--owner USER]
 *                             create or migrate the database (mode 0600);
 *                             as root only with --owner: the database
 *                             (and its folder when missing) is USER's
 *   intake-extract --check    what the installation lacks, one line each
 *   intake-extract --help
 *
 * It reads the same configuration as intake.fcgi (INTAKE_CONFIG, else
 * intake.conf found from its own place, and the INTAKE_* environment).
 * It opens its own SQLite handle and initialises curl itself, and only
 * when a model extraction or a delivery needs it (run_curl): nothing of
 * the web program's crosses the exec.  Started by the web program (--job,
 * --drain) it logs to INTAKE_LOG_FILE when that is set; run by hand or
 * cron, to stderr.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks_run.h"
#include "config.h"
#include "db.h"
#include "erase.h"
#include "jobs.h"
#include "log.h"
#include "notify.h"
#include "paths.h"
#include "run.h"
#include "util.h"

static const char usage_text[] =
    "usage: intake-extract --job ID | --drain | --sweep [--retry-failed]\n"
    "                      | --init [--owner USER] | --check | --help\n"
    "  --sweep         run the extraction jobs left waiting and send the lead\n"
    "                  notifications that are due (from cron); prints one\n"
    "                  line: what it did.  --retry-failed: notifications that\n"
    "                  failed every try are sent again\n"
    "  --init          create or update the database (mode 0600); as root,\n"
    "                  add --owner USER, the account the web server runs the\n"
    "                  program as (e.g. www-data): the database is made its\n"
    "  --check         say what this installation lacks, one line each; exit 1\n"
    "                  when something is missing\n"
    "  --job ID, --drain  what the web program starts after a turn\n"
    "The configuration: INTAKE_CONFIG, else intake.conf beside this program,\n"
    "else ../../intake/intake.conf from its folder; INTAKE_* variables win.\n";

/* The most notifications sent between two jobs. */
#define SEND_BATCH	100

/*
 * How often an extractor waiting for a job looks whether one was handed
 * to it (one indexed read, measured at ~70 us of CPU with the sleep on a
 * two-core VM): every LINGER_POLL_MS at first, then half as often each
 * time up to every LINGER_POLL_MAX_MS, the most a handed job waits to
 * start: a wait that ends with nothing costs ~20 reads, not 75.
 */
#define LINGER_POLL_MS		10
#define LINGER_POLL_MAX_MS	80

static int
usage(FILE *f, int rc)
{
	fputs(usage_text, f);
	return rc;
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

/*
 * Send the notifications that are due, at most max (between jobs, so
 * jobs are not kept waiting behind a backlog); adds how many to *sent.
 * Only notifications configured can be due: libcurl is initialised for
 * them, and not otherwise.
 */
static void
send_due(struct db *db, const struct config *cfg, int max, int *sent)
{
	int	n;

	if (cfg->notify_targets == 0 || run_curl() == -1)
		return;
	if ((n = notify_send_due(db, cfg, max)) > 0 && sent != NULL)
		*sent += n;
}

/*
 * Waiting (the node's list of waiting extractors has us): look now and
 * then (LINGER_POLL_MS), for up to INTAKE_EXTRACT_LINGER_MS, for a job
 * the web program handed us; then leave the list, in one transaction that takes a job handed
 * meanwhile or one pending instead, if there is one.  CLAIMED with j
 * filled; CLAIM_NONE when we have left; CLAIM_ERROR.
 */
static enum claim_rc
linger(struct db *db, const struct config *cfg, long pid, int64_t start,
    struct job *j)
{
	int64_t		until = util_mono_ms() + cfg->extract_linger_ms, now;
	enum claim_rc	got;
	long		step = LINGER_POLL_MS;

	while ((now = util_mono_ms()) < until) {
		util_sleep_ms(step < until - now ? step : until - now);
		step = step * 2 < LINGER_POLL_MAX_MS ? step * 2 :
		    LINGER_POLL_MAX_MS;
		if ((got = jobs_handed(db, pid, start, j)) == CLAIMED)
			return CLAIMED;
		if (got == CLAIM_ERROR)
			break;
	}
	return jobs_next(db, pid, start, cfg->max_extractors, cfg->stale_ms,
	    0, j);
}

/*
 * Run first (when not NULL), then claim and run pending jobs until none
 * is left or the cap is full (each taken in the last transaction of the
 * job before it, run.h), sending what each merge made due right after
 * it.  With wait, then linger for the next job and run what comes, and
 * leave when nothing did.  The number of jobs run (up to a database
 * failure, which ends it, logged); *sent (when not NULL) adds the
 * notifications tried.
 */
static int
work(struct db *db, const struct config *cfg, long pid, int64_t start,
    const struct job *first, int wait, int *sent)
{
	struct run_next	 next;
	struct job	 j;
	enum claim_rc	 got;
	char		 err[256];
	int		 ran = 0;

	memset(&next, 0, sizeof(next));
	next.pid = pid;
	next.start = start;
	next.wait = wait;
	if (first != NULL) {
		j = *first;
		got = CLAIMED;
	} else
		got = jobs_next(db, pid, start, cfg->max_extractors,
		    cfg->stale_ms, wait, &j);
	for (;;) {
		while (got == CLAIMED) {
			ran++;
			if (run_job(db, cfg, &j, &next, err,
			    sizeof(err)) == -1) {
				/* Left for the sweep to reclaim. */
				jobs_fail(db, j.id, "database error");
				return ran;
			}
			/* The firm hears of the lead before the next job. */
			send_due(db, cfg, SEND_BATCH, sent);
			if (next.looked) {
				got = next.got;
				j = next.job;
			} else
				got = jobs_next(db, pid, start,
				    cfg->max_extractors, cfg->stale_ms, wait,
				    &j);
		}
		if (got == CLAIM_ERROR)
			return ran;
		/* No job left: everything that is due. */
		send_due(db, cfg, INT_MAX, sent);
		if (!wait || (got = linger(db, cfg, pid, start, &j)) !=
		    CLAIMED)
			break;
	}
	return ran;
}

/*
 * Jobs whose extractor died are made pending first, so they are run
 * again by the next extractor even where no cron runs the sweep; then
 * work.  The number of jobs run; *reclaimed (when not NULL) adds those
 * made pending, *sent the notifications tried.
 */
static int
drain(struct db *db, const struct config *cfg, long pid, int64_t start,
    const struct job *first, int wait, int *reclaimed, int *sent)
{
	int	n;

	n = jobs_reclaim(db, cfg->stale_ms, 0);
	if (reclaimed != NULL && n > 0)
		*reclaimed += n;
	return work(db, cfg, pid, start, first, wait, sent);
}

/* Make the missing folders of dir: 0755, the last one 0700. */
static int
init_mkdir(const char *dir, int last)
{
	struct stat	sb;
	char		up[PATHS_MAX];

	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		log_warnx("--init: %s is not a folder", dir);
		return -1;
	}
	if (errno != ENOENT) {
		log_warn("--init: the database's folder %s", dir);
		return -1;
	}
	if (paths_dirname(dir, up, sizeof(up)) == -1 ||
	    (strcmp(up, dir) != 0 && init_mkdir(up, 0) == -1))
		return -1;
	if (mkdir(dir, last ? 0700 : 0755) == -1 && errno != EEXIST) {
		log_warn("--init: cannot make the database's folder %s", dir);
		return -1;
	}
	chmod(dir, last ? 0700 : 0755);	/* whatever the umask */
	log_info("made the folder %s", dir);
	return 1;
}

/*
 * Before --init: who will own the database.  As root, only with --owner
 * (a database root made is one the web server cannot write, and every
 * request then answers 503): the missing folder is made and given to
 * the owner, an existing database and its -wal and -shm are given to
 * the owner, and this process becomes the owner, so what SQLite makes
 * is the owner's too.  Not as root, --owner may only name oneself.
 * 0 to go on, or -1 (said).
 */
static int
init_owner(const struct config *cfg, const char *owner)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	struct passwd	*pw;
	struct stat	 sb;
	char		 dir[PATHS_MAX], path[PATHS_MAX + 8];
	uid_t		 uid;
	gid_t		 gid;
	size_t		 i;
	int		 made;

	if (owner == NULL) {
		if (geteuid() != 0)
			return init_mkdir(paths_dirname(cfg->db, dir,
			    sizeof(dir)) == 0 ? dir : ".", 1) == -1 ? -1 : 0;
		fprintf(stderr, "intake-extract: --init as root would make a "
		    "database only root can write, and every request would "
		    "then answer 503.  Run it as the account the web server "
		    "runs the program as (sudo -u www-data intake-extract "
		    "--init), or name that account: intake-extract --init "
		    "--owner www-data\n");
		return -1;
	}
	if ((pw = getpwnam(owner)) == NULL) {
		fprintf(stderr, "intake-extract: --owner %s: no such account\n",
		    owner);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (uid == geteuid())
			return init_mkdir(paths_dirname(cfg->db, dir,
			    sizeof(dir)) == 0 ? dir : ".", 1) == -1 ? -1 : 0;
		fprintf(stderr, "intake-extract: --owner %s: only root can "
		    "make the database for another account\n", owner);
		return -1;
	}
	if (paths_dirname(cfg->db, dir, sizeof(dir)) == -1 ||
	    (made = init_mkdir(dir, 1)) == -1)
		return -1;
	if (made == 1 && chown(dir, uid, gid) == -1) {
		log_warn("--init: chown %s %s", owner, dir);
		return -1;
	}
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->db, ext[i]);
		if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    sb.st_uid == uid)
			continue;
		if (chown(path, uid, gid) == -1) {
			log_warn("--init: chown %s %s", owner, path);
			return -1;
		}
		log_info("gave %s to %s", path, owner);
	}
	if (initgroups(owner, gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1 || (uid != 0 && setuid(0) != -1)) {
		log_warn("--init: cannot become %s", owner);
		return -1;
	}
	return 0;
}

/*
 * SQLite makes the database's -wal and -shm beside it: the folder must
 * be this account's to write, whoever made it.  0, or -1 (said).
 */
static int
init_folder(const struct config *cfg)
{
	struct passwd	*pw;
	char		 dir[PATHS_MAX], user[64];

	if (paths_dirname(cfg->db, dir, sizeof(dir)) == -1 ||
	    access(dir, W_OK | X_OK) == 0)
		return 0;
	pw = getpwuid(geteuid());
	snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name :
	    "this account");
	fprintf(stderr, "intake-extract: the database's folder %s cannot be "
	    "written by %s, who runs the program (SQLite makes the database's "
	    "-wal and -shm files there): as root, chown %s %s\n", dir, user,
	    user, dir);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct job	 j;
	struct db	*db;
	char		 err[512], why[PATHS_MAX + 256], *end;
	const char	*mode, *owner = NULL;
	long		 pid = (long)getpid();
	int64_t		 start, id;
	int		 rc = 0, n = 0, ran, loaded, init = 0, retry_failed = 0;
	int		 sent = 0, again = 0, erased;

	fds_sane();
	signal(SIGPIPE, SIG_IGN);
	log_init("intake-extract");
	db_init();
	if (argc < 2)
		return usage(stderr, 2);
	mode = argv[1];
	if ((strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0) &&
	    argc == 2)
		return usage(stdout, 0);
	if (strcmp(mode, "--init") == 0) {
		if (argc == 4 && strcmp(argv[2], "--owner") == 0)
			owner = argv[3];
		else if (argc != 2)
			return usage(stderr, 2);
		init = 1;
	} else if (strcmp(mode, "--sweep") == 0 && argc == 3 &&
	    strcmp(argv[2], "--retry-failed") == 0) {
		retry_failed = 1;
	} else if (!((strcmp(mode, "--job") == 0 && argc == 3) ||
	    ((strcmp(mode, "--drain") == 0 || strcmp(mode, "--sweep") == 0 ||
	    strcmp(mode, "--check") == 0) && argc == 2)))
		return usage(stderr, 2);
	loaded = config_load(&cfg, err, sizeof(err));
	if (strcmp(mode, "--check") == 0)
		return checks_main(&cfg, loaded == -1 ? err : NULL,
		    CHECKS_EXTRACTOR);
	if (loaded == -1) {
		log_warnx("configuration: %s", err);
		return 1;
	}
	util_set_node(cfg.node);
	db_set_pool((int)cfg.db_pool);
	/* PostgreSQL: no file to make; opening it makes the tables. */
	if (init && db_engine_of(cfg.db) == DB_SQLITE &&
	    (init_owner(&cfg, owner) == -1 || init_folder(&cfg) == -1))
		return 1;
	/* Started by the web program: its log is INTAKE_LOG_FILE. */
	if ((strcmp(mode, "--job") == 0 || strcmp(mode, "--drain") == 0) &&
	    cfg.log_file[0] != '\0')
		log_open(cfg.log_file);
	/* A database is made by --init or where something configured it. */
	if (checks_db_create(&cfg, !init, getenv("DOCUMENT_ROOT"),
	    getenv("CONTEXT_DOCUMENT_ROOT"), why, sizeof(why)) == -1) {
		log_warnx("%s", why);
		return 1;
	}
	if ((db = db_open(cfg.db, cfg.busy_timeout_ms)) == NULL)
		return 1;
	if (init) {
		/* A database that cannot be written is not ready. */
		if (!db_writable(db))
			rc = 1;
		goto out;
	}
	start = util_proc_start(pid);
	if (strcmp(mode, "--job") == 0) {
		errno = 0;
		id = strtoll(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || id <= 0) {
			rc = usage(stderr, 2);
			goto done;
		}
		/* Started after a turn: waits for the next one's job. */
		drain(db, &cfg, pid, start, jobs_attach(db, id, pid, start,
		    &j) == CLAIMED ? &j : NULL, cfg.extract_linger_ms > 0,
		    NULL, NULL);
	} else if (strcmp(mode, "--drain") == 0) {
		drain(db, &cfg, pid, start, NULL, 0, NULL, NULL);
	} else {
		/* --sweep: one line on stdout, whatever it found. */
		if ((n = jobs_reclaim(db, cfg.stale_ms, 1)) == -1) {
			rc = 1;
			n = 0;
		}
		if (retry_failed &&
		    (again = notify_retry_failed(db, NULL, NULL)) == -1) {
			rc = 1;
			again = 0;
		}
		ran = drain(db, &cfg, pid, start, NULL, 0, &n, &sent);
		if (cfg.retention_days > 0) {
			if ((erased = erase_older_than(db,
			    cfg.retention_days)) == -1)
				rc = 1;
			else
				log_info("retention: erased %d conversation(s) "
				    "inactive for more than %ld day(s) (leads "
				    "marked contacted or qualified are kept)",
				    erased, cfg.retention_days);
		}
		printf("sweep: %d job(s) pending again, %d run; %d "
		    "notification(s) pending again, %d tried\n", n, ran, again,
		    sent);
		fflush(stdout);
	}
done:
	run_curl_done();
out:
	db_close(db);
	return rc;
}
