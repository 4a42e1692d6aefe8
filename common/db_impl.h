/*
 * db_impl.h: what db.c asks of an engine (db_sqlite.c, db_pg.c).
 * Nothing outside the db_*.c files includes this.
 */
#ifndef DB_IMPL_H
#define DB_IMPL_H

#include <stdint.h>

#include "db.h"

struct db_ops {
	void		 (*close)(struct db *);
	int		 (*exec)(struct db *, const char *, const char *);
	/* 0 begun, 1 busy until wait_ms, -1 error. */
	int		 (*begin)(struct db *, long wait_ms);
	int		 (*begin_read)(struct db *);
	int		 (*lock)(struct db *, const char *);
	int		 (*commit)(struct db *);
	void		 (*rollback)(struct db *);
	struct db_stmt	*(*prepare)(struct db *, const char *);
	void		 (*finalize)(struct db_stmt *);
	void		 (*reset)(struct db_stmt *);
	int		 (*bind_text)(struct db_stmt *, int, const char *,
			    size_t);
	int		 (*bind_int64)(struct db_stmt *, int, int64_t);
	int		 (*bind_null)(struct db_stmt *, int);
	int		 (*step)(struct db_stmt *);
	int64_t		 (*column_int64)(struct db_stmt *, int);
	const char	*(*column_text)(struct db_stmt *, int);
	size_t		 (*column_bytes)(struct db_stmt *, int);
	int		 (*column_null)(struct db_stmt *, int);
	int		 (*changes)(struct db *);
	const char	*(*errmsg)(struct db *);
	int		 (*writable)(struct db *);
	int		 (*compact)(struct db *);
	const char	*(*version)(struct db *);
};

/* The head of every engine's handle and statement. */
struct db {
	const struct db_ops	*ops;
	enum db_engine		 engine;
	long			 wait_ms;	/* INTAKE_BUSY_TIMEOUT_MS */
	int			 unavailable;
};

struct db_stmt {
	struct db		*db;
};

/* The files of sql/ (SQLite) and sql/pg/ (PostgreSQL), compiled in. */
struct db_migration {
	int		 version;
	const char	*sql;
};
extern const struct db_migration db_migrations[];
extern const int db_n_migrations;
extern const struct db_migration db_pg_migrations[];
extern const int db_pg_n_migrations;

/*
 * FNV-1a of a statement's text: where each engine's per-handle cache of
 * prepared statements looks first (the text itself is then compared).
 */
uint32_t	 db_text_hash(const char *sql);

struct db	*db_sqlite_open(const char *path, long busy_timeout_ms);
struct db	*db_pg_open(const char *uri, long busy_timeout_ms);

#endif
