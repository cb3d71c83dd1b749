/* dump-yield — crisp's share of the CPU once the tree runs again.
 *
 * What crisp still does after the release (copying pages, writing images)
 * competes with the tree for the CPU; on a machine with few cores the task
 * then waits for crisp, a freeze in all but name (the first pre-dump of
 * 1 GiB: a 7-30 ms gap in the task at nice 0, 1.3-4 ms at nice 19). So every
 * thread of crisp, io_uring workers included, goes to SCHED_IDLE where crisp
 * may come back from it (CAP_SYS_NICE), nice 19 otherwise: an idle thread
 * never preempts a task that wakes, and is picked over a task that keeps
 * running a fifth as often as a nice-19 one. The watch thread stays at nice
 * 19, and while a live snapshot copies so does the copier (see
 * dump_yield_cpu). Threads that run while the tree waits on them (the live
 * snapshot's fault handler) have a real-time policy, left alone.
 *
 * Nice alone is not enough where the kernel groups tasks by session
 * (autogroup): crisp's session then shares the CPU with the tree's session
 * as one nice-0 task would, whatever the nice of its threads. When the tree
 * is in another session, crisp lowers its own session's group to nice 19
 * for the rest of the command and gives it back at the end, or when
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT ends crisp meanwhile (a SIGKILL leaves
 * it lowered). A tree in crisp's own session is left alone: lowering the
 * group would slow it too. Never touches the tree's group or its threads.
 *
 * Yielding must not become starving: where the tree (or anything else)
 * keeps every CPU busy, nice 19 gets crisp about 1.5% of one, and a
 * pre-dump that took 10 s took over 10 minutes (two sanitizer-built
 * scenarios on two CPUs). A watch thread judges each quarter second: when
 * crisp's threads ran less than a tenth of it and waited to run more than
 * half of it, crisp goes up a step (from SCHED_IDLE to nice 19, then nice
 * 10, then back to where it started), threads and lowered group alike. It
 * never goes back down.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "proc_autogroup.h"
#include "proc_status.h"

#define DUMP_YIELD_NICE 19
#define DUMP_YIELD_IDLE 20	/* a step: SCHED_IDLE (the group: nice 19) */
#define DUMP_YIELD_WATCH_MS 250

/* The nice of each step; the last is "where crisp started". */
static const int dump_yield_steps[] = { DUMP_YIELD_IDLE, DUMP_YIELD_NICE, 10, -100 };
#define DUMP_YIELD_LAST_STEP (sizeof(dump_yield_steps) / sizeof(int) - 1)

struct dump_yield_watch {
	pthread_t thread;
	int stop_fd;		/* eventfd: dump_yield_end wakes the watch */
	pthread_mutex_t lock;	/* held while nices change */
	size_t step;		/* into dump_yield_steps */
	pid_t tid;		/* the watch thread's, kept out of SCHED_IDLE */
	int own_nice;		/* crisp's nice before it yielded: never below */
	struct dump_ctx *c;
};

static int dump_yield_nice_of(const struct dump_yield_watch *w, int floor)
{
	int n = dump_yield_steps[w->step];

	return n > floor ? n : floor;
}

/* Thread @tid to @nice (DUMP_YIELD_IDLE: SCHED_IDLE). Real-time threads
 * are left alone. 0 or -errno. */
static int dump_yield_thread(pid_t tid, int nice)
{
	struct sched_param sp = { 0 };
	int policy = sched_getscheduler(tid);

	if (policy < 0)
		return -errno;
	policy &= ~SCHED_RESET_ON_FORK;
	if (policy != SCHED_OTHER && policy != SCHED_BATCH && policy != SCHED_IDLE)
		return -EPERM;
	if (nice == DUMP_YIELD_IDLE)
		return policy == SCHED_IDLE || !sched_setscheduler(tid, SCHED_IDLE, &sp) ? 0 : -errno;
	/* the nice first: leaving SCHED_IDLE is judged at the nice it has */
	if (setpriority(PRIO_PROCESS, (id_t)tid, nice))
		return -errno;
	if (policy == SCHED_IDLE && sched_setscheduler(tid, SCHED_OTHER, &sp))
		return -errno;
	return 0;
}

