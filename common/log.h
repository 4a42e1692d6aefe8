/*
 * log.h: one line per event on standard error, which every web server
 * puts in its error log.  Never pass a secret (API key, token) to these.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

void	log_init(const char *progname);
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
