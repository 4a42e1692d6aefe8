/*
 * dbpool.c: the database handles of intake.fcgi, shared by its workers
 * (see dbpool.h for why).
 *
 * The idle handles are a stack: the one given back last is taken first,
 * its statements and pages warm, and the ones at the bottom, idle
 * longest, are the ones dbpool_trim closes.  A handle is opened and
 * closed outside the lock (opening a SQLite file migrates it; closing
 * the last one checkpoints the WAL), so a slow open never holds up a
 * worker that only wants an idle handle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks_run.h"
#include "config.h"
#include "db.h"
#include "dbpool.h"
#include "log.h"
#include "paths.h"
#include "util.h"

#define DBPOOL_REFUSED_LOG_MS	60000	/* a refused database logged this often */
#define DBPOOL_OVER_LOG_MS	60000	/* so is a handle opened past the cap */

static pthread_mutex_t	 pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 pool_cond;	/* a handle back, or room to open */
static pthread_once_t	 pool_once = PTHREAD_ONCE_INIT;
static int		 pool_cond_ok;
static const struct config *pool_cfg;
static int		 pool_cgi;
static struct db	**pool_idle;	/* [0] idle longest, [n - 1] last */
static size_t		 pool_n, pool_cap;
static int		 pool_out;	/* taken, not given back */
static int		 pool_open;	/* idle, taken, or being opened */

/* pool_cond waits on the monotonic clock. */
static void
pool_cond_make(void)
{
	pthread_condattr_t	attr;

	if (pthread_condattr_init(&attr) != 0)
		return;
	pool_cond_ok = pthread_condattr_setclock(&attr,
	    CLOCK_MONOTONIC) == 0 && pthread_cond_init(&pool_cond,
	    &attr) == 0;
	pthread_condattr_destroy(&attr);
}

void
dbpool_init(const struct config *cfg, int cgi)
{
	pthread_once(&pool_once, pool_cond_make);
	pthread_mutex_lock(&pool_lock);
	pool_cfg = cfg;
	pool_cgi = cgi;
	pthread_mutex_unlock(&pool_lock);
}

/*
 * An idle handle, counted out.  With none idle and DBPOOL_MAX open, wait
 * up to the busy timeout for one to come back (the time the request
 * would otherwise have waited for SQLite's lock, handle in hand), then
 * go past the cap.  NULL when the caller is to open one: counted open
 * and out already (pool_failed when it cannot).
 */
static struct db *
pool_take(const struct config **cfg, int *cgi)
{
	static _Atomic int64_t	 logged;
	struct timespec		 until;
	struct db		*db = NULL;
	int			 waiting = 0, over = 0, open;

	pthread_mutex_lock(&pool_lock);
	*cfg = pool_cfg;
	*cgi = pool_cgi;
	while (pool_n == 0 && pool_open >= DBPOOL_MAX && !over) {
		if (pool_cfg == NULL || !pool_cond_ok)
			over = 1;
		else if (!waiting) {
			util_deadline(&until, CLOCK_MONOTONIC,
			    pool_cfg->busy_timeout_ms);
			waiting = 1;
		} else if (pthread_cond_timedwait(&pool_cond, &pool_lock,
		    &until) == ETIMEDOUT)
			over = pool_n == 0 && pool_open >= DBPOOL_MAX;
	}
	if (pool_n > 0)
		db = pool_idle[--pool_n];
	else
		pool_open++;
	pool_out++;
	open = pool_open;
	pthread_mutex_unlock(&pool_lock);
	if (over && db == NULL) {
		if (util_every(&logged, DBPOOL_OVER_LOG_MS))
			log_warnx("database handles: all %d in use for the "
			    "busy timeout; %d open now", DBPOOL_MAX, open);
	}
	return db;
}

/* A handle pool_take left to the caller to open could not be. */
static void
pool_failed(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_out--;
	pool_open--;
	if (pool_cond_ok)
		pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

/*
 * Whether a handle may be opened: the database is there, or making it
 * is allowed (making set: checks_db_create with the request's web
 * folders).  Logs a refusal at most every DBPOOL_REFUSED_LOG_MS.
 */
static int
pool_may_open(const struct config *cfg, int cgi, int making,
    const char *docroot, const char *ctxroot)
{
	static _Atomic int64_t	 logged;
	char			 why[PATHS_MAX + 256];

	if (!making)
		return db_engine_of(cfg->db) == DB_POSTGRES ||
		    access(cfg->db, F_OK) == 0;
	if (checks_db_create(cfg, cgi, docroot, ctxroot, why,
	    sizeof(why)) == 0)
		return 1;
	if (util_every(&logged, DBPOOL_REFUSED_LOG_MS))
		log_warnx("%s", why);
	return 0;
}

static struct db *
pool_get(int making, const char *docroot, const char *ctxroot)
{
	const struct config	*cfg;
	struct db		*db;
	int			 cgi;

	if ((db = pool_take(&cfg, &cgi)) != NULL)
		return db;
	if (cfg == NULL || !pool_may_open(cfg, cgi, making, docroot,
	    ctxroot) || (db = db_open(cfg->db, cfg->busy_timeout_ms)) == NULL) {
		pool_failed();
		return NULL;
	}
	return db;
}

struct db *
dbpool_get(void)
{
	return pool_get(0, NULL, NULL);
}

struct db *
dbpool_get_making(const char *docroot, const char *ctxroot)
{
	return pool_get(1, docroot, ctxroot);
}

void
dbpool_put(struct db *db)
{
	struct db	**grown;
	size_t		  cap;

	if (db == NULL)
		return;
	pthread_mutex_lock(&pool_lock);
	pool_out--;
	if (pool_n == pool_cap) {
		cap = pool_cap == 0 ? 8 : pool_cap * 2;
		if ((grown = realloc(pool_idle, cap * sizeof(*grown))) ==
		    NULL) {
			/* No room to keep it: closed, not leaked. */
			pool_open--;
			if (pool_cond_ok)
				pthread_cond_signal(&pool_cond);
			pthread_mutex_unlock(&pool_lock);
			db_close(db);
			return;
		}
		pool_idle = grown;
		pool_cap = cap;
	}
	pool_idle[pool_n++] = db;
	if (pool_cond_ok)
		pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

int
dbpool_trim(int keep)
{
	struct db	*db;
	int		 n = 0;

	for (;;) {
		/* The oldest goes, the rest move down; closed unlocked. */
		pthread_mutex_lock(&pool_lock);
		if (pool_n <= (size_t)(keep < 0 ? 0 : keep)) {
			pthread_mutex_unlock(&pool_lock);
			return n;
		}
		db = pool_idle[0];
		memmove(pool_idle, pool_idle + 1, --pool_n *
		    sizeof(*pool_idle));
		pool_open--;
		if (pool_cond_ok)
			pthread_cond_signal(&pool_cond);
		pthread_mutex_unlock(&pool_lock);
		db_close(db);
		n++;
	}
}

void
dbpool_stats(int *idle, int *out, int *open)
{
	pthread_mutex_lock(&pool_lock);
	*idle = (int)pool_n;
	*out = pool_out;
	*open = pool_open;
	pthread_mutex_unlock(&pool_lock);
}

void
dbpool_close(void)
{
	dbpool_trim(0);
	pthread_mutex_lock(&pool_lock);
	free(pool_idle);
	pool_idle = NULL;
	pool_n = pool_cap = 0;
	pool_cfg = NULL;
	pthread_mutex_unlock(&pool_lock);
}
