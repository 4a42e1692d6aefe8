/*
 * test_db_text.c: text into and out of SQLite.
 *
 * In: db_bind_text takes a size_t length and refuses one SQLite cannot
 * hold (more than INT_MAX) with SQLITE_TOOBIG, binding nothing, where a
 * cast to int would have wrapped it (2^32 + 3 bytes bound as 3) or made
 * it negative (read up to a NUL); and the store's writers of a visitor's
 * or a reply's text refuse such a length instead of storing a cut text.
 * The buffers are small: a refusal must come before anything reads them.
 *
 * Out: sqlite3_column_text is NULL for a NULL value (or when SQLite runs
 * out of memory), and the readers must not pass that to strcmp, strlen
 * or printf's %s.  A database whose tables lack the NOT NULL constraints
 * holds such rows; every reader below must come back without a crash and
 * without a "(null)" taken for a value.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "db.h"
#include "jobs.h"
#include "lead.h"
#include "lead_view.h"
#include "rules.h"
#include "store.h"

static const struct bind_row {
	const char	*s;
	size_t		 len;
	int		 want;		/* enum db_rc */
	const char	*text;		/* bound, when DB_OK; NULL: NULL */
	size_t		 tlen;
	int		 line;
} bind_rows[] = {
	{ "abc", 3, DB_OK, "abc", 3, __LINE__ },
	{ "abc", 2, DB_OK, "ab", 2, __LINE__ },
	{ "abc", 0, DB_OK, "", 0, __LINE__ },
	{ "abc", (size_t)-1, DB_OK, "abc", 3, __LINE__ },
	{ "a\0b", 3, DB_OK, "a\0b", 3, __LINE__ },
	{ NULL, 3, DB_OK, NULL, 0, __LINE__ },
	{ NULL, (size_t)INT_MAX + 1, DB_OK, NULL, 0, __LINE__ },
	/* Longer than an int: refused, nothing bound. */
	{ "abc", (size_t)INT_MAX + 1, DB_TOOBIG, NULL, 0, __LINE__ },
	{ "abc", (size_t)UINT_MAX + 1, DB_TOOBIG, NULL, 0, __LINE__ },
	{ "abc", (size_t)UINT_MAX + 4, DB_TOOBIG, NULL, 0, __LINE__ },
	{ "abc", SIZE_MAX - 1, DB_TOOBIG, NULL, 0, __LINE__ },
};

