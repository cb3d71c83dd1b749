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
 *   dump ARGS       crisp dump -t PID -D <next image dir> ... ARGS; right
 *                   after a pre-dump with --prev-images-dir ../img-N (its
 *                   images), unless ARGS name a --prev-images-dir
 *   pre-dump ARGS   crisp pre-dump, chained to the previous images (the
 *                   same way, after the first image dir)
 *   restore ARGS    crisp restore -d -D <last image dir> ... ARGS
 *   verify          ask the task to verify itself now (it then exits)
 *   kill            SIGKILL the task and its descendants, and reap them
 *   spoil N HOW     break image dir img-N: HOW is "gone" (moved away) or
 *                   "short-pages" (its pages-*.img lose their last page)
 *   unspoil N       put img-N back as it was
 *   grow NAME       append one byte to file NAME of the work dir
 *   shrink NAME     take one byte off its end again
 *   images          the newest image dir passes crisp-img check and CRIU's
 *                   crit decodes each of its images (pages-*.img are raw)
 *   squat FILE      the driver takes the PID written in FILE of the work
 *                   dir (a restore into it must then fail)
 *   unsquat         the squatting tasks go away
 *   hide FILE       FILE of the work dir is renamed away; unhide FILE: back
 *   evict N         the pages files of img-N are written out and dropped
 *                   from the page cache (checked): a restore reads them
 *                   from the disk
 * A step prefixed with '!' must fail (non-zero exit); the task must then
 * still be running unchanged (a failed restore must leave no task with the
 * last PID, nor any task at all when none was running). A final "verify" is implied.
 * CRT_EXPECT_FAIL("text") declares that verification must fail with a
 * message containing text (used to prove the harness notices failures).
 *
 * Step options for the driver itself start with '@' and are not passed to
 * crisp (the driver then runs everything in a private mount namespace):
 *   @readonly       the step's image dir is a read-only bind mount
 *   @tmpfs=SIZE     the step's image dir is a tmpfs of SIZE bytes (k, m, g)
 *   @says=TEXT      crisp's output or log must contain TEXT (no blanks);
 *                   the log is read through --decoder when one is given
 * e.g. "!dump @tmpfs=1m; verify" or "!dump @says=io_uring; verify".
 *
 * Self-check of a scenario's own verification: CRT_DAMAGE_FAILS("text")
 * declares the failure message its verification gives when the driver runs
 * it with --damage (the driver sets CRTEST_SELFTEST_DAMAGE=1 for the task,
 * and crt_damage() is then true: the scenario spoils one piece of its state
 * just before checking it). A scenario without it cannot be run --damage.
 *
 * A scenario runs in a session of its own, unless its steps name
 * --shell-job: then it stays in the driver's session, as a job would.
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
#include <stdint.h>

#define CRT_VERIFY_SIGNAL (SIGRTMAX)

#define CRT_SCENARIO(steps) const char crt_steps[] = steps
#define CRT_EXPECT_FAIL(text) const char crt_expect_fail[] = text
#define CRT_DAMAGE_FAILS(text) const char crt_damage_fails[] = text

/* Weak defaults for scenarios that do not declare them. */
extern const char crt_steps[];
extern const char crt_expect_fail[];
extern const char crt_damage_fails[];

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

/*
 * The flag behind crt_verify_requested(), for loops that cannot call a
 * function (inline assembly keeping values in caller-saved registers):
 * non-zero once verification is asked for.
 */
const volatile sig_atomic_t *crt_verify_flag(void);

/* True when the driver runs a self-check with --damage (see above). */
bool crt_damage(void);

/* Sleeps until the driver asks for verification. */
void crt_wait_verify(void);

/* Records a failure (the first message is kept; all are counted). */
void crt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes the verdict for the driver; returns the exit code to use. */
int crt_finish(void);

/*
 * Word @i of fill pattern @seed: a mix of both, so that a lost, moved or
 * zeroed word shows. Scenarios fill memory with it and check it word for
 * word after restore.
 */
static inline uint64_t crt_pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull ^ (i + 1) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 29);
}

/* ---- reading the task's own state from /proc/self (crtest_proc.c) ---- */

/* One mapping as /proc/self/smaps shows it. */
struct crt_vma {
	unsigned long start, end;
	char perms[5];			/* "rw-p" */
	char path[256];			/* "" for anonymous memory */
	char vmflags[160];		/* "rd wr mr mw me ac" */
	unsigned long rss_kb, anon_huge_kb, locked_kb;
};

/* Fills @vma for the mapping holding @addr. Returns 0 or -errno (-ENOENT:
 * no mapping holds it). Opens a file for the duration of the call only. */
int crt_vma_of(const void *addr, struct crt_vma *vma);

/* True when @flag (two letters, e.g. "gd") is among @vma's VmFlags. */
bool crt_vma_has_flag(const struct crt_vma *vma, const char *flag);

/* The number of open fds (the one used to count is not counted), or -errno. */
int crt_fd_count(void);

/* A numeric field of /proc/self/status ("TracerPid") into @out; 0 or -errno. */
int crt_status_field(const char *name, unsigned long long *out);

/* A hexadecimal mask of /proc/self/status ("SigPnd", "ShdPnd"); 0 or -errno. */
int crt_status_mask(const char *name, unsigned long long *out);

#endif
