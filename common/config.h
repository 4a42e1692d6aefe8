/*
 * config.h: the settings of both programs.
 *
 * Defaults, then one configuration file ("key = value" lines, '#'
 * comments, unknown keys refused with their line number), then the
 * environment, which wins.  The file is the one INTAKE_CONFIG names,
 * else one found from the program's own location (/proc/self/exe, not
 * the environment, which suEXEC filters): intake.conf beside the
 * program, else ../../intake/intake.conf from its folder (the shared-host
 * bundle's public_html/api/intake.cgi finds ~/intake/intake.conf).  Paths
 * in a file are relative to the file's folder.  Every limit the service
 * enforces is here, with its bounds, so none is implicit.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#include "fields.h"
#include "paths.h"

enum provider {
	PROVIDER_BUILTIN,
	PROVIDER_OPENAI,
	PROVIDER_ANTHROPIC,
	PROVIDER__MAX
};

/*
 * The most INTAKE_SYSTEM_PROMPT_FILE may hold, in bytes (some 16,000
 * tokens: far more than an intake prompt needs, and sent on every turn).
 */
#define CONFIG_PROMPT_MAX	(64 * 1024)

/* The most INTAKE_DISCLOSURE_FILE may hold, in bytes. */
#define CONFIG_DISCLOSURE_MAX	(16 * 1024)

/* The most waits INTAKE_NOTIFY_BACKOFF_S may list. */
#define CONFIG_BACKOFF_MAX	16

/* The targets' bits in notify_targets (notify.h's enum notify_target). */
#define CONFIG_TARGET_EMAIL	(1u << 0)
#define CONFIG_TARGET_WEBHOOK	(1u << 1)

struct config {
	char		 db[1024];		/* INTAKE_DB */
	enum provider	 provider;		/* INTAKE_LLM_PROVIDER */
	char		 llm_url[512];		/* INTAKE_LLM_URL, base with /v1 */
	char		 api_key[512];		/* INTAKE_LLM_API_KEY: never logged */
	char		 model[128];		/* INTAKE_LLM_MODEL */
	char		 extract_model[128];	/* INTAKE_EXTRACT_MODEL */
	char		 admin_token[256];	/* INTAKE_ADMIN_TOKEN: never logged */
	char		 firm_name[128];	/* INTAKE_FIRM_NAME */
	char		 system_prompt_file[1024]; /* INTAKE_SYSTEM_PROMPT_FILE */
	char		 system_prompt[CONFIG_PROMPT_MAX + 1]; /* its text, read
						   by config_load; UTF-8 */
	size_t		 system_prompt_len;	/* bytes in system_prompt */
	char		 extractor[1024];	/* INTAKE_EXTRACTOR: program path */
	char		 proxy[512];		/* INTAKE_LLM_PROXY: "" = none */
	char		 log_file[1024];	/* INTAKE_LOG_FILE: the programs'
						   log lines (else stderr) */
	char		 country[4];		/* INTAKE_DEFAULT_COUNTRY */
	char		 matter_types[512];	/* INTAKE_MATTER_TYPES, comma list */
	long		 max_extractors;	/* INTAKE_MAX_EXTRACTORS */
	long		 threads;		/* INTAKE_THREADS per process */
	long		 word_delay_ms;		/* INTAKE_WORD_DELAY_MS (built-in) */
	long		 body_max;		/* INTAKE_MAX_BODY bytes */
	long		 body_timeout_ms;	/* INTAKE_BODY_TIMEOUT_MS: a whole body */
	long		 text_max;		/* INTAKE_MAX_TEXT characters */
	long		 client_id_max;		/* INTAKE_MAX_CLIENT_ID characters */
	long		 turns_max;		/* INTAKE_MAX_TURNS per conversation */
	long		 rate_conversations;	/* INTAKE_RATE_CONVERSATIONS /addr/min */
	long		 rate_messages;		/* INTAKE_RATE_MESSAGES /addr/min */
	long		 streams_per_addr;	/* INTAKE_MAX_STREAMS_PER_ADDR: turns
						   and follows at once; 0: off */
	long		 follows_per_conv;	/* INTAKE_MAX_FOLLOWS_PER_CONV at
						   once; 0: off */
	long		 history_max;		/* INTAKE_HISTORY_MESSAGES sent */
	long		 reply_max;		/* INTAKE_MAX_REPLY bytes kept */
	long		 connect_timeout_ms;	/* INTAKE_CONNECT_TIMEOUT_MS */
	long		 first_token_ms;	/* INTAKE_FIRST_TOKEN_TIMEOUT_MS */
	long		 gap_ms;		/* INTAKE_GAP_TIMEOUT_MS */
	long		 total_ms;		/* INTAKE_TOTAL_TIMEOUT_MS */
	long		 ping_ms;		/* INTAKE_PING_MS: ": ping" interval */
	long		 busy_timeout_ms;	/* INTAKE_BUSY_TIMEOUT_MS (SQLite) */
	long		 stale_ms;		/* INTAKE_STALE_MS: owner presumed gone */
	long		 db_pool;		/* INTAKE_DB_POOL: PostgreSQL
						   connections per process */
	char		 node[128];		/* INTAKE_NODE: this machine's
						   name, else the host's */
	long		 extract_timeout_ms;	/* INTAKE_EXTRACT_TIMEOUT_MS per try */
	long		 extract_linger_ms;	/* INTAKE_EXTRACT_LINGER_MS: an
						   extractor out of jobs waits
						   this long for the next */
	long		 events_query_token;	/* INTAKE_EVENTS_QUERY_TOKEN: 1 lets
						   /events take ?token= */

