/*
 * testdb.h: the database a unit test runs on.  With INTAKE_TEST_DB set
 * (a postgresql:// URI: make test sets it for a second pass on a
 * throwaway cluster) every table of that database is emptied; else the
 * SQLite file at path is removed and made again.  The same test, the
 * same assertions, on both engines.
 */
#ifndef TESTDB_H
#define TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"

/* The database to use: the PostgreSQL URI, or path. */
static inline const char *
testdb_uri(const char *path)
{
	const char	*uri = getenv("INTAKE_TEST_DB");

	return uri != NULL && uri[0] != '\0' ? uri : path;
}

/* An empty database (see above), or NULL. */
static inline struct db *
testdb_fresh(const char *path)
{
	struct db	*db;
	const char	*uri = testdb_uri(path);

	if (db_engine_of(uri) == DB_SQLITE)
		unlink(uri);
	if ((db = db_open(uri, 5000)) == NULL)
		return NULL;
	if (db_engine(db) == DB_POSTGRES && db_exec(db, "TRUNCATE "
	    "conversations, messages, message_parts, leads, lead_fields, "
	    "extractions, jobs, rate_limits, stream_slots, notifications, "
	    "lead_history CASCADE", "testdb") == -1) {
		db_close(db);
		return NULL;
	}
	return db;
}

/* The same database opened again (another handle, another process). */
static inline struct db *
testdb_open(const char *path)
{
	return db_open(testdb_uri(path), 5000);
}

/* At the end: the file at path, and SQLite's -wal and -shm beside it. */
static inline void
testdb_remove(const char *path)
{
	char	f[512];

	unlink(path);	/* on PostgreSQL, the name made for it */
	if (db_engine_of(testdb_uri(path)) != DB_SQLITE)
		return;
	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
}

#endif
