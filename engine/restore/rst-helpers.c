/* rst-helpers — sessions and process groups whose leader has exited.
 * A task of such a session that was reparented (its parent is in another
 * session) is created by a helper: a task with the dead leader's PID that
 * calls setsid, forks it and exits, so that the task is reparented to its
 * dumped parent as it was. That parent must be a child subreaper (else the
 * task would not have been its child). A group whose leader has exited gets
 * a helper with the leader's PID, forked by the first task of its session:
 * it creates the group, waits until every member has joined, and exits.
 * A helper's parent reaps it before it goes on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "restore.h"

static struct rst_ctx *rst_helpers_find(struct rst_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->task[i].pid == pid)
			return &t->task[i];
	return NULL;
}

static bool rst_helpers_subreaper(const struct rst_ctx *p)
{
	const TaskCoreEntry *tc = p->im.cores ? p->im.cores[0]->tc : NULL;

	return tc && tc->has_child_subreaper && tc->child_subreaper;
}

#define RST_HELPER_JOIN_MS	30000

static struct rst_ctx *rst_helpers_new(struct rst_tree *t, pid_t pid, pid_t sid, pid_t parent)
{
	struct rst_ctx *h = &t->task[t->nr];

	memset(h, 0, sizeof(*h));
	h->o = t->o;
	h->dir = t->dir;
	h->tree = t;
	h->idx = t->nr++;
	h->pid = h->pgid = pid;
	h->sid = sid;
	h->ppid = h->creator = parent;
	h->helper = true;
	h->pidfd = -1;
	h->im.pages_fd = -1;
	return h;
}

/* Groups whose leader has exited, in live sessions or helpers' ones (the
 * caller's job group, with --shell-job, is not ours to make). */
static int rst_helpers_add_groups(struct rst_tree *t)
{
	const struct rst_ctx *root = &t->task[0];
	size_t nr = t->nr;

	for (size_t i = 0; i < nr; i++) {
		const struct rst_ctx *c = &t->task[i];
		const struct rst_ctx *first = NULL;

		if (c->helper || c->zombie || rst_helpers_find(t, c->pgid))
			continue;
		if (root->sid != root->pid && c->sid == root->sid && c->pgid == root->pgid)
			continue;
		for (size_t k = 0; k < nr && !first; k++)
			if (!t->task[k].helper && !t->task[k].zombie && t->task[k].sid == c->sid)
				first = &t->task[k];
		rst_helpers_new(t, c->pgid, c->sid, first->pid);
		pr_info("process group %d lost its leader: a helper with its PID, a child of %d, "
			"holds it until its tasks joined", (int)c->pgid, (int)first->pid);
	}
	return 0;
}

int rst_helpers_add(struct rst_tree *t)
{
	size_t nr = t->nr;
	pid_t outer = t->task[0].sid != t->task[0].pid ? t->task[0].sid : 0;

	for (size_t i = 1; i < nr; i++) {
		struct rst_ctx *c = &t->task[i];
		struct rst_ctx *p = rst_helpers_find(t, c->ppid);
		struct rst_ctx *h = rst_helpers_find(t, c->sid);

		if ((h && !h->helper) || c->sid == outer || p->sid == c->sid)
			continue;	/* led by a live task, the caller's, or inherited */
		if (c->sid == c->pid)
			continue;	/* it leads its own */
		if (h && h->creator != p->pid) {
			pr_err("session %d lost its leader and its tasks were reparented to %d and "
			       "%d: one helper cannot create both", (int)c->sid, (int)h->creator,
			       (int)p->pid);
			return -EOPNOTSUPP;
		}
		if (!h && !rst_helpers_subreaper(p)) {
			pr_err("task %d is in session %d, whose leader has exited, but its parent %d "
			       "is not a child subreaper: cannot rebuild how it got there",
			       (int)c->pid, (int)c->sid, (int)p->pid);
			return -EOPNOTSUPP;
		}
		if (!h) {
			h = rst_helpers_new(t, c->sid, c->sid, p->pid);
			pr_info("session %d lost its leader: a helper with its PID, a child of %d, "
				"creates %d", (int)c->sid, (int)p->pid, (int)c->pid);
		}
		c->creator = h->pid;
	}
	return rst_helpers_add_groups(t);
}

/* A group helper: the group is there until each live member is in it. */
static __attribute__((noreturn)) void rst_helper_group(struct rst_ctx *h)
{
	struct rst_tree *t = h->tree;

	if (setpgid(0, 0))
		_exit(errno & 0xff);
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_ctx *m = &t->task[i];

		if (m->pgid != h->pid || m == h || m->helper || m->zombie)
			continue;
		for (int ms = 0; getpgid(m->pid) != h->pid; ms++) {
			if (ms >= RST_HELPER_JOIN_MS)
				_exit(ETIMEDOUT);
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	_exit(0);
}

/* In the helper: its session, the tasks it creates, and out. A failure is
 * its exit code (an errno), which its parent reports. */
void rst_helper_main(struct rst_ctx *h)
{
	struct rst_tree *t = h->tree;

	if (h->sid != h->pid)
		rst_helper_group(h);
	if (setsid() < 0)
		_exit(errno & 0xff);
	for (size_t i = 0; i < t->nr; i++) {
		if (t->task[i].creator != h->pid || &t->task[i] == h)
			continue;
		int err = rst_fork_one(h, &t->task[i]);

		if (err)
			_exit(-err & 0xff);
	}
	_exit(0);
}
