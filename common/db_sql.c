/*
 * db_sql.c: SQLite's spelling to PostgreSQL's (see db_sql.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "db_sql.h"

/* Spellings rewritten whole, outside quotes. */
static const struct {
	const char	*from;
	const char	*to;
} db_sql_words[] = {
	{ "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
	  "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')" },
	{ "group_concat(", "string_agg(" },
};

char *
db_sql_pg(const char *sql, int *nparams)
{
	size_t	 cap, len = 0, i, k, n;
	char	*out, q;
	long	 num;
	int	 max = 0;

	/* Each rewrite grows by at most 80 bytes; each ? by 2. */
	cap = strlen(sql) * 3 + 1;
	for (i = 0; sql[i] != '\0'; i++)
		if (sql[i] == 's' || sql[i] == 'g')
			cap += 80;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (i = 0; sql[i] != '\0';) {
		if (sql[i] == '\'' || sql[i] == '"') {
			q = sql[i];
			out[len++] = sql[i++];
			for (;;) {
				if (sql[i] == '\0')
					goto bad;
				out[len++] = sql[i];
				if (sql[i++] != q)
					continue;
				if (sql[i] != q)
					break;
				out[len++] = sql[i++];	/* '' inside '...' */
			}
			continue;
		}
		if (sql[i] == '?') {
			i++;
			if (isdigit((unsigned char)sql[i])) {
				for (num = 0; isdigit((unsigned char)sql[i]) &&
				    num <= DB_SQL_PARAMS_MAX; i++)
					num = num * 10 + (sql[i] - '0');
			} else
				num = max + 1;
			if (num < 1 || num > DB_SQL_PARAMS_MAX)
				goto bad;
			if (num > max)
				max = (int)num;
			out[len++] = '$';
			if (num >= 10)
				out[len++] = (char)('0' + num / 10);
			out[len++] = (char)('0' + num % 10);
			continue;
		}
		for (k = 0; k < sizeof(db_sql_words) / sizeof(db_sql_words[0]);
		    k++) {
			n = strlen(db_sql_words[k].from);
			if (strncmp(sql + i, db_sql_words[k].from, n) == 0)
				break;
		}
		if (k < sizeof(db_sql_words) / sizeof(db_sql_words[0])) {
			memcpy(out + len, db_sql_words[k].to,
			    strlen(db_sql_words[k].to));
			len += strlen(db_sql_words[k].to);
			i += strlen(db_sql_words[k].from);
			continue;
		}
		out[len++] = sql[i++];
	}
	out[len] = '\0';
	*nparams = max;
	return out;
bad:
	free(out);
	return NULL;
}
