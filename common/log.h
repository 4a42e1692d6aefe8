/*
 * log.h: one line per event on standard error, which every web server
 * puts in its error log.  Never pass a secret (API key, token) to these.
 */
#ifndef LOG_H
#define LOG_H

void	log_init(const char *progname);
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Like log_warnx, with ": strerror(errno)" appended. */
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
