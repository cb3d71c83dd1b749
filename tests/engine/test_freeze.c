/* Behaviour tests of engine/freeze on scratch trees: every thread stopped,
 * threads born while seizing, stopped and traced tasks, timeouts, and each
 * release mode leaving the tasks as asked. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "proc_status.h"
#include "scratch.h"
#include "unit.h"

struct shared {
	atomic_long counter[8];
	atomic_int ready;
	pid_t child, grandchild;
};

static void *spin(void *arg)
{
	atomic_long *c = arg;

	for (;;)
		atomic_fetch_add(c, 1);
	return NULL;
}

static int grandchild_main(void *arg)
{
	struct shared *sh = arg;

	atomic_fetch_add(&sh->ready, 1);
	spin(&sh->counter[7]);
	return 0;
}

static int child_main(void *arg)
{
	struct shared *sh = arg;

	sh->grandchild = scratch_fork(grandchild_main, sh);
	atomic_fetch_add(&sh->ready, 1);
	spin(&sh->counter[6]);
	return 0;
}

/* root: 4 spinning threads, a child, a grandchild */
static int root_main(void *arg)
{
	struct shared *sh = arg;
	pthread_t th;

	for (int i = 0; i < 4; i++)
		pthread_create(&th, NULL, spin, &sh->counter[i]);
	sh->child = scratch_fork(child_main, sh);
	atomic_fetch_add(&sh->ready, 1);
	for (;;)
		pause();
	return 0;
}

