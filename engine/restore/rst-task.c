/* rst-task — the restored task's life as the engine sees it: created with
 * its PID (clone3 + set_tid), watched until every thread is parked in the
 * restorer, then let go under ptrace until each has passed rt_sigreturn, so
 * that the restorer's region can be unmapped from outside (engine/infect)
 * before the task runs on its own; rst-tree does each step for every task
 * of the tree before the next. On failure it is killed and reaped.
 */
#include <errno.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "freeze.h"
#include "infect.h"
#include "restore.h"

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#define PTRACE_SYSCALL_INFO_ENTRY 1
#define PTRACE_SYSCALL_INFO_EXIT 2
#endif

#define RST_PARK_TIMEOUT_MS	60000

/* struct ptrace_syscall_info (linux/ptrace.h, which clashes with glibc's) */
struct rst_syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct { uint64_t nr, args[6]; } entry;
		struct { int64_t rval; uint8_t is_error; } exit;
	};
};

static const char *const rst_steps[RST_STEP_COUNT] = {
	[RST_STEP_NONE] = "none",
	[RST_STEP_PREMAP] = "premapping memory and task state",
	[RST_STEP_UNMAP] = "unmapping the engine",
	[RST_STEP_PARK_SPECIAL] = "moving the vdso aside",
	[RST_STEP_MOVE_VMA] = "moving a VMA into place",
	[RST_STEP_PROT_VMA] = "setting a VMA's protection",
	[RST_STEP_MADVISE] = "madvise of a VMA",
	[RST_STEP_GUARD] = "installing guard regions (MADV_GUARD_INSTALL)",
	[RST_STEP_MLOCK] = "mlock of a VMA",
	[RST_STEP_SPECIAL] = "moving the vdso/vvar into place",
	[RST_STEP_MM_MAP] = "PR_SET_MM_MAP",
	[RST_STEP_CLONE_THREAD] = "creating a thread (clone3 with set_tid)",
	[RST_STEP_THREAD_STATE] = "thread state (fs/gs base, robust list, comm, nice)",
	[RST_STEP_RSEQ] = "rseq registration",
	[RST_STEP_PENDING] = "queueing a pending signal",
	[RST_STEP_CREDS] = "credentials",
	[RST_STEP_TIMERS] = "timers",
	[RST_STEP_PRCTL] = "prctl",
};

const char *rst_step_name(int step)
{
	return step >= 0 && step < RST_STEP_COUNT && rst_steps[step] ? rst_steps[step] : "?";
}

int rst_task_create(struct rst_ctx *c)
{
	struct clone_args ca;
	sigset_t all, old;
	pid_t tid = c->im.pid;
	int pidfd = -1;
	long ret;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD | (c->o->restore_sibling ? CLONE_PARENT : 0);
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	/* with CLONE_PARENT the child gets our own exit signal (clone3 wants 0) */
	ca.exit_signal = c->o->restore_sibling ? 0 : SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);	/* the child starts with all blocked */
	ret = syscall(SYS_clone3, &ca, sizeof(ca));
	if (ret == 0)
		rst_child_main(c);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		int err = -errno;

		if (err == -EEXIST)
			pr_err("PID %d is in use: cannot restore the task with its PID", (int)tid);
		else
			pr_perror("clone3 with PID %d", (int)tid);
		return err;
	}
	c->pid = (pid_t)ret;
	c->pidfd = pidfd;
	c->child_ours = !c->o->restore_sibling;
	return 0;
}

static bool rst_task_gone(struct rst_ctx *c)
{
	struct pollfd p = { c->pidfd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

int rst_task_wait_parked(struct rst_ctx *c)
{
	struct rst_args *a = c->args;
	uint64_t t0 = freeze_now_ns();

	for (;;) {
		int st = __atomic_load_n(&a->stage, __ATOMIC_SEQ_CST);
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (st && c->pidfd < 0) {
			/* it exists (it said so): hold it by a pidfd */
			c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
			if (c->pidfd < 0) {
				int err = -errno;

				pr_perror("pidfd_open of restored task %d", (int)c->pid);
				return err;
			}
		}
		if (st == RST_STAGE_PARKED) {
			if (a->pages_direct)
				pr_info("task %d: direct_pages=%llu (not in the page cache: read "
					"with O_DIRECT)", (int)c->pid,
					(unsigned long long)a->pages_direct);
			return 0;
		}
		if (st == RST_STAGE_FAILED) {
			pr_err("restoring task %d failed in thread %d while %s: %s%s%s", (int)c->pid,
			       (int)a->err_tid, rst_step_name(a->err_step), strerror(-a->err),
			       a->msg[0] ? ": " : "", a->msg);
			return a->err ? a->err : -EIO;
		}
		if (c->pidfd >= 0 && rst_task_gone(c)) {
			pr_err("restored task %d died in the restorer (stage %d)", (int)c->pid, st);
			return -ECHILD;
		}
		if ((freeze_now_ns() - t0) / 1000000 > RST_PARK_TIMEOUT_MS) {
			pr_err("restored task %d did not get ready in %d ms (stage %d)", (int)c->pid,
			       RST_PARK_TIMEOUT_MS, st);
			return -ETIMEDOUT;
		}
		syscall(SYS_futex, &a->stage, 0 /* FUTEX_WAIT */, st, &ts, NULL, 0);
	}
}

static int rst_wait_stop(pid_t tid, int *status)
{
	if (waitpid(tid, status, __WALL) != tid) {
		int err = -errno;

		pr_perror("waiting for thread %d", (int)tid);
		return err;
	}
	if (!WIFSTOPPED(*status)) {
		pr_err("thread %d ended (status %#x) before it was restored", (int)tid, *status);
		return -ECHILD;
	}
	return 0;
}

/* Runs @tid until it has come out of rt_sigreturn (its own registers), or
 * with @entry, until it has entered its next syscall. */
static int rst_run_to_sigreturn(pid_t tid, bool entry)
{
	bool in_sigreturn = false;
	int status, sig = 0, err;

	for (;;) {
		struct rst_syscall_info info;

		if (ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig)) {
			err = -errno;
			pr_perror("PTRACE_SYSCALL thread %d", (int)tid);
			return err;
		}
		err = rst_wait_stop(tid, &status);
		if (err)
			return err;
		sig = 0;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			if (status >> 16 == 0)
				sig = WSTOPSIG(status);	/* a real signal: pass it on */
			continue;
		}
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) <= 0)
			return -errno;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY && entry)
			return 0;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			in_sigreturn = info.entry.nr == SYS_rt_sigreturn;
		else if (info.op == PTRACE_SYSCALL_INFO_EXIT && in_sigreturn)
			return 0;
	}
}

