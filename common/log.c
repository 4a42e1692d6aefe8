/*
 * log.c: timestamped lines on stderr, each written with one write(2) so
 * lines from threads and processes sharing the log do not interleave.
 * Nothing here keeps state a thread could clobber: strerror's buffer may
 * be shared, so errors are worded with strerror_r into the caller's.  The
 * log file, when there is one, is opened O_APPEND: lines from the web
 * program and its extractors land whole, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char	*log_prog = "intake";
static int		 log_fd = STDERR_FILENO;

void
log_init(const char *progname)
{
	log_prog = progname;
}

int
log_open(const char *path)
{
	int	fd, old = log_fd;

	if (path == NULL || path[0] == '\0') {
		log_fd = STDERR_FILENO;
		if (old != STDERR_FILENO)
			close(old);
		return 0;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("log file %s (the log stays on stderr)", path);
		return -1;
	}
	log_fd = fd;
	if (old != STDERR_FILENO)
		close(old);
	return 0;
}

const char *
log_strerror(int err, char *buf, size_t bufsz)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(err, buf, bufsz);	/* GNU: may return its own */
#else
	/* XSI (the Makefile's feature macros): fills buf, 0 or an error. */
	if (strerror_r(err, buf, bufsz) != 0)
		snprintf(buf, bufsz, "error %d", err);
	return buf;
#endif
}

static void
log_vline(const char *level, const char *fmt, va_list ap, int err)
{
	char	line[2048], ts[32], ebuf[128];
	int	n, m;
	size_t	len;

	util_iso_time(util_wall_ms(), ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s: ", ts, log_prog,
	    (long)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	len = strnlen(line, sizeof(line) - 1);
	if (err != 0 && len + 4 < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    ": %s", log_strerror(err, ebuf, sizeof(ebuf)));
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(log_fd, line, len);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap, err);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap, 0);
	va_end(ap);
}
