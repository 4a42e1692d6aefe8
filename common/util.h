/*
 * util.h: small system helpers shared by both programs: random
 * identifiers, clocks, timestamps.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Fill buf with len bytes from the kernel's CSPRNG.  0, or -1 (logged). */
int		util_random(void *buf, size_t len);

/*
 * Write a random identifier of nbytes random bytes, base64url without
 * padding, into out (outsz >= 4 * nbytes / 3 + 2).  0, or -1.
 */
int		util_random_id(size_t nbytes, char *out, size_t outsz);

/* Monotonic milliseconds, for intervals. */
int64_t		util_mono_ms(void);

/* Monotonic microseconds, for measurements. */
int64_t		util_mono_us(void);

/* Wall-clock milliseconds since the epoch. */
int64_t		util_wall_ms(void);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of ms into out (at least 25 bytes). */
void		util_iso_time(int64_t ms, char *out, size_t outsz);

/* Sleep ms milliseconds (resumed across signals). */
void		util_sleep_ms(int64_t ms);

/* 1 when process pid still runs and (start 0, or) started at start. */
int		util_pid_alive(long pid, int64_t start);

/*
 * This machine's name among the nodes sharing a database (INTAKE_NODE,
 * else the host's name): a pid is checked for life only on its own
 * node.  util_set_node before any thread starts; NULL or "" keeps the
 * host's name.
 */
void		 util_set_node(const char *);

/* ts = the clock's now + ms, for pthread_cond_timedwait and the like. */
void		 util_deadline(struct timespec *ts, clockid_t clock, long ms);

/*
 * 1 on the first call and whenever ms have passed since the last call
 * that answered 1 (*last records it), else 0: a warning said at most
 * that often.  Thread-safe; errno is left as it was.
 */
int		 util_every(_Atomic int64_t *last, long ms);
const char	*util_node(void);

/* 1 when two secrets are equal; the time taken depends on lengths alone. */
int		 util_secret_eq(const char *a, size_t alen, const char *b,
		    size_t blen);

/* This process's start time in clock ticks since boot (0 if unknown). */
int64_t		util_proc_start(long pid);

#endif
