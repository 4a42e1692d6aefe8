/*
 * test_config.c: the defaults, one config line at a time, and the whole
 * load (file named by INTAKE_CONFIG, then the environment, which wins).
 *
 * A line that is refused must leave the config exactly as it was and say
 * why, naming the key; a secret's value must never appear in the reason.
 * The load tests start from an environment with no INTAKE_* variable, so
 * the result does not depend on the shell that runs them.
 *
 * INTAKE_SYSTEM_PROMPT_FILE is read by the load, once: its text comes
 * back byte for byte up to CONFIG_PROMPT_MAX, and a file one byte larger,
 * not UTF-8 text, missing, a directory or a FIFO is refused with a reason
 * naming the setting and the file.
 *
 * Discovery (config_load_as, the program's path given): intake.conf
 * beside the program, else ../../intake/intake.conf from its folder
 * (the shared-host bundle), INTAKE_CONFIG over both; a file another
 * account owns is not taken.  Paths in a file are relative to its
 * folder, and a file that names no database puts it there.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

extern char **environ;

/* One field of cfg as text, by its INTAKE_ name less the prefix. */
static const char *
cfg_get(const struct config *c, const char *name, char *buf, size_t bufsz)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} strs[] = {
		{ "DB", offsetof(struct config, db) },
		{ "LLM_URL", offsetof(struct config, llm_url) },
		{ "LLM_API_KEY", offsetof(struct config, api_key) },
		{ "LLM_MODEL", offsetof(struct config, model) },
		{ "EXTRACT_MODEL", offsetof(struct config, extract_model) },
		{ "ADMIN_TOKEN", offsetof(struct config, admin_token) },
		{ "FIRM_NAME", offsetof(struct config, firm_name) },
		{ "SYSTEM_PROMPT_FILE",
		    offsetof(struct config, system_prompt_file) },
		{ "EXTRACTOR", offsetof(struct config, extractor) },
		{ "LLM_PROXY", offsetof(struct config, proxy) },
		{ "DEFAULT_COUNTRY", offsetof(struct config, country) },
		{ "MATTER_TYPES", offsetof(struct config, matter_types) },
	}, longs[] = {
		{ "MAX_EXTRACTORS", offsetof(struct config, max_extractors) },
		{ "THREADS", offsetof(struct config, threads) },
		{ "WORD_DELAY_MS", offsetof(struct config, word_delay_ms) },
		{ "MAX_BODY", offsetof(struct config, body_max) },
		{ "MAX_TEXT", offsetof(struct config, text_max) },
		{ "MAX_CLIENT_ID", offsetof(struct config, client_id_max) },
		{ "MAX_TURNS", offsetof(struct config, turns_max) },
		{ "HISTORY_MESSAGES", offsetof(struct config, history_max) },
		{ "MAX_REPLY", offsetof(struct config, reply_max) },
		{ "CONNECT_TIMEOUT_MS",
		    offsetof(struct config, connect_timeout_ms) },
		{ "FIRST_TOKEN_TIMEOUT_MS",
		    offsetof(struct config, first_token_ms) },
		{ "GAP_TIMEOUT_MS", offsetof(struct config, gap_ms) },
		{ "TOTAL_TIMEOUT_MS", offsetof(struct config, total_ms) },
		{ "PING_MS", offsetof(struct config, ping_ms) },
		{ "BUSY_TIMEOUT_MS", offsetof(struct config, busy_timeout_ms) },
		{ "STALE_MS", offsetof(struct config, stale_ms) },
		{ "EVENTS_QUERY_TOKEN",
		    offsetof(struct config, events_query_token) },
	};
	size_t	i;
	long	n;

	if (strcmp(name, "LLM_PROVIDER") == 0)
		return config_provider_name(c->provider);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(name, strs[i].name) == 0)
			return (const char *)c + strs[i].off;
	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		if (strcmp(name, longs[i].name) == 0) {
			memcpy(&n, (const char *)c + longs[i].off, sizeof(n));
			snprintf(buf, bufsz, "%ld", n);
			return buf;
		}
	abort();	/* a test names a field cfg_get does not know */
}

static const struct def_row {
	const char	*name;
	const char	*want;
	int		 line;
} def_rows[] = {
	{ "DB", "var/intake.db", __LINE__ },
	{ "LLM_PROVIDER", "builtin", __LINE__ },
	{ "LLM_URL", "", __LINE__ },
	{ "LLM_API_KEY", "", __LINE__ },
	{ "ADMIN_TOKEN", "", __LINE__ },
	{ "FIRM_NAME", "our firm", __LINE__ },
	{ "LLM_PROXY", "", __LINE__ },
	{ "DEFAULT_COUNTRY", "US", __LINE__ },
	{ "MATTER_TYPES", "personal_injury,family,criminal,employment,"
	    "immigration,estate_planning,real_estate,business,other",
	    __LINE__ },
	/* The contract's limits. */
	{ "MAX_BODY", "65536", __LINE__ },
	{ "MAX_TEXT", "8000", __LINE__ },
	{ "MAX_CLIENT_ID", "64", __LINE__ },
	{ "MAX_EXTRACTORS", "8", __LINE__ },
	{ "THREADS", "4096", __LINE__ },
	{ "WORD_DELAY_MS", "25", __LINE__ },
	{ "MAX_TURNS", "200", __LINE__ },
	{ "HISTORY_MESSAGES", "40", __LINE__ },
	{ "MAX_REPLY", "65536", __LINE__ },
	{ "CONNECT_TIMEOUT_MS", "10000", __LINE__ },
	{ "FIRST_TOKEN_TIMEOUT_MS", "60000", __LINE__ },
	{ "GAP_TIMEOUT_MS", "30000", __LINE__ },
	{ "TOTAL_TIMEOUT_MS", "300000", __LINE__ },
	{ "PING_MS", "10000", __LINE__ },
	{ "BUSY_TIMEOUT_MS", "5000", __LINE__ },
	{ "STALE_MS", "30000", __LINE__ },
	{ "EVENTS_QUERY_TOKEN", "1", __LINE__ },
};

static void
test_defaults(void)
{
	struct config	 c, d;
	char		 buf[32];
	const char	*got;
	size_t		 i;

	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	for (i = 0; i < sizeof(def_rows) / sizeof(def_rows[0]); i++) {
		got = cfg_get(&c, def_rows[i].name, buf, sizeof(buf));
		CHECK_AT(def_rows[i].line, strcmp(got, def_rows[i].want) == 0,
		    "default %s: got \"%s\", want \"%s\"", def_rows[i].name,
		    got, def_rows[i].want);
	}
	memset(&d, 0x5a, sizeof(d));
	config_defaults(&d);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0,
	    "config_defaults depends on what was in cfg before");
}

