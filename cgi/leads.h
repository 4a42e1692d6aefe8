/*
 * leads.h: the staff endpoints.
 */
#ifndef LEADS_H
#define LEADS_H

#include "api.h"

/* GET /api/leads[?status=&urgency=&q=&limit=&before=&before_id=&format=csv] */
void	leads_list(struct ctx *);

/* GET /api/leads/{conversation_id} */
void	leads_detail(struct ctx *);

/*
 * POST /api/leads/{conversation_id}/notifications/{id}/retry: a failed
 * notification pending again, and a sender started after the answer.
 */
void	leads_notify_retry(struct ctx *);

/* PATCH /api/leads/{conversation_id}: status and notes. */
void	leads_patch(struct ctx *);

/* DELETE /api/conversations/{id}: erase it and all derived from it. */
void	leads_erase(struct ctx *);

/* GET /api/disclosure: the text the page shows first, and its SHA-256. */
void	leads_disclosure(struct ctx *);

#endif
