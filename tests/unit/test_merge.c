/*
 * test_merge.c: the no-downgrade rule, by table and by property.
 *
 * The property: merging is a per-field maximum, so any order of the same
 * extractions gives the same lead.  Random sets of extractions are merged
 * in many random orders, in memory and through lead_merge into SQLite
 * (one database per order), and concurrently from several processes into
 * one database; every result must equal the first.  The outbox follows
 * the lead: whatever the order, a lead that ends ready has exactly one
 * lead.ready per target, one that does not has none, and no target ever
 * has two lead.updated pending.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"
#include "db.h"
#include "lead.h"
#include "merge.h"
#include "ready.h"
#include "store.h"

/* Both targets on: lead_merge queues for each (nothing is sent here). */
static struct config	notify_cfg;

static const struct {
	const char	*in;
	int		 in_strength, in_turn;
	const char	*st;
	int		 st_strength, st_turn;
	int		 want;
	int		 line;
} rows[] = {
	{ "Jane", 1, 1, "", 0, 0, 1, __LINE__ },		/* empty taken */
	{ "", 0, 9, "Jane Doe", 2, 1, 0, __LINE__ },		/* nothing never wins */
	{ "Jane", 1, 5, "Jane Doe", 2, 1, 0, __LINE__ },	/* weaker, later: kept */
	{ "Jane Doe", 2, 1, "Jane", 1, 5, 1, __LINE__ },	/* stronger, earlier: wins */
	{ "+15550001111", 2, 3, "+15551234567", 2, 2, 1, __LINE__ },/* correction */
	{ "+15551234567", 2, 2, "+15550001111", 2, 3, 0, __LINE__ },/* stale */
	{ "b", 1, 2, "a", 1, 2, 1, __LINE__ },			/* tie: bytes */
	{ "a", 1, 2, "b", 1, 2, 0, __LINE__ },
	{ "ab", 1, 2, "a", 1, 2, 1, __LINE__ },			/* prefix: longer */
	{ "a", 1, 2, "a", 1, 2, 0, __LINE__ },			/* equal: kept */
};

#define NVALS	5
#define NEXTR	6
#define ORDERS	24

static const char *const pool[NVALS] = {
	"Jane", "Jane Doe", "Ann Lee", "Bob", "Jane Q Doe",
};

struct ex {
	int		 turn;
	struct extraction e;
};

static void
random_set(struct ex *set, size_t n)
{
	size_t	i;
	int	f, k;

	for (i = 0; i < n; i++) {
		extraction_clear(&set[i].e);
		set[i].turn = 1 + rand() % 4;
		for (f = 0; f < FIELD__MAX; f++) {
			if (rand() % 3 == 0)
				continue;
			k = rand() % NVALS;
			snprintf(set[i].e.value[f], FIELD_VALUE_MAX, "%s",
			    pool[k]);
			set[i].e.strength[f] = 1 + rand() % 2;
		}
	}
}

