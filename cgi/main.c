/*
 * main.c: intake.fcgi, the program behind /api/.
 *
 * Under FastCGI (the web server hands us a listening socket on fd 0) it
 * runs worker threads, each accepting and answering one request at a
 * time, with database handles from a small pool (dbpool.c).  A few
 * workers start; one more starts whenever a worker takes a request and
 * none is left accepting, up to INTAKE_THREADS; a worker idle for
 * WORKER_IDLE_MS beyond the first few leaves, and its stack goes back to
 * the system.  So memory follows the requests in flight: a process that
 * held 2,000 streams returns near its idle size once they end.  Under
 * plain CGI
 * (FCGX_IsCGI: no socket) it answers the one request in its environment
 * over stdio and exits.  In both, what follows a response (the
 * extractor) starts only once the response has ended.
 *
 * Run from a shell it also answers --check (what the installation
 * lacks, one line each: checks_run.c) and --listen SOCKET.  Under CGI
 * its arguments are ignored: a query string without '=' reaches a CGI
 * program as argv, and must not make it print --check's lines.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api.h"
#include "checks_run.h"
#include "db.h"
#include "dbpool.h"
#include "finals.h"
#include "gen.h"
#include "log.h"
#include "maint.h"
#include "saver.h"
#include "spawn.h"
#include "util.h"

static struct config	cfg;
static struct store_owner self;
static int		cgi;		/* plain CGI: one request, stdio */
static int		listen_fd;	/* 0: the socket the server gave us */
static char		listen_path[PATHS_MAX];	/* --listen: ours to remove */
static struct stat	listen_st;	/* its inode, so as to remove only it */

/*
 * The workers: how many run, how many answer a request now (the rest
 * wait to accept), whether one is in accept (one at a time: libfcgi's
 * accept is not shared), and whether a stop was asked for.  All under
 * busy_lock; both conditions are on CLOCK_MONOTONIC (run_fastcgi).
 */
static pthread_mutex_t	busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	busy_cond;	/* busy or workers went down */
static pthread_cond_t	accept_cond;	/* the turn to accept is free */
static int		busy;
static int		stopping;
static int		accepting;	/* a worker is in FCGX_Accept_r */
static long		workers;	/* worker threads running */
static long		workers_left;	/* ever left idle: the main thread
					   trims malloc after some did */

/*
 * A worker's stack is mapped here, not by glibc: glibc keeps up to 40 MiB
 * of exited threads' stacks for reuse with the top of each (its last
 * frames, 16 KiB below them, the TLS) still resident, which after a
 * burst of 500 streams was 160 stacks and 3.9 MB.  A worker that leaves
 * puts its stack on the gone list; the main thread joins it and unmaps
 * the stack (stacks_reap), so all of it goes back.
 */
struct stack {
	void		*map;		/* the guard page, then the stack */
	size_t		 len;
	pthread_t	 tid;		/* set by the worker itself */
	struct stack	*next;		/* on the gone list */
};
static struct stack	*stacks_gone;	/* under busy_lock */

