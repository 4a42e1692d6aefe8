/*
 * check.h: the smallest test harness that does the job.
 *
 * Every CHECK is one counted test.  A failing check prints where it was
 * written (or the table row's __LINE__) and carries on, so one run shows
 * every failure.  check_done() prints the one summary line that
 * tests/run.sh adds up: "NAME: N passed, N failed".
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK_AT(line, cond, ...) do {					\
	if (cond)							\
		check_passed++;						\
	else {								\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, (int)(line));	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

#define CHECK(cond, ...)	CHECK_AT(__LINE__, cond, __VA_ARGS__)

static inline int
check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
