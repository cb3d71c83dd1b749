/* freeze — seizing and releasing a process tree (see freeze.h). */
#include "freeze.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "proc_stat.h"
#include "proc_status.h"

#define FREEZE_TIMER_SLACK_NS 1000ul

uint64_t freeze_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct freeze_task *freeze_find(struct freeze_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->task[i].pid == pid)
			return &t->task[i];
	return NULL;
}

static int freeze_add_task(struct freeze_tree *t, pid_t pid, pid_t parent)
{
	struct freeze_task *nt;

	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		nt = realloc(t->task, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		t->task = nt;
		t->cap = cap;
	}
	memset(&t->task[t->nr], 0, sizeof(t->task[0]));
	t->task[t->nr].pid = pid;
	t->task[t->nr].parent = parent;
	t->nr++;
	return 0;
}

static bool freeze_past(uint64_t deadline)
{
	return deadline && freeze_now_ns() > deadline;
}

/*
 * Waits until @tid reports its ptrace stop. A signal that arrives first is
 * handed back to the thread (the interrupt trap stays pending). Returns 0
 * when stopped, -ESRCH when the thread is gone, -ETIMEDOUT.
 */
static int freeze_wait_stop(pid_t tid, uint64_t deadline)
{
	unsigned int nap_us = 10;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? -ESRCH : -errno;
		}
		if (r == 0) {
			if (freeze_past(deadline))
				return -ETIMEDOUT;
			nanosleep(&(struct timespec){ 0, nap_us * 1000L }, NULL);
			if (nap_us < 1000)
				nap_us *= 2;
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		/* signal-delivery-stop: deliver it and wait for the trap */
		pr_debug("thread %d: signal %d while seizing, delivered", tid,
			 WSTOPSIG(status));
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) &&
		    errno != ESRCH)
			return -errno;
	}
}

static int freeze_refuse_traced(pid_t pid, pid_t tid)
{
	struct proc_status st;
	int err = proc_read_status(pid, tid, &st);

	if (err)
		return err == -ENOENT ? -ESRCH : err;
	err = st.tracer_pid ? -EBUSY : 0;
	if (err)
		pr_err("task %d (thread %d) is already traced by %lld: refusing to seize it",
		       pid, tid ? tid : pid, (long long)st.tracer_pid);
	proc_status_free(&st);
	return err;
}

/* Seizes and interrupts @tid. -ESRCH when it is gone already. */
static int freeze_seize_thread(pid_t pid, pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL)) {
		int err = -errno;

		if (err == -ESRCH)
			return err;
		if (err == -EPERM) {
			struct proc_stat st;
			int why = freeze_refuse_traced(pid, tid);

			if (why == -EBUSY)
				return why;
			/* a thread on its way out cannot be seized: it is gone */
			if (why == -ESRCH || proc_read_stat(pid, tid, &st) ||
			    st.state == 'Z' || st.state == 'X')
				return -ESRCH;
		}
		pr_perror("PTRACE_SEIZE of task %d thread %d", pid, tid);
		return err;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
		int err = -errno;

		if (err != -ESRCH)
			pr_perror("PTRACE_INTERRUPT of task %d thread %d", pid, tid);
		/* detach: leave no half-seized thread behind */
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return err;
	}
	return 0;
}

int freeze_stop_one(pid_t pid, pid_t tid, unsigned int timeout_ms)
{
	uint64_t deadline = timeout_ms ? freeze_now_ns() + timeout_ms * 1000000ull : 0;
	int err = freeze_seize_thread(pid, tid);

	if (err)
		return err;
	err = freeze_wait_stop(tid, deadline);
	if (err)
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
	return err;
}

/* Says what a thread that did not stop is doing: its state, flags and the
 * kernel function it sleeps in. */
static void freeze_tell_state(pid_t pid, pid_t tid)
{
	char path[96], wchan[128] = "?";
	struct proc_stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, wchan, sizeof(wchan) - 1);
		wchan[n > 0 ? n : 1] = '\0';
		close(fd);
	}
	if (proc_read_stat(pid, tid, &st)) {
		pr_err("task %d thread %d: gone from /proc", pid, tid);
		return;
	}
	pr_err("task %d thread %d: state %c, flags 0x%llx, waits in %s", pid, tid, st.state,
	       (unsigned long long)st.flags, wchan);
}

