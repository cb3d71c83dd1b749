/* crtest — the scenario side of crisp's checkpoint/restore tests.
 *
 * A scenario is one C file: it declares what the driver (crtest-run) should
 * do to it, sets up some state, says it is ready, and, when the driver asks,
 * checks that state from inside and reports what differed. For example:
 *
 *	CRT_SCENARIO("dump; restore");
 *
 *	int main(int argc, char **argv)
 *	{
 *		crt_init(argc, argv);
 *		... set up state ...
 *		crt_ready();
 *		while (!crt_verify_requested())
 *			... keep working ...
 *		if (state differs)
 *			crt_fail("counter is %d, expected at least %d", got, want);
 *		return crt_finish();
 *	}
 *
 * Steps (separated by ';'), each optionally followed by crisp options:
 *   check ARGS      crisp check ARGS must succeed
 *   dump ARGS       crisp dump -t PID -D <next image dir> ... ARGS
 *   pre-dump ARGS   crisp pre-dump, chained to the previous images
 *   restore ARGS    crisp restore -d -D <last image dir> ... ARGS
 *   verify          ask the task to verify itself now (it then exits)
 *   kill            SIGKILL the task and reap it
 * A step prefixed with '!' must fail (non-zero exit); the task must then
 * still be running unchanged. A final "verify" is implied.
 * CRT_EXPECT_FAIL("text") declares that verification must fail with a
 * message containing text (used to prove the harness notices failures).
 *
 * The scenario never sees the driver's pipes: it is told to verify by a
 * signal (CRT_VERIFY_SIGNAL) and reports through files in its work dir, so
 * its fd table is only what it opened itself. crt_ready() closes stdin,
 * stdout and stderr; messages go to the verdict.
 */
#ifndef CRISP_CRTEST_H
#define CRISP_CRTEST_H

#include <signal.h>
#include <stdbool.h>

#define CRT_VERIFY_SIGNAL (SIGRTMAX)

#define CRT_SCENARIO(steps) const char crt_steps[] = steps
#define CRT_EXPECT_FAIL(text) const char crt_expect_fail[] = text

/* Weak defaults for scenarios that do not declare them. */
extern const char crt_steps[];
extern const char crt_expect_fail[];

/*
 * Must be called first. Answers the driver's "--crtest-describe" query
 * (prints the steps and exits) and remembers the work dir from the
 * environment. Exits with status 2 when run outside the driver.
 */
void crt_init(int argc, char **argv);

/* The directory this run may use for files of its own. */
const char *crt_dir(void);

/* Says the state is set up: the driver starts its steps after this. */
void crt_ready(void);

/* True once the driver has asked for verification. */
bool crt_verify_requested(void);

/* Sleeps until the driver asks for verification. */
void crt_wait_verify(void);

/* Records a failure (the first message is kept; all are counted). */
void crt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes the verdict for the driver; returns the exit code to use. */
int crt_finish(void);

#endif
