/*
 * spawn.c: the double fork.
 *
 * This process may run many threads, so between fork and exec the
 * children make only async-signal-safe calls: everything they need (the
 * path, argv, envp) is built before the fork.  The intermediate child
 * forks once more and leaves at once; we reap it, and the grandchild,
 * orphaned, is adopted by init or a subreaper: no zombie of ours.  The
 * grandchild starts a session of its own, puts stdin and stdout on
 * /dev/null and closes every descriptor above 2 (the FastCGI listen
 * socket, the request's connection, SQLite's files) before exec, so the
 * response it follows can end whatever it does.  An extractor that
 * cannot run (missing, or uploaded without its execute bit) claims no
 * job: the exec would fail in the grandchild, unseen.
 */
#define _GNU_SOURCE	/* close_range */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

extern char	**environ;

#define ENV_MAX	64

static char	 spawn_path[PATH_MAX];	/* "" when none could be named */
static char	*spawn_env[ENV_MAX + 2];
static char	 spawn_conf[PATHS_MAX + 16];	/* INTAKE_CONFIG=<found> */
static char	 spawn_log[1024];
static int	 spawn_cgi;
static _Atomic int	spawn_ok;	/* the extractor can run */
static _Atomic int64_t	spawn_looked;	/* util_mono_ms of the last look */
static _Atomic int64_t	spawn_last;	/* util_mono_ms of the last start */

/*
 * Turns that end together (a burst) need one new extractor, not one
 * each, when extraction is the rules alone (the built-in model): a job
 * then takes about a millisecond, and the extractor this process started
 * less than SPAWN_GAP_MS ago takes the pending jobs one after another.
 * So within the gap a turn's job is handed to an extractor waiting for
 * one or left pending (the cap is 1 then: one is started only when none
 * runs or waits, so a job is never left with nobody to take it).  With a
 * model, a job waits on the provider for seconds: every turn may start
 * one, up to INTAKE_MAX_EXTRACTORS, so a slow extraction never holds up
 * another.
 */
#define SPAWN_GAP_MS	250

/*
 * Look whether the extractor can run; log when that changes (first set
 * on the first look: only a problem is worth a line then).
 */
static void
spawn_look(int first)
{
	int	ok, was, err;

	ok = access(spawn_path, X_OK) == 0;
	err = errno;
	was = atomic_exchange(&spawn_ok, ok);
	if (ok && !was && !first)
		log_info("the extractor %s can run again: extraction is on",
		    spawn_path);
	else if (!ok && (was || first)) {
		if (err == ENOENT)
			log_warnx("extraction is off: the extractor %s is "
			    "missing (leads wait as pending jobs until it is "
			    "there; INTAKE_EXTRACTOR names another)",
			    spawn_path);
		else if (err == EACCES)
			log_warnx("extraction is off: the extractor %s is not "
			    "executable: chmod 755 %s (leads wait as pending "
			    "jobs until then)", spawn_path, spawn_path);
		else {
			errno = err;
			log_warn("extraction is off: the extractor %s",
			    spawn_path);
		}
	}
}

int
spawn_init(const struct config *cfg, int cgi)
{
	size_t	i, k = 0;

	spawn_cgi = cgi;
	snprintf(spawn_log, sizeof(spawn_log), "%s", cfg->log_file);
	/* The extractor reads the file this program found, wherever. */
	spawn_conf[0] = '\0';
	if (cfg->how != CONFIG_HOW_ENV && cfg->file[0] != '\0' &&
	    snprintf(spawn_conf, sizeof(spawn_conf), "INTAKE_CONFIG=%s",
	    cfg->file) < (int)sizeof(spawn_conf))
		spawn_env[k++] = spawn_conf;
	for (i = 0; environ[i] != NULL && k < ENV_MAX; i++) {
		if (spawn_conf[0] != '\0' &&
		    strncmp(environ[i], "INTAKE_CONFIG=", 14) == 0)
			continue;
		if (strncmp(environ[i], "INTAKE_", 7) == 0 ||
		    strncmp(environ[i], "PATH=", 5) == 0 ||
		    strncmp(environ[i], "TZ=", 3) == 0 ||
		    strncmp(environ[i], "ASAN_OPTIONS=", 13) == 0 ||
		    strncmp(environ[i], "UBSAN_OPTIONS=", 14) == 0)
			spawn_env[k++] = environ[i];
	}
	spawn_env[k] = NULL;
	if (config_extractor(cfg, spawn_path, sizeof(spawn_path)) == -1) {
		spawn_path[0] = '\0';
		log_warnx("extraction is off: no extractor could be named "
		    "(INTAKE_EXTRACTOR)");
		return -1;
	}
	atomic_store(&spawn_looked, util_mono_ms());
	spawn_look(1);
	return atomic_load(&spawn_ok) ? 0 : -1;
}

