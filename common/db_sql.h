/*
 * db_sql.h: the programs' one SQL, carried to PostgreSQL (pure).
 *
 * The programs write SQLite's SQL with what PostgreSQL also takes
 * (ON CONFLICT, RETURNING, CASE rather than the scalar max(), quoted
 * "offset" and "by").  What is left differs in spelling only, and is
 * rewritten here once per statement text: ?N and ? parameters become $N
 * (a bare ? is one more than the largest number so far, as in SQLite),
 * SQLite's strftime of now becomes PostgreSQL's clock in the same
 * format, group_concat becomes string_agg.  Quoted strings and
 * identifiers are copied as they are.
 */
#ifndef DB_SQL_H
#define DB_SQL_H

/*
 * The PostgreSQL text of sql, malloc'd, and in *nparams the number of
 * parameters it takes.  NULL when sql is malformed (an unterminated
 * quote, a parameter number of 0 or over DB_SQL_PARAMS_MAX) or memory
 * ran out.
 */
#define DB_SQL_PARAMS_MAX	99
char	*db_sql_pg(const char *sql, int *nparams);

#endif
