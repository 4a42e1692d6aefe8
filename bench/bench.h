/*
 * bench.h: what the bench programs share: the start of a loopback server
 * (hookrecv, mockllm), the loopback address and the descriptor limit
 * (load too).
 *
 * Header only, every function static inline: each .c file in bench/ is
 * a program of its own (Makefile, BENCH_SRC), so a .c file of helpers
 * there would be built as a program too, and these are bench concerns,
 * not the library's.
 */
#ifndef BENCH_H
#define BENCH_H

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Raise the soft limit of open descriptors to the hard one; the limit
   now (1024 when it cannot be read). */
static inline rlim_t
bench_fd_max(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* sa: 127.0.0.1, port (0: any). */
static inline void
bench_loopback(struct sockaddr_in *sa, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons((uint16_t)port);
}

/*
 * A server of bench/run.py's: it leaves with its parent, SIGTERM and
 * SIGINT call on_stop (without SA_RESTART, so that a blocking accept or
 * epoll_wait returns), a peer gone is an error rather than SIGPIPE.
 */
static inline void
bench_serve_init(void (*on_stop)(int))
{
	struct sigaction	act;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_stop;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * A socket of type (SOCK_STREAM with SOCK_NONBLOCK or SOCK_CLOEXEC)
 * listening on 127.0.0.1:port (0: any free port), then "port N" on
 * stdout, the line bench/run.py waits for.  The socket, or -1 (said on
 * stderr).
 */
static inline int
bench_listen(int port, int type)
{
	struct sockaddr_in	sa;
	socklen_t		slen = sizeof(sa);
	int			fd, one = 1;

	if ((fd = socket(AF_INET, type, 0)) == -1) {
		perror("socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bench_loopback(&sa, port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &slen) == -1) {
		perror("bind/listen");
		close(fd);
		return -1;
	}
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

#endif /* !BENCH_H */