int rst_task_seize(struct rst_ctx *c)
{
	const struct rst_args *a = c->args;
	const struct rst_thread *th = (const struct rst_thread *)(uintptr_t)a->threads;
	int status, err = 0;

	for (size_t i = 0; i < a->nr_threads && !err; i++) {
		pid_t tid = th[i].tid;

		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) ||
		    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
			err = -errno;
			pr_perror("seizing restored thread %d", (int)tid);
			break;
		}
		err = rst_wait_stop(tid, &status);
	}
	return err;
}

void rst_task_go(struct rst_ctx *c)
{
	struct rst_args *a = c->args;

	__atomic_store_n(&a->go, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &a->go, 1 /* FUTEX_WAKE */, 1 << 30, NULL, NULL, 0);
}

static int rst_task_close_range(struct infect_ctx *ic, unsigned int lo, unsigned int hi)
{
	uint64_t args[6] = { lo, hi, 0, 0, 0, 0 };
	long ret;
	int err = infect_syscall(ic, SYS_close_range, args, &ret);

	return err ? err : (int)ret;
}

/* A table shared by CLONE_FILES, once, from the task that created it: what
 * is not the table's own goes (the engine's copies and the tasks' exe fds
 * at close_from and above, anything in the holes between the table's fds). */
static int rst_task_close_engine_fds(struct rst_ctx *c, struct infect_ctx *ic)
{
	size_t pos = 0;
	int lo, hi, err;

	err = rst_task_close_range(ic, (unsigned int)c->args->fd_close_from, ~0u);
	while (!err && files_rst_hole(&c->tree->fr, c->im.pid, &pos, &lo, &hi))
		err = rst_task_close_range(ic, (unsigned int)lo, (unsigned int)hi);
	return err;
}

int rst_task_finish(struct rst_ctx *c)
{
	struct rst_args *a = c->args;
	const struct rst_thread *th = (const struct rst_thread *)(uintptr_t)a->threads;
	struct infect_ctx ic;
	uint64_t args[6] = { a->region, a->region_len, 0, 0, 0, 0 };
	int err = 0;
	long ret;

	for (size_t i = 0; i < a->nr_threads && !err; i++)
		err = rst_run_to_sigreturn(th[i].tid, false);
	if (err)
		return err;
	/* every thread is past the restorer: its region goes (and, in an fd
	 * table shared with other tasks, every one of them is past its use of
	 * the engine's fds: they go too, once per table) */
	err = infect_start(&ic, c->pid, c->pid, 0, 0);
	if (!err) {
		err = infect_syscall(&ic, SYS_munmap, args, &ret);
		if (!err && ret)
			err = (int)ret;
		if (!err && a->keep_fds && c->files_owner == c->im.pid)
			err = rst_task_close_engine_fds(c, &ic);
		int err2 = infect_stop(&ic);
		if (!err)
			err = err2;
	}
	if (err) {
		pr_err("cannot unmap the restorer from task %d: %s", (int)c->pid, strerror(-err));
		return err;
	}
	/* A thread that was inside a syscall goes back into it before it is let
	 * go: a signal sent once we are gone then interrupts that syscall, as it
	 * would have, instead of being handled just before it. */
	for (size_t i = 0; i < a->nr_threads && !err; i++)
		if (th[i].restarts)
			err = rst_run_to_sigreturn(th[i].tid, true);
	return err;
}

int rst_task_detach(struct rst_ctx *c)
{
	const struct rst_args *a = c->args;
	const struct rst_thread *th = (const struct rst_thread *)(uintptr_t)a->threads;
	int err = 0;

	for (size_t i = a->nr_threads; i-- > 0;) {
		if (ptrace(PTRACE_DETACH, th[i].tid, NULL, NULL)) {
			err = -errno;
			pr_perror("detaching restored thread %d", (int)th[i].tid);
		}
	}
	if (!err && (c->o->leave_stopped || c->im.cores[0]->tc->task_state == 3))
		kill(c->pid, SIGSTOP);
	return err;
}

void rst_task_abort(struct rst_ctx *c)
{
	if (c->pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	if (c->child_ours)
		waitpid(c->pid, NULL, __WALL);
	else {
		struct pollfd p = { c->pidfd, POLLIN, 0 };

		poll(&p, 1, 5000);	/* gone, to be reaped by its parent */
	}
	close(c->pidfd);
	c->pidfd = -1;
}
