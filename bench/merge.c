/*
 * merge.c: the merge under contention (measure 5), on the real
 * lead_merge from libintake.a.
 *
 *   merge -d DB [-p PROCS] [-m MERGES] [-l LEADS] [-f]
 *
 * The parent creates the database and LEADS conversations, then forks
 * PROCS children; each opens its own handle (nothing crosses the fork),
 * waits for the start, and runs MERGES lead_merge calls into lead
 * (child % LEADS), timing each whole transaction (busy waits included).
 * Then the parent checks the result: every merge left its audit row
 * (an extraction lost is one without), and every lead holds, field by
 * field, the maximum under merge_wins of what was offered to it.  Prints
 * one JSON object (times in microseconds).
 *
 * DB is a SQLite path or a PostgreSQL URI (db.h).  -f takes an exclusive flock(2) on DB-writer.lock
 * around each transaction: waiters sleep in the kernel and one wakes the
 * moment the lock is free, instead of polling.
 */
#include <sys/file.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "lead.h"
#include "log.h"
#include "merge.h"
#include "store.h"
#include "util.h"

#define PROCS_MAX	256
#define BUSY_MS		5000

static int	use_flock;

/* What child c offers in its merge k. */
static void
offer(int c, int k, struct extraction *ex, int *turn)
{
	int	f;

	extraction_clear(ex);
	*turn = 1 + (k * 7 + c * 3) % 40;
	for (f = 0; f < FIELD__MAX; f++) {
		if ((c + k + f) % 5 == 0)
			continue;	/* sparse: nothing for this field */
		ex->strength[f] = 1 + (c * 11 + k * 5 + f) % 2;
		snprintf(ex->value[f], sizeof(ex->value[f]), "v%d-%d-%d",
		    (c * 13 + k) % 17, c, f);
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
child(const char *path, int c, int merges, int leads, int start_fd,
    int out_fd)
{
	struct extraction	*ex;
	struct db		*db;
	char			 conv[32], b;
	int64_t			 t0, dt;
	int			 k, turn, lk = -1;
	char			 lpath[1024];

	if ((ex = malloc(sizeof(*ex))) == NULL ||
	    (db = db_open(path, BUSY_MS)) == NULL)
		return 1;
	if (use_flock) {
		snprintf(lpath, sizeof(lpath), "%s-writer.lock", path);
		if ((lk = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
			return 1;
	}
	snprintf(conv, sizeof(conv), "merge-lead-%d", c % leads);
	(void)read(start_fd, &b, 1);	/* EOF: go */
	for (k = 0; k < merges; k++) {
		offer(c, k, ex, &turn);
		t0 = util_mono_us();
		if (lk != -1)
			flock(lk, LOCK_EX);
		dt = lead_merge(db, NULL, conv, turn, k % 2 ? LEAD_SOURCE_MODEL :
		    LEAD_SOURCE_RULES, ex, 1, NULL) == 0 ? util_mono_us() - t0 : -1;
		if (lk != -1)
			flock(lk, LOCK_UN);
		if (write(out_fd, &dt, sizeof(dt)) != sizeof(dt))
			return 1;
	}
	db_close(db);
	free(ex);
	return 0;
}

/* Fields of lead l that differ from the maximum of what was offered. */
static int
check_lead(struct db *db, int l, int procs, int merges, int leads)
{
	struct extraction	*ex, *got;
	struct merge_val	 in, best[FIELD__MAX];
	char			 conv[32], (*bestv)[FIELD_VALUE_MAX];
	int			 turns[FIELD__MAX], c, k, f, turn, bad = 0;

	ex = malloc(sizeof(*ex));
	got = malloc(sizeof(*got));
	bestv = calloc(FIELD__MAX, FIELD_VALUE_MAX);
	if (ex == NULL || got == NULL || bestv == NULL)
		return FIELD__MAX;
	memset(best, 0, sizeof(best));
	for (c = l; c < procs; c += leads)
		for (k = 0; k < merges; k++) {
			offer(c, k, ex, &turn);
			for (f = 0; f < FIELD__MAX; f++) {
				if (ex->strength[f] == 0)
					continue;
				in.value = ex->value[f];
				in.len = strlen(ex->value[f]);
				in.strength = ex->strength[f];
				in.turn = turn;
				if (merge_wins(&in, &best[f])) {
					memcpy(bestv[f], ex->value[f],
					    FIELD_VALUE_MAX);
					best[f] = in;
					best[f].value = bestv[f];
				}
			}
		}
	snprintf(conv, sizeof(conv), "merge-lead-%d", l);
	if (lead_load(db, conv, got, turns) == -1)
		bad = FIELD__MAX;
	else
		for (f = 0; f < FIELD__MAX; f++)
			if (got->strength[f] != best[f].strength ||
			    (best[f].strength > 0 && (turns[f] !=
			    best[f].turn || strcmp(got->value[f],
			    bestv[f]) != 0)))
				bad++;
	free(ex);
	free(got);
	free(bestv);
	return bad;
}

int
main(int argc, char *argv[])
{
	struct db	*db;
	struct db_stmt	*st;
	const char	*path = NULL;
	char		 conv[32];
	int64_t		*t, dt, t0, wall;
	pid_t		 pids[PROCS_MAX];
	int		 procs = 32, merges = 20, leads = 1, ch, i, n = 0;
	int		 start[2], out[2], failed = 0, audit = -1, wrong = 0;
	int		 status, crashed = 0;

	while ((ch = getopt(argc, argv, "d:p:m:l:f")) != -1)
		switch (ch) {
		case 'f': use_flock = 1; break;
		case 'd': path = optarg; break;
		case 'p': procs = atoi(optarg); break;
		case 'm': merges = atoi(optarg); break;
		case 'l': leads = atoi(optarg); break;
		default: path = NULL; break;
		}
	if (path == NULL || procs < 1 || procs > PROCS_MAX || merges < 1 ||
	    merges > 10000 || leads < 1 || leads > procs) {
		fprintf(stderr, "usage: merge -d DB [-p procs] [-m merges] "
		    "[-l leads]\n");
		return 2;
	}
	log_init("merge");
	if ((db = db_open(path, 5000)) == NULL)
		return 1;
	for (i = 0; i < leads; i++) {
		snprintf(conv, sizeof(conv), "merge-lead-%d", i);
		if (store_conv_create(db, conv, "t", "127.0.0.1") == -1)
			return 1;
	}
	db_close(db);
	if (pipe(start) == -1 || pipe(out) == -1)
		return 1;
	fflush(NULL);
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) == -1)
			return 1;
		if (pids[i] == 0) {
			close(start[1]);
			close(out[0]);
			_exit(child(path, i, merges, leads, start[0], out[1]));
		}
	}
	close(start[0]);
	close(out[1]);
	if ((t = calloc((size_t)procs * (size_t)merges, sizeof(*t))) == NULL)
		return 1;
	usleep(200000);		/* every child has its handle open */
	t0 = util_mono_us();
	close(start[1]);
	while (read(out[0], &dt, sizeof(dt)) == sizeof(dt))
		if (dt < 0)
			failed++;
		else if (n < procs * merges)
			t[n++] = dt;
	wall = util_mono_us() - t0;
	for (i = 0; i < procs; i++)
		if (waitpid(pids[i], &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			crashed++;

	if ((db = db_open(path, 5000)) == NULL)
		return 1;
	if ((st = db_prepare(db, "SELECT count(*) FROM extractions WHERE "
	    "conversation_id LIKE 'merge-lead-%'")) != NULL &&
	    db_step(st) == DB_ROW)
		audit = db_column_int(st, 0);
	db_finalize(st);
	for (i = 0; i < leads; i++)
		wrong += check_lead(db, i, procs, merges, leads);
	db_close(db);

	qsort(t, (size_t)n, sizeof(*t), cmp64);
#define PCT(p)	(n ? (long long)t[(size_t)((double)(n - 1) * (p) + 0.5)] : -1LL)
	printf("{\"flock\":%d,\"procs\":%d,\"merges\":%d,\"leads\":%d,\"ok\":%d,"
	    "\"failed\":%d,\"crashed\":%d,\"audit_rows\":%d,\"lost\":%d,"
	    "\"wrong_fields\":%d,\"wall_us\":%lld,\"per_s\":%.0f,"
	    "\"tx_us\":{\"n\":%d,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,"
	    "\"max\":%lld}}\n", use_flock, procs, merges, leads, n, failed, crashed,
	    audit, procs * merges - (audit < 0 ? 0 : audit), wrong,
	    (long long)wall, wall > 0 ? n * 1e6 / (double)wall : 0.0, n,
	    PCT(0.5), PCT(0.9), PCT(0.99), n ? (long long)t[n - 1] : -1LL);
#undef PCT
	free(t);
	return 0;
}