static void wait_ready(struct shared *sh, int n)
{
	while (atomic_load(&sh->ready) < n)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

#define ROOT_COUNTERS 0x0f
#define CHILD_COUNTER 0x40
#define GRANDCHILD_COUNTER 0x80

/* True once every counter in @mask has moved (waits up to about 10 s). */
static bool counters_move(struct shared *sh, unsigned int mask)
{
	long before[8];

	for (int i = 0; i < 8; i++)
		before[i] = atomic_load(&sh->counter[i]);
	for (int tries = 0; tries < 10000; tries++) {
		unsigned int moved = 0;

		for (int i = 0; i < 8; i++)
			if (atomic_load(&sh->counter[i]) != before[i])
				moved |= 1u << i;
		if ((moved & mask) == mask)
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

static void test_tree(void)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	pid_t root = scratch_fork(root_main, sh);
	long snap[8];
	size_t threads = 0;

	wait_ready(sh, 3);
	CHECK(counters_move(sh, ROOT_COUNTERS | CHILD_COUNTER | GRANDCHILD_COUNTER));
	CHECK_INT(freeze_tree(&t, root, 10000), 0);
	CHECK_INT(t.nr, 3);
	CHECK(t.task[0].pid == root && t.task[0].parent == 0);
	CHECK(freeze_find(&t, sh->child) && freeze_find(&t, sh->child)->parent == root);
	CHECK(freeze_find(&t, sh->grandchild) &&
	      freeze_find(&t, sh->grandchild)->parent == sh->child);
	CHECK(t.freeze_start_ns <= t.freeze_end_ns);
	for (size_t i = 0; i < t.nr; i++)
		for (size_t j = 0; j < t.task[i].threads.nr; j++) {
			threads++;
			UNIT_RECORD(scratch_state(t.task[i].pid, t.task[i].threads.pid[j]) == 't',
				    "thread %d not in tracing stop", t.task[i].threads.pid[j]);
		}
	CHECK_INT(threads, 5 + 1 + 1);
	/* frozen: nothing counts (the counters are read twice, 20 ms apart) */
	for (int i = 0; i < 8; i++)
		snap[i] = atomic_load(&sh->counter[i]);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	for (int i = 0; i < 8; i++)
		if (i < 4 || i >= 6)
			CHECK(atomic_load(&sh->counter[i]) == snap[i]);
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	CHECK(t.release_ns >= t.freeze_end_ns);
	CHECK(scratch_state(root, 0) != 't');
	CHECK(counters_move(sh, ROOT_COUNTERS | CHILD_COUNTER | GRANDCHILD_COUNTER));
	freeze_tree_free(&t);

	/* again, leaving them stopped */
	CHECK_INT(freeze_tree(&t, root, 0), 0);
	CHECK_INT(freeze_release(&t, FREEZE_LEAVE_STOPPED), 0);
	for (size_t i = 0; i < t.nr; i++)
		CHECK(scratch_wait_state(t.task[i].pid, "T"));
	freeze_tree_free(&t);
	kill(root, SIGCONT);
	kill(sh->child, SIGCONT);
	kill(sh->grandchild, SIGCONT);
	CHECK(counters_move(sh, ROOT_COUNTERS | CHILD_COUNTER | GRANDCHILD_COUNTER));

	/* and killing them */
	pid_t child = sh->child;
	CHECK_INT(freeze_tree(&t, root, 0), 0);
	CHECK_INT(freeze_release(&t, FREEZE_KILL), 0);
	/* we are also the root's parent: the tracer's wait may have reaped it */
	int status = 0;
	pid_t r = waitpid(root, &status, 0);
	CHECK((r == root && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	      (r < 0 && errno == ECHILD));
	CHECK(scratch_wait_state(child, "Z?"));
	freeze_tree_free(&t);
	scratch_cleanup();
	munmap(sh, sizeof(*sh));
}

/* a stopped task stays stopped after a freeze and a plain release */
static void test_stopped(void)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	pid_t root = scratch_fork(grandchild_main, sh);

	wait_ready(sh, 1);
	kill(root, SIGSTOP);
	CHECK(scratch_wait_state(root, "T"));
	CHECK_INT(freeze_tree(&t, root, 5000), 0);
	CHECK(t.nr == 1 && t.task[0].was_stopped);
	CHECK(scratch_state(root, 0) == 't');
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	CHECK(scratch_wait_state(root, "T"));
	long c = atomic_load(&sh->counter[7]);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	CHECK(atomic_load(&sh->counter[7]) == c);
	freeze_tree_free(&t);
	kill(root, SIGCONT);
	CHECK(counters_move(sh, GRANDCHILD_COUNTER));
	scratch_cleanup();
	munmap(sh, sizeof(*sh));
}

/* a traced grandchild: refused, and the tasks already seized let go */
static void test_traced(void)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	struct proc_status st;
	pid_t root = scratch_fork(child_main, sh);

	wait_ready(sh, 2);
	CHECK_INT(ptrace(PTRACE_SEIZE, sh->grandchild, NULL, NULL), 0);
	CHECK_INT(freeze_tree(&t, root, 5000), -EBUSY);
	CHECK(t.nr == 0 && t.task == NULL);
	CHECK_INT(proc_read_status(root, 0, &st), 0);
	CHECK_INT(st.tracer_pid, 0);
	proc_status_free(&st);
	CHECK(scratch_state(root, 0) != 't');
	CHECK(counters_move(sh, CHILD_COUNTER | GRANDCHILD_COUNTER));
	ptrace(PTRACE_DETACH, sh->grandchild, NULL, NULL);
	scratch_cleanup();
	munmap(sh, sizeof(*sh));
}

static void *short_thread(void *arg)
{
	atomic_fetch_add((atomic_long *)arg, 1);
	return NULL;
}

/* a task that keeps spawning threads: every one present at the end is seized */
static int spawner_main(void *arg)
{
	struct shared *sh = arg;
	pthread_t th;

	atomic_fetch_add(&sh->ready, 1);
	for (;;) {
		for (int i = 0; i < 4; i++)
			if (pthread_create(&th, NULL, short_thread, &sh->counter[0]) == 0)
				pthread_detach(th);
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	return 0;
}

static void test_spawning(void)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	struct proc_pids now;
	pid_t root = scratch_fork(spawner_main, sh);

	wait_ready(sh, 1);
	for (int round = 0; round < 20; round++) {
		int err = freeze_tree(&t, root, 10000);

		CHECK_INT(err, 0);
		if (err)
			continue;
		CHECK_INT(proc_list_threads(root, &now), 0);
		for (size_t i = 0; i < now.nr; i++)
			UNIT_RECORD(proc_pids_has(&t.task[0].threads, now.pid[i]),
				    "round %d: thread %d not seized", round, now.pid[i]);
		proc_pids_free(&now);
		CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
		freeze_tree_free(&t);
	}
	CHECK(counters_move(sh, 1));
	scratch_cleanup();
	munmap(sh, sizeof(*sh));
}

static void test_missing(void)
{
	struct freeze_tree t;

	CHECK_INT(freeze_tree(&t, 0x7ffffff0, 1000), -ESRCH);
	CHECK(t.nr == 0);
}

int main(void)
{
	scratch_init();
	test_tree();
	test_stopped();
	test_traced();
	test_spawning();
	test_missing();
	scratch_cleanup();
	return unit_summary("freeze");
}