static void
shuffle(size_t *idx, size_t n)
{
	size_t	i, j, t;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = (size_t)rand() % (i + 1);
		t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* The in-memory merge of set in the order idx; result in out/turns. */
static void
merge_mem(const struct ex *set, const size_t *idx, size_t n,
    struct extraction *out, int *turns)
{
	struct merge_val	in, st;
	size_t			i;
	int			f;

	extraction_clear(out);
	memset(turns, 0, sizeof(int) * FIELD__MAX);
	for (i = 0; i < n; i++)
		for (f = 0; f < FIELD__MAX; f++) {
			const struct ex	*x = &set[idx[i]];

			in.value = x->e.value[f];
			in.len = strlen(in.value);
			in.strength = x->e.strength[f];
			in.turn = x->turn;
			st.value = out->value[f];
			st.len = strlen(st.value);
			st.strength = out->strength[f];
			st.turn = turns[f];
			if (merge_wins(&in, &st)) {
				memcpy(out->value[f], x->e.value[f],
				    FIELD_VALUE_MAX);
				out->strength[f] = x->e.strength[f];
				turns[f] = x->turn;
			}
		}
}

static int
same(const struct extraction *a, const int *ta, const struct extraction *b,
    const int *tb)
{
	int	f;

	for (f = 0; f < FIELD__MAX; f++)
		if (a->strength[f] != b->strength[f] || ta[f] != tb[f] ||
		    strcmp(a->value[f], b->value[f]) != 0)
			return 0;
	return 1;
}

/* The outbox agrees with the lead want: 1, else 0. */
static int
outbox_ok(struct db *db, const struct extraction *want)
{
	struct db_stmt	*s;
	int		 ok = 1, step;

	s = db_prepare(db, "SELECT target, sum(CASE WHEN type = 'lead.ready' "
	    "THEN 1 ELSE 0 END), sum(CASE WHEN type = 'lead.updated' AND "
	    "status = 'pending' THEN 1 ELSE 0 END) FROM notifications GROUP "
	    "BY target");
	if (s == NULL)
		return 0;
	while ((step = db_step(s)) == DB_ROW)
		if (db_column_int(s, 1) != ready_is(want) ||
		    db_column_int(s, 2) > 1)
			ok = 0;
	if (step != DB_DONE)
		ok = 0;		/* not read is not right */
	db_finalize(s);
	s = db_prepare(db, "SELECT count(DISTINCT target) FROM notifications");
	if (s == NULL || db_step(s) != DB_ROW ||
	    db_column_int(s, 0) != (ready_is(want) ? 2 : 0))
		ok = 0;
	db_finalize(s);
	return ok;
}

static struct db *
fresh_db(const char *path)
{
	struct db	*db;

	if ((db = testdb_fresh(path)) == NULL)
		return NULL;
	if (store_conv_create(db, "c1", "t", NULL) == -1) {
		db_close(db);
		return NULL;
	}
	return db;
}

int
main(void)
{
	static struct ex	set[NEXTR];
	static struct extraction want, got;
	struct merge_val	in, st;
	size_t			i, idx[NEXTR];
	int			wt[FIELD__MAX], gt[FIELD__MAX], round, o, ok;
	char			dir[] = "/tmp/intake-merge-XXXXXX", path[256];
	struct db	*db;
	pid_t			pids[NEXTR];
	int			status;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		in.value = rows[i].in;
		in.len = strlen(rows[i].in);
		in.strength = rows[i].in_strength;
		in.turn = rows[i].in_turn;
		st.value = rows[i].st;
		st.len = strlen(rows[i].st);
		st.strength = rows[i].st_strength;
		st.turn = rows[i].st_turn;
		CHECK_AT(rows[i].line, merge_wins(&in, &st) == rows[i].want,
		    "merge_wins(%s) != %d", rows[i].in, rows[i].want);
	}

	config_defaults(&notify_cfg);
	notify_cfg.notify_targets = CONFIG_TARGET_EMAIL | CONFIG_TARGET_WEBHOOK;
	srand(20261121);
	if (mkdtemp(dir) == NULL)
		return 1;
	for (round = 0; round < 20; round++) {
		random_set(set, NEXTR);
		for (i = 0; i < NEXTR; i++)
			idx[i] = i;
		merge_mem(set, idx, NEXTR, &want, wt);
		ok = 1;
		for (o = 0; o < ORDERS && ok; o++) {
			shuffle(idx, NEXTR);
			merge_mem(set, idx, NEXTR, &got, gt);
			ok = same(&want, wt, &got, gt);
		}
		CHECK(ok, "round %d: in-memory merge depends on order", round);

		/* Through the database, a fresh one per order. */
		ok = 1;
		for (o = 0; o < 4 && ok; o++) {
			snprintf(path, sizeof(path), "%s/o%d.db", dir, o);
			if ((db = fresh_db(path)) == NULL) {
				ok = 0;
				break;
			}
			shuffle(idx, NEXTR);
			for (i = 0; i < NEXTR; i++)
				lead_merge(db, &notify_cfg, "c1",
				    set[idx[i]].turn, LEAD_SOURCE_RULES, &set[idx[i]].e, 0, NULL);
			extraction_clear(&got);
			lead_load(db, "c1", &got, gt);
			ok = same(&want, wt, &got, gt) && outbox_ok(db, &want);
			db_close(db);
		}
		CHECK(ok, "round %d: lead_merge result depends on order",
		    round);

		/* Concurrently: one process per extraction, one database. */
		snprintf(path, sizeof(path), "%s/conc.db", dir);
		if ((db = fresh_db(path)) == NULL) {
			CHECK(0, "fresh db");
			continue;
		}
		db_close(db);	/* no handle crosses fork */
		for (i = 0; i < NEXTR; i++) {
			if ((pids[i] = fork()) == 0) {
				struct db	*cdb = testdb_open(path);

				_exit(cdb == NULL || lead_merge(cdb,
				    &notify_cfg, "c1", set[i].turn, LEAD_SOURCE_MODEL,
				    &set[i].e, 0, NULL) == -1 ? 1 : 0);
			}
		}
		ok = 1;
		for (i = 0; i < NEXTR; i++)
			if (waitpid(pids[i], &status, 0) == -1 ||
			    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				ok = 0;
		CHECK(ok, "round %d: a concurrent merge failed (lost)", round);
		db = testdb_open(path);
		extraction_clear(&got);
		lead_load(db, "c1", &got, gt);
		CHECK(same(&want, wt, &got, gt), "round %d: concurrent merge "
		    "differs", round);
		CHECK(outbox_ok(db, &want), "round %d: concurrent merges "
		    "queued the wrong notifications", round);
		{
			struct db_stmt	*s = db_prepare(db, "SELECT count(*) "
			    "FROM extractions");
			CHECK(s != NULL && db_step(s) == DB_ROW &&
			    db_column_int(s, 0) == NEXTR,
			    "round %d: audit rows", round);
			db_finalize(s);
		}
		db_close(db);
	}
	for (o = 0; o < 4; o++) {
		snprintf(path, sizeof(path), "%s/o%d.db", dir, o);
		unlink(path);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return check_done("merge");
}