/*
 * A worker's stack.  Measured in make bench's build (-O2, no sanitizer)
 * as the lowest page touched in each worker's stack, TLS and thread
 * descriptor included, on SQLite and PostgreSQL: 24-28 KB for a turn
 * (built-in model, or a provider over HTTP), a follower, the leads
 * page's queries and the extractor's spawn; 88 KB, the deepest, for the
 * admin's health answer on an installation with a problem (checks_run's
 * path buffers).  256 KB is almost three times that.  Only what a thread
 * touches is memory (the rest is address space), and that goes back
 * when the thread leaves.  AddressSanitizer (the test build) puts
 * redzones around every local: it gets 1 MB.
 */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_STACK		(1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WORKER_STACK		(1024 * 1024)
#endif
#endif
#ifndef WORKER_STACK
#define WORKER_STACK		(256 * 1024)
#endif

#define STACK_GUARD	4096	/* no access: an overflow faults */

/*
 * malloc arenas per CPU (glibc's default is 8).  A thread's frees go back
 * to its arena, and memory freed in an arena returns to the system only
 * page by page between what is still in use there (malloc_trim, after a
 * burst), so the fewer arenas the streams' allocations are spread over,
 * the more of it returns.  Measured (make bench, 500 streams, two CPUs):
 * 10 s after the load intake.fcgi kept 4.1 MB in its 16 arenas, 1.4 MB
 * in 4 and 1.1 MB in 2; per stream, 4 cost no more than 16, and 2 cost
 * more in one run of two (contention on the arenas' locks).
 */
#define ARENAS_PER_CPU	2
#define WORKERS_KEEP	4	/* started at once; never leave when idle */
#define WORKER_IDLE_MS	5000	/* a worker beyond those idle this long
				   leaves */
#define WORKER_FAIL_LOG_MS 60000 /* a failed thread start logged this often */
#define ACCEPT_PAUSE_MS	100	/* after accept ran out of descriptors */
#define STOP_GRACE_MS	30000	/* replies in flight may finish (SIGTERM) */
#define STOP_LAST_MS	5000	/* then, for their last events to go out */
#define TICK_MS		1000	/* the main thread's round */
#define IDLE_CHECK_MS	5000	/* how often idle handles are closed */
#define MAINT_MS	5000	/* how often maint_run runs */
#define CGI_FINAL_TRIES	8	/* 250 ms apart, after a CGI response */
#define IDLE_HANDLES	4	/* handles kept open beyond those in use */
#define DRAIN_MS	2000		/* reading a refused body, at most */
#define DRAIN_MAX	(16LL << 20)

static void	listen_remove(void);

/* What a visitor reads when the installation is wrong (no path in it). */
static const char not_set_up[] = "The service is not set up correctly.";

/*
 * Answer one request with a handle from the pool (made first, if it may
 * be: dbpool_get_making).  With no handle, api_handle answers 503
 * (health with its reasons).  1 when the request had a handle.
 */
static int
serve(struct ctx *c)
{
	int	had;

	c->cfg = &cfg;
	c->self = self;
	c->db = dbpool_get_making(http_param(&c->h, "DOCUMENT_ROOT"),
	    http_param(&c->h, "CONTEXT_DOCUMENT_ROOT"));
	had = c->db != NULL;
	api_handle(c);
	return had;
}

/*
 * What follows a response, once it has ended: the extractor (on the
 * request's handle, or one taken now if the reply gave it back), a
 * drain.  The handle goes back to the pool.
 */
static void
serve_after(struct ctx *c)
{
	if (c->after.extract)
		spawn_extractor(handler_db(c), &cfg, c->after.conv_id,
		    c->after.turn);
	if (c->after.drain)
		spawn_drain();
	dbpool_put(c->db);
	c->db = NULL;
}

static void	*worker(void *);

/*
 * Start a worker on a stack of its own, counted in workers already (so
 * that no two take the same place under INTAKE_THREADS); uncounted again
 * when it cannot start.  Any thread may call it: a worker inherits its
 * creator's signal mask, and every thread but main blocks the stop
 * signals.
 */
static int
worker_start(void)
{
	static _Atomic int64_t	 logged;
	struct stack		*st;
	pthread_attr_t		 attr;
	pthread_t		 tid;
	int			 attr_ok = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto fail;
	st->len = STACK_GUARD + WORKER_STACK;
	if ((st->map = mmap(NULL, st->len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) == MAP_FAILED) {
		st->map = NULL;
		goto fail;
	}
	if (mprotect(st->map, STACK_GUARD, PROT_NONE) == -1 ||
	    (errno = pthread_attr_init(&attr)) != 0)
		goto fail;
	attr_ok = 1;
	if ((errno = pthread_attr_setstack(&attr, (char *)st->map +
	    STACK_GUARD, WORKER_STACK)) != 0 ||
	    (errno = pthread_create(&tid, &attr, worker, st)) != 0)
		goto fail;
	pthread_attr_destroy(&attr);
	return 0;
fail:
	if (util_every(&logged, WORKER_FAIL_LOG_MS))
		log_warn("starting a worker (%ld running)", workers);
	if (attr_ok)
		pthread_attr_destroy(&attr);
	if (st != NULL && st->map != NULL)
		munmap(st->map, st->len);
	free(st);
	pthread_mutex_lock(&busy_lock);
	workers--;
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&busy_lock);
	return -1;
}

/*
 * Join the workers that left and unmap their stacks (the main thread,
 * every round, and at exit).
 */
static void
stacks_reap(void)
{
	struct stack	*st, *next;

	pthread_mutex_lock(&busy_lock);
	st = stacks_gone;
	stacks_gone = NULL;
	pthread_mutex_unlock(&busy_lock);
	for (; st != NULL; st = next) {
		next = st->next;
		pthread_join(st->tid, NULL);
		munmap(st->map, st->len);
		free(st);
	}
}

/*
 * Wait for the turn to accept.  0 when it is this worker's (accepting
 * set), -1 when the worker must leave: stopping, or idle for
 * WORKER_IDLE_MS while more than WORKERS_KEEP run (then it is counted
 * out of workers).  Called with busy_lock held.
 */
static int
worker_turn(void)
{
	struct timespec	until;

	util_deadline(&until, CLOCK_MONOTONIC, WORKER_IDLE_MS);
	while (accepting && !stopping)
		if (pthread_cond_timedwait(&accept_cond, &busy_lock,
		    &until) == ETIMEDOUT && accepting && !stopping) {
			if (workers > WORKERS_KEEP) {
				workers_left++;
				return -1;
			}
			util_deadline(&until, CLOCK_MONOTONIC,
			    WORKER_IDLE_MS);
		}
	if (stopping)
		return -1;
	accepting = 1;
	return 0;
}

/*
 * Whether accept's failure rc is the process or the system out of
 * descriptors or memory (rather than a closed socket): then the worker
 * says so (once a minute), pauses ACCEPT_PAUSE_MS and tries again
 * rather than leave, lest every worker leave in turn and nothing
 * accept again.  Called with busy_lock held; 1 to try again.
 */
static int
accept_full(int rc)
{
	static int64_t	logged;
	int64_t		now;

	if (stopping || (rc != -EMFILE && rc != -ENFILE && rc != -ENOBUFS &&
	    rc != -ENOMEM))
		return 0;
	now = util_mono_ms();
	if (logged == 0 || now - logged >= WORKER_FAIL_LOG_MS) {
		logged = now;
		log_warnx("accept: %s (%d requests in flight)",
		    strerror(-rc), busy);
	}
	pthread_mutex_unlock(&busy_lock);
	util_sleep_ms(ACCEPT_PAUSE_MS);
	pthread_mutex_lock(&busy_lock);
	return 1;
}

/*
 * A worker: accept a request (in turn), start another worker when it
 * took the last idle one, answer, give the handle back, again; leave
 * when idle too long or stopping.  The one in accept never leaves idle:
 * a shut listening socket (stopping) wakes it.
 */
static void *
worker(void *arg)
{
	FCGX_Request	 req;
	struct ctx	 c;
	struct stack	*st = arg;
	int		 rc, more, ok;

	ok = FCGX_InitRequest(&req, listen_fd, 0) == 0;
	if (!ok)
		log_warnx("FCGX_InitRequest failed");
	pthread_mutex_lock(&busy_lock);
	while (ok && worker_turn() == 0) {
		pthread_mutex_unlock(&busy_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_lock(&busy_lock);
		accepting = 0;
		pthread_cond_signal(&accept_cond);
		if (accept_full(rc))
			continue;
		if (rc < 0 || stopping) {
			/* Stopping: the handles may be closed already. */
			pthread_mutex_unlock(&busy_lock);
			if (rc >= 0)
				FCGX_Finish_r(&req);
			pthread_mutex_lock(&busy_lock);
			break;
		}
		busy++;
		more = busy == workers && workers < cfg.threads;
		if (more)
			workers++;
		pthread_mutex_unlock(&busy_lock);
		if (more)
			worker_start();
		memset(&c, 0, sizeof(c));
		c.h.fcgi = &req;
		serve(&c);
		/*
		 * The response ends here (if it did not when the client left):
		 * nothing above waits on what follows.
		 */
		http_release(&c.h);
		serve_after(&c);
		pthread_mutex_lock(&busy_lock);
		busy--;
		pthread_cond_broadcast(&busy_cond);
	}
	/*
	 * Counted out without letting go of the lock since worker_turn
	 * decided, so that idle workers timing out together leave
	 * WORKERS_KEEP behind, not none.  The stack goes once this thread
	 * is joined (stacks_reap).
	 */
	if (ok)
		FCGX_Free(&req, 1);
	workers--;
	st->tid = pthread_self();
	st->next = stacks_gone;
	stacks_gone = st;
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&busy_lock);
	return NULL;
}

/*
 * Close the idle handles beyond IDLE_HANDLES (all of them when no request
 * runs): after a burst of 500 streams the pool would otherwise keep 500
 * handles (descriptors, caches) for good.  SQLite keeps a closed
 * handle's database descriptor while another handle of the process has
 * the file open (to keep that one's locks), so descriptors return only
 * when all are closed.  The next request opens one again.
 */
static int
idle_close(void)
{
	int	keep;

	pthread_mutex_lock(&busy_lock);
	keep = busy > 0 ? IDLE_HANDLES : 0;
	pthread_mutex_unlock(&busy_lock);
	return dbpool_trim(keep);
}

/*
 * Give the memory freed by handles closed or workers gone back to the
 * system (malloc keeps it in its arenas otherwise): once a round after
 * either, not while they go on leaving.
 */
static void
idle_trim(int closed)
{
	static long	seen, settled;
	long		left;

	pthread_mutex_lock(&busy_lock);
	left = workers_left;
	pthread_mutex_unlock(&busy_lock);
	if (closed > 0 || (left != settled && left == seen)) {
		malloc_trim(0);
		settled = left;
	}
	seen = left;
}

/*
 * Upkeep on a handle from the pool, for the round: with full, a round of
 * maint_run (dead writers' replies, stranded jobs, unsaved finals);
 * otherwise the unsaved finals alone, and only when there are some.
 * Upkeep never makes a SQLite file (dbpool_get): a request does, if it
 * may.
 */
static void
upkeep(int full)
{
	struct db	*db;

	if (!full && finals_pending() == 0)
		return;
	if ((db = dbpool_get()) == NULL)
		return;
	if (full)
		maint_run(db, &cfg, &self);
	else
		finals_flush(db);
	dbpool_put(db);
}

/*
 * Wait until no request runs and no worker is left, up to ms.  1 when
 * idle, 0 when the time ran out.  Called with busy_lock held.
 */
static int
wait_idle(long ms)
{
	struct timespec	until;

	util_deadline(&until, CLOCK_MONOTONIC, ms);
	while (busy > 0 || workers > 0)
		if (pthread_cond_timedwait(&busy_cond, &busy_lock,
		    &until) == ETIMEDOUT)
			return busy == 0 && workers == 0;
	return 1;
}

/*
 * The main thread: upkeep every TICK_MS (idle handles, maint_run) until
 * SIGTERM, SIGINT or SIGHUP (blocked in every worker).  Then it stops
 * accepting (shutting the listening socket wakes the workers blocked in
 * accept) and lets the requests in flight finish: up to STOP_GRACE_MS
 * after SIGTERM or SIGHUP (a service manager's restart), none after
 * SIGINT (Ctrl-C: the person at the terminal wants it gone).  What still
 * runs then is interrupted (api_terminating): replies are saved as
 * interrupted and every stream gets its last event before the process
 * leaves.
 */
static int
wait_for_stop(const sigset_t *set)
{
	struct timespec	 tick = { TICK_MS / 1000, 0 };
	int64_t		 now, last_idle, last_maint;
	int		 sig, inflight, closed;

	upkeep(1);
	last_idle = last_maint = util_mono_ms();
	while ((sig = sigtimedwait(set, NULL, &tick)) == -1) {
		now = util_mono_ms();
		closed = 0;
		if (now - last_idle >= IDLE_CHECK_MS) {
			closed = idle_close();
			last_idle = now;
		}
		stacks_reap();
		idle_trim(closed);
		if (now - last_maint >= MAINT_MS) {
			upkeep(1);
			last_maint = util_mono_ms();
		} else
			upkeep(0);
	}
	pthread_mutex_lock(&busy_lock);
	inflight = busy;
	stopping = 1;
	shutdown(listen_fd, SHUT_RDWR);
	pthread_cond_broadcast(&accept_cond);
	log_info("signal %d: stopping; %d request(s) in flight", sig,
	    inflight);
	if (!wait_idle(sig == SIGINT ? 0 : STOP_GRACE_MS)) {
		api_terminating = 1;
		wait_idle(STOP_LAST_MS);
	}
	/* Stopping: no worker starts a request, or takes a handle, now. */
	inflight = busy;
	pthread_mutex_unlock(&busy_lock);
	if (inflight == 0) {
		stacks_reap();
		saver_stop();
		upkeep(0);
		dbpool_close();
		finals_free();
	}
	listen_remove();
	/* _exit: the workers still in accept must not run atexit handlers. */
	_exit(0);
}

/*
 * A stream holds two descriptors (the web server's connection, the
 * provider's) and a process may hold thousands: the soft limit goes up to
 * the hard one (often 1024 and 524288 under systemd).  No descriptor
 * goes through select(2) here (libfcgi's is in its asynchronous mode,
 * unused; libcurl and libpq poll): 2,000 streams held 4,038.
 */
static void
fds_raise(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("raising the descriptor limit");
	}
}

