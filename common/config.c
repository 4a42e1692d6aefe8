/*
 * config.c: one table lists every setting with its type, bounds and
 * default, so the environment, the config file and the documentation
 * cannot drift apart.  The file parser is the cgit kind: line by line,
 * bounded, no includes, no surprises.  Which file, and what its relative
 * paths mean, is decided here too (the candidates come from paths.c), so
 * both programs find the same one.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "log.h"
#include "db.h"
#include "utf8.h"
#include "webhook.h"

#include <openssl/evp.h>

enum cfg_type {
	CFG_STR,
	CFG_PATH,	/* a string; in a file, relative to its folder */
	CFG_LONG,
	CFG_PROVIDER,
};

struct cfg_key {
	const char	*name;		/* without the INTAKE_ prefix */
	enum cfg_type	 type;
	size_t		 off;
	size_t		 size;		/* CFG_STR: buffer size */
	long		 min, max;	/* CFG_LONG: bounds */
	const char	*def;
};

#define S(n, f, d)	 { n, CFG_STR, offsetof(struct config, f), \
			    sizeof(((struct config *)0)->f), 0, 0, d }
#define P(n, f, d)	 { n, CFG_PATH, offsetof(struct config, f), \
			    sizeof(((struct config *)0)->f), 0, 0, d }
#define L(n, f, lo, hi, d) { n, CFG_LONG, offsetof(struct config, f), 0, \
			    lo, hi, d }

static const struct cfg_key keys[] = {
	P("DB",			db,		"var/intake.db"),
	{ "LLM_PROVIDER", CFG_PROVIDER, offsetof(struct config, provider),
	    0, 0, 0, "builtin" },
	S("LLM_URL",		llm_url,	""),
	S("LLM_API_KEY",	api_key,	""),
	S("LLM_MODEL",		model,		""),
	S("EXTRACT_MODEL",	extract_model,	""),
	S("ADMIN_TOKEN",	admin_token,	""),
	S("FIRM_NAME",		firm_name,	"our firm"),
	P("SYSTEM_PROMPT_FILE",	system_prompt_file, ""),
	P("EXTRACTOR",		extractor,	""),
	S("LLM_PROXY",		proxy,		""),
	P("LOG_FILE",		log_file,	""),
	S("DEFAULT_COUNTRY",	country,	"US"),
	S("MATTER_TYPES",	matter_types,	"personal_injury,family,"
	    "criminal,employment,immigration,estate_planning,real_estate,"
	    "business,other"),
	L("MAX_EXTRACTORS",	max_extractors,	1, 256, "8"),
	/* Workers start as needed (cgi/main.c); this caps them. */
	L("THREADS",		threads,	1, 32768, "4096"),
	L("WORD_DELAY_MS",	word_delay_ms,	0, 5000, "25"),
	L("MAX_BODY",		body_max,	1024, 16 << 20, "65536"),
	L("BODY_TIMEOUT_MS",	body_timeout_ms, 100, 600000, "10000"),
	L("MAX_TEXT",		text_max,	1, 1000000, "8000"),
	L("MAX_CLIENT_ID",	client_id_max,	1, 1024, "64"),
	L("MAX_TURNS",		turns_max,	1, 100000, "200"),
	L("RATE_CONVERSATIONS",	rate_conversations, 0, 1000000, "10"),
	L("RATE_MESSAGES",	rate_messages,	0, 1000000, "30"),
	L("MAX_STREAMS_PER_ADDR", streams_per_addr, 0, 100000, "16"),
	L("MAX_FOLLOWS_PER_CONV", follows_per_conv, 0, 100000, "8"),
	L("HISTORY_MESSAGES",	history_max,	1, 10000, "40"),
	L("MAX_REPLY",		reply_max,	1024, 16 << 20, "65536"),
	L("CONNECT_TIMEOUT_MS",	connect_timeout_ms, 100, 600000, "10000"),
	L("FIRST_TOKEN_TIMEOUT_MS", first_token_ms, 100, 3600000, "60000"),
	L("GAP_TIMEOUT_MS",	gap_ms,		100, 3600000, "30000"),
	L("TOTAL_TIMEOUT_MS",	total_ms,	100, 36000000, "300000"),
	/* Below the page's 60 s: it takes a silent minute as a dead stream. */
	L("PING_MS",		ping_ms,	100, 50000, "10000"),
	L("BUSY_TIMEOUT_MS",	busy_timeout_ms, 0, 600000, "5000"),
	L("STALE_MS",		stale_ms,	1000, 3600000, "30000"),
	L("DB_POOL",		db_pool,	1, 256, "4"),
	S("NODE",		node,		""),
	L("EXTRACT_TIMEOUT_MS",	extract_timeout_ms, 100, 3600000, "60000"),
	L("EXTRACT_LINGER_MS",	extract_linger_ms, 0, 60000, "1500"),
	L("EVENTS_QUERY_TOKEN",	events_query_token, 0, 1, "1"),
	S("PUBLIC_URL",		public_url,	""),
	S("NOTIFY_EMAIL",	notify_email,	""),
	S("SMTP_URL",		smtp_url,	""),
	S("SMTP_USER",		smtp_user,	""),
	S("SMTP_PASSWORD",	smtp_password,	""),
	S("SMTP_FROM",		smtp_from,	""),
	S("WEBHOOK_URL",	webhook_url,	""),
	S("WEBHOOK_SECRET",	webhook_secret,	""),
	L("NOTIFY_TIMEOUT_MS",	notify_timeout_ms, 100, 600000, "15000"),
	L("NOTIFY_TRANSCRIPT",	notify_transcript, 0, 1, "0"),
	S("NOTIFY_BACKOFF_S",	notify_backoff,	"30,120,600,3600,21600,86400"),
	L("RETENTION_DAYS",	retention_days,	0, 36500, "0"),
	P("DISCLOSURE_FILE",	disclosure_file, ""),
	S("EMBED_ORIGINS",	embed_origins,	""),
};