#define LONG1024 \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SECRET	"s3cr3t-t0ken-"
#define SECRET260 SECRET SECRET SECRET SECRET SECRET SECRET SECRET SECRET \
	SECRET SECRET SECRET SECRET SECRET SECRET SECRET SECRET SECRET SECRET \
	SECRET SECRET

static const struct line_row {
	const char	*in;
	int		 want;
	const char	*name;		/* field to look at, or NULL */
	const char	*value;		/* its value after the line */
	const char	*err;		/* on -1: in the reason */
	int		 line;
} line_rows[] = {
	/* Blank and comment lines change nothing. */
	{ "", 0, NULL, NULL, NULL, __LINE__ },
	{ "   ", 0, NULL, NULL, NULL, __LINE__ },
	{ "\t \r", 0, NULL, NULL, NULL, __LINE__ },
	{ "# a comment", 0, NULL, NULL, NULL, __LINE__ },
	{ "#DB = /elsewhere", 0, NULL, NULL, NULL, __LINE__ },
	{ "   # DB = /elsewhere", 0, NULL, NULL, NULL, __LINE__ },
	{ "#", 0, NULL, NULL, NULL, __LINE__ },
	/* key = value, spaces anywhere around. */
	{ "DB=/x.db", 0, "DB", "/x.db", NULL, __LINE__ },
	{ "DB = /x.db", 0, "DB", "/x.db", NULL, __LINE__ },
	{ "  DB\t=\t/x.db  \t", 0, "DB", "/x.db", NULL, __LINE__ },
	{ "DB = /x.db\r", 0, "DB", "/x.db", NULL, __LINE__ },
	{ "FIRM_NAME = Smith & Jones  LLP", 0, "FIRM_NAME",
	    "Smith & Jones  LLP", NULL, __LINE__ },
	{ "FIRM_NAME = a=b", 0, "FIRM_NAME", "a=b", NULL, __LINE__ },
	{ "FIRM_NAME =", 0, "FIRM_NAME", "", NULL, __LINE__ },
	{ "FIRM_NAME =    ", 0, "FIRM_NAME", "", NULL, __LINE__ },
	/* Quoted values keep their spaces and a '#'. */
	{ "FIRM_NAME = \"  spaced  \"", 0, "FIRM_NAME", "  spaced  ", NULL,
	    __LINE__ },
	{ "FIRM_NAME = \"#1 firm\"", 0, "FIRM_NAME", "#1 firm", NULL,
	    __LINE__ },
	{ "FIRM_NAME = \"\"", 0, "FIRM_NAME", "", NULL, __LINE__ },
	{ "FIRM_NAME=\"a\"  ", 0, "FIRM_NAME", "a", NULL, __LINE__ },
	{ "MAX_TEXT = \"42\"", 0, "MAX_TEXT", "42", NULL, __LINE__ },
	/* The INTAKE_ prefix is optional, and names ignore case. */
	{ "INTAKE_DB = /y.db", 0, "DB", "/y.db", NULL, __LINE__ },
	{ "intake_db = /y.db", 0, "DB", "/y.db", NULL, __LINE__ },
	{ "Intake_Db = /y.db", 0, "DB", "/y.db", NULL, __LINE__ },
	{ "db = /y.db", 0, "DB", "/y.db", NULL, __LINE__ },
	{ "intake_max_text = 10", 0, "MAX_TEXT", "10", NULL, __LINE__ },
	/* Unknown keys, named in the reason. */
	{ "NOPE = 1", -1, NULL, NULL, "NOPE", __LINE__ },
	{ "INTAKE_NOPE = 1", -1, NULL, NULL, "INTAKE_NOPE", __LINE__ },
	{ "DBX = 1", -1, NULL, NULL, "DBX", __LINE__ },
	{ "D = 1", -1, NULL, NULL, "\"D\"", __LINE__ },
	{ "INTAKE_ = 1", -1, NULL, NULL, "INTAKE_", __LINE__ },
	{ "INTAKE_INTAKE_DB = 1", -1, NULL, NULL, "INTAKE_INTAKE_DB",
	    __LINE__ },
	{ "INTAKEDB = 1", -1, NULL, NULL, "INTAKEDB", __LINE__ },
	{ "MAX TEXT = 1", -1, NULL, NULL, "MAX TEXT", __LINE__ },
	{ "= 1", -1, NULL, NULL, NULL, __LINE__ },
	/* No '='. */
	{ "DB /x.db", -1, NULL, NULL, NULL, __LINE__ },
	{ "DB", -1, NULL, NULL, NULL, __LINE__ },
	{ "MAX_TEXT 10", -1, NULL, NULL, NULL, __LINE__ },
	/* Numbers: bounds inclusive, nothing but digits. */
	{ "MAX_TEXT = 1", 0, "MAX_TEXT", "1", NULL, __LINE__ },
	{ "MAX_TEXT = 1000000", 0, "MAX_TEXT", "1000000", NULL, __LINE__ },
	{ "MAX_TEXT = 0", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	/* Pings come often enough for the page's 60 s watchdog. */
	{ "PING_MS = 50000", 0, "PING_MS", "50000", NULL, __LINE__ },
	{ "PING_MS = 60000", -1, NULL, NULL, "PING_MS", __LINE__ },
	/* ?token= on /events: on or off. */
	{ "EVENTS_QUERY_TOKEN = 0", 0, "EVENTS_QUERY_TOKEN", "0", NULL,
	    __LINE__ },
	{ "EVENTS_QUERY_TOKEN = 2", -1, NULL, NULL, "EVENTS_QUERY_TOKEN",
	    __LINE__ },
	{ "MAX_TEXT = 1000001", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = -1", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = 99999999999999999999999", -1, NULL, NULL, "MAX_TEXT",
	    __LINE__ },
	{ "MAX_TEXT = -99999999999999999999999", -1, NULL, NULL, "MAX_TEXT",
	    __LINE__ },
	{ "MAX_TEXT = 12x", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = x", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = 1 000", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = 0x10", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = 1.5", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT =", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_TEXT = \"\"", -1, NULL, NULL, "MAX_TEXT", __LINE__ },
	{ "MAX_BODY = 1023", -1, NULL, NULL, "MAX_BODY", __LINE__ },
	{ "MAX_BODY = 1024", 0, "MAX_BODY", "1024", NULL, __LINE__ },
	{ "MAX_BODY = 16777216", 0, "MAX_BODY", "16777216", NULL, __LINE__ },
	{ "MAX_BODY = 16777217", -1, NULL, NULL, "MAX_BODY", __LINE__ },
	{ "MAX_CLIENT_ID = 1024", 0, "MAX_CLIENT_ID", "1024", NULL,
	    __LINE__ },
	{ "MAX_CLIENT_ID = 1025", -1, NULL, NULL, "MAX_CLIENT_ID",
	    __LINE__ },
	{ "BUSY_TIMEOUT_MS = 0", 0, "BUSY_TIMEOUT_MS", "0", NULL, __LINE__ },
	{ "WORD_DELAY_MS = 0", 0, "WORD_DELAY_MS", "0", NULL, __LINE__ },
	{ "THREADS = 0", -1, NULL, NULL, "THREADS", __LINE__ },
	{ "THREADS = 32768", 0, "THREADS", "32768", NULL, __LINE__ },
	{ "THREADS = 32769", -1, NULL, NULL, "THREADS", __LINE__ },
	{ "STALE_MS = 999", -1, NULL, NULL, "STALE_MS", __LINE__ },
	/* The provider: one of three, any case. */
	{ "LLM_PROVIDER = openai", 0, "LLM_PROVIDER", "openai", NULL,
	    __LINE__ },
	{ "LLM_PROVIDER = OpenAI", 0, "LLM_PROVIDER", "openai", NULL,
	    __LINE__ },
	{ "LLM_PROVIDER = anthropic", 0, "LLM_PROVIDER", "anthropic", NULL,
	    __LINE__ },
	{ "INTAKE_LLM_PROVIDER = \"ANTHROPIC\"", 0, "LLM_PROVIDER",
	    "anthropic", NULL, __LINE__ },
	{ "LLM_PROVIDER = builtin", 0, "LLM_PROVIDER", "builtin", NULL,
	    __LINE__ },
	{ "LLM_PROVIDER = gpt", -1, NULL, NULL, "LLM_PROVIDER", __LINE__ },
	{ "LLM_PROVIDER = openai2", -1, NULL, NULL, "LLM_PROVIDER",
	    __LINE__ },
	{ "LLM_PROVIDER = open", -1, NULL, NULL, "LLM_PROVIDER", __LINE__ },
	{ "LLM_PROVIDER =", -1, NULL, NULL, "LLM_PROVIDER", __LINE__ },
	/* Strings longer than their buffer. */
	{ "DEFAULT_COUNTRY = GBR", 0, "DEFAULT_COUNTRY", "GBR", NULL,
	    __LINE__ },
	{ "DEFAULT_COUNTRY = GBRX", -1, NULL, NULL, "DEFAULT_COUNTRY",
	    __LINE__ },
	{ "DB = " LONG1024, -1, NULL, NULL, "DB", __LINE__ },
	{ "LLM_URL = " LONG1024, -1, NULL, NULL, "LLM_URL", __LINE__ },
	{ "FIRM_NAME = \"" LONG1024 "\"", -1, NULL, NULL, "FIRM_NAME",
	    __LINE__ },
	{ "ADMIN_TOKEN = " SECRET260, -1, NULL, NULL, "ADMIN_TOKEN",
	    __LINE__ },
	{ "LLM_API_KEY = " SECRET260 SECRET260, -1, NULL, NULL,
	    "LLM_API_KEY", __LINE__ },
};

static void
test_line(void)
{
	const struct line_row	*t;
	struct config		 c, d;
	char			 err[256], buf[32];
	const char		*got;
	size_t			 i;
	int			 rc;

	config_defaults(&d);
	for (i = 0; i < sizeof(line_rows) / sizeof(line_rows[0]); i++) {
		t = &line_rows[i];
		config_defaults(&c);
		memset(err, 0, sizeof(err));
		rc = config_line(&c, t->in, err, sizeof(err));
		CHECK_AT(t->line, rc == t->want, "config_line(\"%.60s\"): rc %d, "
		    "want %d (%s)", t->in, rc, t->want, err);
		if (t->name != NULL && rc == 0) {
			got = cfg_get(&c, t->name, buf, sizeof(buf));
			CHECK_AT(t->line, strcmp(got, t->value) == 0,
			    "%s: got \"%s\", want \"%s\"", t->name, got,
			    t->value);
		}
		if (t->name == NULL)
			CHECK_AT(t->line, memcmp(&c, &d, sizeof(c)) == 0,
			    "\"%.60s\" changed the config", t->in);
		if (t->want == -1) {
			CHECK_AT(t->line, err[0] != '\0', "no reason given");
			if (t->err != NULL)
				CHECK_AT(t->line, strstr(err, t->err) != NULL,
				    "reason \"%s\" does not name \"%s\"", err,
				    t->err);
			CHECK_AT(t->line, strstr(err, SECRET) == NULL,
			    "reason \"%s\" shows a secret", err);
		}
	}
}

/* Lines apply in order, the last one wins. */
static void
test_line_sequence(void)
{
	struct config	 c;
	char		 err[256];

	config_defaults(&c);
	CHECK(config_line(&c, "MAX_TEXT = 10", err, sizeof(err)) == 0 &&
	    config_line(&c, "intake_max_text = 20", err, sizeof(err)) == 0 &&
	    c.text_max == 20, "second line did not win: %ld", c.text_max);
	CHECK(config_line(&c, "MAX_TEXT = 0", err, sizeof(err)) == -1 &&
	    c.text_max == 20, "refused line changed text_max: %ld",
	    c.text_max);
}

/* Unset every INTAKE_* variable, so the shell cannot change the results. */
static void
env_clear(void)
{
	char	 name[256];
	size_t	 n;
	int	 again = 1;
	char	**e;

	while (again) {
		again = 0;
		for (e = environ; *e != NULL; e++) {
			if (strncmp(*e, "INTAKE_", 7) != 0)
				continue;
			n = strcspn(*e, "=");
			if (n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;	/* environ may have moved */
			break;
		}
	}
}

/*
 * config_notify: the delivery settings, given as config lines (one a
 * '\n'), then checked together.  Every value a secret could be in holds
 * "S3CRET", which no reason may show.
 */
#define HOOK_KEY	"whsec_S3CRETS3CRETS3CRETS3CRETS3CRETS3" /* 24 bytes */
#define MAIL_OK		"NOTIFY_EMAIL = desk@example.com\n" \
			"SMTP_URL = smtp://mail.example.com:587\n" \
			"SMTP_FROM = intake@example.com\n" \
			"SMTP_USER = intake\nSMTP_PASSWORD = pw-S3CRET\n"
#define HOOK_OK		"WEBHOOK_URL = https://hooks.example.com/in\n" \
			"WEBHOOK_SECRET = " HOOK_KEY "\n"
#define NONE		0u
#define MAIL		CONFIG_TARGET_EMAIL
#define HOOK		CONFIG_TARGET_WEBHOOK

static const struct notify_row {
	const char	*lines;
	int		 want;
	const char	*err;		/* on -1: in the reason */
	unsigned	 targets;	/* on 0 */
	const char	*backoff;	/* on 0, when not NULL: the waits */
	int		 line;
} notify_rows[] = {
	/* The defaults: nothing to send, six waits. */
	{ "", 0, NULL, NONE, "30,120,600,3600,21600,86400", __LINE__ },
	/* Backoff: whole seconds, 1 to 30 days, up to 16, spaces around. */
	{ "NOTIFY_BACKOFF_S = 1,2", 0, NULL, NONE, "1,2", __LINE__ },
	{ "NOTIFY_BACKOFF_S = 5", 0, NULL, NONE, "5", __LINE__ },
	{ "NOTIFY_BACKOFF_S = \" 1 , 2 ,3 \"", 0, NULL, NONE, "1,2,3",
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1\t,\t2", 0, NULL, NONE, "1,2", __LINE__ },
	{ "NOTIFY_BACKOFF_S = 2592000", 0, NULL, NONE, "2592000", __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", 0,
	    NULL, NONE, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
	    -1, "NOTIFY_BACKOFF_S", NONE, NULL, __LINE__ },
	{ "NOTIFY_BACKOFF_S = 2592001", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 99999999999999999999", -1, "NOTIFY_BACKOFF_S",
	    NONE, NULL, __LINE__ },
	{ "NOTIFY_BACKOFF_S = 0", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 30,0", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = -5", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1,-5", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1,2,", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = ,1", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1,,2", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1 2", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 1.5", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = 30s", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S = soon", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },
	{ "NOTIFY_BACKOFF_S =", -1, "NOTIFY_BACKOFF_S", NONE, NULL,
	    __LINE__ },

	/* E-mail: on with recipients, an smtp(s) URL and a From. */
	{ MAIL_OK, 0, NULL, MAIL, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com, b@example.org,c@x.example",
	    0, NULL, MAIL, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = Desk@Example.COM", 0, NULL, MAIL, NULL,
	    __LINE__ },
	{ MAIL_OK "SMTP_URL = smtps://mail.example.com", 0, NULL, MAIL, NULL,
	    __LINE__ },
	{ MAIL_OK "SMTP_URL = SMTP://127.0.0.1:2525", 0, NULL, MAIL, NULL,
	    __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = not-an-address", -1, "NOTIFY_EMAIL", NONE,
	    NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com,,b@example.org", -1,
	    "NOTIFY_EMAIL", NONE, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com,", -1, "NOTIFY_EMAIL", NONE,
	    NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com b@example.org", -1,
	    "NOTIFY_EMAIL", NONE, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com;b@example.org", -1,
	    "NOTIFY_EMAIL", NONE, NULL, __LINE__ },
	/* As written: what field_normalise would tidy up must not reach
	   RCPT TO or a header (brackets, mailto:, controls, format). */
	{ MAIL_OK "NOTIFY_EMAIL = <a@example.com>", -1, "NOTIFY_EMAIL",
	    NONE, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = mailto:a@example.com", -1, "NOTIFY_EMAIL",
	    NONE, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@example.com\x01", -1, "NOTIFY_EMAIL",
	    NONE, NULL, __LINE__ },
	{ MAIL_OK "NOTIFY_EMAIL = a@exam\xe2\x80\x8bple.com", -1,
	    "NOTIFY_EMAIL", NONE, NULL, __LINE__ },
	{ MAIL_OK "SMTP_FROM = <intake@example.com>", -1, "SMTP_FROM", NONE,
	    NULL, __LINE__ },
	/* The URL: smtp:// or smtps:// and a host, nothing else. */
	{ MAIL_OK "SMTP_URL = http://mail.example.com", -1, "SMTP_URL", NONE,
	    NULL, __LINE__ },
	{ MAIL_OK "SMTP_URL = mail.example.com:25", -1, "SMTP_URL", NONE,
	    NULL, __LINE__ },
	{ MAIL_OK "SMTP_URL = smtp://", -1, "SMTP_URL", NONE, NULL,
	    __LINE__ },
	{ MAIL_OK "SMTP_URL = smtp://mail example.com", -1, "SMTP_URL",
	    NONE, NULL, __LINE__ },
	{ MAIL_OK "SMTP_URL = ftp://u:S3CRET@mail.example.com", -1,
	    "SMTP_URL", NONE, NULL, __LINE__ },
	{ MAIL_OK "SMTP_URL =", -1, "SMTP_URL", NONE, NULL, __LINE__ },
	/* The From: required, one address. */
	{ MAIL_OK "SMTP_FROM =", -1, "SMTP_FROM", NONE, NULL, __LINE__ },
	{ MAIL_OK "SMTP_FROM = a@example.com,b@example.com", -1,
	    "SMTP_FROM", NONE, NULL, __LINE__ },
	{ MAIL_OK "SMTP_FROM = intake", -1, "SMTP_FROM", NONE, NULL,
	    __LINE__ },
	/* A mail server and nobody to write to. */
	{ "SMTP_URL = smtp://mail.example.com", -1, "NOTIFY_EMAIL", NONE,
	    NULL, __LINE__ },
	{ "SMTP_URL = smtp://u:S3CRET@mail.example.com\n"
	    "SMTP_PASSWORD = S3CRET", -1, "NOTIFY_EMAIL", NONE, NULL,
	    __LINE__ },

	/* Webhook: http or https, a whsec_ key. */
	{ HOOK_OK, 0, NULL, HOOK, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = http://127.0.0.1:9000/hook", 0, NULL, HOOK,
	    NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_SECRET = S3CRETS3CRETS3CRETS3CRETS3CRETS3", 0, NULL,
	    HOOK, NULL, __LINE__ },
	/* Unpadded, as the reference libraries take it. */
	{ HOOK_OK "WEBHOOK_SECRET = whsec_S3CRETS3CRETS3CRETS3CRETS3CRETS3CR",
	    0, NULL, HOOK, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = ftp://hooks.example.com/in", -1,
	    "WEBHOOK_URL", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = file:///etc/passwd", -1, "WEBHOOK_URL",
	    NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = javascript:alert(1)", -1, "WEBHOOK_URL",
	    NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = gopher://hooks.example.com", -1,
	    "WEBHOOK_URL", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = hooks.example.com/in", -1, "WEBHOOK_URL",
	    NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = https://", -1, "WEBHOOK_URL", NONE, NULL,
	    __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = https://hooks.example.com/a b", -1,
	    "WEBHOOK_URL", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_URL = https://u:S3CRET@hooks\x01.example.com/", -1,
	    "WEBHOOK_URL", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_SECRET =", -1, "WEBHOOK_SECRET", NONE, NULL,
	    __LINE__ },
	{ "WEBHOOK_URL = https://hooks.example.com/in", -1, "WEBHOOK_SECRET",
	    NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_SECRET = whsec_S3CRET!S3CRETS3CRETS3CRETS3", -1,
	    "WEBHOOK_SECRET", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_SECRET = whsec_S3CRETS3CRET", -1,
	    "WEBHOOK_SECRET", NONE, NULL, __LINE__ },
	{ HOOK_OK "WEBHOOK_SECRET = S3CRET-not-base64", -1, "WEBHOOK_SECRET",
	    NONE, NULL, __LINE__ },

	/* Both, and the link's base. */
	{ MAIL_OK HOOK_OK, 0, NULL, MAIL | HOOK, NULL, __LINE__ },
	{ MAIL_OK HOOK_OK "NOTIFY_BACKOFF_S = 60", 0, NULL, MAIL | HOOK, "60",
	    __LINE__ },
	{ "PUBLIC_URL = https://intake.example.com", 0, NULL, NONE, NULL,
	    __LINE__ },
	{ "PUBLIC_URL = ftp://intake.example.com", -1, "PUBLIC_URL", NONE,
	    NULL, __LINE__ },
};

static void
test_notify(void)
{
	const struct notify_row	*t;
	static struct config	 c;
	char			 err[256], line[512], got[512];
	const char		*p, *e;
	size_t			 i, k, n;
	int			 rc;

	for (i = 0; i < sizeof(notify_rows) / sizeof(notify_rows[0]); i++) {
		t = &notify_rows[i];
		config_defaults(&c);
		for (p = t->lines; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
			e = p + strcspn(p, "\n");
			n = (size_t)(e - p) < sizeof(line) ? (size_t)(e - p) :
			    sizeof(line) - 1;
			memcpy(line, p, n);
			line[n] = '\0';
			rc = config_line(&c, line, err, sizeof(err));
			CHECK_AT(t->line, rc == 0, "config_line(\"%s\"): %s",
			    line, err);
		}
		memset(err, 0, sizeof(err));
		rc = config_notify(&c, err, sizeof(err));
		CHECK_AT(t->line, rc == t->want, "config_notify: rc %d, want "
		    "%d (%s)", rc, t->want, err);
		CHECK_AT(t->line, strstr(err, "S3CRET") == NULL, "reason "
		    "\"%s\" shows a secret", err);
		if (rc == -1 && t->want == -1 && t->err != NULL)
			CHECK_AT(t->line, strstr(err, t->err) != NULL, "reason "
			    "\"%s\" does not name %s", err, t->err);
		if (rc != 0 || t->want != 0)
			continue;
		CHECK_AT(t->line, c.notify_targets == t->targets, "targets "
		    "%#x, want %#x", c.notify_targets, t->targets);
		if (t->backoff == NULL)
			continue;
		got[0] = '\0';
		for (k = 0; k < c.nbackoff; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%ld", k > 0 ? "," : "", c.backoff_s[k]);
		CHECK_AT(t->line, strcmp(got, t->backoff) == 0, "backoff "
		    "\"%s\", want \"%s\"", got, t->backoff);
	}
}

/* The load runs config_notify after the environment, which it names. */
static void
test_notify_load(void)
{
	static struct config	 c;
	char			 err[512];
	int			 rc;

	env_clear();
	setenv("INTAKE_WEBHOOK_URL", "https://hooks.example.com/in", 1);
	setenv("INTAKE_WEBHOOK_SECRET", "whsec_S3CRET", 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "WEBHOOK_SECRET") != NULL &&
	    strstr(err, "S3CRET") == NULL, "env secret too short: rc %d, "
	    "\"%s\"", rc, err);
	setenv("INTAKE_WEBHOOK_SECRET", HOOK_KEY, 1);
	setenv("INTAKE_NOTIFY_BACKOFF_S", "10,20", 1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == 0 && c.notify_targets == CONFIG_TARGET_WEBHOOK &&
	    c.nbackoff == 2 && c.backoff_s[1] == 20, "env webhook: rc %d "
	    "(%s), targets %#x, %zu waits", rc, rc == 0 ? "" : err,
	    c.notify_targets, c.nbackoff);
	env_clear();
}

/*
 * config_origins: INTAKE_EMBED_ORIGINS goes into the page's CSP header
 * (frame-ancestors), so only origins pass: scheme, host, port.  The same
 * rows as tests/integration/test_embed_conf.py gives scripts/embed-origins.sh.
 */
static const struct origin_row {
	const char	*list;
	int		 want;
	int		 line;
} origin_rows[] = {
	{ "", 0, __LINE__ },
	{ "   ", 0, __LINE__ },
	{ "https://www.firm.example", 0, __LINE__ },
	{ "http://127.0.0.1:8081", 0, __LINE__ },
	{ "https://www.firm.example,https://firm.example", 0, __LINE__ },
	{ " https://a.example , http://b.example:8080\t", 0, __LINE__ },
	{ "HTTPS://WWW.FIRM.EXAMPLE:443", 0, __LINE__ },
	{ "https://my-firm.example", 0, __LINE__ },
	{ "http://localhost", 0, __LINE__ },
	{ "https://a.example:1", 0, __LINE__ },
	{ "https://a.example:65535", 0, __LINE__ },
	/* Nothing but scheme, host and port. */
	{ "https://a.example/", -1, __LINE__ },
	{ "https://a.example/path", -1, __LINE__ },
	{ "https://a.example?x", -1, __LINE__ },
	{ "https://*.a.example", -1, __LINE__ },
	{ "https://u@a.example", -1, __LINE__ },
	{ "https://[::1]", -1, __LINE__ },
	{ "https://\xc3\xa4.example", -1, __LINE__ },
	{ "a.example", -1, __LINE__ },
	{ "//a.example", -1, __LINE__ },
	{ "ftp://a.example", -1, __LINE__ },
	{ "javascript:alert(1)", -1, __LINE__ },
	{ "*", -1, __LINE__ },
	{ "'self'", -1, __LINE__ },
	{ "https://", -1, __LINE__ },
	{ "https://a..example", -1, __LINE__ },
	{ "https://.a.example", -1, __LINE__ },
	{ "https://a.example.", -1, __LINE__ },
	{ "https://-a.example", -1, __LINE__ },
	{ "https://a-.example", -1, __LINE__ },
	{ "https://a.-b.example", -1, __LINE__ },
	{ "https://a.example:", -1, __LINE__ },
	{ "https://a.example:0", -1, __LINE__ },
	{ "https://a.example:65536", -1, __LINE__ },
	{ "https://a.example:123456", -1, __LINE__ },
	{ "https://a.example:8x", -1, __LINE__ },
	{ "https://a.example:1:2", -1, __LINE__ },
	/* What would break out of the header or the directive. */
	{ "https://a.example;", -1, __LINE__ },
	{ "https://a.example; script-src *", -1, __LINE__ },
	{ "https://a.example 'unsafe-inline'", -1, __LINE__ },
	{ "https://a.example https://b.example", -1, __LINE__ },
	{ "https://a.example\"", -1, __LINE__ },
	{ "https://a'.example", -1, __LINE__ },
	{ "https://a.example\r\nX-Evil: 1", -1, __LINE__ },
	{ "https://a.example\nhttps://b.example", -1, __LINE__ },
	/* Empty entries. */
	{ "https://a.example,", -1, __LINE__ },
	{ ",https://a.example", -1, __LINE__ },
	{ "https://a.example,,https://b.example", -1, __LINE__ },
	{ ",", -1, __LINE__ },
};

static void
test_origins(void)
{
	const struct origin_row	*t;
	char			 err[256];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(origin_rows) / sizeof(origin_rows[0]); i++) {
		t = &origin_rows[i];
		err[0] = '\0';
		rc = config_origins(t->list, err, sizeof(err));
		CHECK_AT(t->line, rc == t->want, "config_origins(\"%s\"): rc "
		    "%d, want %d (%s)", t->list, rc, t->want, err);
		if (rc == -1)
			CHECK_AT(t->line, strstr(err, "EMBED_ORIGINS") != NULL,
			    "reason \"%s\" does not name EMBED_ORIGINS", err);
	}
}

/* intake.conf takes embed_origins; a bad one fails the load, as does the
   environment's. */
static void
test_origins_load(void)
{
	static struct config	 c;
	char			 err[512];
	int			 rc;

	config_defaults(&c);
	CHECK(c.embed_origins[0] == '\0', "EMBED_ORIGINS default \"%s\"",
	    c.embed_origins);
	rc = config_line(&c, "embed_origins = https://www.firm.example, "
	    "https://firm.example", err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.embed_origins, "https://www.firm.example, "
	    "https://firm.example") == 0, "embed_origins line: rc %d, \"%s\"",
	    rc, c.embed_origins);

	env_clear();
	setenv("INTAKE_EMBED_ORIGINS", "https://www.firm.example/", 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "EMBED_ORIGINS") != NULL, "env origin "
	    "with a path: rc %d, \"%s\"", rc, err);
	setenv("INTAKE_EMBED_ORIGINS", "http://127.0.0.1:8081,https://a.example",
	    1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.embed_origins, "http://127.0.0.1:8081,"
	    "https://a.example") == 0, "env origins: rc %d (%s), \"%s\"", rc,
	    rc == 0 ? "" : err, c.embed_origins);
	env_clear();
}

