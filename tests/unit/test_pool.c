/*
 * test_pool.c: many threads, one process, a few connections.  Each
 * thread has its own handle and runs short transactions and single
 * statements; on PostgreSQL (INTAKE_TEST_DB, see testdb.h) they share a
 * pool of POOL_MAX connections.  Nothing is lost (every row counted),
 * the pool never holds more than its limit, and (under the leak
 * checker) no connection is left unreachable.  On SQLite the same work
 * runs with a handle per thread and no pool.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "store.h"
#include "testdb.h"

#define THREADS		12
#define ROUNDS		40
#define POOL_MAX	3

static char	path[64];
static int	failures;
static pthread_mutex_t	fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void
fail(void)
{
	pthread_mutex_lock(&fail_lock);
	failures++;
	pthread_mutex_unlock(&fail_lock);
}

static void *
worker(void *arg)
{
	struct db	*db;
	struct db_stmt	*st;
	char		 id[32];
	int		 i, n = (int)(intptr_t)arg;

	if ((db = testdb_open(path)) == NULL) {
		fail();
		return NULL;
	}
	for (i = 0; i < ROUNDS; i++) {
		snprintf(id, sizeof(id), "p%d-%d", n, i);
		/* A write transaction of one conversation... */
		if (db_begin_for(db, "conv", id) == -1) {
			fail();
			continue;
		}
		if (store_conv_create(db, id, "t", NULL) == -1) {
			db_rollback(db);
			fail();
			continue;
		}
		if (db_commit(db) == -1)
			fail();
		/* ...and a statement on its own. */
		if ((st = db_prepare(db, "SELECT count(*) FROM conversations "
		    "WHERE id = ?")) == NULL) {
			fail();
			continue;
		}
		db_bind_text(st, 1, id, -1);
		if (db_step(st) != DB_ROW || db_column_int(st, 0) != 1)
			fail();
		db_finalize(st);
	}
	db_close(db);
	return NULL;
}

int
main(void)
{
	pthread_t	 t[THREADS];
	struct db	*db;
	struct db_stmt	*st;
	int		 i, open, peak, fd;

	db_init();
	db_set_pool(POOL_MAX);
	snprintf(path, sizeof(path), "/tmp/test_pool.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	if ((db = testdb_fresh(path)) == NULL)
		return 1;
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(failures == 0, "%d statements or transactions failed",
	    failures);
	st = db_prepare(db, "SELECT count(*) FROM conversations");
	CHECK(st != NULL && db_step(st) == DB_ROW &&
	    db_column_int(st, 0) == THREADS * ROUNDS, "rows: want %d",
	    THREADS * ROUNDS);
	db_finalize(st);
	db_pool_stats(&open, &peak);
	if (db_engine(db) == DB_POSTGRES) {
		CHECK(peak >= 1 && peak <= POOL_MAX, "peak %d connections, "
		    "the pool holds %d", peak, POOL_MAX);
		CHECK(open >= 1 && open <= POOL_MAX, "%d connections open",
		    open);
	} else
		CHECK(open == 0 && peak == 0, "SQLite has no pool: %d, %d",
		    open, peak);
	db_close(db);
	testdb_remove(path);
	return check_done("pool");
}