#undef S
#undef P
#undef L

/* What the page says before the first message, unless a file replaces it. */
static const char config_disclosure_default[] =
    "You are chatting with an automated intake assistant, not a lawyer. "
    "Nothing it says is legal advice, and this conversation does not "
    "create an attorney-client relationship. What you write is sent to "
    "the firm so that someone can get back to you; please do not share "
    "anything you would not want the firm to read.";

static int	config_disclosure(struct config *, char *, size_t);

static const char *const provider_names[PROVIDER__MAX] = {
	"builtin", "openai", "anthropic",
};

const char *
config_provider_name(enum provider p)
{
	return (unsigned)p < PROVIDER__MAX ? provider_names[p] : "?";
}

/* Set key k from value v; 0, or -1 with err. */
static int
config_set(struct config *cfg, const struct cfg_key *k, const char *v,
    char *err, size_t errsz)
{
	char		*base = (char *)cfg + k->off, *end;
	long		 n;
	size_t		 len;
	int		 i;

	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
		len = strlen(v);
		if (len >= k->size) {
			snprintf(err, errsz, "%s: longer than %zu bytes",
			    k->name, k->size - 1);
			return -1;
		}
		memcpy(base, v, len + 1);
		return 0;
	case CFG_LONG:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' ||
		    n < k->min || n > k->max) {
			snprintf(err, errsz, "%s: want a whole number from "
			    "%ld to %ld", k->name, k->min, k->max);
			return -1;
		}
		memcpy(base, &n, sizeof(n));
		return 0;
	case CFG_PROVIDER:
		for (i = 0; i < PROVIDER__MAX; i++)
			if (strcasecmp(v, provider_names[i]) == 0) {
				cfg->provider = (enum provider)i;
				return 0;
			}
		snprintf(err, errsz, "%s: want builtin, openai or anthropic",
		    k->name);
		return -1;
	}
	return -1;
}