/* Write text to a new temporary file; its name into path. */
static void
file_write(char *path, size_t pathsz, const char *text)
{
	FILE	*f;
	int	 fd;

	snprintf(path, pathsz, "/tmp/test_config.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		perror("test_config: mkstemp");
		exit(1);
	}
	fputs(text, f);
	if (fclose(f) != 0) {
		perror("test_config: fclose");
		exit(1);
	}
}

static void
test_load_defaults(void)
{
	struct config	 c, d;
	char		 err[512];

	env_clear();
	config_defaults(&d);
	err[0] = '\0';
	CHECK(config_load(&c, err, sizeof(err)) == 0, "load: %s", err);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0, "no file, no env: not the "
	    "defaults");

	setenv("INTAKE_CONFIG", "", 1);
	CHECK(config_load(&c, err, sizeof(err)) == 0, "empty INTAKE_CONFIG: "
	    "%s", err);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0, "empty INTAKE_CONFIG: not the "
	    "defaults");
	env_clear();
}

static void
test_load_file(void)
{
	struct config	 c;
	char		 path[64], err[512];
	int		 rc;

	env_clear();
	file_write(path, sizeof(path),
	    "# intake settings\n"
	    "\n"
	    "DB = /tmp/from-file.db\n"
	    "INTAKE_MAX_TEXT = 500\n"
	    "firm_name = \"File Firm\"\r\n"
	    "   LLM_PROVIDER=openai\n"
	    "THREADS = 4");			/* no final newline */
	setenv("INTAKE_CONFIG", path, 1);

	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == 0, "load %s: %s", path, err);
	CHECK(strcmp(c.db, "/tmp/from-file.db") == 0, "db: \"%s\"", c.db);
	CHECK(c.text_max == 500, "text_max: %ld", c.text_max);
	CHECK(strcmp(c.firm_name, "File Firm") == 0, "firm_name: \"%s\"",
	    c.firm_name);
	CHECK(c.provider == PROVIDER_OPENAI, "provider: %s",
	    config_provider_name(c.provider));
	CHECK(c.threads == 4, "threads (last line, no newline): %ld",
	    c.threads);
	CHECK(c.client_id_max == 64, "client_id_max not the default: %ld",
	    c.client_id_max);

	/* The environment wins over the file. */
	setenv("INTAKE_MAX_TEXT", "700", 1);
	setenv("INTAKE_FIRM_NAME", "Env Firm", 1);
	setenv("INTAKE_LLM_PROVIDER", "anthropic", 1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == 0, "load with env: %s", err);
	CHECK(c.text_max == 700, "env text_max: %ld", c.text_max);
	CHECK(strcmp(c.firm_name, "Env Firm") == 0, "env firm_name: \"%s\"",
	    c.firm_name);
	CHECK(c.provider == PROVIDER_ANTHROPIC, "env provider: %s",
	    config_provider_name(c.provider));
	CHECK(strcmp(c.db, "/tmp/from-file.db") == 0, "file db lost: \"%s\"",
	    c.db);

	/* An environment value out of bounds is refused, naming the key. */
	setenv("INTAKE_MAX_TEXT", "0", 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "MAX_TEXT") != NULL,
	    "env MAX_TEXT=0: rc %d, \"%s\"", rc, err);
	setenv("INTAKE_MAX_TEXT", "700", 1);
	setenv("INTAKE_LLM_PROVIDER", "gpt", 1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "LLM_PROVIDER") != NULL,
	    "env LLM_PROVIDER=gpt: rc %d, \"%s\"", rc, err);
	setenv("INTAKE_LLM_PROVIDER", "openai", 1);
	setenv("INTAKE_ADMIN_TOKEN", SECRET260, 1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "ADMIN_TOKEN") != NULL &&
	    strstr(err, SECRET) == NULL, "env ADMIN_TOKEN too long: rc %d, "
	    "\"%s\"", rc, err);

	unlink(path);
	env_clear();
}

