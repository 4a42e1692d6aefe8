/*
 * main.c: intake.fcgi, the program behind /api/.
 *
 * Under FastCGI (the web server hands us a listening socket on fd 0) it
 * runs INTAKE_THREADS workers, each accepting and answering one request
 * at a time with a SQLite handle of its own.  Under plain CGI
 * (FCGX_IsCGI: no socket) it answers the one request in its environment
 * over stdio and exits.  In both, what follows a response (the
 * extractor) starts only once the response has ended.
 *
 * Run from a shell it also answers --check (what the installation
 * lacks, one line each: checks_run.c) and --listen SOCKET.  Under CGI
 * its arguments are ignored: a query string without '=' reaches a CGI
 * program as argv, and must not make it print --check's lines.
 */
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

#include <curl/curl.h>
#include <fcgiapp.h>

#include "api.h"
#include "checks_run.h"
#include "db.h"
#include "finals.h"
#include "log.h"
#include "maint.h"
#include "spawn.h"
#include "util.h"

static struct config	cfg;
static struct store_owner self;
static int		cgi;		/* plain CGI: one request, stdio */
static int		listen_fd;	/* 0: the socket the server gave us */
static char		listen_path[PATHS_MAX];	/* --listen: ours to remove */
static struct stat	listen_st;	/* its inode, so as to remove only it */
static pthread_mutex_t	accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Requests being answered, and whether a stop was asked for. */
static pthread_mutex_t	busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	busy_cond;	/* on CLOCK_MONOTONIC: run_fastcgi */
static int		busy;
static int		stopping;
static long		workers;	/* worker threads still running */

/*
 * Each worker's handle and whether it answers a request now, so the main
 * thread can close the handles of idle workers after a burst (memory and
 * descriptors return to idle) and all of them at exit (valgrind-clean).
 */
static struct db	**worker_db;
static char		*worker_busy;

#define STOP_GRACE_MS	30000	/* replies in flight may finish (SIGTERM) */
#define STOP_LAST_MS	5000	/* then, for their last events to go out */
#define TICK_MS		1000	/* the main thread's round */
#define IDLE_CHECK_MS	5000	/* how often idle handles are closed */
#define MAINT_MS	5000	/* how often maint_run runs */
#define CGI_FINAL_TRIES	8	/* 250 ms apart, after a CGI response */
#define IDLE_HANDLES	4	/* handles kept open beyond those in use */
#define DRAIN_MS	2000		/* reading a refused body, at most */
#define DRAIN_MAX	(16LL << 20)
#define REFUSED_LOG_MS	60000	/* a refused database logged this often */

static void	listen_remove(void);

/* What a visitor reads when the installation is wrong (no path in it). */
static const char not_set_up[] = "The service is not set up correctly.";

/*
 * Count worker w's request in or out; returns 1 when the process is
 * stopping.  While a worker is counted in, its SQLite handle is its own;
 * while it is out, the main thread may close the handle (see idle_close).
 */
static int
busy_add(long w, int d)
{
	int	stop;

	pthread_mutex_lock(&busy_lock);
	busy += d;
	worker_busy[w] = d > 0;
	stop = stopping;
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&busy_lock);
	return stop;
}

/*
 * Open the database for a request, unless it must not be made
 * (checks_db_create: not inside the web folder; under CGI, not with
 * nothing configured).  NULL when refused or failed (logged; a refusal
 * at most every REFUSED_LOG_MS).
 */
static struct db *
serve_open(struct ctx *c)
{
	static _Atomic int64_t	 logged;
	char			 why[PATHS_MAX + 256];
	int64_t			 now, last;

	if (checks_db_create(&cfg, cgi, http_param(&c->h, "DOCUMENT_ROOT"),
	    http_param(&c->h, "CONTEXT_DOCUMENT_ROOT"), why,
	    sizeof(why)) == -1) {
		now = util_mono_ms();
		last = atomic_load(&logged);
		if (last == 0 || now - last >= REFUSED_LOG_MS) {
			atomic_store(&logged, now);
			log_warnx("%s", why);
		}
		return NULL;
	}
	return db_open(cfg.db, cfg.busy_timeout_ms);
}

/*
 * Answer one request; the handle is opened on first use and kept.  With
 * no handle, api_handle answers 503 (health with its reasons).
 */
static void
serve(struct ctx *c, struct db **dbp)
{
	if (*dbp == NULL)
		*dbp = serve_open(c);
	c->cfg = &cfg;
	c->db = *dbp;
	c->self = self;
	api_handle(c);
}

static void *
worker(void *arg)
{
	FCGX_Request	 req;
	struct ctx	 c;
	long		 w = (long)(intptr_t)arg;
	struct db	**dbp = &worker_db[w], *db;
	int		 rc;

	if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		log_warnx("FCGX_InitRequest failed");
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		if (busy_add(w, 1)) {
			/* Stopping: the handles may be closed already. */
			busy_add(w, -1);
			FCGX_Finish_r(&req);
			break;
		}
		memset(&c, 0, sizeof(c));
		c.h.fcgi = &req;
		serve(&c, dbp);
		db = *dbp;
		/*
		 * The response ends here (if it did not when the client left):
		 * nothing above waits on what follows.
		 */
		http_release(&c.h);
		if (c.after.extract)
			spawn_extractor(db, &cfg, c.after.conv_id,
			    c.after.turn);
		if (c.after.drain)
			spawn_drain();
		if (busy_add(w, -1))
			break;
	}
	FCGX_Free(&req, 1);
	pthread_mutex_lock(&busy_lock);
	workers--;
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&busy_lock);
	return NULL;
}

