/*
 * floor.c: the floor of the throughput comparison: the smallest libfcgi
 * responder that does what an intake turn has to do, and nothing else.
 *
 *   floor            serve (the web server spawns it, as intake.fcgi)
 *   floor --init     create the database (INTAKE_DB)
 *
 * POST .../conversations answers 201 with a new id.  POST .../messages
 * reads the body, calls the model (INTAKE_LLM_URL/chat/completions,
 * "stream":true) with libcurl, relays each token as an SSE delta with a
 * flush, writes one SQLite row (the reply), sends "done", ends the
 * request (FCGX_Finish_r), and double-forks a child that execs
 * floorchild (next to this program) for one BEGIN IMMEDIATE upsert.  The
 * child is exec'd, not just forked, for the reason intake's is: this
 * process runs threads, and after fork only async-signal-safe calls are
 * safe.  With INTAKE_FLOOR_NOCHILD=1 there is no child at all: the floor
 * of the relay alone.  With INTAKE_FLOOR_SPAWN=1 the first fork is a
 * posix_spawn (vfork-like: no copy of this large, threaded process's page
 * tables) of "floorchild --detach", which forks the second time itself.  INTAKE_THREADS workers, each with its own SQLite
 * handle.  No validation, no history, no saves while streaming, no cap
 * on children: a floor, not a program to deploy.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>
#include <sqlite3.h>

static const char	*db_path, *llm_url;
static char		 child_path[PATH_MAX];
static int		 nochild, use_spawn;

extern char	**environ;
static pthread_mutex_t	 accept_lock = PTHREAD_MUTEX_INITIALIZER;
static long		 next_conv;

struct relay {
	FCGX_Request	*req;
	char		 line[8192];
	size_t		 ll;
	char		*reply;
	size_t		 len, cap;
};

static sqlite3 *
db_open(void)
{
	sqlite3	*db;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
	    NULL, NULL, NULL);
	return db;
}

/* One "data: {...}" line of the provider's stream. */
static void
relay_line(struct relay *r, const char *s, size_t n)
{
	const char	*p, *e, *end = s + n;
	char		*nb, ev[8192 + 64];
	size_t		 k;
	int		 len;

	if (n < 6 || memcmp(s, "data: ", 6) != 0 ||
	    (p = memmem(s, n, "\"content\":\"", 11)) == NULL)
		return;
	p += 11;
	for (e = p; e < end && *e != '"'; e++)
		if (*e == '\\' && e + 1 < end)
			e++;
	if ((k = (size_t)(e - p)) == 0)
		return;
	if (r->len + k + 1 > r->cap) {
		r->cap = (r->len + k + 1) * 2;
		if ((nb = realloc(r->reply, r->cap)) == NULL)
			return;
		r->reply = nb;
	}
	memcpy(r->reply + r->len, p, k);
	r->len += k;
	/* libfcgi's own FCGX_FPrintF knows neither %zu nor %.*s. */
	len = snprintf(ev, sizeof(ev), "id: %zu\nevent: delta\ndata: {\"text\":"
	    "\"%.*s\"}\n\n", r->len, (int)k, p);
	if (len > 0 && (size_t)len < sizeof(ev))
		FCGX_PutStr(ev, len, r->req->out);
	FCGX_FFlush(r->req->out);
}

static size_t
relay_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct relay	*r = arg;
	size_t		 n = size * nmemb, i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			relay_line(r, r->line, r->ll);
			r->ll = 0;
		} else if (r->ll < sizeof(r->line))
			r->line[r->ll++] = p[i];
	}
	return n;
}

/* The upstream request: the visitor's text as the one user message. */
static char *
upstream_body(const char *in, size_t len)
{
	static const char head[] = "{\"model\":\"mock\",\"stream\":true,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"";
	char	*out, *o;
	size_t	 i;

	if ((out = malloc(sizeof(head) + len * 2 + 8)) == NULL)
		return NULL;
	o = out + sizeof(head) - 1;
	memcpy(out, head, sizeof(head) - 1);
	for (i = 0; i < len; i++) {
		if (in[i] == '"' || in[i] == '\\')
			*o++ = '\\';
		*o++ = (unsigned char)in[i] < 0x20 ? ' ' : in[i];
	}
	memcpy(o, "\"}]}", 5);
	return out;
}

/* Double fork; the grandchild execs "floorchild conv". */
static void
spawn_child(const char *conv)
{
	char	*argv[3];
	pid_t	 pid;
	int	 fd, st;

	argv[0] = child_path;
	argv[1] = (char *)conv;
	argv[2] = NULL;
	if ((pid = fork()) == -1)
		return;
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		close_range(3, ~0U, 0);
		execv(child_path, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
}

/* The same, the first fork a posix_spawn; the child forks again. */
static void
spawn_child_posix(const char *conv)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	char				*argv[4];
	pid_t				 pid;
	int				 st;

	argv[0] = child_path;
	argv[1] = (char *)"--detach";
	argv[2] = (char *)conv;
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	if (posix_spawn(&pid, child_path, &fa, &at, argv, environ) == 0)
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
}

