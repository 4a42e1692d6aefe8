/*
 * test_dbpool.c: the handle pool of intake.fcgi (cgi/dbpool.c).  The
 * handle given back last is taken first; trimming closes the ones idle
 * longest; a handle of a database that is not there is made only for a
 * request's first handle, and never inside the web folder; with
 * DBPOOL_MAX open and none idle a taker waits for one to come back, or,
 * when the busy timeout runs out, opens one past the cap.  On PostgreSQL
 * too (INTAKE_TEST_DB, see testdb.h), where the file rules do not apply.
 */

#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "db.h"
#include "dbpool.h"
#include "testdb.h"

static struct config	cfg;

/* A taker in another thread (the cap test). */
struct taker {
	struct db	*db;
	int		 done;
};

static void *
take(void *arg)
{
	struct taker	*t = arg;

	t->db = dbpool_get();
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* LIFO reuse, trim and the counts. */
static void
test_reuse(void)
{
	struct db	*a, *b, *c;
	int		 idle, out, open;

	a = dbpool_get();
	b = dbpool_get();
	CHECK(a != NULL && b != NULL && a != b, "two handles");
	dbpool_stats(&idle, &out, &open);
	CHECK(idle == 0 && out == 2 && open == 2, "idle %d out %d open %d",
	    idle, out, open);
	dbpool_put(a);
	dbpool_put(b);
	c = dbpool_get();
	CHECK(c == b, "the handle given back last is taken first");
	dbpool_put(c);
	dbpool_put(NULL);
	dbpool_stats(&idle, &out, &open);
	CHECK(idle == 2 && out == 0 && open == 2, "idle %d out %d open %d",
	    idle, out, open);
	CHECK(dbpool_trim(1) == 1, "trim to one closes one");
	c = dbpool_get();
	CHECK(c == b, "the one idle longest (a) was the one closed");
	dbpool_put(c);
	CHECK(dbpool_trim(0) == 1, "trim to none closes the last");
	dbpool_stats(&idle, &out, &open);
	CHECK(idle == 0 && out == 0 && open == 0, "idle %d out %d open %d",
	    idle, out, open);
}

/* DBPOOL_MAX open: wait for one back, or past the cap after the wait. */
static void
test_cap(void)
{
	struct db	*h[DBPOOL_MAX + 1];
	struct taker	 t;
	pthread_t	 tid;
	int		 i, n = 0, idle, out, open;

	for (i = 0; i < DBPOOL_MAX; i++)
		if ((h[i] = dbpool_get()) != NULL)
			n++;
	CHECK(n == DBPOOL_MAX, "%d of %d handles", n, DBPOOL_MAX);
	/* A long busy timeout: the taker waits for the one given back. */
	cfg.busy_timeout_ms = 30000;
	memset(&t, 0, sizeof(t));
	pthread_create(&tid, NULL, take, &t);
	sleep_ms(300);
	CHECK(!__atomic_load_n(&t.done, __ATOMIC_SEQ_CST),
	    "a taker waits while %d are taken", DBPOOL_MAX);
	dbpool_put(h[3]);
	pthread_join(tid, NULL);
	CHECK(t.db == h[3], "the waiting taker gets the handle given back");
	dbpool_stats(&idle, &out, &open);
	CHECK(open == DBPOOL_MAX && out == DBPOOL_MAX, "open %d out %d",
	    open, out);
	h[3] = t.db;
	/* No busy timeout: one past the cap at once, never no answer. */
	cfg.busy_timeout_ms = 0;
	h[DBPOOL_MAX] = dbpool_get();
	CHECK(h[DBPOOL_MAX] != NULL, "a handle past the cap");
	dbpool_stats(&idle, &out, &open);
	CHECK(open == DBPOOL_MAX + 1, "open %d", open);
	for (i = 0; i <= DBPOOL_MAX; i++)
		dbpool_put(h[i]);
	CHECK(dbpool_trim(0) == DBPOOL_MAX + 1, "all closed");
	cfg.busy_timeout_ms = 5000;
}

/* SQLite: no file made but for a request's first handle, outside www. */
static void
test_making(void)
{
	char		 dir[64], file[128];
	struct db	*db;

	snprintf(dir, sizeof(dir), "/tmp/test_dbpool.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(file, sizeof(file), "%s/new.db", dir);
	snprintf(cfg.db, sizeof(cfg.db), "%s", file);
	CHECK(dbpool_get() == NULL && access(file, F_OK) == -1,
	    "dbpool_get makes no file");
	CHECK(dbpool_get_making(dir, NULL) == NULL &&
	    access(file, F_OK) == -1, "not inside the web folder");
	CHECK(dbpool_get_making(NULL, dir) == NULL &&
	    access(file, F_OK) == -1, "nor inside CONTEXT_DOCUMENT_ROOT");
	db = dbpool_get_making("/nonexistent-www", NULL);
	CHECK(db != NULL && access(file, F_OK) == 0, "made elsewhere");
	dbpool_put(db);
	dbpool_trim(0);
	/* There now: a plain get opens it. */
	db = dbpool_get();
	CHECK(db != NULL, "dbpool_get opens a database that is there");
	dbpool_put(db);
	dbpool_trim(0);
	testdb_remove(file);
	rmdir(dir);
}

int
main(void)
{
	char		 path[64];
	struct db	*db;
	int		 fd, pg;

	db_init();
	snprintf(path, sizeof(path), "/tmp/test_dbpool.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	if ((db = testdb_fresh(path)) == NULL)
		return 1;
	pg = db_engine(db) == DB_POSTGRES;
	db_close(db);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.db, sizeof(cfg.db), "%s", testdb_uri(path));
	cfg.busy_timeout_ms = 5000;
	CHECK(dbpool_get() == NULL, "no handle before dbpool_init");
	dbpool_init(&cfg, 0);
	test_reuse();
	test_cap();
	if (!pg)
		test_making();
	dbpool_close();
	testdb_remove(path);
	return check_done("dbpool");
}