static const struct file_row {
	const char	*text;
	const char	*where;		/* ":N:" wanted after the path */
	const char	*err;		/* and this in the reason */
	int		 line;
} file_rows[] = {
	{ "DB = /x.db\n# a comment\nBOGUS_KEY = 1\nTHREADS = 2\n", ":3:",
	    "BOGUS_KEY", __LINE__ },
	{ "DB = /x.db\nMAX_TEXT = 0\n", ":2:", "MAX_TEXT", __LINE__ },
	{ "LLM_PROVIDER = gpt\n", ":1:", "LLM_PROVIDER", __LINE__ },
	{ "\n\n\n\nDB /x.db\n", ":5:", "key = value", __LINE__ },
	{ "DB = /x.db\r\nNOPE = 1\r\n", ":2:", "NOPE", __LINE__ },
	{ "DEFAULT_COUNTRY = GBRX", ":1:", "DEFAULT_COUNTRY", __LINE__ },
	{ "# ok\nADMIN_TOKEN = " SECRET260 "\n", ":2:", "ADMIN_TOKEN",
	    __LINE__ },
	{ "FIRM_NAME = " LONG1024 LONG1024 "\n", ":1:", "too long",
	    __LINE__ },
};

static void
test_load_file_errors(void)
{
	const struct file_row	*t;
	struct config		 c;
	char			 path[64], err[512], want[128];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(file_rows) / sizeof(file_rows[0]); i++) {
		t = &file_rows[i];
		env_clear();
		file_write(path, sizeof(path), t->text);
		setenv("INTAKE_CONFIG", path, 1);
		err[0] = '\0';
		rc = config_load(&c, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", path, t->where);
		CHECK_AT(t->line, rc == -1, "rc %d, want -1", rc);
		CHECK_AT(t->line, strncmp(err, want, strlen(want)) == 0,
		    "reason \"%s\" does not start with \"%s\"", err, want);
		CHECK_AT(t->line, strstr(err, t->err) != NULL,
		    "reason \"%s\" does not name \"%s\"", err, t->err);
		CHECK_AT(t->line, strstr(err, SECRET) == NULL,
		    "reason \"%s\" shows a secret", err);
		unlink(path);
	}
	env_clear();
}

