/*
 * dbpool.h: the database handles of intake.fcgi, shared by its workers.
 *
 * A worker takes a handle for a request and gives it back when the
 * request is answered; a reply that streams for a minute may give it
 * back meanwhile (handler_db_put) and take one again for a save
 * (handler_db).  So the handles a process holds follow the requests that
 * use the database at one moment, not the workers that exist: 500
 * streams need a few.  A SQLite handle is 60 KB and more (its schema, its
 * cache, its prepared statements), so at most DBPOOL_MAX are open while
 * takers wait their turn; SQLite runs one writer at a time, so more
 * would only wait for its lock, each with a handle in hand.  A taker
 * waits at most the busy timeout (INTAKE_BUSY_TIMEOUT_MS) and then opens
 * one more past the cap (logged), so a handle held long (a bug, a slow
 * client) costs memory, never an answer.  The main thread closes idle
 * handles beyond a few every round (dbpool_trim) and every one at exit
 * (dbpool_close).  Under plain CGI the one request takes and gives back
 * the same handle.  Thread-safe.
 */
#ifndef DBPOOL_H
#define DBPOOL_H

struct config;
struct db;

#define DBPOOL_MAX	16	/* open handles before a taker waits */

/*
 * Once, before the first dbpool_get: the configuration (kept, not
 * copied) and whether this is plain CGI (checks_db_create's
 * need_config).
 */
void		 dbpool_init(const struct config *, int cgi);

/*
 * An idle handle (the one given back last), else a new one of a
 * database that is there: never makes a SQLite file (a request's first
 * handle does, dbpool_get_making).  With DBPOOL_MAX open and none idle,
 * waits for one (see above).  NULL when none can be had (logged).  The
 * caller gives it back with dbpool_put.
 */
struct db	*dbpool_get(void);

/*
 * dbpool_get for a request's first handle: when the SQLite file is not
 * there yet, make it only where checks_db_create allows (not inside the
 * web folder docroot or ctxroot, DOCUMENT_ROOT and
 * CONTEXT_DOCUMENT_ROOT, each NULL when unknown); a refusal is logged at
 * most once a minute.  NULL when refused or failed.
 */
struct db	*dbpool_get_making(const char *docroot, const char *ctxroot);

/* Give a handle back for the next taker (NULL: nothing). */
void		 dbpool_put(struct db *);

/*
 * Close the idle handles beyond keep, the ones given back longest ago
 * first.  How many were closed.  (The main thread, every round.)
 */
int		 dbpool_trim(int keep);

/* Idle handles now, handles taken and not given back, and open. */
void		 dbpool_stats(int *idle, int *out, int *open);

/* Close every idle handle and forget the configuration (at exit). */
void		 dbpool_close(void);

#endif
