/* rst-fork — the first thing a restored task does (engine code, all signals
 * blocked): it dies with its parent while it is engine code, takes up the
 * session and process group it leads (and the session's controlling
 * terminal, before any child), creates its children with their PIDs
 * (zombies exit at once with their status; helpers do their part and
 * exit), then joins the group it belongs to. All before memory, files or
 * anything else of its own: children must not inherit those. Maps
 * nothing; a failure goes through rst_child_fail.
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

#define RST_JOIN_TIMEOUT_MS	30000

/* A zombie: exits now as it did (in its session, and in its group if that
 * exists already), its parent keeps it until the parent's own code reaps it. */
static __attribute__((noreturn)) void rst_fork_zombie(const struct rst_ctx *z)
{
	int sig = (int)(z->exit_code & 0x7f);

	if (z->want_sid == z->pid)
		setsid();
	else if (z->want_pgid == z->pid)
		setpgid(0, 0);
	else if (z->want_pgid)
		setpgid(0, z->want_pgid);

	if (sig && sig != 0x7f) {
		sigset_t one;

		signal(sig, SIG_DFL);
		/* no core file for a task that died long ago */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		kill(getpid(), sig);
	}
	_exit((int)(z->exit_code >> 8) & 0xff);
}

int rst_fork_one(const struct rst_ctx *c, struct rst_ctx *k)
{
	struct clone_args ca;
	pid_t want = k->pid;
	long ret;

	memset(&ca, 0, sizeof(ca));
	ca.flags = k->clone_flags;
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&want;
	ca.set_tid_size = 1;
	ret = syscall(SYS_clone3, &ca, sizeof(ca));
	if (ret == 0) {
		/* dies with its parent while engine code, unless that parent is a
		 * helper, which exits on purpose; a parent gone already: so are we */
		if (!c->helper) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (getppid() != c->pid)
				_exit(1);
		}
		if (k->zombie)
			rst_fork_zombie(k);
		if (k->helper)
			rst_helper_main(k);
		rst_child_main(k);
	}
	return ret < 0 ? -errno : 0;
}

/* Joins process group @pgid, which another task of the tree may still be
 * about to create: until it exists, setpgid says EPERM. */
static void rst_fork_join(struct rst_ctx *c, pid_t pgid)
{
	for (int ms = 0; ; ms++) {
		if (!setpgid(0, pgid))
			return;
		if (errno != EPERM || ms >= RST_JOIN_TIMEOUT_MS)
			rst_child_fail(c, -errno, "joining process group %d: %s", (int)pgid,
				       strerror(errno));
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

/* Helpers it created are reaped (their tasks are now its children), zombie
 * children have exited; none of their SIGCHLDs are the task's. */
static void rst_fork_settle_zombies(struct rst_ctx *c)
{
	struct rst_tree *t = c->tree;
	const struct timespec now = { 0, 0 };
	sigset_t chld;

	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_ctx *k = &t->task[i];
		int st;

		if (k->creator != c->pid || !k->helper)
			continue;
		while (waitpid(k->pid, &st, 0) < 0)
			if (errno != EINTR)
				rst_child_fail(c, -errno, "helper %d: %s", (int)k->pid,
					       strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rst_child_fail(c, -(WIFEXITED(st) ? WEXITSTATUS(st) : EINTR),
				       "%s helper %d failed: %s", k->sid == k->pid ? "session" : "group",
				       (int)k->pid,
				       WIFEXITED(st) ? strerror(WEXITSTATUS(st)) : "killed");
	}
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_ctx *k = &t->task[i];
		siginfo_t si;

		if (k->ppid != c->pid || !k->zombie)
			continue;
		while (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOWAIT))
			if (errno != EINTR)
				rst_child_fail(c, -errno, "zombie %d did not exit: %s", (int)k->pid,
					       strerror(errno));
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, NULL, &now) == SIGCHLD)
		;
}

void rst_fork_children(struct rst_ctx *c)
{
	struct rst_tree *t = c->tree;
	pid_t self = c->im.pid;
	char why[200];
	int err;

	__atomic_store_n(&c->args->stage, RST_STAGE_START, __ATOMIC_SEQ_CST);
	/* before a helper of ours exits: its tasks are to come to us */
	if (c->im.cores[0]->tc->has_child_subreaper && c->im.cores[0]->tc->child_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (c->want_sid == self && setsid() < 0)
		rst_child_fail(c, -errno, "setsid: %s", strerror(errno));
	else if (c->want_sid != self && c->want_pgid == self && setpgid(0, 0))
		rst_child_fail(c, -errno, "setpgid(0, 0): %s", strerror(errno));
	/* before any child: a task has the terminal its parent had at fork */
	if (c->want_sid == self && (err = files_tty_take_ctty(&t->fr, self, why, sizeof(why))))
		rst_child_fail(c, err, "%s", why);
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_ctx *k = &t->task[i];

		if (k->creator != self || k == c)
			continue;
		err = rst_fork_one(c, k);
		if (err)
			rst_child_fail(c, err, "creating %s %d (clone3 with set_tid): %s%s",
				       k->helper ? "helper" : "child", (int)k->pid,
				       strerror(-err), err == -EEXIST ? " (the PID is in use)" : "");
	}
	if (c->want_pgid && c->want_pgid != self && getpgid(0) != c->want_pgid)
		rst_fork_join(c, c->want_pgid);
	rst_fork_settle_zombies(c);
	err = files_tty_foreground(&t->fr, getsid(0), getpgid(0), why, sizeof(why));
	if (!err && !c->ppid && c->want_pgid == self && !c->want_sid)
		err = files_tty_job_foreground(&t->fr, self, why, sizeof(why));
	if (err)
		rst_child_fail(c, err, "%s", why);
	/* from here on the restorer sets the task's own (or none) */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
}