static int
run_fastcgi(void)
{
	pthread_condattr_t cattr;
	sigset_t	 set;
	long		 i, n, cpus;

	if (FCGX_Init() != 0) {
		log_warnx("FCGX_Init failed");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* The stop's grace and the workers' idle are monotonic. */
	if ((errno = pthread_condattr_init(&cattr)) != 0 ||
	    (errno = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC)) != 0 ||
	    (errno = pthread_cond_init(&busy_cond, &cattr)) != 0 ||
	    (errno = pthread_cond_init(&accept_cond, &cattr)) != 0) {
		log_warn("conditions on CLOCK_MONOTONIC");
		return 1;
	}
	pthread_condattr_destroy(&cattr);
	fds_raise();
	/* Before the first thread: arenas are made as threads allocate. */
	if ((cpus = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		cpus = 1;
	mallopt(M_ARENA_MAX, (int)(cpus * ARENAS_PER_CPU));
	if (saver_init(&cfg, 1) == -1)
		return 1;
	/* The first few; the rest as requests come (worker). */
	n = cfg.threads < WORKERS_KEEP ? cfg.threads : WORKERS_KEEP;
	pthread_mutex_lock(&busy_lock);
	workers = n;
	pthread_mutex_unlock(&busy_lock);
	for (i = 0; i < n; i++)
		if (worker_start() == -1)
			return 1;
	return wait_for_stop(&set);
}

/*
 * Read what is left of a plain CGI request's body, bounded in bytes and
 * time: a program that leaves without reading it (a 413 refused unread)
 * has its socket reset under Apache, and the answer is lost with it.
 */
static void
drain_stdin(void)
{
	const char	*cl = getenv("CONTENT_LENGTH");
	struct pollfd	 pfd;
	char		 buf[8192];
	ssize_t		 n;
	long long	 left;
	int64_t		 until = util_mono_ms() + DRAIN_MS;
	int		 wait;

	if (cl != NULL && *cl != '\0') {
		if ((left = atoll(cl)) <= 0)
			return;
	} else if (getenv("HTTP_TRANSFER_ENCODING") != NULL)
		left = DRAIN_MAX;	/* chunked: up to its end */
	else
		return;
	if (left > DRAIN_MAX)
		left = DRAIN_MAX;
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	while (left > 0 && (wait = (int)(until - util_mono_ms())) > 0) {
		if (poll(&pfd, 1, wait) <= 0)
			break;
		if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0)
			break;
		left -= n;
	}
}

/* Put stdin on /dev/null and stderr on INTAKE_LOG_FILE or /dev/null. */
static void
stdio_away(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	fd = -1;
	if (cfg.log_file[0] != '\0')
		fd = open(cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
	if (fd == -1)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void
on_cgi_term(int sig)
{
	(void)sig;
	api_terminating = 1;
}

static int
run_cgi(void)
{
	struct sigaction sa;
	struct ctx	 c;
	struct db	*db;
	int		 i, had;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cgi_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);	/* Ctrl-C under make run */
	saver_init(&cfg, 0);
	memset(&c, 0, sizeof(c));
	had = serve(&c);
	fflush(stdout);
	if (!c.h.body_read && !c.h.body_late)
		drain_stdin();
	/*
	 * The response ends when the last holder of stdout closes it: under
	 * mod_cgid stdin may be the same socket, and Apache also waits for
	 * stderr, so both let go too (what we log from here on goes to
	 * INTAKE_LOG_FILE, or nowhere).
	 */
	fclose(stdout);
	stdio_away();
	/* The request's one handle (given back meanwhile: the pool's). */
	db = had ? handler_db(&c) : NULL;
	if (c.after.extract)
		spawn_extractor(db, &cfg, c.after.conv_id, c.after.turn);
	if (c.after.drain)
		spawn_drain();
	/* A final that could not be saved gets a few more tries. */
	for (i = 0; i < CGI_FINAL_TRIES && finals_pending() > 0; i++) {
		util_sleep_ms(250);
		finals_flush(db);
	}
	maint_run(db, &cfg, &self);
	saver_stop();
	dbpool_put(db);
	dbpool_close();
	finals_free();
	return 0;
}

/* Make the missing folders of dir, mode 0755; 0, or -1 (said). */
static int
listen_mkdir(const char *dir)
{
	struct stat	 sb;
	char		 up[PATHS_MAX], user[64];
	struct passwd	*pw;

	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		log_warnx("--listen: %s is not a folder", dir);
		return -1;
	}
	if (errno != ENOENT) {
		log_warn("--listen: folder %s", dir);
		return -1;
	}
	if (paths_dirname(dir, up, sizeof(up)) == -1 ||
	    (strcmp(up, dir) != 0 && listen_mkdir(up) == -1))
		return -1;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		pw = getpwuid(geteuid());
		snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name :
		    "this account");
		log_warn("--listen: the socket's folder %s is missing and "
		    "cannot be made by %s (as root: install -d -o %s -m 0755 "
		    "%s)", dir, user, user, dir);
		return -1;
	}
	chmod(dir, 0755);	/* whatever the umask */
	log_info("made the folder %s for the socket", dir);
	return 0;
}

