/*
 * api.h: one request from routing to the last byte of its answer.
 *
 * api_handle matches the request to its row of route_rules (routes.c),
 * applies the row (database, method, authentication, rate limit, stream
 * slot) and calls the row's handler, which answers in full.  What must
 * happen after the response has ended (the extractor) is left in
 * ctx->after for the caller to do after FCGX_Finish_r.  struct ctx and
 * api_terminating are handler.h's.
 */
#ifndef API_H
#define API_H

#include <signal.h>

#include "handler.h"

void	api_handle(struct ctx *);

#endif