/* Forgets thread @j of @task (it exited while being seized). */
static void freeze_forget_thread(struct freeze_task *task, size_t j)
{
	memmove(&task->threads.pid[j], &task->threads.pid[j + 1],
		(task->threads.nr - j - 1) * sizeof(pid_t));
	task->threads.nr--;
}

/*
 * Seizes the threads of @cur not seized yet: all are interrupted first and
 * then waited for, so that each stops while the next is being seized and
 * the first one stopped does not wait for the others one by one.
 */
static int freeze_seize_new_threads(struct freeze_task *task,
				    struct proc_pids *cur, uint64_t deadline,
				    size_t *added)
{
	size_t first = task->threads.nr;
	int err, ret = 0;

	*added = 0;
	for (size_t i = 0; i < cur->nr; i++) {
		pid_t tid = cur->pid[i];

		if (proc_pids_has(&task->threads, tid))
			continue;
		err = freeze_seize_thread(task->pid, tid);
		if (err == -ESRCH)
			continue;
		if (!err) {
			err = proc_pids_add(&task->threads, tid);
			if (err)
				ptrace(PTRACE_DETACH, tid, NULL, NULL);
		}
		if (err) {
			ret = err;	/* the ones seized already are waited for */
			break;
		}
	}
	for (size_t j = first; j < task->threads.nr;) {
		pid_t tid = task->threads.pid[j];

		err = freeze_wait_stop(tid, deadline);
		if (err == -ESRCH) {
			/* exited while being seized: no longer ours */
			freeze_forget_thread(task, j);
			continue;
		}
		if (err && !ret) {
			pr_err("task %d thread %d did not stop: %s", task->pid, tid, strerror(-err));
			freeze_tell_state(task->pid, tid);
			ret = err;
		}
		if (!err)
			(*added)++;
		j++;
	}
	return ret;
}

static int freeze_one_task(struct freeze_task *task, uint64_t deadline)
{
	struct proc_stat st;
	struct proc_pids cur;
	size_t added;
	int err;

	err = proc_read_stat(task->pid, 0, &st);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	if (st.state == 'Z' || st.state == 'X') {
		task->zombie = true;
		return 0;
	}
	task->was_stopped = st.state == 'T';
	err = freeze_refuse_traced(task->pid, 0);
	if (err)
		return err;
	/* threads may appear until every one that could clone is stopped */
	do {
		if (freeze_past(deadline)) {
			pr_err("task %d: seizing timed out", task->pid);
			return -ETIMEDOUT;
		}
		err = proc_list_threads(task->pid, &cur);
		if (err)
			return err == -ENOENT ? -ESRCH : err;
		err = freeze_seize_new_threads(task, &cur, deadline, &added);
		proc_pids_free(&cur);
		if (err)
			return err;
	} while (added);
	if (!task->threads.nr)
		return -ESRCH;
	pr_debug("task %d: %zu threads seized%s", task->pid, task->threads.nr,
		 task->was_stopped ? " (was stopped)" : "");
	return 0;
}

static int freeze_collect_children(struct freeze_tree *t, size_t idx)
{
	pid_t pid = t->task[idx].pid;
	struct proc_pids kids;
	int err = 0;

	for (size_t i = 0; i < t->task[idx].threads.nr && !err; i++) {
		err = proc_read_children(pid, t->task[idx].threads.pid[i], &kids);
		if (err) {
			pr_err("cannot read children of task %d: %s", pid, strerror(-err));
			return err;
		}
		for (size_t k = 0; k < kids.nr && !err; k++)
			if (!freeze_find(t, kids.pid[k]))
				err = freeze_add_task(t, kids.pid[k], pid);
		proc_pids_free(&kids);
	}
	return err;
}

/*
 * Child @*i exited before or while it was seized. Its parent is stopped and
 * cannot reap it: it becomes a zombie (once its tracer, us, has seen its
 * exit), which is dumped as one. Gone altogether (its parent lets children
 * be reaped at once), it leaves the list and *i steps back.
 */