/*
 * 1 when a process accepts connections on the Unix socket at path, 0
 * when none does (a socket left by one that died), -1 when it cannot be
 * told (said).
 */
static int
listen_taken(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("--listen: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		rc = 1;
	else if (errno == ECONNREFUSED)
		rc = 0;
	else {
		log_warn("--listen: cannot tell whether a program listens on "
		    "%s", path);
		rc = -1;
	}
	close(fd);
	return rc;
}

/*
 * --listen PATH: serve on a Unix socket of our own (mode 0660) for a web
 * server that connects rather than spawns (Apache mod_proxy_fcgi, nginx).
 * Refuses a socket another process listens on (a second start must not
 * take the socket from the first), and anything at PATH that is not a
 * socket; removes a socket nobody listens on; makes a missing folder
 * (0755), or says what is missing and how to make it.  The socket is
 * removed again on a clean exit (listen_remove).
 */
static int
listen_on(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	char			 dir[PATHS_MAX];
	mode_t			 old;

	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("--listen: a socket path is 1 to %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	/* libfcgi would take "host:port" for TCP, which must never be. */
	if (strchr(path, ':') != NULL) {
		log_warnx("--listen %s: a socket path may not hold ':' "
		    "(libfcgi would listen on TCP)", path);
		return -1;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_warnx("--listen: %s exists and is not a socket: "
			    "not removing it; choose another path", path);
			return -1;
		}
		switch (listen_taken(path)) {
		case 1:
			log_warnx("--listen: another program is already "
			    "listening on %s: stop it first (or choose "
			    "another path)", path);
			return -1;
		case 0:
			if (unlink(path) == -1 && errno != ENOENT) {
				log_warn("--listen: removing the old socket %s",
				    path);
				return -1;
			}
			break;
		default:
			return -1;
		}
	} else if (errno != ENOENT) {
		log_warn("--listen: %s", path);
		return -1;
	} else if (paths_dirname(path, dir, sizeof(dir)) == -1 ||
	    listen_mkdir(dir) == -1)
		return -1;
	if (FCGX_Init() != 0)
		return -1;
	/* Born 0660: no moment when another account could connect. */
	old = umask(0117);
	listen_fd = FCGX_OpenSocket(path, 128);
	umask(old);
	if (listen_fd == -1) {
		log_warn("listen %s", path);
		return -1;
	}
	if (chmod(path, 0660) == -1 || lstat(path, &listen_st) == -1) {
		log_warn("chmod %s", path);
		return -1;
	}
	snprintf(listen_path, sizeof(listen_path), "%s", path);
	log_info("listening on %s", path);
	return 0;
}

/* Remove our --listen socket, if it is still ours (not a newer one). */
static void
listen_remove(void)
{
	struct stat	sb;

	if (listen_path[0] == '\0')
		return;
	if (lstat(listen_path, &sb) == 0 && sb.st_dev == listen_st.st_dev &&
	    sb.st_ino == listen_st.st_ino)
		unlink(listen_path);
	listen_path[0] = '\0';
}

static int
usage(FILE *f, int rc)
{
	fprintf(f, "usage: intake.fcgi [--listen SOCKET | --check | --help]\n"
	    "  (none)           serve: FastCGI on the socket the web server "
	    "hands over,\n"
	    "                   else the one CGI request in the environment\n"
	    "  --listen SOCKET  serve FastCGI on a Unix socket of its own "
	    "(mod_proxy_fcgi)\n"
	    "  --check          say what this installation lacks, one line "
	    "each; exit 1\n"
	    "                   when something is missing (run it as the "
	    "account the web\n"
	    "                   server runs the program as)\n"
	    "The configuration: INTAKE_CONFIG, else intake.conf beside the "
	    "program, else\n"
	    "../../intake/intake.conf from its folder; INTAKE_* variables "
	    "win over it.\n");
	return rc;
}

/* Tell a CGI visitor the service is not set up (the log says why). */
static void
cgi_unavailable(void)
{
	struct http	h;

	memset(&h, 0, sizeof(h));
	http_error(&h, ERR_UNAVAILABLE, not_set_up);
	fflush(stdout);
	drain_stdin();
}

/*
 * FastCGI with a configuration that does not load: answer every request
 * 503 (the JSON error the page shows) until the web server stops us,
 * rather than exit and be restarted again and again while the visitor
 * gets the web server's own error page.  The log said why, once.
 */
static int
fcgi_unavailable(void)
{
	FCGX_Request	req;
	struct http	h;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		memset(&h, 0, sizeof(h));
		h.fcgi = &req;
		http_error(&h, ERR_UNAVAILABLE, not_set_up);
		http_release(&h);
	}
	FCGX_Free(&req, 1);
	return 1;
}

