/*
 * leads.h: the staff endpoints.
 */
#ifndef LEADS_H
#define LEADS_H

#include "api.h"

/* GET /api/leads[?format=csv][&limit=N] */
void	leads_list(struct ctx *);

/* GET /api/leads/{conversation_id} */
void	leads_detail(struct ctx *);

/*
 * POST /api/leads/{conversation_id}/notifications/{id}/retry: a failed
 * notification pending again, and a sender started after the answer.
 */
void	leads_notify_retry(struct ctx *);

#endif