static const struct cfg_key *
config_key(const char *name, size_t len)
{
	size_t	i;

	if (len > 7 && strncasecmp(name, "INTAKE_", 7) == 0) {
		name += 7;
		len -= 7;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == len &&
		    strncasecmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

void
config_defaults(struct config *cfg)
{
	char	err[128];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_set(cfg, &keys[i], keys[i].def, err,
		    sizeof(err)) == -1)
			abort();	/* a default out of its own bounds */
	if (config_notify(cfg, err, sizeof(err)) == -1 ||
	    config_disclosure(cfg, err, sizeof(err)) == -1)
		abort();
}

/* 1 when s starts with scheme (say "smtp://"), in any case. */
static int
config_scheme(const char *s, const char *scheme)
{
	return strncasecmp(s, scheme, strlen(scheme)) == 0 &&
	    s[strlen(scheme)] != '\0';
}

/* 1 when s holds a space or a control character (none in a URL). */
static int
config_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * The next item of the comma list at *rest, trimmed of spaces and tabs
 * (it may be empty): its start, with *len its length; *rest moves past
 * it.  NULL when the list is done.
 */
static const char *
config_item(const char **rest, size_t *len)
{
	const char	*p = *rest, *e;

	if (p == NULL)
		return NULL;
	e = strchr(p, ',');
	*len = e != NULL ? (size_t)(e - p) : strlen(p);
	*rest = e != NULL ? e + 1 : NULL;
	while (*len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		(*len)--;
	}
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return p;
}

/* Every address of a comma list is one; 0, or -1 with err. */
static int
config_addresses(const char *name, const char *list, int one, char *err,
    size_t errsz)
{
	char		 norm[FIELD_VALUE_MAX];
	const char	*rest = list, *p;
	size_t		 len, n = 0;

	while ((p = config_item(&rest, &len)) != NULL) {
		/* As written, no more: field_normalise would take
		   "<a@b.com>", "mailto:a@b.com" or a control or format
		   character, which must not reach MAIL_RCPT or a header. */
		if (len == 0 || field_normalise(FIELD_EMAIL, p, len, NULL,
		    norm, sizeof(norm)) != 2 || strlen(norm) != len ||
		    strncasecmp(norm, p, len) != 0) {
			snprintf(err, errsz, "%s: want %s e-mail address%s",
			    name, one ? "an" : "comma-separated",
			    one ? "" : "es");
			return -1;
		}
		n++;
	}
	if (one && n != 1) {
		snprintf(err, errsz, "%s: want one e-mail address", name);
		return -1;
	}
	return 0;
}

int
config_notify(struct config *cfg, char *err, size_t errsz)
{
	unsigned char	 key[WEBHOOK_KEY_MAX];
	const char	*p = cfg->notify_backoff;
	char		*end;
	size_t		 keylen;
	long		 n;

	cfg->nbackoff = 0;
	cfg->notify_targets = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		errno = 0;
		n = strtol(p, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno != 0 || end == p || n < 1 || n > 30 * 86400 ||
		    (*end != ',' && *end != '\0') ||
		    cfg->nbackoff == CONFIG_BACKOFF_MAX) {
			snprintf(err, errsz, "NOTIFY_BACKOFF_S: want up to %d "
			    "comma-separated waits in seconds, each from 1 to "
			    "2592000", CONFIG_BACKOFF_MAX);
			return -1;
		}
		cfg->backoff_s[cfg->nbackoff++] = n;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (cfg->public_url[0] != '\0' && ((!config_scheme(cfg->public_url,
	    "http://") && !config_scheme(cfg->public_url, "https://")) ||
	    config_blank(cfg->public_url))) {
		snprintf(err, errsz, "PUBLIC_URL: want the site's address, "
		    "http:// or https://");
		return -1;
	}
	if (cfg->notify_email[0] != '\0') {
		if (config_addresses("NOTIFY_EMAIL", cfg->notify_email, 0, err,
		    errsz) == -1)
			return -1;
		if ((!config_scheme(cfg->smtp_url, "smtp://") &&
		    !config_scheme(cfg->smtp_url, "smtps://")) ||
		    config_blank(cfg->smtp_url)) {
			snprintf(err, errsz, "SMTP_URL: want smtp://HOST:PORT "
			    "or smtps://HOST:PORT to send NOTIFY_EMAIL");
			return -1;
		}
		if (config_addresses("SMTP_FROM", cfg->smtp_from, 1, err,
		    errsz) == -1)
			return -1;
		cfg->notify_targets |= CONFIG_TARGET_EMAIL;
	} else if (cfg->smtp_url[0] != '\0') {
		snprintf(err, errsz, "SMTP_URL is set but NOTIFY_EMAIL names "
		    "nobody to write to");
		return -1;
	}
	if (cfg->webhook_url[0] != '\0') {
		if ((!config_scheme(cfg->webhook_url, "http://") &&
		    !config_scheme(cfg->webhook_url, "https://")) ||
		    config_blank(cfg->webhook_url)) {
			snprintf(err, errsz, "WEBHOOK_URL: want an http:// or "
			    "https:// address");
			return -1;
		}
		if (webhook_key(cfg->webhook_secret, key, &keylen) == -1) {
			snprintf(err, errsz, "WEBHOOK_SECRET: want whsec_ and "
			    "the base64 of a key of %d to %d bytes",
			    WEBHOOK_KEY_MIN, WEBHOOK_KEY_MAX);
			return -1;
		}
		OPENSSL_cleanse(key, keylen);
		cfg->notify_targets |= CONFIG_TARGET_WEBHOOK;
	}
	return 0;
}

/* 1 when the len bytes at s are one origin config_origins takes. */
static int
config_origin(const char *s, size_t len)
{
	size_t	i, host;
	long	port = 0;
	char	c;

	if (len > 8 && strncasecmp(s, "https://", 8) == 0)
		i = 8;
	else if (len > 7 && strncasecmp(s, "http://", 7) == 0)
		i = 7;
	else
		return 0;
	/* Labels of letters, digits and inner '-', between dots. */
	for (host = i; i < len && s[i] != ':'; i++) {
		c = s[i];
		if (c == '.' || c == '-') {
			if (i == host || s[i - 1] == '.' ||
			    (c == '.' && s[i - 1] == '-'))
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return 0;
	}
	if (i == host || s[i - 1] == '.' || s[i - 1] == '-')
		return 0;
	if (i == len)
		return 1;
	if (++i == len || len - i > 5)
		return 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

int
config_origins(const char *list, char *err, size_t errsz)
{
	const char	*rest = list, *p;
	size_t		 len;

	if (list[strspn(list, " \t")] == '\0')
		return 0;		/* none: the page refuses every frame */
	while ((p = config_item(&rest, &len)) != NULL) {
		if (!config_origin(p, len)) {
			snprintf(err, errsz, "EMBED_ORIGINS: want comma-separated "
			    "origins such as https://www.firm.example or "
			    "http://127.0.0.1:8081 (scheme, host and port only)");
			return -1;
		}
	}
	return 0;
}

int
config_line(struct config *cfg, const char *line, char *err, size_t errsz)
{
	const struct cfg_key	*k;
	const char		*p = line, *name, *eq, *v, *e;
	char			 val[1024];
	size_t			 nlen, vlen;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if ((eq = strchr(p, '=')) == NULL) {
		snprintf(err, errsz, "want key = value");
		return -1;
	}
	name = p;
	for (e = eq; e > name && isspace((unsigned char)e[-1]); e--)
		;
	nlen = (size_t)(e - name);
	if ((k = config_key(name, nlen)) == NULL) {
		snprintf(err, errsz, "unknown key \"%.*s\"",
		    (int)(nlen > 64 ? 64 : nlen), name);
		return -1;
	}
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	vlen = strlen(v);
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	/* A value may be quoted to keep spaces at its ends; '#' starts
	   a comment only at the start of a line. */
	if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		v++;
		vlen -= 2;
	}
	if (vlen >= sizeof(val)) {
		snprintf(err, errsz, "%s: value too long", k->name);
		return -1;
	}
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	return config_set(cfg, k, val, err, errsz);
}

/* Read the config file at path; 0, or -1 with "path:line: reason". */
static int
config_file(struct config *cfg, const char *path, char *err, size_t errsz)
{
	FILE	*f;
	char	 line[2048], why[256], ebuf[128];
	int	 lineno = 0, rc = -1;
	size_t	 len;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "%s: %s", path,
		    log_strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errsz, "%s:%d: line too long", path,
			    lineno);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (config_line(cfg, line, why, sizeof(why)) == -1) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, why);
			goto out;
		}
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