	/* Lead delivery (DESIGN.md, "Lead delivery"). */
	char		 public_url[512];	/* INTAKE_PUBLIC_URL: the site's
						   base, for links to a lead */
	char		 notify_email[1024];	/* INTAKE_NOTIFY_EMAIL, comma list */
	char		 smtp_url[512];		/* INTAKE_SMTP_URL */
	char		 smtp_user[256];	/* INTAKE_SMTP_USER */
	char		 smtp_password[256];	/* INTAKE_SMTP_PASSWORD: never logged */
	char		 smtp_from[256];	/* INTAKE_SMTP_FROM: an address */
	char		 webhook_url[1024];	/* INTAKE_WEBHOOK_URL */
	char		 webhook_secret[256];	/* INTAKE_WEBHOOK_SECRET: whsec_…,
						   never logged */
	long		 notify_timeout_ms;	/* INTAKE_NOTIFY_TIMEOUT_MS per try */
	long		 notify_transcript;	/* INTAKE_NOTIFY_TRANSCRIPT: 1 puts
						   the conversation in the e-mail */
	char		 notify_backoff[256];	/* INTAKE_NOTIFY_BACKOFF_S, as set */
	long		 backoff_s[CONFIG_BACKOFF_MAX]; /* parsed from it */
	size_t		 nbackoff;		/* tries = nbackoff + 1 */
	unsigned	 notify_targets;	/* bit 1 << NOTIFY_EMAIL, … */

	/* The firm's side (DESIGN.md, "Staff workspace and privacy"). */
	long		 retention_days;	/* INTAKE_RETENTION_DAYS: 0 keeps all */
	char		 disclosure_file[1024];	/* INTAKE_DISCLOSURE_FILE */
	char		 disclosure[CONFIG_DISCLOSURE_MAX + 1]; /* its text (or
						   the built-in one), UTF-8 */
	size_t		 disclosure_len;
	char		 disclosure_sha256[65];	/* of that text, lower-case hex */
	char		 embed_origins[1024];	/* INTAKE_EMBED_ORIGINS: the origins
						   that may frame the page, comma
						   list (the web server sends it) */

	/* Where the settings came from (set by config_load, not keys). */
	char		 file[PATHS_MAX];	/* the file read, "" none */
	enum config_how	 how;			/* how it was found */
	int		 db_env;		/* INTAKE_DB in the environment */
};

/*
 * Fill cfg: defaults, the configuration file (INTAKE_CONFIG when set and
 * not empty, else the first of paths_config_candidates that exists), the
 * environment; then read INTAKE_SYSTEM_PROMPT_FILE, if set, into
 * system_prompt (once: a change to the file takes a restart, like any
 * setting).  In the file, db, extractor, log_file and system_prompt_file
 * are relative to the file's folder, and a file that sets no db puts the
 * database there (intake.db); with no file at all db stays var/intake.db
 * (relative to the working directory).  A prompt file that cannot be
 * read, is not a regular file, is larger than CONFIG_PROMPT_MAX or is not
 * UTF-8 text (a NUL byte included) is an error here, not cut or skipped
 * on every turn.  Returns 0, or -1 with a one-line reason in err (never a
 * secret's value); cfg->file and cfg->how say which file even then.
 */
int	config_load(struct config *cfg, char *err, size_t errsz);

/* config_load as if this program were exe (tests; NULL: itself). */
int	config_load_as(struct config *cfg, const char *exe, char *err,
	    size_t errsz);

/*
 * 1 when the program was told where its data lives: a configuration
 * file was found, or INTAKE_DB is in the environment (make run, the
 * tests, a systemd unit).  0: defaults only.
 */
int	config_found(const struct config *cfg);

/*
 * The folder of this program (from /proc/self/exe) into out; 0, or -1
 * (logged).  With exe (or NULL), the program's own path too.
 */
int	config_self(char *dir, size_t dirsz, char *exe, size_t exesz);

/*
 * The extractor the web program starts: the extractor setting, else
 * intake-extract beside this program, else beside the configuration file
 * (paths_extractor_candidates), the first that exists, or the first
 * candidate when none does.  0, or -1 when there is none to name.
 */
int	config_extractor(const struct config *cfg, char *out, size_t outsz);

/*
 * Apply one "key = value" line of a config file (pure).  Returns 0 (also
 * for blank and comment lines), or -1 with the reason in err.
 */
int	config_line(struct config *cfg, const char *line, char *err,
	    size_t errsz);

/*
 * Check the delivery settings and derive backoff_s and notify_targets
 * (pure; config_load calls it): e-mail is on when INTAKE_NOTIFY_EMAIL is
 * set, and then wants valid recipients, an smtp:// or smtps:// URL and a
 * From address; the webhook is on when INTAKE_WEBHOOK_URL is set, and
 * then wants an http:// or https:// URL and a whsec_ secret.  0, or -1
 * with the reason in err (never a secret's value).
 */
int	config_notify(struct config *cfg, char *err, size_t errsz);

/*
 * Check INTAKE_EMBED_ORIGINS (pure; config_load calls it): empty, or a
 * comma list (spaces around the commas allowed) of origins, each http://
 * or https://, a host name (letters, digits, dots, '-' inside a label) and
 * an optional :PORT from 1 to 65535, nothing else, since the web server
 * puts them in the page's frame-ancestors (scripts/embed-origins.sh is the
 * same rule).  0, or -1 with the reason in err.
 */
int	config_origins(const char *list, char *err, size_t errsz);

/* The defaults alone (pure). */
void	config_defaults(struct config *cfg);

/* The field options (country, matter types) the config describes. */
void	config_field_opts(const struct config *cfg, struct field_opts *opts,
	    char *buf, size_t bufsz);

const char *config_provider_name(enum provider);

#endif