/* A file that cannot be read is an error naming it. */
static void
test_load_missing(void)
{
	struct config	 c;
	char		 err[512];
	int		 rc;

	env_clear();
	setenv("INTAKE_CONFIG", "/nonexistent/intake.conf", 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "/nonexistent/intake.conf") != NULL,
	    "missing file: rc %d, \"%s\"", rc, err);
	env_clear();
}

/* Write len bytes to a new temporary file; its name into path. */
static void
file_write_bytes(char *path, size_t pathsz, const char *p, size_t len)
{
	int	 fd;

	snprintf(path, pathsz, "/tmp/test_config.XXXXXX");
	if ((fd = mkstemp(path)) == -1 ||
	    (len > 0 && write(fd, p, len) != (ssize_t)len) || close(fd) != 0) {
		perror("test_config: prompt file");
		exit(1);
	}
}

static const struct prompt_row {
	const char	*text;
	size_t		 len;
	int		 want;
	const char	*err;		/* on -1: in the reason */
	int		 line;
} prompt_rows[] = {
	{ "You answer for {firm}.\n", 23, 0, NULL, __LINE__ },
	{ "", 0, 0, NULL, __LINE__ },
	{ "caf\xc3\xa9 \xe2\x82\xac", 9, 0, NULL, __LINE__ },
	/* Not UTF-8 text: a NUL, a stray byte, a cut sequence. */
	{ "a\0b", 3, -1, "UTF-8", __LINE__ },
	{ "abc\xff", 4, -1, "UTF-8", __LINE__ },
	{ "abc\xc3", 4, -1, "UTF-8", __LINE__ },
};

