/* dump-yield — crisp's share of the CPU once the tree runs again.
 *
 * What crisp still does after the release (copying pages, writing images)
 * competes with the tree for the CPU; on a machine with few cores the task
 * then waits for crisp, a freeze in all but name (the first pre-dump of
 * 1 GiB: a 7-30 ms gap in the task at nice 0, 1.3-4 ms at nice 19). So every
 * thread of crisp, io_uring workers included, goes to nice 19. Threads that
 * run while the tree waits on them (the live snapshot's fault handler) have
 * a real-time policy, which nice does not touch.
 *
 * Nice alone is not enough where the kernel groups tasks by session
 * (autogroup): crisp's session then shares the CPU with the tree's session
 * as one nice-0 task would, whatever the nice of its threads. When the tree
 * is in another session, crisp lowers its own session's group to nice 19
 * for the rest of the command and gives it back at the end, or when
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT ends crisp meanwhile (a SIGKILL leaves
 * it lowered). A tree in crisp's own session is left alone: lowering the
 * group would slow it too. Never touches the tree's group or its threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "proc_autogroup.h"

#define DUMP_YIELD_NICE 19

static void dump_yield_threads(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !setpriority(PRIO_PROCESS, (id_t)strtoul(de->d_name, NULL, 10), DUMP_YIELD_NICE))
			n++;
	closedir(d);
	pr_debug("the tree runs again: %d threads of crisp now at nice %d", n, DUMP_YIELD_NICE);
}

#define DUMP_YIELD_NONE 100	/* no nice to give back */

/* The nice to give back if a signal ends crisp while its group is lowered:
 * the signal handler's, so it cannot live in the dump context. */
static volatile sig_atomic_t dump_yield_back = DUMP_YIELD_NONE;
static const int dump_yield_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static struct sigaction dump_yield_old[sizeof(dump_yield_signals) / sizeof(int)];

/* Async-signal-safe: open, write, close, nanosleep, sigaction, raise. */
static void dump_yield_on_signal(int sig)
{
	int was = dump_yield_back, fd;
	char text[4], *p = text + sizeof(text);
	unsigned int v = (unsigned int)(was < 0 ? -was : was);

	if (was != DUMP_YIELD_NONE) {
		do
			*--p = (char)('0' + v % 10);
		while ((v /= 10));
		if (was < 0)
			*--p = '-';
		for (int tries = 0; tries < 2; tries++) {
			struct timespec rate_limit = { 0, 110 * 1000 * 1000 };
			ssize_t n = -1;

			fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = write(fd, p, (size_t)(text + sizeof(text) - p));
				close(fd);
			}
			if (n > 0)
				break;
			nanosleep(&rate_limit, NULL);	/* the kernel's rate limit */
		}
	}
	/* what was there before (the log's handler writes it out, then dies) */
	for (size_t i = 0; i < sizeof(dump_yield_signals) / sizeof(int); i++)
		if (dump_yield_signals[i] == sig)
			sigaction(sig, &dump_yield_old[i], NULL);
	raise(sig);
}

static void dump_yield_guard(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dump_yield_on_signal;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(dump_yield_signals) / sizeof(int); i++) {
		if (!on)
			sigaction(dump_yield_signals[i], &dump_yield_old[i], NULL);
		else if (!sigaction(dump_yield_signals[i], NULL, &dump_yield_old[i]) &&
			 dump_yield_old[i].sa_handler != SIG_IGN)
			sigaction(dump_yield_signals[i], &sa, NULL);	/* ignored stays ignored */
	}
}

static void dump_yield_group(struct dump_ctx *c)
{
	struct proc_autogroup mine, tree;
	int err;

	err = proc_read_autogroup(0, &mine);
	if (!err)
		err = proc_read_autogroup(c->o->tree_pid, &tree);
	if (err) {
		pr_debug("no session groups to weigh (autogroup: %s)", strerror(-err));
		return;
	}
	if (mine.id == tree.id || mine.nice >= DUMP_YIELD_NICE) {
		pr_debug("crisp's session group %llu (nice %d) stays as it is; the tree's is %llu",
			 (unsigned long long)mine.id, mine.nice, (unsigned long long)tree.id);
		return;
	}
	/* the way back is armed before the group is lowered */
	dump_yield_back = mine.nice;
	dump_yield_guard(true);
	err = proc_set_autogroup_nice(DUMP_YIELD_NICE);
	if (err) {
		dump_yield_guard(false);
		dump_yield_back = DUMP_YIELD_NONE;
		pr_debug("cannot lower crisp's session group to nice %d: %s", DUMP_YIELD_NICE,
			 strerror(-err));
		return;
	}
	c->yield_group_was = mine.nice;
	c->yield_group_lowered = true;
	pr_debug("crisp's session group %llu lowered from nice %d to %d until the end (the "
		 "tree's group is %llu)", (unsigned long long)mine.id, mine.nice, DUMP_YIELD_NICE,
		 (unsigned long long)tree.id);
}

void dump_yield_cpu(struct dump_ctx *c)
{
	dump_yield_threads();
	/* Not while a live snapshot copies: its copier takes the task's
	 * memory-map lock for writing (un-registering what it copied), and
	 * the task's writes to protected pages wait on that lock. A copier
	 * of a group that low waits tens of ms for the CPU, lock held (1 GiB
	 * live snapshot, harness: task's gap median 31 ms instead of 7). */
	if (!c->yield_group_lowered && (!c->live || c->live_copied))
		dump_yield_group(c);
}

void dump_yield_end(struct dump_ctx *c)
{
	struct timespec rate_limit = { 0, 110 * 1000 * 1000 };
	int err;

	if (!c->yield_group_lowered)
		return;
	err = proc_set_autogroup_nice(c->yield_group_was);
	if (err == -EAGAIN) {
		nanosleep(&rate_limit, NULL);
		err = proc_set_autogroup_nice(c->yield_group_was);
	}
	if (err)
		pr_warn("cannot give crisp's session group its nice %d back: %s; `echo %d > "
			"/proc/self/autogroup` in that session does", c->yield_group_was,
			strerror(-err), c->yield_group_was);
	dump_yield_guard(false);
	dump_yield_back = DUMP_YIELD_NONE;
	c->yield_group_lowered = false;
}