static void
test_bind(void)
{
	const struct bind_row	*t;
	struct db		*db;
	struct db_stmt		*st;
	const void		*got;
	char			 path[64];
	size_t			 i, n;
	int			 rc, fd;

	snprintf(path, sizeof(path), "/tmp/test_db_bind.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	unlink(path);
	if ((db = db_open(path, 1000)) == NULL ||
	    (st = db_prepare(db, "SELECT ?1")) == NULL)
		abort();
	for (i = 0; i < sizeof(bind_rows) / sizeof(bind_rows[0]); i++) {
		t = &bind_rows[i];
		db_finalize(st);	/* bindings cleared */
		if ((st = db_prepare(db, "SELECT ?1")) == NULL)
			abort();
		rc = db_bind_text(st, 1, t->s, t->len);
		CHECK_AT(t->line, rc == t->want, "db_bind_text(%zu): rc %d, "
		    "want %d", t->len, rc, t->want);
		if (db_step(st) != DB_ROW) {
			CHECK_AT(t->line, 0, "step: %s", db_errmsg(db));
			continue;
		}
		if (t->text == NULL) {
			CHECK_AT(t->line, db_column_null(st, 0),
			    "want NULL bound, got a value");
			continue;
		}
		got = db_column_text(st, 0);
		n = db_column_bytes(st, 0);
		CHECK_AT(t->line, n == t->tlen && (n == 0 ||
		    memcmp(got, t->text, n) == 0), "bound %zu bytes, want "
		    "%zu", n, t->tlen);
	}
	db_finalize(st);
	db_close(db);
	unlink(path);
}

/* The store's writers refuse a length SQLite cannot take. */
static void
test_store_lengths(void)
{
	struct store_owner	 self;
	struct turn_ids		 ids;
	struct db		*db;
	char			 path[64];
	enum turn_rc		 trc;
	int			 fd;

	snprintf(path, sizeof(path), "/tmp/test_db_text.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	unlink(path);
	if ((db = db_open(path, 1000)) == NULL)
		abort();
	memset(&self, 0, sizeof(self));
	self.pid = (long)getpid();
	self.stale_ms = 30000;
	CHECK(store_conv_create(db, "conv-a", "tok", "127.0.0.1") == 0,
	    "store_conv_create");

	/* A visitor's message: refused whole, no turn begun. */
	trc = store_turn_begin(db, "conv-a", "hi!", (size_t)UINT_MAX + 4,
	    NULL, 200, &self, &ids);
	CHECK(trc == TURN_ERROR, "store_turn_begin with 2^32 + 3 bytes: rc "
	    "%d, want TURN_ERROR", (int)trc);
	trc = store_turn_begin(db, "conv-a", "hi!", (size_t)INT_MAX + 1,
	    NULL, 200, &self, &ids);
	CHECK(trc == TURN_ERROR, "store_turn_begin with INT_MAX + 1 bytes: "
	    "rc %d, want TURN_ERROR", (int)trc);

	trc = store_turn_begin(db, "conv-a", "hi!", 3, NULL, 200, &self,
	    &ids);
	CHECK(trc == TURN_STARTED, "store_turn_begin: rc %d", (int)trc);
	CHECK(ids.turn == 1, "the refused turns were stored: turn %d",
	    ids.turn);

	/* A reply's part, and the final text. */
	CHECK(store_reply_save(db, ids.assistant_id, 0, "abc",
	    (size_t)UINT_MAX + 4, 1000) == SAVE_ERROR, "store_reply_save "
	    "with 2^32 + 3 bytes was not refused");
	CHECK(store_reply_save(db, ids.assistant_id, 0, "abc",
	    (size_t)INT_MAX + 1, 1000) == SAVE_ERROR, "store_reply_save "
	    "with INT_MAX + 1 bytes was not refused");
	CHECK(store_reply_finish(db, ids.assistant_id, MSG_COMPLETE, "abc",
	    (size_t)UINT_MAX + 4, NULL) == -1, "store_reply_finish with "
	    "2^32 + 3 bytes was not refused");
	CHECK(store_reply_save(db, ids.assistant_id, 0, "abc", 3, 1000) ==
	    SAVE_OK, "store_reply_save of 3 bytes");
	CHECK(store_reply_finish(db, ids.assistant_id, MSG_COMPLETE, NULL, 0,
	    NULL) == 0, "store_reply_finish from the parts");
	db_close(db);
	unlink(path);
}

/* Tables shaped like the schema's, without its NOT NULL and CHECKs. */
static const char loose_schema[] =
    "CREATE TABLE conversations (id TEXT PRIMARY KEY, token TEXT, "
    "  client_addr TEXT, created_at TEXT, updated_at TEXT);"
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT, "
    "  turn INTEGER, role TEXT, status TEXT, text TEXT, length INTEGER, "
    "  client_id TEXT, error TEXT, owner_pid INTEGER, owner_start INTEGER,"
    "  heartbeat_at INTEGER, cancel INTEGER, created_at TEXT, "
    "  updated_at TEXT, owner_node TEXT);"
    "CREATE TABLE message_parts (message_id INTEGER, offset INTEGER, "
    "  text TEXT);"
    "CREATE TABLE leads (conversation_id TEXT, created_at TEXT, "
    "  updated_at TEXT, status TEXT, urgency TEXT, search TEXT);"
    "CREATE TABLE lead_fields (conversation_id TEXT, field TEXT, "
    "  value TEXT, strength INTEGER, turn INTEGER, source TEXT, "
    "  updated_at TEXT);"
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, conversation_id TEXT, "
    "  turn INTEGER, state TEXT, pid INTEGER, pid_start INTEGER, "
    "  claimed_at INTEGER, tries INTEGER DEFAULT 0, error TEXT, "
    "  created_at TEXT, updated_at TEXT, node TEXT);"
    /* A status of NULL, with a role and without. */
    "INSERT INTO conversations VALUES ('c1', 't', NULL, 'x', 'x');"
    "INSERT INTO messages (id, conversation_id, turn, role, status, text)"
    "  VALUES (1, 'c1', 1, 'user', 'complete', 'hello'),"
    "         (2, 'c1', 1, 'assistant', NULL, 'partial');"
    /* A lead with a field of no name, one of no value, one good. */
    "INSERT INTO leads VALUES ('c2', 'x', 'x', NULL, NULL, NULL), "
    "  (NULL, 'x', 'x', NULL, NULL, NULL);"
    "INSERT INTO lead_fields VALUES ('c2', NULL, 'Ada', 50, 1, 'rules', 'x'),"
    "  ('c2', 'full_name', NULL, 50, 1, 'rules', 'x'),"
    "  ('c2', 'email', 'ada@example.com', 50, 1, 'rules', 'x');"
    /* A running job of no conversation. */
    "INSERT INTO jobs (id, conversation_id, turn, state) "
    "  VALUES (7, NULL, 1, 'running');";

static void
test_null_columns(void)
{
	struct store_owner	 self;
	struct store_texts	 h;
	struct extraction	 ex;
	struct job		 j;
	sqlite3			*raw;
	struct db		*db;
	char			 path[64], ver[64];
	json_t			*got, *l, *f;
	struct lead_query	 lq;
	int			 n, fd, turns[FIELD__MAX];

	/* The loose tables, marked current so db_open leaves them be. */
	snprintf(path, sizeof(path), "/tmp/test_db_null.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	snprintf(ver, sizeof(ver), "PRAGMA user_version = %d",
	    db_schema_version());
	if (sqlite3_open(path, &raw) != SQLITE_OK ||
	    sqlite3_exec(raw, loose_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(raw, ver, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "test_db_text: schema: %s\n",
		    sqlite3_errmsg(raw));
		exit(1);
	}
	sqlite3_close(raw);
	if ((db = db_open(path, 1000)) == NULL)
		abort();
	memset(&self, 0, sizeof(self));
	self.pid = (long)getpid();
	self.stale_ms = 30000;

	/* A status of NULL is not "streaming": the row's own text. */
	n = store_history(db, "c1", 1, 10, 1, &h);
	CHECK(n == 2, "store_history: %d messages, want 2", n);
	if (n == 2)
		CHECK(strcmp(h.texts[1], "partial") == 0 && h.lens[1] == 7,
		    "store_history: \"%s\"", h.texts[1]);
	if (n >= 0)
		store_texts_free(&h);

	/* A row it cannot show fails the call (logged), no crash. */
	got = store_conv_json(db, "c1", &self);
	CHECK(got == NULL, "store_conv_json showed a message of no status");
	json_decref(got);

	/* A field of no name is skipped, a field of no value is absent. */
	memset(&ex, 0x5a, sizeof(ex));
	CHECK(lead_load(db, "c2", &ex, turns) == 0, "lead_load");
	CHECK(ex.strength[FIELD_FULL_NAME] == 0 &&
	    ex.value[FIELD_FULL_NAME][0] == '\0', "full_name of no value: "
	    "\"%.20s\", strength %d", ex.value[FIELD_FULL_NAME],
	    ex.strength[FIELD_FULL_NAME]);
	CHECK(strcmp(ex.value[FIELD_EMAIL], "ada@example.com") == 0 &&
	    ex.strength[FIELD_EMAIL] == 50, "email: \"%.20s\"",
	    ex.value[FIELD_EMAIL]);

	/* The list: the lead of no id is left out, c2 is there. */
	memset(&lq, 0, sizeof(lq));
	lq.limit = 10;
	got = lead_list_json(db, &lq);
	l = json_object_get(got, "leads");
	CHECK(json_array_size(l) == 1, "lead_list_json: %zu leads, want 1",
	    json_array_size(l));
	f = json_object_get(json_object_get(json_array_get(l, 0), "fields"),
	    "full_name");
	CHECK(f != NULL && json_is_null(f), "listed full_name of no value "
	    "is not null");
	json_decref(got);

	/* A job of no conversation is an error, not "(null)". */
	memset(&j, 0, sizeof(j));
	n = (int)jobs_attach(db, 7, (long)getpid(), 1, &j);
	CHECK(n == CLAIM_ERROR, "jobs_attach of a job with no conversation: "
	    "rc %d, conv_id \"%s\"", n, j.conv_id);
	CHECK(strstr(j.conv_id, "null") == NULL, "conv_id \"%s\"", j.conv_id);
	db_close(db);
	unlink(path);
}

int
main(void)
{
	db_init();
	test_bind();
	test_store_lengths();
	test_null_columns();
	return check_done("db_text");
}