/*
 * Read the text file path (a setting named key) into buf, at most max
 * bytes of UTF-8 (buf holds max + 1); *lenp its length.  Opened without
 * blocking, so a FIFO named by mistake cannot hang the start.  0, or -1
 * with "KEY: path: reason" (buf then empty).
 */
static int
config_text_file(const char *key, const char *path, char *buf, size_t max,
    size_t *lenp, char *err, size_t errsz)
{
	struct stat	 sb;
	ssize_t		 n;
	size_t		 len = 0;
	char		 ebuf[128];
	int		 fd, rc = -1;

	buf[0] = '\0';
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errsz, "%s: %s: %s", key, path,
		    log_strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%s: %s: not a regular file", key, path);
		goto out;
	}
	/* One byte more than allowed tells a file too large. */
	while (len < max + 1 && (n = read(fd, buf + len, max + 1 - len)) !=
	    0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsz, "%s: %s: %s", key, path,
			    log_strerror(errno, ebuf, sizeof(ebuf)));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > max) {
		snprintf(err, errsz, "%s: %s: larger than %zu bytes", key,
		    path, max);
		goto out;
	}
	if (!utf8_valid(buf, len)) {
		snprintf(err, errsz, "%s: %s: not UTF-8 text (or has a NUL "
		    "byte)", key, path);
		goto out;
	}
	buf[len] = '\0';
	*lenp = len;
	rc = 0;
