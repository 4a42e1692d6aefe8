/*
 * lead_view.c: the leads list, one lead whole, and staff's status and
 * notes (lead_view.h).
 *
 * The list's SQL is built from fixed fragments, one per filter asked
 * for, every value bound: the order is (updated_at, conversation_id)
 * descending, and each filter has an index in that order
 * (sql/006-staff.sql), so a page stops after limit + 1 rows.  A read is
 * one deferred transaction, so a page or a lead is one snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fields.h"
#include "lead.h"
#include "lead_view.h"
#include "log.h"
#include "notify.h"
#include "rules.h"
#include "utf8.h"


/* Related leads listed at most (in the SQL's text). */
#define LEAD_RELATED_MAX_SQL	"50"

static const char *const statuses[] = {
	"new", "contacted", "qualified", "declined", "spam",
};

int
lead_status_valid(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < sizeof(statuses) / sizeof(statuses[0]);
	    i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

/* {NAME: value-or-null} for every field of one lead (new reference). */
static json_t *
lead_fields_flat(struct db *db, const char *conv_id, struct extraction *ex)
{
	json_t	*o;
	int	 f;

	if (lead_load(db, conv_id, ex, NULL) == -1 ||
	    (o = json_object()) == NULL)
		return NULL;
	for (f = 0; f < FIELD__MAX; f++)
		json_object_set_new(o, field_name((enum field)f),
		    ex->strength[f] > 0 ? json_string(ex->value[f]) :
		    json_null());
	return o;
}

/* q as a LIKE pattern: folded as leads.search is, %, _ and \ escaped. */
static char *
lead_like(const char *q)
{
	size_t	 n = strlen(q), i, j = 0;
	char	*p;

	if ((p = malloc(2 * n + 3)) == NULL)
		return NULL;
	p[j++] = '%';
	for (i = 0; i < n; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			p[j++] = '\\';
		p[j++] = q[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	utf8_fold(p, j);
	return p;
}

json_t *
lead_list_json(struct db *db, const struct lead_query *q)
{
	struct db_stmt		*st = NULL;
	struct extraction	*ex;
	json_t			*arr, *out = NULL, *fields, *l;
	const char		*id, *updated;
	char			 sql[768], *like = NULL;
	int			 step, k = 1;

	if ((ex = malloc(sizeof(*ex))) == NULL)
		return NULL;
	if ((arr = json_array()) == NULL)
		goto out;
	if (q->q != NULL && q->q[0] != '\0' && (like = lead_like(q->q)) ==
	    NULL)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT conversation_id, created_at, "
	    "updated_at, coalesce(status, 'new') FROM leads WHERE 1 = 1"
	    "%s%s%s%s ORDER BY updated_at DESC, conversation_id DESC LIMIT ?",
	    q->status != NULL && q->status[0] != '\0' ? " AND status = ?" : "",
	    q->urgency != NULL && q->urgency[0] != '\0' ?
	    " AND urgency = ?" : "",
	    like != NULL ? " AND search LIKE ? ESCAPE '\\'" : "",
	    q->before == NULL || q->before[0] == '\0' ? "" :
	    q->before_id != NULL && q->before_id[0] != '\0' ?
	    " AND (updated_at, conversation_id) < (?, ?)" :
	    " AND updated_at < ?");
	if (db_begin_read(db) == -1)
		goto out;
	if ((st = db_prepare(db, sql)) == NULL)
		goto out;
	if (q->status != NULL && q->status[0] != '\0')
		db_bind_text(st, k++, q->status, -1);
	if (q->urgency != NULL && q->urgency[0] != '\0')
		db_bind_text(st, k++, q->urgency, -1);
	if (like != NULL)
		db_bind_text(st, k++, like, -1);
	if (q->before != NULL && q->before[0] != '\0') {
		db_bind_text(st, k++, q->before, -1);
		if (q->before_id != NULL && q->before_id[0] != '\0')
			db_bind_text(st, k++, q->before_id, -1);
	}
	db_bind_int64(st, k, q->limit);
	while ((step = db_step(st)) == DB_ROW) {
		id = db_column_text(st, 0);
		updated = db_column_text(st, 2);
		if (id == NULL || updated == NULL)
			continue;
		if ((fields = lead_fields_flat(db, id, ex)) == NULL)
			goto out;
		l = json_pack("{s:s, s:s, s:s, s:s, s:o}", "conversation_id", id,
		    "created_at", db_column_text(st, 1),
		    "updated_at", updated,
		    "status", db_column_text(st, 3),
		    "fields", fields);
		if (l == NULL || json_array_append_new(arr, l) == -1)
			goto out;
	}
	if (step != DB_DONE)
		goto out;
	out = json_pack("{s:O}", "leads", arr);
out:
	db_finalize(st);
	db_rollback(db);
	json_decref(arr);
	free(like);
	free(ex);
	return out;
}

/* "a,b" as ["a","b"] (new reference). */
static json_t *
lead_names(const char *list)
{
	json_t		*arr = json_array();
	const char	*p = list, *e;

	while (arr != NULL && p != NULL && *p != '\0') {
		e = strchr(p, ',');
		json_array_append_new(arr, json_stringn(p, e ? (size_t)(e - p) :
		    strlen(p)));
		p = e ? e + 1 : NULL;
	}
	return arr;
}

/* The fields with their provenance: {NAME:{value,strength,...}}. */
static json_t *
lead_fields_full(struct db *db, const char *conv_id)
{
	struct db_stmt	*st;
	json_t		*o;
	int		 step;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((st = db_prepare(db, "SELECT field, value, strength, turn, source, "
	    "updated_at FROM lead_fields WHERE conversation_id = ?")) == NULL) {
		json_decref(o);
		return NULL;
	}
	db_bind_text(st, 1, conv_id, -1);
	while ((step = db_step(st)) == DB_ROW)
		json_object_set_new(o, db_column_text(st, 0),
		    json_pack("{s:s, s:i, s:i, s:s, s:s}",
		    "value", db_column_text(st, 1),
		    "strength", db_column_int(st, 2),
		    "turn", db_column_int(st, 3),
		    "source", db_column_text(st, 4),
		    "updated_at", db_column_text(st, 5)));
	db_finalize(st);
	if (step != DB_DONE) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The audit trail: every extraction, oldest first. */
static json_t *
lead_extraction_row(struct db_stmt *st)
{
	return json_pack("{s:i, s:s, s:I, s:o, s:o, s:o, s:s?, s:s}",
	    "turn", db_column_int(st, 0),
	    "source", db_column_text(st, 1),
	    "latency_ms", (json_int_t)db_column_int64(st, 2),
	    "fields_won", lead_names(db_column_text(st, 3)),
	    "fields_lost", lead_names(db_column_text(st,
	    4)),
	    "fields", json_loads(db_column_text(st, 5), 0,
	    NULL),
	    "error", db_column_text(st, 6),
	    "created_at", db_column_text(st, 7));
}

/*
 * The conversation, oldest first; a reply still being written shows
 * what has been saved of it so far (its parts, in order).
 */
static json_t *
lead_transcript_row(struct db_stmt *st)
{
	return json_pack("{s:s, s:i, s:s%, s:s, s:s}",
	    "role", db_column_text(st, 0),
	    "turn", db_column_int(st, 1),
	    "text", db_column_text(st, 2),
	    (size_t)db_column_bytes(st, 2),
	    "status", db_column_text(st, 3),
	    "created_at", db_column_text(st, 4));
}

/* What staff did: status changes and notes, oldest first. */
static json_t *
lead_history_row(struct db_stmt *st)
{
	return json_pack("{s:s, s:s, s:s?, s:s?}",
	    "at", db_column_text(st, 0),
	    "by", db_column_text(st, 1),
	    "status", db_column_text(st, 2),
	    "note", db_column_text(st, 3));
}

/* Other leads with the same complete phone or valid e-mail. */
static json_t *
lead_related_row(struct db_stmt *st)
{
	return json_string(db_column_text(st, 0));
}

/*
 * The lead's own row: status, and the disclosure its visitor saw
 * (null when none was recorded).  1, 0 no such lead, -1.
 */
static int
lead_head(struct db *db, const char *conv_id, json_t **status,
    json_t **disclosure)
{
	struct db_stmt	*st;
	int		 step;

	if ((st = db_prepare(db, "SELECT l.status, c.disclosure_sha256, "
	    "c.disclosure_at FROM leads l JOIN conversations c ON c.id = "
	    "l.conversation_id WHERE l.conversation_id = ?")) == NULL)
		return -1;
	db_bind_text(st, 1, conv_id, -1);
	if ((step = db_step(st)) == DB_ROW) {
		*status = json_string(db_column_text(st, 0));
		*disclosure = db_column_null(st, 1) ?
		    json_null() : json_pack("{s:s, s:s?}", "sha256",
		    db_column_text(st, 1), "at",
		    db_column_text(st, 2));
	}
	db_finalize(st);
	return step == DB_ROW ? 1 : step == DB_DONE ? 0 : -1;
}

json_t *
lead_detail_json(struct db *db, const char *conv_id, int *found)
{
	json_t	*status = NULL, *disclosure = NULL, *out = NULL;

	*found = 1;
	if (db_begin_read(db) == -1)
		return NULL;
	switch (lead_head(db, conv_id, &status, &disclosure)) {
	case 1:
		break;
	case 0:
		*found = 0;
		/* FALLTHROUGH */
	default:
		goto out;
	}
	out = json_pack("{s:s, s:O, s:o*, s:o*, s:o*, s:o*, s:o*, s:o*, s:O}",
	    "conversation_id", conv_id, "status", status,
	    "fields", lead_fields_full(db, conv_id),
	    "extractions", db_json_rows(db, "SELECT turn, source, latency_ms, "
	    "fields_won, fields_lost, fields_json, error, created_at FROM "
	    "extractions WHERE conversation_id = ?1 ORDER BY id", conv_id,
	    lead_extraction_row),
	    "notifications", notify_list_json(db, conv_id),
	    "transcript", db_json_rows(db, "SELECT role, turn, CASE WHEN "
	    "status = 'streaming' THEN coalesce((SELECT group_concat(text, '') "
	    "FROM (SELECT text FROM message_parts WHERE message_id = m.id "
	    "ORDER BY \"offset\") AS p), '') ELSE text END, status, created_at FROM "
	    "messages m WHERE conversation_id = ?1 ORDER BY turn, role = "
	    "'assistant'", conv_id, lead_transcript_row),
	    "history", db_json_rows(db, "SELECT at, \"by\", status, note FROM "
	    "lead_history WHERE conversation_id = ?1 ORDER BY id", conv_id,
	    lead_history_row),
	    "related", db_json_rows(db, "SELECT DISTINCT b.conversation_id "
	    "FROM lead_fields a JOIN lead_fields b ON b.field = a.field AND "
	    "b.value = a.value AND b.conversation_id <> a.conversation_id "
	    "WHERE a.conversation_id = ?1 AND a.field IN ('phone', 'email') "
	    "AND a.strength >= 2 AND b.strength >= 2 ORDER BY 1 LIMIT "
	    LEAD_RELATED_MAX_SQL, conv_id, lead_related_row),
	    "disclosure", disclosure);
	/* A part that could not be read is an error, not an absent key. */
	if (out != NULL && json_object_size(out) != 9) {
		json_decref(out);
		out = NULL;
	}
out:
	db_rollback(db);
	json_decref(status);
	json_decref(disclosure);
	return out;
}

int
lead_patch(struct db *db, const char *conv_id, const char *status,
    const char *note, const char *by)
{
	struct db_stmt	*st = NULL;
	int		 rc = -1;

	if (db_begin_for(db, "conv", conv_id) == -1)
		return -1;
	if ((st = db_prepare(db, "UPDATE leads SET status = coalesce(?, "
	    "status) WHERE conversation_id = ?")) == NULL)
		goto out;
	db_bind_text(st, 1, status, -1);
	db_bind_text(st, 2, conv_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	if (db_changes(db) == 0) {
		rc = 0;
		goto out;
	}
	db_finalize(st);
	if ((st = db_prepare(db, "INSERT INTO lead_history (conversation_id, "
	    "at, \"by\", status, note) VALUES (?, " DB_NOW ", ?, ?, ?)")) == NULL)
		goto out;
	db_bind_text(st, 1, conv_id, -1);
	db_bind_text(st, 2, by, -1);
	db_bind_text(st, 3, status, -1);
	db_bind_text(st, 4, note, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	rc = 1;
out:
	if (rc == -1)
		log_warnx("lead_patch %s: %s", conv_id, db_errmsg(db));
	db_finalize(st);
	if (rc == 1)
		return db_commit(db) == -1 ? -1 : 1;
	db_rollback(db);
	return rc;
}
