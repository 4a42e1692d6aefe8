/*
 * test_owner.c: the one liveness rule (common/owner.c), row by row, and
 * the SQL spelling carried to PostgreSQL (common/db_sql.c).
 */

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "db_sql.h"
#include "owner.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define NOW	1000000
#define STALE	30000
#define ME	100	/* this process's pid */
#define OTHER	200	/* another process of this node */

static int	asked_alive, asked_gave_up;

/* pid OTHER runs when started at 1; ME runs. */
static int
fake_alive(long pid, int64_t start)
{
	asked_alive++;
	return pid == ME || (pid == OTHER && start == 1);
}

/* This process gave up on reply 7. */
static int
fake_gave_up(int64_t msg_id)
{
	asked_gave_up++;
	return msg_id == 7;
}

static const struct owner_row {
	int		 same_node;
	long		 pid;
	int64_t		 start;
	int64_t		 beat_age;	/* now - heartbeat_at */
	int64_t		 msg_id;
	int		 gone;
	int		 may_ask_alive;	/* the pid check may be made */
	int		 line;
} owner_rows[] = {
	/* A heartbeat older than stale: gone on any node, nothing asked. */
	{ 1, OTHER, 1, STALE + 1, 1, 1, 0, __LINE__ },
	{ 0, OTHER, 1, STALE + 1, 1, 1, 0, __LINE__ },
	{ 1, ME, 5, STALE + 1, 1, 1, 0, __LINE__ },
	/* Exactly stale is not yet gone. */
	{ 0, OTHER, 1, STALE, 1, 0, 0, __LINE__ },
	/* Another node, fresh: alive whatever its pid says here. */
	{ 0, OTHER, 99, 0, 1, 0, 0, __LINE__ },
	{ 0, 999999, 1, 10, 1, 0, 0, __LINE__ },
	{ 0, ME, 5, 10, 7, 0, 0, __LINE__ },
	/* This process: gone only when it gave up on that reply. */
	{ 1, ME, 5, 10, 7, 1, 0, __LINE__ },
	{ 1, ME, 5, 10, 8, 0, 0, __LINE__ },
	/* Same pid, another start: a reused pid, judged by the system. */
	{ 1, ME, 6, 10, 7, 0, 1, __LINE__ },
	/* Another process of this node: alive while it runs. */
	{ 1, OTHER, 1, 10, 1, 0, 1, __LINE__ },
	{ 1, OTHER, 2, 10, 1, 1, 1, __LINE__ },
	{ 1, 4242, 1, 10, 1, 1, 1, __LINE__ },
	/* A heartbeat from the future (clocks of two nodes): not stale. */
	{ 0, OTHER, 1, -5000, 1, 0, 0, __LINE__ },
};

static void
test_owner(void)
{
	const struct owner_row	*t;
	struct owner_seen	 w;
	struct owner_self	 me;
	size_t			 i;
	int			 got;

	me.pid = ME;
	me.start = 5;
	me.stale_ms = STALE;
	me.alive = fake_alive;
	me.gave_up = fake_gave_up;
	for (i = 0; i < NELEM(owner_rows); i++) {
		t = &owner_rows[i];
		w.same_node = t->same_node;
		w.pid = t->pid;
		w.start = t->start;
		w.heartbeat_at = NOW - t->beat_age;
		asked_alive = 0;
		got = owner_gone(&w, &me, t->msg_id, NOW);
		CHECK_AT(t->line, got == t->gone, "owner_gone: %d, want %d",
		    got, t->gone);
		CHECK_AT(t->line, t->may_ask_alive || asked_alive == 0,
		    "the pid was checked where it means nothing");
	}
	/* No gave_up callback: this process's own reply is alive. */
	me.gave_up = NULL;
	w.same_node = 1;
	w.pid = ME;
	w.start = 5;
	w.heartbeat_at = NOW;
	CHECK(owner_gone(&w, &me, 7, NOW) == 0, "gave_up NULL: gone");

	CHECK(owner_same_node(NULL, "a") == 1, "NULL node is ours");
	CHECK(owner_same_node("", "a") == 1, "empty node is ours");
	CHECK(owner_same_node("a", "a") == 1, "same node");
	CHECK(owner_same_node("b", "a") == 0, "another node");
	CHECK(owner_same_node("ab", "a") == 0, "a prefix is another node");
}

static const struct sql_row {
	const char	*in;
	const char	*out;		/* NULL: refused */
	int		 nparams;
	int		 line;
} sql_rows[] = {
	{ "SELECT 1", "SELECT 1", 0, __LINE__ },
	{ "SELECT ?", "SELECT $1", 1, __LINE__ },
	{ "a = ? AND b = ?", "a = $1 AND b = $2", 2, __LINE__ },
	{ "a = ?1 AND b = ?1", "a = $1 AND b = $1", 1, __LINE__ },
	/* A bare ? after ?N is one more than the largest so far. */
	{ "?3, ?, ?1", "$3, $4, $1", 4, __LINE__ },
	{ "?12", "$12", 12, __LINE__ },
	{ "?99", "$99", 99, __LINE__ },
	{ "?100", NULL, 0, __LINE__ },
	{ "?0", NULL, 0, __LINE__ },
	/* Inside quotes nothing changes. */
	{ "'?' = ?", "'?' = $1", 1, __LINE__ },
	{ "\"a?\" = ?", "\"a?\" = $1", 1, __LINE__ },
	{ "'it''s ?' || ?", "'it''s ?' || $1", 1, __LINE__ },
	{ "'group_concat('", "'group_concat('", 0, __LINE__ },
	{ "'unterminated", NULL, 0, __LINE__ },
	{ "\"unterminated", NULL, 0, __LINE__ },
	{ "LIKE ? ESCAPE '\\'", "LIKE $1 ESCAPE '\\'", 1, __LINE__ },
	/* The spellings that differ. */
	{ DB_NOW, "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", 0, __LINE__ },
	{ "x = " DB_NOW " AND y = ?", "x = to_char(clock_timestamp() AT "
	  "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AND y = $1",
	  1, __LINE__ },
	{ "group_concat(text, '')", "string_agg(text, '')", 0, __LINE__ },
	{ "", "", 0, __LINE__ },
};

static void
test_sql(void)
{
	const struct sql_row	*t;
	char			*got;
	size_t			 i;
	int			 n;

	for (i = 0; i < NELEM(sql_rows); i++) {
		t = &sql_rows[i];
		n = -1;
		got = db_sql_pg(t->in, &n);
		if (t->out == NULL) {
			CHECK_AT(t->line, got == NULL, "accepted: %s", got);
			free(got);
			continue;
		}
		CHECK_AT(t->line, got != NULL && strcmp(got, t->out) == 0,
		    "got \"%s\"", got ? got : "(null)");
		CHECK_AT(t->line, n == t->nparams, "%d params, want %d", n,
		    t->nparams);
		free(got);
	}
	CHECK(db_engine_of("postgresql://x/y") == DB_POSTGRES, "postgresql");
	CHECK(db_engine_of("postgres://x/y") == DB_POSTGRES, "postgres");
	CHECK(db_engine_of("POSTGRESQL://x") == DB_POSTGRES, "upper case");
	CHECK(db_engine_of("/var/lib/intake.db") == DB_SQLITE, "a path");
	CHECK(db_engine_of("postgresql.db") == DB_SQLITE, "a file named so");
	CHECK(db_engine_of(NULL) == DB_SQLITE, "NULL");
}

int
main(void)
{
	test_owner();
	test_sql();
	return check_done("owner");
}