out:
	if (rc == -1)
		buf[0] = '\0';
	close(fd);
	return rc;
}

/* The disclosure's text (the file's, else the built-in) and its hash. */
static int
config_disclosure(struct config *cfg, char *err, size_t errsz)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	if (cfg->disclosure_file[0] != '\0') {
		if (config_text_file("DISCLOSURE_FILE", cfg->disclosure_file,
		    cfg->disclosure, CONFIG_DISCLOSURE_MAX,
		    &cfg->disclosure_len, err, errsz) == -1)
			return -1;
	} else {
		snprintf(cfg->disclosure, sizeof(cfg->disclosure), "%s",
		    config_disclosure_default);
		cfg->disclosure_len = strlen(cfg->disclosure);
	}
	if (!EVP_Digest(cfg->disclosure, cfg->disclosure_len, md, &mdlen,
	    EVP_sha256(), NULL) || mdlen != 32) {
		snprintf(err, errsz, "DISCLOSURE_FILE: cannot hash the text");
		return -1;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(cfg->disclosure_sha256 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/*
 * Clear the path keys before a file is read, so that afterwards a value
 * is known to be the file's own (the default db is not).
 */
static void
config_paths_clear(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].type == CFG_PATH)
			*((char *)cfg + keys[i].off) = '\0';
}

/*
 * Make the file's relative paths relative to its folder dir, and put a
 * database the file does not name there.  0, or -1 with err.
 */
static int
config_paths_resolve(struct config *cfg, const char *dir, char *err,
    size_t errsz)
{
	const struct cfg_key	*k;
	char			*v, joined[PATHS_MAX];
	size_t			 i;

	if (cfg->db[0] == '\0')
		snprintf(cfg->db, sizeof(cfg->db), "intake.db");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		k = &keys[i];
		v = (char *)cfg + k->off;
		if (k->type != CFG_PATH || v[0] == '\0' || v[0] == '/')
			continue;
		/* A PostgreSQL URI is not a file. */
		if (v == cfg->db && db_engine_of(v) == DB_POSTGRES)
			continue;
		if (paths_join(dir, v, joined, sizeof(joined)) == -1 ||
		    strlen(joined) >= k->size) {
			snprintf(err, errsz, "%s: longer than %zu bytes with "
			    "the folder of the configuration (%s) before it",
			    k->name, k->size - 1, dir);
			return -1;
		}
		memcpy(v, joined, strlen(joined) + 1);
	}
	return 0;
}

int
config_self(char *dir, size_t dirsz, char *exe, size_t exesz)
{
	char	self[PATHS_MAX];
	ssize_t	n;
	size_t	len;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		log_warn("readlink /proc/self/exe");
		return -1;
	}
	self[n] = '\0';
	/* A program replaced while it runs: the name it was started as. */
	len = (size_t)n;
	if (len > 10 && strcmp(self + len - 10, " (deleted)") == 0)
		self[len - 10] = '\0';
	if (exe != NULL && snprintf(exe, exesz, "%s", self) >= (int)exesz)
		return -1;
	return paths_dirname(self, dir, dirsz);
}

/*
 * Pick the configuration file: INTAKE_CONFIG, else the first found from
 * exe (NULL: this program) that belongs to the program's owner: a
 * program placed one level too high (~/public_html/intake.cgi) would
 * otherwise look in /home/intake/, another account's home.
 */
