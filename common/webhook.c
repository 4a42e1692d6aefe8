/*
 * webhook.c: the Standard Webhooks signature and the body (webhook.h).
 *
 * The HMAC goes through OpenSSL 3's EVP_MAC interface, fed the id, the
 * timestamp and the body in three updates, so the signed string is never
 * copied; base64 is OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.  Pure: no
 * I/O, nothing kept between calls.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "webhook.h"

#define WEBHOOK_PREFIX	"whsec_"

/* 1 when c is a character of the standard base64 alphabet. */
static int
webhook_b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * The key may come padded or not (the reference libraries accept both:
 * they append "==" before decoding); the padding is put back here, so
 * EVP_DecodeBlock, which wants whole quanta, sees one form.
 */
int
webhook_key(const char *secret, unsigned char *key, size_t *keylen)
{
	unsigned char	 buf[(WEBHOOK_KEY_MAX + 2) / 3 * 3 + 3];
	char		 b64[(sizeof(buf) / 3) * 4 + 1];
	const char	*s = secret;
	size_t		 len, i, pad = 0;
	int		 n, rc = -1;

	if (strncmp(s, WEBHOOK_PREFIX, strlen(WEBHOOK_PREFIX)) == 0)
		s += strlen(WEBHOOK_PREFIX);
	len = strlen(s);
	while (len > 0 && s[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	/* One character left over of a quantum is never base64. */
	if (len == 0 || len % 4 == 1 || len + 3 >= sizeof(b64))
		return -1;
	for (i = 0; i < len; i++)
		if (!webhook_b64char(s[i]))
			return -1;
	/* Padding, when written, must be the right amount. */
	if (pad > 0 && (len + pad) % 4 != 0)
		return -1;
	memcpy(b64, s, len);
	pad = (4 - len % 4) % 4;
	memset(b64 + len, '=', pad);
	len += pad;
	b64[len] = '\0';
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)b64,
	    (int)len)) < 0 || (size_t)n < pad)
		goto out;
	n -= (int)pad;	/* EVP_DecodeBlock counts the padding as zeros */
	if (n < WEBHOOK_KEY_MIN || n > WEBHOOK_KEY_MAX)
		goto out;
	memcpy(key, buf, (size_t)n);
	*keylen = (size_t)n;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(b64, sizeof(b64));
	return rc;
}

/*
 * The id goes into a header and, before a '.', into the signed string:
 * the spec asks that it hold no '.', so "a.1" + "2.body" and "a" +
 * "1.2.body" cannot sign alike.  1 when id is fit.
 */
static int
webhook_id_ok(const char *id)
{
	if (*id == '\0')
		return 0;
	for (; *id != '\0'; id++)
		if ((unsigned char)*id <= ' ' || (unsigned char)*id >= 0x7f ||
		    *id == '.')
			return 0;
	return 1;
}

int
webhook_sign(const unsigned char *key, size_t keylen, const char *id,
    int64_t ts, const char *body, size_t len, char *sig)
{
	EVP_MAC		*mac = NULL;
	EVP_MAC_CTX	*ctx = NULL;
	OSSL_PARAM	 params[2];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 t[32];
	size_t		 mdlen = 0;
	int		 tl, rc = -1;

	if (!webhook_id_ok(id))
		return -1;
	tl = snprintf(t, sizeof(t), ".%" PRId64 ".", ts);
	if (tl < 0 || (size_t)tl >= sizeof(t))
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    !EVP_MAC_init(ctx, key, keylen, params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)t, (size_t)tl) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)body, len) ||
	    !EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) || mdlen != 32)
		goto out;
	memcpy(sig, "v1,", 3);
	/* 32 bytes are 44 base64 characters: "v1," + 44 + NUL fits. */
	if (EVP_EncodeBlock((unsigned char *)sig + 3, md, (int)mdlen) != 44)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

char *
webhook_body(const char *type, const char *iso_time, const char *conv_id,
    const char *const value[FIELD__MAX], const char *url)
{
	json_t	*fields, *root;
	char	*out;
	int	 f;

	if ((fields = json_object()) == NULL)
		return NULL;
	for (f = 0; f < FIELD__MAX; f++)
		if (json_object_set_new(fields, field_name((enum field)f),
		    value[f] != NULL && value[f][0] != '\0' ?
		    json_string(value[f]) : json_null()) == -1) {
			json_decref(fields);
			return NULL;
		}
	/* "s?": "url":null, not absent, when there is no link; "o" steals
	   fields, and jansson releases it when the pack fails. */
	root = json_pack("{s:s, s:s, s:{s:s, s:o, s:s?}}", "type", type,
	    "timestamp", iso_time, "data", "conversation_id", conv_id,
	    "fields", fields, "url", url);
	if (root == NULL)
		return NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}
