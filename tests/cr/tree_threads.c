/* Threads in several tasks of a tree: the root runs 2 workers, its child
 * 3, the grandchild 2. After restore every worker of every task runs on
 * with its TID, and each task's threads are its own (a task's thread count
 * in /proc/self/status). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("child G: worker 1 has TID");

#define MAX_WORKERS 3

struct worker {
	pthread_t th;
	pid_t tid;			/* at start */
	volatile pid_t tid_now;		/* as it runs */
	volatile unsigned long count;
};

static struct worker workers[MAX_WORKERS];
static int nr_workers;

static void *work(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		w->tid_now = (pid_t)syscall(SYS_gettid);
		w->count++;
		sched_yield();
	}
	return NULL;
}

static int start_workers(int n)
{
	nr_workers = n;
	for (int i = 0; i < n; i++)
		if (pthread_create(&workers[i].th, NULL, work, &workers[i]))
			return -1;
	for (int i = 0; i < n; i++)
		while (!workers[i].count)
			sched_yield();
	return 0;
}

/* Each worker runs on after restore, with its TID; @fail records. */
static void check_workers(void (*fail)(const char *, ...))
{
	unsigned long long threads = 0;

	if (crt_damage() && nr_workers == 2 && getpid() != getpgid(0))
		workers[1].tid++;
	for (int i = 0; i < nr_workers; i++) {
		unsigned long seen = workers[i].count;

		while (workers[i].count == seen)
			sched_yield();
		if (workers[i].tid_now != workers[i].tid)
			fail("worker %d has TID %d, expected %d", i, (int)workers[i].tid_now,
			     (int)workers[i].tid);
	}
	if (crt_status_field("Threads", &threads) || threads != (unsigned long long)nr_workers + 1)
		fail("%llu threads, expected %d", threads, nr_workers + 1);
}

static void crt_fail_v(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	crt_fail("root: %s", buf);
}

static void kid_fail_v(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kid_fail("%s", buf);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K", "G" };
	pid_t kid, grandkid = 0;
	int st;

	crt_init(argc, argv);
	kid = fork();
	if (kid == 0) {
		kid_start();
		setpgid(0, 0);	/* K and G in a group of their own: the damage spots G by it */
		grandkid = fork();
		if (grandkid == 0) {
			kid_start();
			if (start_workers(2))
				_exit(3);
			kid_ready("G");
			kid_wait_go();
			check_workers(kid_fail_v);
			kid_report("G");
		}
		if (grandkid < 0 || start_workers(3))
			_exit(3);
		kid_ready("K");
		kid_wait_go();
		check_workers(kid_fail_v);
		kill(grandkid, SIGUSR1);
		if (waitpid(grandkid, &st, 0) != grandkid)
			kid_fail("cannot wait for G");
		kid_report("K");
	}
	if (kid < 0 || start_workers(2) || kid_wait_ready(names, 2))
		return 2;
	crt_ready();
	crt_wait_verify();

	check_workers(crt_fail_v);
	kid_go_and_check(kid, (const char *const[]){ "K", "G" }, 2);
	return crt_finish();
}
