/* unit — a few assertion macros for crisp's unit tests.
 *
 * A failed check prints the file, line and both values, and the test goes
 * on; unit_summary() prints "N passed, M failed" and gives the exit code.
 */
#ifndef CRISP_UNIT_H
#define CRISP_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned int unit_passed, unit_failed;

#define UNIT_RECORD(ok, ...)                                                 \
	do {                                                                  \
		if (ok) {                                                     \
			unit_passed++;                                        \
		} else {                                                      \
			unit_failed++;                                        \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);       \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

#define CHECK(cond) UNIT_RECORD((cond), "check failed: %s", #cond)

#define CHECK_INT(got, want)                                                  \
	do {                                                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);     \
		UNIT_RECORD(g_ == w_, "%s = %lld, expected %lld", #got, g_, w_); \
	} while (0)

#define CHECK_STR(got, want)                                                  \
	do {                                                                  \
		const char *g_ = (got), *w_ = (want);                         \
		UNIT_RECORD(g_ && w_ && strcmp(g_, w_) == 0,                  \
			    "%s = \"%s\", expected \"%s\"", #got,             \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");          \
	} while (0)

#define CHECK_CONTAINS(got, needle)                                           \
	do {                                                                  \
		const char *g_ = (got), *n_ = (needle);                       \
		UNIT_RECORD(g_ && strstr(g_, n_),                             \
			    "%s = \"%s\" does not contain \"%s\"", #got,      \
			    g_ ? g_ : "(null)", n_);                          \
	} while (0)

static inline int unit_summary(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
