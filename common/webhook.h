/*
 * webhook.h: the webhook's body and its Standard Webhooks signature.
 * Pure (OpenSSL's libcrypto computes the HMAC and the base64).
 *
 *   webhook-id:        the notification's id, the same on every try
 *   webhook-timestamp: unix seconds of this try
 *   webhook-signature: "v1," BASE64(HMAC-SHA256(key, id "." ts "." body))
 *
 * The key is the base64 after "whsec_" in INTAKE_WEBHOOK_SECRET.
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "fields.h"

/*
 * The shortest and longest keys accepted, in bytes (the spec asks 24 to
 * 64 of a key it makes; one a receiver hands out may differ).
 */
#define WEBHOOK_KEY_MIN	16
#define WEBHOOK_KEY_MAX	128

/* Room for "v1," and the base64 of a SHA-256, NUL included. */
#define WEBHOOK_SIG_SIZE	64

/*
 * The key of secret ("whsec_" + base64, padded or not; without the
 * prefix the whole string is taken as base64) into key (WEBHOOK_KEY_MAX
 * bytes); *keylen its length.  0, or -1 when it is not base64 or is
 * shorter than WEBHOOK_KEY_MIN or longer than WEBHOOK_KEY_MAX bytes.
 * The caller cleanses key (OPENSSL_cleanse) when done with it.
 */
int	webhook_key(const char *secret, unsigned char *key, size_t *keylen);

/*
 * "v1,…" into sig (WEBHOOK_SIG_SIZE bytes).  0, or -1 (also when id is
 * empty or holds a '.', a space, a control or a non-ASCII byte).
 */
int	webhook_sign(const unsigned char *key, size_t keylen, const char *id,
	    int64_t ts, const char *body, size_t len, char *sig);

/*
 * The body, compact JSON, in a new buffer the caller frees:
 * {"type":TYPE,"timestamp":ISO,"data":{"conversation_id":ID,
 * "fields":{NAME:VALUE-or-null},"url":URL-or-null}} (a value NULL or ""
 * is null).  NULL when out of memory or a string is not UTF-8.
 */
char	*webhook_body(const char *type, const char *iso_time,
	    const char *conv_id, const char *const value[FIELD__MAX],
	    const char *url);

#endif