/*
 * Close the handles of idle workers beyond IDLE_HANDLES (all of them when
 * no request runs), and give the memory back: after a burst of 500
 * streams, 500 threads would otherwise each keep a handle (descriptors,
 * its cache) for good.  SQLite keeps a closed handle's database
 * descriptor while another handle of the process has the file open (to
 * keep that one's locks), so descriptors return only when all are
 * closed.  A worker reopens a handle when it next answers a request.
 */
static void
idle_close(void)
{
	long	i, open = 0, closed = 0, keep;

	pthread_mutex_lock(&busy_lock);
	keep = busy > 0 ? IDLE_HANDLES : 0;
	for (i = 0; i < cfg.threads; i++)
		if (worker_db[i] != NULL && !worker_busy[i])
			open++;
	for (i = 0; i < cfg.threads && open > keep; i++)
		if (worker_db[i] != NULL && !worker_busy[i]) {
			db_close(worker_db[i]);
			worker_db[i] = NULL;
			open--;
			closed++;
		}
	pthread_mutex_unlock(&busy_lock);
	if (closed > 0)
		malloc_trim(0);
}

/*
 * Upkeep on a handle of the main thread's own, opened for the round and
 * closed after it: with full, a round of maint_run (dead writers'
 * replies, stranded jobs, unsaved finals); otherwise the unsaved finals
 * alone, and only when there are some.
 */
static void
upkeep(int full)
{
	struct db	*db;

	if (!full && finals_pending() == 0)
		return;
	/* Upkeep never makes a SQLite file: a request does, if it may. */
	if ((db_engine_of(cfg.db) == DB_SQLITE && access(cfg.db, F_OK) ==
	    -1) || (db = db_open(cfg.db, cfg.busy_timeout_ms)) == NULL)
		return;
	if (full)
		maint_run(db, &cfg, &self);
	else
		finals_flush(db);
	db_close(db);
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
	int		 sig, inflight;
	long		 i;

	upkeep(1);
	last_idle = last_maint = util_mono_ms();
	while ((sig = sigtimedwait(set, NULL, &tick)) == -1) {
		now = util_mono_ms();
		if (now - last_idle >= IDLE_CHECK_MS) {
			idle_close();
			last_idle = now;
		}
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
	log_info("signal %d: stopping; %d request(s) in flight", sig,
	    inflight);
	if (!wait_idle(sig == SIGINT ? 0 : STOP_GRACE_MS)) {
		api_terminating = 1;
		wait_idle(STOP_LAST_MS);
	}
	/* Still holding the lock: no worker starts a request now. */
	inflight = busy;
	if (inflight == 0)
		for (i = 0; i < cfg.threads; i++)
			db_close(worker_db[i]);
	pthread_mutex_unlock(&busy_lock);
	if (inflight == 0) {
		upkeep(0);
		finals_free();
	}
	listen_remove();
	/* _exit: the workers still in accept must not run atexit handlers. */
	_exit(0);
}

static int
run_fastcgi(void)
{
	pthread_t	 tid;
	pthread_attr_t	 attr;
	pthread_condattr_t cattr;
	sigset_t	 set;
	long		 i;

	if (FCGX_Init() != 0) {
		log_warnx("FCGX_Init failed");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* The stop's grace is timed on the monotonic clock. */
	if ((errno = pthread_condattr_init(&cattr)) != 0 ||
	    (errno = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC)) != 0 ||
	    (errno = pthread_cond_init(&busy_cond, &cattr)) != 0) {
		log_warn("busy_cond on CLOCK_MONOTONIC");
		return 1;
	}
	pthread_condattr_destroy(&cattr);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((worker_db = calloc((size_t)cfg.threads, sizeof(*worker_db)))
	    == NULL || (worker_busy = calloc((size_t)cfg.threads, 1)) == NULL)
		return 1;
	workers = cfg.threads;
	for (i = 0; i < cfg.threads; i++)
		if ((errno = pthread_create(&tid, &attr, worker,
		    (void *)(intptr_t)i)) != 0) {
			log_warn("pthread_create");
			return 1;
		}
	pthread_attr_destroy(&attr);
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
	struct db	*db = NULL;
	int		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cgi_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);	/* Ctrl-C under make run */
	memset(&c, 0, sizeof(c));
	serve(&c, &db);
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
	db_close(db);
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
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("curl_global_init failed");
		listen_remove();
		return 1;
	}
	cgi = listen_fd == 0 && FCGX_IsCGI();
	if (!config_found(&cfg))
		log_warnx("no configuration found (INTAKE_CONFIG is not set and "
		    "there is no intake.conf where this program looks: run it "
		    "with --check to see where)");
	spawn_init(&cfg, cgi);
	rc = cgi ? run_cgi() : run_fastcgi();
	curl_global_cleanup();
	listen_remove();
	return rc;
}