/* The big ones: sizes around the limit, filled with 'p'. */
static const struct prompt_size_row {
	size_t		 len;
	int		 want;
	int		 line;
} prompt_size_rows[] = {
	{ CONFIG_PROMPT_MAX - 1, 0, __LINE__ },
	{ CONFIG_PROMPT_MAX, 0, __LINE__ },
	{ CONFIG_PROMPT_MAX + 1, -1, __LINE__ },
	{ 4 * CONFIG_PROMPT_MAX, -1, __LINE__ },
};

/* Load with INTAKE_SYSTEM_PROMPT_FILE=path; the checks every row makes. */
static void
prompt_check(int line, const char *path, const char *text, size_t len,
    int want, const char *werr)
{
	static struct config	 c;
	char			 err[512];
	int			 rc;

	env_clear();
	setenv("INTAKE_SYSTEM_PROMPT_FILE", path, 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	CHECK_AT(line, rc == want, "prompt of %zu bytes: rc %d, want %d (%s)",
	    len, rc, want, err);
	if (rc == 0 && want == 0) {
		CHECK_AT(line, c.system_prompt_len == len &&
		    memcmp(c.system_prompt, text, len) == 0 &&
		    c.system_prompt[len] == '\0', "prompt of %zu bytes read "
		    "as %zu", len, c.system_prompt_len);
	}
	if (want == -1) {
		CHECK_AT(line, strstr(err, "SYSTEM_PROMPT_FILE") != NULL &&
		    strstr(err, path) != NULL, "reason \"%s\" names neither "
		    "the setting nor the file", err);
		if (werr != NULL)
			CHECK_AT(line, strstr(err, werr) != NULL, "reason "
			    "\"%s\" does not say \"%s\"", err, werr);
	}
	env_clear();
}

static void
test_load_prompt(void)
{
	static char		 big[4 * CONFIG_PROMPT_MAX];
	static struct config	 c;
	char			 path[64], cpath[64], err[512], conf[128];
	size_t			 i;

	for (i = 0; i < sizeof(prompt_rows) / sizeof(prompt_rows[0]); i++) {
		file_write_bytes(path, sizeof(path), prompt_rows[i].text,
		    prompt_rows[i].len);
		prompt_check(prompt_rows[i].line, path, prompt_rows[i].text,
		    prompt_rows[i].len, prompt_rows[i].want,
		    prompt_rows[i].err);
		unlink(path);
	}
	memset(big, 'p', sizeof(big));
	for (i = 0; i < sizeof(prompt_size_rows) /
	    sizeof(prompt_size_rows[0]); i++) {
		file_write_bytes(path, sizeof(path), big,
		    prompt_size_rows[i].len);
		prompt_check(prompt_size_rows[i].line, path, big,
		    prompt_size_rows[i].len, prompt_size_rows[i].want,
		    "larger than 65536 bytes");
		unlink(path);
	}

	/* Missing, a directory, a FIFO (which must not hang the start). */
	prompt_check(__LINE__, "/nonexistent/prompt.txt", NULL, 0, -1,
	    "No such file");
	prompt_check(__LINE__, "/tmp", NULL, 0, -1, "not a regular file");
	snprintf(path, sizeof(path), "/tmp/test_config.fifo.%ld",
	    (long)getpid());
	if (mkfifo(path, 0600) == 0) {
		prompt_check(__LINE__, path, NULL, 0, -1,
		    "not a regular file");
		unlink(path);
	} else
		CHECK(0, "mkfifo %s failed", path);

	/* Unset: no text, the built-in prompt is used. */
	env_clear();
	CHECK(config_load(&c, err, sizeof(err)) == 0 &&
	    c.system_prompt_len == 0 && c.system_prompt[0] == '\0',
	    "no prompt file: %s", err);

	/* Named in the config file: read the same. */
	file_write_bytes(path, sizeof(path), "From the file {firm}", 20);
	snprintf(conf, sizeof(conf), "system_prompt_file = %s\n", path);
	file_write(cpath, sizeof(cpath), conf);
	setenv("INTAKE_CONFIG", cpath, 1);
	CHECK(config_load(&c, err, sizeof(err)) == 0 &&
	    c.system_prompt_len == 20 &&
	    strcmp(c.system_prompt, "From the file {firm}") == 0,
	    "prompt file named in INTAKE_CONFIG: \"%s\" (%s)",
	    c.system_prompt, err);
	unlink(cpath);
	unlink(path);
	env_clear();
}

/* mkdir -p of path (mode 0700), or exit. */
static void
mkdirs(const char *path)
{
	char	buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(buf, 0700);
			*p = '/';
		}
	if (mkdir(buf, 0700) == -1 && access(buf, F_OK) == -1) {
		perror(buf);
		exit(1);
	}
}