int
spawn_ready(void)
{
	int64_t	now, last;

	if (spawn_path[0] == '\0')
		return 0;
	now = util_mono_ms();
	last = atomic_load(&spawn_looked);
	/* One thread looks; the others take the answer it had. */
	if (now - last >= SPAWN_RECHECK_MS &&
	    atomic_compare_exchange_strong(&spawn_looked, &last, now))
		spawn_look(0);
	return atomic_load(&spawn_ok);
}

const char *
spawn_program(void)
{
	return spawn_path;
}

/*
 * Start the extractor with the arguments mode and arg (or NULL); 0, or
 * -1 when it could not be.
 */
static int
spawn_run(const char *mode, const char *arg)
{
	struct rlimit	 rl;
	sigset_t	 none;
	char		*argv[4];
	pid_t		 pid, pid2;
	int		 status, fd, maxfd = 1024;

	/* What the children need, made before the fork. */
	sigemptyset(&none);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		maxfd = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	argv[0] = spawn_path;
	argv[1] = (char *)mode;
	argv[2] = (char *)arg;
	argv[3] = NULL;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
		/* The intermediate child: only async-signal-safe calls. */
		if ((pid2 = fork()) != 0)
			_exit(pid2 == -1 ? 1 : 0);
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) == -1)
			_exit(126);
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (spawn_cgi) {
			/* The server reads our stderr: keep off its pipe. */
			if (spawn_log[0] == '\0' || (fd = open(spawn_log,
			    O_WRONLY | O_APPEND | O_CREAT, 0600)) == -1)
				fd = STDIN_FILENO;
			dup2(fd, STDERR_FILENO);
		}
		/* Without close_range (old kernels, seccomp), one by one. */
		if (close_range(3, ~0U, 0) == -1)
			for (fd = 3; fd < maxfd; fd++)
				close(fd);
		/* The workers block SIGTERM and co.; the extractor must not. */
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(spawn_path, argv, spawn_env);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("waitpid");
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("extractor: the intermediate child failed");
		return -1;
	}
	return 0;
}

/* Start the extractor for job id; 0, or -1 when it could not be. */
static int
spawn_job(int64_t id)
{
	char	arg[32];

	snprintf(arg, sizeof(arg), "%lld", (long long)id);
	return spawn_run("--job", arg);
}

int
spawn_drain(void)
{
	if (!spawn_ready())
		return -1;
	return spawn_run("--drain", NULL);
}

void
spawn_extractor(struct db *db, const struct config *cfg, const char *conv_id,
    int turn)
{
	int64_t	id, now, last;
	long	handed, cap = cfg->max_extractors;

	/* An extractor that cannot run would leave the job running with no
	   process behind it: it stays pending for a later one instead. */
	if (db == NULL || !spawn_ready())
		return;
	/*
	 * Within the gap, one is started only if none runs or waits.  The
	 * gap is taken before the claim, by one thread of the burst: the
	 * others see it taken even while the first is still starting its
	 * extractor.
	 */
	now = util_mono_ms();
	last = atomic_load(&spawn_last);
	if (cfg->provider == PROVIDER_BUILTIN && ((last != 0 && now - last <
	    SPAWN_GAP_MS) || !atomic_compare_exchange_strong(&spawn_last,
	    &last, now)))
		cap = 1;
	switch (jobs_claim_turn(db, conv_id, turn, cap, cfg->stale_ms, &id,
	    &handed)) {
	case CLAIMED:
		/* Handed to an extractor waiting for one: nothing to start. */
		if (handed != 0)
			break;
		if (spawn_job(id) == -1)
			jobs_unclaim(db, id);
		break;
	case CLAIM_NONE:
		/* The cap is full: a running extractor drains it. */
		break;
	case CLAIM_ERROR:
		log_warnx("extractor: job of %s turn %d left pending",
		    conv_id, turn);
		break;
	}
}
