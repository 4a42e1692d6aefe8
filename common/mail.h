/*
 * mail.h: the e-mail that tells the firm of a lead.  Pure: it builds the
 * message's bytes, libcurl (deliver.c) sends them.
 *
 * Plain text, UTF-8, quoted-printable, CRLF line ends, every line under
 * 78 characters.  A paralegal reads it at a glance: the urgency first
 * when it is high or emergency, then name, phone, e-mail, matter (as
 * words: "Personal injury"), urgency, the summary, the link to the lead,
 * and the transcript only when asked for.
 *
 * Headers: Date, From, To, Subject ("New lead: NAME (MATTER)", "[URGENT] "
 * in front for emergency, "Lead updated: " for lead.updated), Message-ID
 * (stable per notification: "<ID@DOMAIN-OF-FROM>"), MIME-Version,
 * Content-Type, Content-Transfer-Encoding, Auto-Submitted,
 * X-Intake-Notification (the id).  Visitor text
 * reaches only the Subject: it has every control character (CR and LF
 * included) removed, runs of spaces folded, is capped at
 * MAIL_NAME_MAX characters, and is RFC 2047-encoded when not ASCII, so
 * no visitor can add a header or a recipient.
 */
#ifndef MAIL_H
#define MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "fields.h"

/* The most characters of visitor text in the Subject (name, matter). */
#define MAIL_NAME_MAX	80

/*
 * The most bytes of transcript in the body (before encoding); the rest
 * is left to the leads page, so a long conversation still sends.
 */
#define MAIL_TRANSCRIPT_MAX	(256 * 1024)

/* One message of the transcript (INTAKE_NOTIFY_TRANSCRIPT=1). */
struct mail_line {
	int		 assistant;	/* 0 the visitor, 1 the assistant */
	const char	*text;		/* UTF-8 */
	size_t		 len;
};

struct mail {
	const char	*type;		/* "lead.ready" or "lead.updated" */
	const char	*id;		/* the notification's id */
	const char	*from;		/* INTAKE_SMTP_FROM: an address */
	const char	*to;		/* INTAKE_NOTIFY_EMAIL: comma list */
	const char	*firm;		/* INTAKE_FIRM_NAME, for the body */
	int64_t		 date_ms;	/* Date: unix ms */
	const char	*conv_id;
	const char	*value[FIELD__MAX]; /* NULL or "": not captured */
	const char	*url;		/* link to the lead, NULL: none */
	const struct mail_line *lines;	/* transcript, NULL: none */
	size_t		 nlines;
};

/*
 * The whole message (headers, blank line, body), NUL-terminated, in a
 * new buffer the caller frees; *len its length.  NULL when out of memory
 * or when from, to or id is missing.
 */
char	*mail_compose(const struct mail *m, size_t *len);

/*
 * Visitor text made safe for a header: control characters (C0, DEL, C1)
 * removed, invalid UTF-8 replaced, whitespace runs folded to one space,
 * trimmed, at most cap characters (cut on a character boundary).  Into
 * out (outsz bytes, always terminated); returns the length written.
 */
size_t	 mail_header_text(const char *in, size_t len, size_t cap, char *out,
	    size_t outsz);

/*
 * A matter type as people read it: "personal_injury" -> "Personal
 * injury".  Into out; returns out.
 */
char	*mail_matter_words(const char *type, char *out, size_t outsz);

/* The Message-ID of notification id when sent from from: "<id@domain>". */
int	 mail_message_id(const char *id, const char *from, char *out,
	    size_t outsz);

#endif