static void
put(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
test_discover(void)
{
	static struct config	 c;
	char			 top[64], exe[128], home[128], beside[128];
	char			 conf[256], want[512], err[512], other[128];
	int			 rc;

	env_clear();
	snprintf(top, sizeof(top), "/tmp/test_config.d.XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(exe, sizeof(exe), "%s/acct/public_html/api/intake.cgi", top);
	snprintf(home, sizeof(home), "%s/acct/intake", top);
	snprintf(conf, sizeof(conf), "%s/intake.conf", home);
	snprintf(beside, sizeof(beside), "%s/acct/public_html/api/intake.conf",
	    top);
	snprintf(want, sizeof(want), "%s/acct/public_html/api", top);
	mkdirs(want);
	mkdirs(home);

	/* Nothing anywhere: the defaults, not configured. */
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && c.file[0] == '\0' && c.how == CONFIG_HOW_NONE &&
	    strcmp(c.db, "var/intake.db") == 0 && !config_found(&c),
	    "no file: rc %d, file \"%s\", db \"%s\"", rc, c.file, c.db);
	setenv("INTAKE_DB", "/tmp/env.db", 1);
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && c.db_env && config_found(&c) &&
	    strcmp(c.db, "/tmp/env.db") == 0, "INTAKE_DB alone configures");
	env_clear();

	/* ~/intake/intake.conf from public_html/api/: relative paths are
	   the file's folder's, and the database is made there. */
	put(conf, "firm_name = Found\nlog_file = intake.log\n"
	    "system_prompt_file = prompt.txt\nextractor = bin/x\n");
	snprintf(want, sizeof(want), "%s/prompt.txt", home);
	put(want, "The prompt {firm}");
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0, "found in intake/: %s", err);
	CHECK(strcmp(c.file, conf) == 0 && c.how == CONFIG_HOW_HOME,
	    "file \"%s\" how %d", c.file, c.how);
	CHECK(strcmp(c.firm_name, "Found") == 0, "firm \"%s\"", c.firm_name);
	snprintf(want, sizeof(want), "%s/intake.db", home);
	CHECK(strcmp(c.db, want) == 0, "db \"%s\", want \"%s\"", c.db, want);
	snprintf(want, sizeof(want), "%s/intake.log", home);
	CHECK(strcmp(c.log_file, want) == 0, "log_file \"%s\"", c.log_file);
	snprintf(want, sizeof(want), "%s/bin/x", home);
	CHECK(strcmp(c.extractor, want) == 0, "extractor \"%s\"",
	    c.extractor);
	CHECK(strcmp(c.system_prompt, "The prompt {firm}") == 0,
	    "prompt \"%s\"", c.system_prompt);
	CHECK(config_found(&c) && !c.db_env, "found, db not from env");

	/* A relative db in the file; an absolute one as it is; the
	   environment's as it is (relative to the working folder). */
	put(conf, "db = data/x.db\n");
	rc = config_load_as(&c, exe, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/data/x.db", home);
	CHECK(rc == 0 && strcmp(c.db, want) == 0, "relative db \"%s\"", c.db);
	put(conf, "db = /var/lib/intake/intake.db\n");
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.db, "/var/lib/intake/intake.db") == 0,
	    "absolute db \"%s\"", c.db);
	setenv("INTAKE_DB", "rel/env.db", 1);
	setenv("INTAKE_LOG_FILE", "rel.log", 1);
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.db, "rel/env.db") == 0 &&
	    strcmp(c.log_file, "rel.log") == 0 && c.db_env, "environment's "
	    "paths: \"%s\", \"%s\"", c.db, c.log_file);
	env_clear();

	/* A bad line: the error, and still which file and database. */
	put(conf, "firm_name = X\nnope = 1\n");
	rc = config_load_as(&c, exe, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/intake.db", home);
	CHECK(rc == -1 && strstr(err, ":2:") != NULL &&
	    strcmp(c.file, conf) == 0 && strcmp(c.db, want) == 0,
	    "bad line: rc %d \"%s\" file \"%s\" db \"%s\"", rc, err, c.file,
	    c.db);
	put(conf, "firm_name = Found\n");

	/* Beside the program comes first. */
	put(beside, "firm_name = Beside\n");
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.file, beside) == 0 &&
	    c.how == CONFIG_HOW_BESIDE && strcmp(c.firm_name, "Beside") == 0,
	    "beside: \"%s\"", c.file);
	unlink(beside);

	/* INTAKE_CONFIG over both. */
	snprintf(other, sizeof(other), "%s/other.conf", top);
	put(other, "firm_name = Named\n");
	setenv("INTAKE_CONFIG", other, 1);
	rc = config_load_as(&c, exe, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/intake.db", top);
	CHECK(rc == 0 && strcmp(c.file, other) == 0 &&
	    c.how == CONFIG_HOW_ENV && strcmp(c.firm_name, "Named") == 0 &&
	    strcmp(c.db, want) == 0, "INTAKE_CONFIG: \"%s\" db \"%s\"",
	    c.file, c.db);
	env_clear();

	/* Another account's file is not taken (the program is ours). */
	put(exe, "");
	if (geteuid() == 0 && chown(conf, 4242, 4242) == 0) {
		rc = config_load_as(&c, exe, err, sizeof(err));
		CHECK(rc == 0 && c.file[0] == '\0', "another account's "
		    "intake.conf was read: \"%s\"", c.file);
		if (chown(conf, 0, 0) != 0)
			perror("chown");
	}
	rc = config_load_as(&c, exe, err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.file, conf) == 0, "our own intake.conf "
	    "beside a real program: \"%s\"", c.file);

	snprintf(want, sizeof(want), "rm -rf '%s'", top);
	if (system(want) != 0)
		perror(want);
	env_clear();
}

int
main(void)
{
	test_defaults();
	test_line();
	test_line_sequence();
	test_notify();
	test_load_defaults();
	test_load_file();
	test_load_file_errors();
	test_load_missing();
	test_notify_load();
	test_origins();
	test_origins_load();
	test_load_prompt();
	test_discover();
	return check_done("config");
}
