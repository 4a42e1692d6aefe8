/*
 * lead.c: the lead's SQL.  The merge is a read-merge-write in one
 * BEGIN IMMEDIATE transaction: concurrent extractors queue on the write
 * lock (busy timeout) instead of reading a snapshot that another commit
 * then makes stale, which is what a deferred BEGIN would risk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fields.h"
#include "lead.h"
#include "log.h"
#include "merge.h"
#include "notify.h"
#include "ready.h"
#include "utf8.h"


static const char *const source_names[LEAD_SOURCE__MAX] = {
	"rules", "model",
};

/* The stored fields of the lead: values, strengths, turns. */
struct lead_row {
	char	value[FIELD__MAX][FIELD_VALUE_MAX];
	int	strength[FIELD__MAX];
	int	turn[FIELD__MAX];
};

static int
lead_read(struct db *db, const char *conv_id, struct lead_row *row)
{
	struct db_stmt	*st;
	enum field	 f;
	const char	*name, *value;
	int		 step;

	memset(row, 0, sizeof(*row));
	if ((st = db_prepare(db, "SELECT field, value, strength, turn FROM "
	    "lead_fields WHERE conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	while ((step = db_step(st)) == DB_ROW) {
		/* NULL: no such value (or no memory): not a field we know. */
		name = db_column_text(st, 0);
		value = db_column_text(st, 1);
		if (name == NULL || value == NULL ||
		    (f = field_lookup(name, strlen(name))) == FIELD__MAX)
			continue;
		snprintf(row->value[f], sizeof(row->value[f]), "%s", value);
		row->strength[f] = db_column_int(st, 2);
		row->turn[f] = db_column_int(st, 3);
	}
	db_finalize(st);
	return step == DB_DONE ? 0 : -1;
}

int
lead_load(struct db *db, const char *conv_id, struct extraction *ex,
    int turns[])
{
	struct lead_row	*row;
	int		 f;

	if ((row = malloc(sizeof(*row))) == NULL)
		return -1;
	if (lead_read(db, conv_id, row) == -1) {
		free(row);
		return -1;
	}
	for (f = 0; f < FIELD__MAX; f++) {
		memcpy(ex->value[f], row->value[f], sizeof(ex->value[f]));
		ex->strength[f] = row->strength[f];
		if (turns != NULL)
			turns[f] = row->turn[f];
	}
	free(row);
	return 0;
}

/* Append name to a comma list in buf. */
static void
lead_list_add(char *buf, size_t sz, const char *name)
{
	size_t	len = strlen(buf);

	snprintf(buf + len, sz - len, "%s%s", len ? "," : "", name);
}

/*
 * Inside the transaction: whether the lead was announced (ready_at set).
 * 1, 0, or -1.
 */
static int
lead_announced(struct db *db, const char *conv_id)
{
	struct db_stmt	*st;
	int		 step, rc = -1;

	if ((st = db_prepare(db, "SELECT ready_at IS NOT NULL FROM leads "
	    "WHERE conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if ((step = db_step(st)) == DB_ROW)
		rc = db_column_int(st, 0);
	else if (step == DB_DONE)
		rc = 0;
	db_finalize(st);
	return rc;
}

/*
 * Inside the transaction: the columns the leads list filters and
 * searches on (sql/006-staff.sql), from the lead as the merge leaves it.
 */
static int
lead_columns(struct db *db, const char *conv_id, const struct extraction *l)
{
	static const enum field	 searched[] = { FIELD_FULL_NAME, FIELD_PHONE,
	    FIELD_EMAIL, FIELD_SUMMARY };
	struct db_stmt		*st;
	char			*search;
	size_t			 i, len = 0, n;
	int			 rc = -1;

	if ((search = malloc(sizeof(searched) / sizeof(searched[0]) *
	    (FIELD_VALUE_MAX + 1) + 1)) == NULL)
		return -1;
	for (i = 0; i < sizeof(searched) / sizeof(searched[0]); i++) {
		if (l->strength[searched[i]] <= 0)
			continue;
		n = strlen(l->value[searched[i]]);
		memcpy(search + len, l->value[searched[i]], n);
		len += n;
		search[len++] = '\n';
	}
	search[len] = '\0';
	utf8_fold(search, len);
	if ((st = db_prepare(db, "UPDATE leads SET urgency = ?, search = ? "
	    "WHERE conversation_id = ?")) != NULL) {
		db_bind_text(st, 1, l->strength[FIELD_URGENCY] > 0 ?
		    l->value[FIELD_URGENCY] : NULL, -1);
		db_bind_text(st, 2, search, len);
		db_bind_text(st, 3, conv_id, -1);
		if (db_step(st) == DB_DONE)
			rc = 0;
		db_finalize(st);
	}
	free(search);
	return rc;
}

/*
 * Inside the transaction, after a merge that won something: the list's
 * columns from the lead as it now is, and what the merge is worth to the
 * firm (ready.c decides), the lead marked ready when it is announced.
 */
static int
lead_notify(struct db *db, const struct config *cfg, const char *conv_id,
    const struct lead_row *row, const struct extraction *won, int *queued)
{
	struct extraction	*before, *after;
	struct db_stmt		*st = NULL;
	enum ready_event	 ev;
	int			 f, announced, rc = -1;

	if ((announced = lead_announced(db, conv_id)) == -1)
		return -1;
	before = malloc(sizeof(*before));
	after = malloc(sizeof(*after));
	if (before == NULL || after == NULL)
		goto out;
	for (f = 0; f < FIELD__MAX; f++) {
		memcpy(before->value[f], row->value[f], sizeof(row->value[f]));
		before->strength[f] = row->strength[f];
		if (won->strength[f] > 0) {
			memcpy(after->value[f], won->value[f],
			    sizeof(won->value[f]));
			after->strength[f] = won->strength[f];
		} else {
			memcpy(after->value[f], row->value[f],
			    sizeof(row->value[f]));
			after->strength[f] = row->strength[f];
		}
	}
	if (lead_columns(db, conv_id, after) == -1)
		goto out;
	ev = ready_event(announced, before, after);
	if (ev == READY_ANNOUNCE) {
		if ((st = db_prepare(db, "UPDATE leads SET ready_at = " DB_NOW
		    " WHERE conversation_id = ?")) == NULL)
			goto out;
		db_bind_text(st, 1, conv_id, -1);
		if (db_step(st) != DB_DONE)
			goto out;
	}
	if (ev == READY_NOTHING || cfg == NULL)
		rc = 0;
	else if ((rc = notify_queue(db, cfg, conv_id, ev)) == 0 &&
	    cfg->notify_targets != 0)
		*queued = 1;
out:
	db_finalize(st);
	free(before);
	free(after);
	return rc;
}

/* Inside the transaction: the merge proper and the audit row. */
static int
lead_merge_locked(struct db *db, const struct config *cfg, const char *conv_id,
    int turn, enum lead_source src, const struct extraction *ex,
    long latency_ms, const char *error, struct lead_row *row, int *queued)
{
	struct db_stmt		*st = NULL;
	struct merge_val	 in, stored;
	struct extraction	*won_ex = NULL;
	json_t			*vals = NULL;
	char			 won[128] = "", lost[128] = "", *vjson = NULL;
	int			 f, step, nwon = 0, rc = -1;

	/* A conversation erased since its job began has no lead to make. */
	if ((st = db_prepare(db, "SELECT 1 FROM conversations WHERE id = ?"))
	    == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if ((step = db_step(st)) != DB_ROW) {
		if (step == DB_DONE) {
			log_info("lead_merge %s: the conversation was erased",
			    conv_id);
			rc = 0;
		}
		goto out;
	}
	db_finalize(st);
	st = db_prepare(db, "INSERT INTO leads (conversation_id, "
	    "created_at, updated_at) VALUES (?, " DB_NOW ", " DB_NOW ") "
	    "ON CONFLICT DO NOTHING");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	if (lead_read(db, conv_id, row) == -1)
		goto out;

	if ((vals = json_object()) == NULL ||
	    (won_ex = calloc(1, sizeof(*won_ex))) == NULL)
		goto out;
	st = db_prepare(db, "INSERT INTO lead_fields (conversation_id, field, "
	    "value, strength, turn, source, updated_at) VALUES (?, ?, ?, ?, "
	    "?, ?, " DB_NOW ") ON CONFLICT (conversation_id, field) DO "
	    "UPDATE SET value = excluded.value, strength = excluded.strength, "
	    "turn = excluded.turn, source = excluded.source, updated_at = "
	    "excluded.updated_at");
	if (st == NULL)
		goto out;
	for (f = 0; f < FIELD__MAX; f++) {
		if (ex->strength[f] <= 0)
			continue;
		json_object_set_new(vals, field_name((enum field)f),
		    json_string(ex->value[f]));
		in.value = ex->value[f];
		in.len = strlen(ex->value[f]);
		in.strength = ex->strength[f];
		in.turn = turn;
		stored.value = row->value[f];
		stored.len = strlen(row->value[f]);
		stored.strength = row->strength[f];
		stored.turn = row->turn[f];
		if (!merge_wins(&in, &stored)) {
			/* An equal value from the same turn is no loss. */
			if (!(in.len == stored.len && in.strength ==
			    stored.strength && in.turn == stored.turn &&
			    memcmp(in.value, stored.value, in.len) == 0))
				lead_list_add(lost, sizeof(lost),
				    field_name((enum field)f));
			continue;
		}
		db_reset(st);
		db_bind_text(st, 1, conv_id, -1);
		db_bind_text(st, 2, field_name((enum field)f), -1);
		db_bind_text(st, 3, ex->value[f], -1);
		db_bind_int64(st, 4, ex->strength[f]);
		db_bind_int64(st, 5, turn);
		db_bind_text(st, 6, source_names[src], -1);
		if (db_step(st) != DB_DONE)
			goto out;
		lead_list_add(won, sizeof(won), field_name((enum field)f));
		memcpy(won_ex->value[f], ex->value[f], sizeof(ex->value[f]));
		won_ex->strength[f] = ex->strength[f];
		nwon++;
	}
	db_finalize(st);
	st = NULL;
	if (nwon > 0) {
		st = db_prepare(db, "UPDATE leads SET updated_at = " DB_NOW
		    " WHERE conversation_id = ?");
		if (st == NULL)
			goto out;
		db_bind_text(st, 1, conv_id, -1);
		if (db_step(st) != DB_DONE)
			goto out;
		db_finalize(st);
		st = NULL;
		if (lead_notify(db, cfg, conv_id, row, won_ex, queued) == -1)
			goto out;
	}
	if ((vjson = json_dumps(vals, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	st = db_prepare(db, "INSERT INTO extractions (conversation_id, turn, "
	    "source, latency_ms, fields_won, fields_lost, fields_json, error, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, " DB_NOW ")");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_int64(st, 2, turn);
	db_bind_text(st, 3, source_names[src], -1);
	db_bind_int64(st, 4, latency_ms);
	db_bind_text(st, 5, won, -1);
	db_bind_text(st, 6, lost, -1);
	db_bind_text(st, 7, vjson, -1);
	db_bind_text(st, 8, error, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_warnx("lead_merge %s turn %d: %s", conv_id, turn,
		    db_errmsg(db));
	db_finalize(st);
	json_decref(vals);
	free(vjson);
	free(won_ex);
	return rc;
}

int
lead_merge_in(struct db *db, const struct config *cfg, const char *conv_id,
    int turn, enum lead_source src, const struct extraction *ex,
    long latency_ms, const char *error, int *queued)
{
	struct lead_row	*row;
	int		 rc, q = 0;

	if ((row = malloc(sizeof(*row))) == NULL)
		return -1;
	rc = lead_merge_locked(db, cfg, conv_id, turn, src, ex, latency_ms,
	    error, row, &q);
	free(row);
	if (queued != NULL)
		*queued = rc == 0 && q;
	return rc;
}

int
lead_merge(struct db *db, const struct config *cfg, const char *conv_id,
    int turn, enum lead_source src, const struct extraction *ex,
    long latency_ms, const char *error)
{
	if (db_begin_for(db, "conv", conv_id) == -1)
		return -1;
	if (lead_merge_in(db, cfg, conv_id, turn, src, ex, latency_ms, error,
	    NULL) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}