static int freeze_exited_child(struct freeze_tree *t, size_t *i, uint64_t deadline)
{
	struct freeze_task *task = &t->task[*i];

	proc_pids_free(&task->threads);
	for (unsigned int nap_us = 10;; nap_us = nap_us < 1000 ? nap_us * 2 : nap_us) {
		struct proc_stat st;
		int err = proc_read_stat(task->pid, 0, &st);

		if (err == -ENOENT || err == -ESRCH) {
			memmove(task, task + 1, (t->nr - *i - 1) * sizeof(*task));
			t->nr--;
			(*i)--;
			return 0;
		}
		if (err)
			return err;
		if (st.state == 'Z' || st.state == 'X') {
			task->zombie = true;
			pr_debug("task %d exited while it was seized: a zombie", task->pid);
			return 0;
		}
		if (freeze_past(deadline)) {
			pr_err("task %d neither stopped nor exited in time", task->pid);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ 0, nap_us * 1000L }, NULL);
	}
}

int freeze_tree(struct freeze_tree *t, pid_t root, unsigned int timeout_ms)
{
	/* the stop polls nap 10 us and up: without the default 50 us of timer
	 * slack on each, a stop is seen when it happens */
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	uint64_t deadline = 0;
	int err;

	prctl(PR_SET_TIMERSLACK, FREEZE_TIMER_SLACK_NS, 0, 0, 0);
	memset(t, 0, sizeof(*t));
	t->timeout_ms = timeout_ms;
	t->freeze_start_ns = freeze_now_ns();
	if (timeout_ms)
		deadline = t->freeze_start_ns + (uint64_t)timeout_ms * 1000000ULL;
	err = freeze_add_task(t, root, 0);
	/* t->nr grows while children are found: parents come first */
	for (size_t i = 0; !err && i < t->nr; i++) {
		err = freeze_one_task(&t->task[i], deadline);
		if (err == -ESRCH && i) {
			/* a child that exited before or while we seized it */
			err = freeze_exited_child(t, &i, deadline);
			continue;
		}
		if (!err)
			err = freeze_collect_children(t, i);
	}
	if (slack > 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
	if (err) {
		if (err == -ESRCH)
			pr_err("task %d does not exist", root);
		freeze_release(t, FREEZE_RESUME);
		freeze_tree_free(t);
		return err;
	}
	t->freeze_end_ns = freeze_now_ns();
	pr_info("froze %zu tasks in %llu us", t->nr,
		(unsigned long long)(t->freeze_end_ns - t->freeze_start_ns) / 1000);
	return 0;
}

/*
 * After SIGKILL, a traced thread's death is reported to its tracer: collect
 * each one, the leader last (its exit is reported after the others'), so
 * the real parent can reap the task.
 */
static void freeze_reap_killed(struct freeze_task *task)
{
	int status;

	for (size_t pass = 0; pass < 2; pass++)
		for (size_t j = 0; j < task->threads.nr; j++) {
			pid_t tid = task->threads.pid[j];

			if ((tid == task->pid) != (pass == 1))
				continue;
			for (;;) {
				pid_t r = waitpid(tid, &status, __WALL);

				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
					break;
			}
		}
}

int freeze_release(struct freeze_tree *t, enum freeze_release_mode mode)
{
	int ret = 0;

	for (size_t i = 0; i < t->nr; i++) {
		struct freeze_task *task = &t->task[i];

		if (task->zombie || !task->threads.nr)
			continue;
		if (mode == FREEZE_KILL) {
			if (kill(task->pid, SIGKILL) && errno != ESRCH && !ret)
				ret = -errno;
			freeze_reap_killed(task);
			proc_pids_free(&task->threads);
			continue;
		}
		/* queued now, taken on the way out of the trap */
		if (mode == FREEZE_LEAVE_STOPPED && kill(task->pid, SIGSTOP) &&
		    errno != ESRCH && !ret)
			ret = -errno;
		for (size_t j = 0; j < task->threads.nr; j++) {
			if (ptrace(PTRACE_DETACH, task->threads.pid[j], NULL, NULL) &&
			    errno != ESRCH) {
				pr_perror("PTRACE_DETACH of task %d thread %d", task->pid,
					  task->threads.pid[j]);
				if (!ret)
					ret = -errno;
			}
		}
		proc_pids_free(&task->threads);
	}
	t->release_ns = freeze_now_ns();
	return ret;
}

void freeze_tree_free(struct freeze_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		proc_pids_free(&t->task[i].threads);
	free(t->task);
	t->task = NULL;
	t->nr = t->cap = 0;
}
