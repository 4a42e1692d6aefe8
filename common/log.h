/*
 * log.h: one line per event on standard error, which Apache puts in its
 * error log, or in INTAKE_LOG_FILE when that is set (lighttpd does not
 * send a FastCGI program's stderr to its server.errorlog, and a shared
 * host's account cannot read Apache's).  Never pass a secret (API key,
 * token) to these.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

void	log_init(const char *progname);

/*
 * From now on, append the lines to path (created mode 0600) instead of
 * stderr; NULL or "" goes back to stderr.  0, or -1 when path cannot be
 * opened (said on stderr, which stays the log).  Call it before threads
 * start.
 */
int	log_open(const char *path);
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Like log_warnx, with ": strerror(errno)" appended. */
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * The text of errno value err, safe from any thread (strerror_r, not
 * strerror): in buf, or a string of the C library's own.
 */
const char *log_strerror(int err, char *buf, size_t bufsz);

#endif
