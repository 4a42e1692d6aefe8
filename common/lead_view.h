/*
 * lead_view.h: leads as the firm's staff read and work them: the list
 * (filtered, searched, paged), one lead whole, and what staff record
 * about it (status and notes).  The JSON is the contract's (DESIGN.md,
 * "HTTP contract" and "Staff workspace and privacy").
 */
#ifndef LEAD_VIEW_H
#define LEAD_VIEW_H

#include <jansson.h>

struct db;

/* The most leads one page of the list holds, and its default. */
#define LEAD_PAGE_MAX		1000
#define LEAD_PAGE_DEFAULT	100

/* The longest search, in characters, and a staff note. */
#define LEAD_QUERY_MAX		200
#define LEAD_NOTE_MAX		2000

/* What a page of the list asks for; NULL (or "") fields are not asked. */
struct lead_query {
	const char	*status;	/* lead_status_valid */
	const char	*urgency;	/* low, normal, high, emergency */
	const char	*q;		/* substring, any case (ASCII) */
	const char	*before;	/* updated_at of the last lead seen */
	const char	*before_id;	/* and its conversation id */
	long		 limit;		/* 1..LEAD_PAGE_MAX */
};

/* 1 when s is a status a lead may have (new, contacted, ...), else 0. */
int	lead_status_valid(const char *s);

/*
 * One page of leads, newest updated first: {"leads":[{conversation_id,
 * created_at, updated_at, status, fields:{NAME:VALUE-or-null}}]}; the
 * next page is asked for with the last lead's updated_at (before) and
 * conversation_id (before_id: without it, leads updated in the same
 * millisecond as the last one are skipped).  A new reference, or NULL
 * on error.  The filters go through indexes in the list's order, so a
 * page reads what it shows (a search reads until it has found a page).
 */
json_t	*lead_list_json(struct db *, const struct lead_query *q);

/*
 * One lead whole: fields with their provenance, extractions,
 * notifications, status, transcript, history, related leads (the same
 * phone or e-mail) and the disclosure the visitor saw.  NULL with *found
 * 0 when there is no such lead, NULL with *found 1 on error.
 */
json_t	*lead_detail_json(struct db *, const char *conv_id, int *found);

/*
 * Staff record what they did: the new status (NULL: unchanged) and a
 * note (NULL: none), by who (REMOTE_USER, else "admin"), now.  1 when
 * recorded, 0 when there is no such lead, -1 on error.
 */
int	lead_patch(struct db *, const char *conv_id, const char *status,
	    const char *note, const char *by);

#endif