static void
turn(FCGX_Request *req, sqlite3 *db, const char *conv)
{
	struct relay	 r;
	sqlite3_stmt	*st;
	struct curl_slist *hdrs = NULL;
	CURL		*c;
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	char		*in, *body, url[600];
	long		 len = cl ? atol(cl) : 0;
	int		 got = 0, n;

	if (len < 0 || len > 65536 || (in = malloc((size_t)len + 1)) == NULL)
		return;
	while (got < len && (n = FCGX_GetStr(in + got, (int)len - got,
	    req->in)) > 0)
		got += n;
	body = upstream_body(in, (size_t)got);
	free(in);
	if (body == NULL)
		return;
	FCGX_PutS("Status: 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n\r\nevent: turn\ndata: {\"turn\":1}"
	    "\n\n", req->out);
	FCGX_FFlush(req->out);

	memset(&r, 0, sizeof(r));
	r.req = req;
	snprintf(url, sizeof(url), "%s/chat/completions", llm_url);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if ((c = curl_easy_init()) != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, relay_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		curl_easy_perform(c);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(hdrs);
	free(body);

	if (sqlite3_prepare_v2(db, "INSERT INTO replies (conv, text) "
	    "VALUES (?, ?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, conv, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r.reply ? r.reply : "", (int)r.len,
		    SQLITE_STATIC);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	free(r.reply);
	FCGX_PutS("event: done\ndata: {\"status\":\"complete\"}\n\n", req->out);
}

static void *
worker(void *arg)
{
	FCGX_Request	 req;
	sqlite3		*db;
	const char	*uri, *p;
	char		 conv[128];
	int		 rc, is_turn;

	(void)arg;
	if ((db = db_open()) == NULL || FCGX_InitRequest(&req, 0, 0) != 0)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		uri = FCGX_GetParam("REQUEST_URI", req.envp);
		is_turn = 0;
		if (uri != NULL && (p = strstr(uri, "/conversations/")) !=
		    NULL && strstr(uri, "/messages") != NULL) {
			snprintf(conv, sizeof(conv), "%.*s",
			    (int)strcspn(p + 15, "/"), p + 15);
			turn(&req, db, conv);
			is_turn = 1;
		} else {
			snprintf(conv, sizeof(conv), "Status: 201 Created\r\n"
			    "Content-Type: application/json\r\n\r\n"
			    "{\"id\":\"f%ld\",\"token\":\"t\"}\n",
			    __atomic_add_fetch(&next_conv, 1,
			    __ATOMIC_RELAXED));
			FCGX_PutS(conv, req.out);
		}
		FCGX_Finish_r(&req);
		if (is_turn && !nochild) {
			if (use_spawn)
				spawn_child_posix(conv);
			else
				spawn_child(conv);
		}
	}
	sqlite3_close(db);
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sqlite3		*db;
	const char	*v;
	char		*slash;
	ssize_t		 n;
	long		 i, threads;

	if ((db_path = getenv("INTAKE_DB")) == NULL)
		return 2;
	if (argc == 2 && strcmp(argv[1], "--init") == 0) {
		if ((db = db_open()) == NULL)
			return 1;
		i = sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS replies (id "
		    "INTEGER PRIMARY KEY, conv TEXT NOT NULL, text TEXT NOT "
		    "NULL); CREATE TABLE IF NOT EXISTS leads (conv TEXT "
		    "PRIMARY KEY, n INTEGER NOT NULL)", NULL, NULL, NULL);
		sqlite3_close(db);
		return i == SQLITE_OK ? 0 : 1;
	}
	if ((llm_url = getenv("INTAKE_LLM_URL")) == NULL)
		return 2;
	threads = (v = getenv("INTAKE_THREADS")) ? atol(v) : 16;
	if (threads < 1 || threads > 1024)
		threads = 16;
	nochild = (v = getenv("INTAKE_FLOOR_NOCHILD")) != NULL && *v == '1';
	use_spawn = (v = getenv("INTAKE_FLOOR_SPAWN")) != NULL && *v == '1';
	if ((n = readlink("/proc/self/exe", child_path,
	    sizeof(child_path) - 12)) == -1)
		return 1;
	child_path[n] = '\0';
	if ((slash = strrchr(child_path, '/')) == NULL)
		return 1;
	strcpy(slash + 1, "floorchild");
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	FCGX_Init();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 1; i < threads; i++)
		pthread_create(&tid, &attr, worker, NULL);
	worker(NULL);
	return 0;
}