static void
config_discover(struct config *cfg, const char *as)
{
	struct paths_list	 cand;
	struct stat		 prog, sb;
	const char		*env = getenv("INTAKE_CONFIG");
	char			 dir[PATHS_MAX], exe[PATHS_MAX];
	size_t			 i;
	int			 known;

	cfg->file[0] = '\0';
	cfg->how = CONFIG_HOW_NONE;
	if (env != NULL && *env != '\0') {
		snprintf(cfg->file, sizeof(cfg->file), "%s", env);
		cfg->how = CONFIG_HOW_ENV;
		return;
	}
	if (as != NULL)
		snprintf(exe, sizeof(exe), "%s", as);
	else if (config_self(dir, sizeof(dir), exe, sizeof(exe)) == -1)
		return;
	paths_config_candidates(exe, &cand);
	known = stat(exe, &prog) == 0;
	for (i = 0; i < cand.n; i++)
		if (stat(cand.path[i], &sb) == 0 &&
		    (!known || sb.st_uid == prog.st_uid)) {
			snprintf(cfg->file, sizeof(cfg->file), "%s",
			    cand.path[i]);
			cfg->how = paths_config_how(i);
			return;
		}
}

int
config_load(struct config *cfg, char *err, size_t errsz)
{
	return config_load_as(cfg, NULL, err, errsz);
}

int
config_load_as(struct config *cfg, const char *exe, char *err, size_t errsz)
{
	const char	*v;
	char		 env[64], dir[PATHS_MAX];
	size_t		 i;
	int		 rc;

	config_defaults(cfg);
	config_discover(cfg, exe);
	if (cfg->file[0] != '\0') {
		config_paths_clear(cfg);
		rc = config_file(cfg, cfg->file, err, errsz);
		if (paths_dirname(cfg->file, dir, sizeof(dir)) == -1) {
			snprintf(err, errsz, "%s: path too long", cfg->file);
			return -1;
		}
		/* Even after an error: --check names the database it means. */
		if (rc == -1) {
			config_paths_resolve(cfg, dir, env, sizeof(env));
			return -1;
		}
		if (config_paths_resolve(cfg, dir, err, errsz) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(env, sizeof(env), "INTAKE_%s", keys[i].name);
		if ((v = getenv(env)) == NULL)
			continue;
		if (config_set(cfg, &keys[i], v, err, errsz) == -1)
			return -1;
		if (keys[i].off == offsetof(struct config, db))
			cfg->db_env = 1;
	}
	if (cfg->system_prompt_file[0] != '\0' &&
	    config_text_file("SYSTEM_PROMPT_FILE", cfg->system_prompt_file,
	    cfg->system_prompt, CONFIG_PROMPT_MAX, &cfg->system_prompt_len,
	    err, errsz) == -1)
		return -1;
	if (config_disclosure(cfg, err, errsz) == -1)
		return -1;
	if (config_origins(cfg->embed_origins, err, errsz) == -1)
		return -1;
	return config_notify(cfg, err, errsz);
}

int
config_found(const struct config *cfg)
{
	return cfg->file[0] != '\0' || cfg->db_env;
}

int
config_extractor(const struct config *cfg, char *out, size_t outsz)
{
	struct paths_list	cand;
	char			dir[PATHS_MAX];
	size_t			i;

	if (cfg->extractor[0] != '\0')
		dir[0] = '\0';
	else if (config_self(dir, sizeof(dir), NULL, 0) == -1)
		dir[0] = '\0';
	paths_extractor_candidates(cfg->extractor, dir, cfg->file, &cand);
	if (cand.n == 0)
		return -1;
	for (i = 0; i < cand.n; i++)
		if (access(cand.path[i], F_OK) == 0)
			break;
	if (i == cand.n)
		i = 0;
	if (snprintf(out, outsz, "%s", cand.path[i]) >= (int)outsz)
		return -1;
	return 0;
}

void
config_field_opts(const struct config *cfg, struct field_opts *opts,
    char *buf, size_t bufsz)
{
	char	*p, *save = NULL;

	field_opts_default(opts);
	opts->default_country = cfg->country;
	if (cfg->matter_types[0] == '\0' || bufsz == 0)
		return;
	snprintf(buf, bufsz, "%s", cfg->matter_types);
	opts->n_matter_types = 0;
	for (p = strtok_r(buf, ", ", &save); p != NULL &&
	    opts->n_matter_types < FIELD_MATTER_TYPES_MAX;
	    p = strtok_r(NULL, ", ", &save))
		opts->matter_types[opts->n_matter_types++] = p;
}
