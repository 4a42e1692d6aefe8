/*
 * fuzz_db_sql.c: libFuzzer target for the SQL carried to PostgreSQL
 * (common/db_sql.c) and the liveness rule (common/owner.c).
 *
 * The input, cut at its first NUL, is a statement's text.  Whatever it
 * is, db_sql_pg either refuses it or gives a NUL-terminated text with
 * no '?' left outside quotes, no parameter above DB_SQL_PARAMS_MAX, and
 * every $N it wrote at most the count it reports; quoted strings and
 * identifiers come out byte for byte.  The bytes after the NUL drive
 * owner_gone, whose answer must follow the rule written in owner.h.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_sql.h"
#include "owner.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	fz_alive_answer, fz_gave_up_answer;

static int
fz_alive(long pid, int64_t start)
{
	(void)pid;
	(void)start;
	return fz_alive_answer;
}

static int
fz_gave_up(int64_t msg_id)
{
	(void)msg_id;
	return fz_gave_up_answer;
}

/*
 * Every quoted run of in appears, in order, in out; the clock the
 * translation rewrites whole (outside quotes) holds quotes of its own,
 * and is skipped as it does.
 */
static void
check_quotes(const char *in, const char *out)
{
	const char	*p = in, *end, *at = out;
	char		*run, q;
	size_t		 n;

	while (*p != '\0') {
		if (strncmp(p, DB_NOW, strlen(DB_NOW)) == 0) {
			p += strlen(DB_NOW);
			continue;
		}
		if (*p != '\'' && *p != '"') {
			p++;
			continue;
		}
		q = *p;
		for (end = p + 1; *end != '\0'; end++) {
			if (*end != q)
				continue;
			if (end[1] != q)
				break;
			end++;		/* a doubled quote inside */
		}
		if (*end == '\0')
			abort();	/* unterminated: refused, so not here */
		n = (size_t)(end - p) + 1;
		if ((run = malloc(n + 1)) == NULL)
			return;
		memcpy(run, p, n);
		run[n] = '\0';
		if ((at = strstr(at, run)) == NULL)
			abort();
		at += n;
		free(run);
		p = end + 1;
	}
}

static void
check_sql(const char *in)
{
	const char	*p;
	char		*out, q = 0;
	int		 n, num;

	if ((out = db_sql_pg(in, &n)) == NULL)
		return;
	if (n < 0 || n > DB_SQL_PARAMS_MAX)
		abort();
	for (p = out; *p != '\0'; p++) {
		if (q != 0) {
			if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			q = *p;
			continue;
		}
		if (*p == '?')
			abort();
		/* The programs' SQL has no '$' of its own: each is ours. */
		if (strchr(in, '$') == NULL && *p == '$' && p[1] >= '0' &&
		    p[1] <= '9') {
			num = atoi(p + 1);
			if (num < 1 || num > n)
				abort();
		}
	}
	check_quotes(in, out);
	free(out);
}

static void
check_owner(const uint8_t *b, size_t len)
{
	struct owner_seen	w;
	struct owner_self	me;
	int64_t			now = 1000000;
	int			got, want;

	if (len < 6)
		return;
	w.same_node = b[0] & 1;
	w.pid = b[1] % 4;
	w.start = b[2] % 3;
	w.heartbeat_at = now - (int64_t)(b[3] % 64) * 1000 + 32000;
	me.pid = b[4] % 4;
	me.start = b[5] % 3;
	me.stale_ms = 30000;
	me.alive = fz_alive;
	me.gave_up = (b[0] & 2) ? fz_gave_up : NULL;
	fz_alive_answer = (b[0] >> 2) & 1;
	fz_gave_up_answer = (b[0] >> 3) & 1;
	got = owner_gone(&w, &me, 1, now);
	if (now - w.heartbeat_at > me.stale_ms)
		want = 1;
	else if (!w.same_node)
		want = 0;
	else if (w.pid == me.pid && w.start == me.start)
		want = me.gave_up != NULL && fz_gave_up_answer;
	else
		want = !fz_alive_answer;
	if (got != want)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s;
	size_t		 n;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_sql(s);
	n = strlen(s);
	if (n < size)
		check_owner(data + n + 1, size - n - 1);
	free(s);
	return 0;
}