/* Every thread of crisp to @nice, @keep (the watch) to nice 19 at most. */
static void dump_yield_threads(int nice, pid_t keep)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (de->d_name[0] == '.')
			continue;
		if (!dump_yield_thread(tid, tid == keep && nice > DUMP_YIELD_NICE ?
						    DUMP_YIELD_NICE : nice))
			n++;
	}
	closedir(d);
	if (nice == DUMP_YIELD_IDLE)
		pr_debug("%d threads of crisp now SCHED_IDLE", n);
	else
		pr_debug("%d threads of crisp now at nice %d", n, nice);
}

/* Whether crisp may leave SCHED_IDLE again (the watch's first step up):
 * needs CAP_SYS_NICE. */
static bool dump_yield_may_idle(void)
{
	struct proc_status st;
	bool may;

	if (proc_read_status(getpid(), 0, &st))
		return false;
	may = st.cap_eff & (1ull << CAP_SYS_NICE);
	proc_status_free(&st);
	return may;
}

/* What crisp's threads but the caller have run and waited to run, in ns,
 * summed (/proc/self/task/TID/schedstat). 0 or -errno. */
static int dump_yield_schedstat(pid_t skip, uint64_t *ran, uint64_t *waited)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int found = 0;

	if (!d)
		return -errno;
	*ran = *waited = 0;
	while ((de = readdir(d))) {
		char path[sizeof("/proc/self/task//schedstat") + sizeof(de->d_name)];
		unsigned long long r, w;
		FILE *f;

		if (de->d_name[0] == '.' || (pid_t)strtol(de->d_name, NULL, 10) == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;	/* gone meanwhile, or no schedstat in this kernel */
		if (fscanf(f, "%llu %llu", &r, &w) == 2) {
			*ran += r;
			*waited += w;
			found++;
		}
		fclose(f);
	}
	closedir(d);
	return found ? 0 : -ENOENT;
}

static uint64_t dump_yield_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

static void dump_yield_group(struct dump_ctx *c, int nice)
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
	if (mine.id == tree.id || mine.nice >= nice) {
		pr_debug("crisp's session group %llu (nice %d) stays as it is; the tree's is %llu",
			 (unsigned long long)mine.id, mine.nice, (unsigned long long)tree.id);
		return;
	}
	/* the way back is armed before the group is lowered */
	dump_yield_back = mine.nice;
	dump_yield_guard(true);
	err = proc_set_autogroup_nice(nice);
	if (err) {
		dump_yield_guard(false);
		dump_yield_back = DUMP_YIELD_NONE;
		pr_debug("cannot lower crisp's session group to nice %d: %s", nice, strerror(-err));
		return;
	}
	c->yield_group_was = mine.nice;
	c->yield_group_lowered = true;
	pr_debug("crisp's session group %llu lowered from nice %d to %d until the end (the "
		 "tree's group is %llu)", (unsigned long long)mine.id, mine.nice, nice,
		 (unsigned long long)tree.id);
}

/* One window judged: starved, crisp goes a step up (under w->lock). */
static void dump_yield_judge(struct dump_yield_watch *w, uint64_t ran, uint64_t waited,
			     uint64_t window)
{
	struct dump_ctx *c = w->c;
	int nice, err;

	if (ran * 10 >= window || waited * 2 <= window)
		return;
	pthread_mutex_lock(&w->lock);
	w->step++;
	nice = dump_yield_nice_of(w, w->own_nice);
	pr_info("crisp starved of the CPU (ran %" PRIu64 " ms of the last %" PRIu64
		", waited %" PRIu64 " ms to run): up to nice %d, so that it ends; the tree "
		"may notice", ran / 1000000, window / 1000000, waited / 1000000, nice);
	dump_yield_threads(nice, w->tid);
	if (c->yield_group_lowered && nice < DUMP_YIELD_NICE) {
		err = proc_set_autogroup_nice(dump_yield_nice_of(w, c->yield_group_was));
		if (err)
			pr_warn("cannot raise crisp's session group to nice %d: %s",
				dump_yield_nice_of(w, c->yield_group_was), strerror(-err));
	}
	pthread_mutex_unlock(&w->lock);
}