int
main(int argc, char *argv[])
{
	const char	*listen_arg = NULL;
	char		 err[512];
	int		 rc, check = 0, loaded;

	signal(SIGPIPE, SIG_IGN);
	log_init("intake.fcgi");
	db_init();
	/* Under CGI, argv is a query string's words: no options there. */
	if (getenv("GATEWAY_INTERFACE") == NULL) {
		if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0))
			return usage(stdout, 0);
		if (argc == 2 && strcmp(argv[1], "--check") == 0)
			check = 1;
		else if (argc == 3 && strcmp(argv[1], "--listen") == 0)
			listen_arg = argv[2];
		else if (argc != 1)
			return usage(stderr, 2);
	}
	loaded = config_load(&cfg, err, sizeof(err));
	if (check)
		return checks_main(&cfg, loaded == -1 ? err : NULL,
		    CHECKS_WEB);
	if (loaded == -1) {
		log_warnx("configuration: %s", err);
		if (listen_arg == NULL && FCGX_IsCGI())
			cgi_unavailable();
		else if (listen_arg == NULL)
			return fcgi_unavailable();
		return 1;
	}
	util_set_node(cfg.node);
	db_set_pool((int)cfg.db_pool);
	if (listen_arg != NULL && listen_on(listen_arg) == -1)
		return 1;
	/* From here on the log is INTAKE_LOG_FILE, when set. */
	if (cfg.log_file[0] != '\0')
		log_open(cfg.log_file);
	self.pid = (long)getpid();
	self.start = util_proc_start(self.pid);
	self.stale_ms = cfg.stale_ms;
	self.gave_up = finals_gave_up;
	/* libcurl is set up by the first call to a model (gen_llm.c). */
	cgi = listen_fd == 0 && FCGX_IsCGI();
	if (!config_found(&cfg))
		log_warnx("no configuration found (INTAKE_CONFIG is not set and "
		    "there is no intake.conf where this program looks: run it "
		    "with --check to see where)");
	spawn_init(&cfg, cgi);
	dbpool_init(&cfg, cgi);
	rc = cgi ? run_cgi() : run_fastcgi();
	gen_llm_done();
	listen_remove();
	return rc;
}
