/*
 * deliver.h: the two ways the firm hears of a lead, through libcurl.
 * One try each; the outbox (notify.c) decides when to try again.
 *
 * E-mail: INTAKE_SMTP_URL (smtp://host:port, or smtps://), TLS required
 * (STARTTLS, CURLUSESSL_ALL) except to a loopback address; the user and
 * password when set; one envelope to every INTAKE_NOTIFY_EMAIL
 * recipient.  Webhook: POST INTAKE_WEBHOOK_URL, http or https only, no
 * redirect followed (a 3xx is a failure: a signed body is never sent on
 * to a place nobody configured).  Both give up after
 * INTAKE_NOTIFY_TIMEOUT_MS.  An error says what happened in words for
 * the leads page and the log, never a secret or a URL's userinfo.
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <stddef.h>

#include "config.h"

/* Send msg (len bytes, a whole message).  0, or -1 with err. */
int	deliver_email(const struct config *cfg, const char *msg, size_t len,
	    char *err, size_t errsz);

/*
 * POST body (len bytes) signed for notification id at this second.  0
 * on a 2xx answer, or -1 with err (status, timeout, refused).
 */
int	deliver_webhook(const struct config *cfg, const char *id,
	    const char *body, size_t len, char *err, size_t errsz);

/* 1 when url's host is a loopback address (127/8, ::1, localhost). */
int	deliver_loopback(const char *url);

#endif