static void *dump_yield_watch_run(void *arg)
{
	struct dump_yield_watch *w = arg;
	struct pollfd p = { .fd = w->stop_fd, .events = POLLIN };
	pid_t self = (pid_t)gettid();
	uint64_t ran0, waited0, t0 = dump_yield_now_ns();
	sigset_t all;
	int err, r;

	__atomic_store_n(&w->tid, self, __ATOMIC_RELEASE);

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);	/* signals are the main thread's */
	err = dump_yield_schedstat(self, &ran0, &waited0);
	if (err) {
		pr_debug("nothing to judge crisp's share of the CPU by (schedstat: %s)",
			 strerror(-err));
		return NULL;
	}
	while (w->step < DUMP_YIELD_LAST_STEP) {
		uint64_t ran, waited, t;

		r = poll(&p, 1, DUMP_YIELD_WATCH_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r || dump_yield_schedstat(self, &ran, &waited))
			break;	/* told to stop */
		t = dump_yield_now_ns();
		dump_yield_judge(w, ran > ran0 ? ran - ran0 : 0,
				 waited > waited0 ? waited - waited0 : 0, t - t0);
		ran0 = ran;
		waited0 = waited;
		t0 = t;
	}
	return NULL;
}

/* The watch, started on first use; NULL when it cannot be (crisp then
 * yields without it). */
static struct dump_yield_watch *dump_yield_watch_start(struct dump_ctx *c)
{
	struct dump_yield_watch *w = c->yield_watch;
	int err;

	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->c = c;
	errno = 0;
	w->own_nice = getpriority(PRIO_PROCESS, 0);
	if (!errno && w->own_nice >= DUMP_YIELD_NICE) {
		free(w);	/* started as low as it goes: no step to take */
		return NULL;
	}
	w->stop_fd = errno ? -1 : eventfd(0, EFD_CLOEXEC);
	if (w->stop_fd < 0) {
		pr_debug("no watch on crisp's share of the CPU: %s", strerror(errno));
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	/* no way back from SCHED_IDLE without CAP_SYS_NICE: start at nice 19 */
	w->step = dump_yield_may_idle() ? 0 : 1;
	err = pthread_create(&w->thread, NULL, dump_yield_watch_run, w);
	if (err) {
		pr_debug("no watch on crisp's share of the CPU: %s", strerror(err));
		pthread_mutex_destroy(&w->lock);
		close(w->stop_fd);
		free(w);
		return NULL;
	}
	/* its tid, so that it is kept out of SCHED_IDLE */
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	c->yield_watch = w;
	return w;
}

static void dump_yield_watch_stop(struct dump_ctx *c)
{
	struct dump_yield_watch *w = c->yield_watch;
	uint64_t one = 1;

	if (!w)
		return;
	if (write(w->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("cannot stop the CPU watch: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	close(w->stop_fd);
	free(w);
	c->yield_watch = NULL;
}

void dump_yield_cpu(struct dump_ctx *c)
{
	struct dump_yield_watch *w = dump_yield_watch_start(c);
	int nice = w ? dump_yield_nice_of(w, w->own_nice) : DUMP_YIELD_NICE;

	if (w)
		pthread_mutex_lock(&w->lock);
	/* a live snapshot's copier holds the task's memory-map lock at times
	 * (below): not idle while it copies */
	if (nice == DUMP_YIELD_IDLE && c->live && !c->live_copied)
		nice = DUMP_YIELD_NICE;
	dump_yield_threads(nice, w ? w->tid : 0);
	/* Not while a live snapshot copies: its copier takes the task's
	 * memory-map lock for writing (un-registering what it copied), and
	 * the task's writes to protected pages wait on that lock. A copier
	 * of a group that low waits tens of ms for the CPU, lock held (1 GiB
	 * live snapshot, harness: task's gap median 31 ms instead of 7). */
	if (!c->yield_group_lowered && (!c->live || c->live_copied))
		dump_yield_group(c, w && dump_yield_steps[w->step] < DUMP_YIELD_NICE ?
					    dump_yield_steps[w->step] : DUMP_YIELD_NICE);
	if (w)
		pthread_mutex_unlock(&w->lock);
}

void dump_yield_end(struct dump_ctx *c)
{
	struct timespec rate_limit = { 0, 110 * 1000 * 1000 };
	int err;

	dump_yield_watch_stop(c);
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
