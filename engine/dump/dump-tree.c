/* dump-tree — the dumped tree: refusal checks, freezing it through
 * engine/freeze, collecting every task's state while it is stopped, and
 * letting it go. Owns the dump context's task list; encodes no images.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "dump.h"
#include "mem_scan.h"

#define DUMP_DEFAULT_TIMEOUT_S 10	/* as CRIU's --timeout default */

/* A root that does not lead its session is a job of someone else's: its
 * session (and terminal) is the caller's, which only --shell-job allows. */
static int dump_tree_refuse_session(struct dump_ctx *c, pid_t root)
{
	struct proc_stat st;
	int err = proc_read_stat(root, 0, &st);

	if (err) {
		pr_err("task %d: cannot read its stat: %s", (int)root, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	if ((pid_t)st.sid == root || c->o->shell_job)
		return 0;
	pr_err("task %d is not a session leader: its session %lld belongs to a task outside the "
	       "tree; dump it as a job of the caller's session with --shell-job (-j)", (int)root,
	       (long long)st.sid);
	return -EINVAL;
}

int dump_tree_freeze_list(struct dump_ctx *c)
{
	unsigned int timeout_s = c->o->timeout ? c->o->timeout : DUMP_DEFAULT_TIMEOUT_S;
	pid_t root = c->o->tree_pid;
	int err;

	/* the common refusal, before the task is touched at all */
	err = dump_refuse_task(c->o, root);
	if (err == -ENOENT || err == -ESRCH) {
		pr_err("no process with pid %d", (int)root);
		return -ESRCH;
	}
	if (err)
		return err;
	err = dump_tree_refuse_session(c, root);
	if (err)
		return err;

	c->t_start = freeze_now_ns();
	err = freeze_tree(&c->tree, root, timeout_s * 1000u);
	if (err) {
		if (err == -ESRCH)
			pr_err("no process with pid %d", (int)root);
		else
			pr_err("cannot freeze the tree of %d: %s", (int)root, strerror(-err));
		return err;
	}
	c->frozen = true;
	c->t_frozen = freeze_now_ns();
	dump_heap_frozen(c);
	c->stats.freezing_us = (c->t_frozen - c->t_start) / 1000;

	c->tasks = calloc(c->tree.nr, sizeof(*c->tasks));
	if (!c->tasks)
		return -ENOMEM;
	c->nr_tasks = c->tree.nr;
	for (size_t i = 0; i < c->tree.nr; i++) {
		struct freeze_task *ft = &c->tree.task[i];

		c->tasks[i].pid = ft->pid;
		c->tasks[i].ppid = ft->parent;
		c->tasks[i].zombie = ft->zombie;
		c->tasks[i].stopped = ft->was_stopped;
	}
	return 0;
}

int dump_tree_freeze(struct dump_ctx *c)
{
	int err = dump_tree_freeze_list(c);

	/* now that it cannot change: every task, the root again too */
	for (size_t i = 0; !err && i < c->nr_tasks; i++)
		if (!c->tasks[i].zombie)
			err = dump_refuse_task(c->o, c->tasks[i].pid);
	return err;
}

static int dump_tree_collect_task(struct dump_ctx *c, struct dump_task *t)
{
	int err = proc_read_stat(t->pid, 0, &t->stat);

	if (err) {
		pr_err("task %d: cannot read its stat: %s", (int)t->pid, strerror(-err));
		return err;
	}
	t->pgid = (pid_t)t->stat.pgid;
	t->sid = (pid_t)t->stat.sid;
	if (t->zombie) {
		t->exit_code = (int)t->stat.exit_code;
		return 0;
	}
	err = dump_mm_collect(c, t);
	if (!err)
		err = dump_refuse_vmas(t);
	if (!err)
		err = dump_core_collect_remote(c, t);
	/* the remote calls are over (a busy helper thread would slow them:
	 * a task thread woken on its CPU waits for it): the page tables are
	 * walked while the rest is read from /proc */
	if (!err)
		dump_walk_start_early(t);
	if (!err)
		err = dump_core_collect_proc(c, t);
	c->fds.o = c->o;
	if (!err)
		err = files_dump_task(&c->fds, t->pid);
	return err;
}

int dump_tree_collect(struct dump_ctx *c)
{
	pid_t caller_sid = 0;

	for (size_t i = 0; i < c->nr_tasks; i++) {
		int err = dump_tree_collect_task(c, &c->tasks[i]);

		if (err)
			return err;
	}
	/* every pty known: each session's terminal must be one of them, but
	 * the caller's (a --shell-job root's session) */
	for (size_t i = 0; i < c->nr_tasks; i++)
		if (c->tasks[i].pid == c->o->tree_pid && c->tasks[i].sid != c->tasks[i].pid)
			caller_sid = c->tasks[i].sid;
	for (size_t i = 0; i < c->nr_tasks; i++) {
		const struct dump_task *t = &c->tasks[i];
		bool callers = c->o->shell_job && caller_sid && t->sid == caller_sid;
		int err = t->zombie ? 0 : files_tty_check_ctty(&c->fds, t->pid, t->stat.tty_nr,
							       callers);

		if (err)
			return err;
	}
	return 0;
}

int dump_tree_release(struct dump_ctx *c, enum freeze_release_mode mode)
{
	int err;

	if (!c->frozen)
		return 0;
	err = freeze_release(&c->tree, mode);
	c->frozen = false;
	c->t_released = freeze_now_ns();
	c->stats.frozen_us = (c->t_released - c->t_frozen) / 1000;
	dump_heap_released(c);
	if (err)
		pr_err("releasing the tree of %d: %s", (int)c->o->tree_pid, strerror(-err));
	else if (mode == FREEZE_RESUME)
		dump_yield_cpu(c);
	return err;
}

static void dump_task_free(struct dump_task *t)
{
	dump_walk_early_drop(t);
	for (size_t i = 0; i < t->nr_th; i++) {
		regs_free(&t->th[i].regs);
		free(t->th[i].pending);
		proc_status_free(&t->th[i].st);
	}
	free(t->th);
	proc_status_free(&t->status);
	proc_maps_free(&t->maps);
	free(t->vmas);
	proc_timers_free(&t->ptimer_ids);
	free(t->ptimers);
	free(t->shared_pending);
	free(t->runs);
	mem_ranges_free(&t->parent);
	dump_parts_free(&t->parent_parts);
	mem_ranges_free(&t->parent_has);
	dump_precopy_free(&t->pre);
	dump_final_walk_free(&t->prewalk);
	mem_ranges_free(&t->from_pre);
	mem_ranges_free(&t->guards);
	mem_ranges_free(&t->untracked);
	mem_ranges_free(&t->written_frozen);
	if (t->trk_open)
		track_close(&t->trk);
}

void dump_ctx_free(struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_tasks; i++)
		dump_task_free(&c->tasks[i]);
	free(c->tasks);
	c->tasks = NULL;
	c->nr_tasks = 0;
	mem_ranges_free(&c->root_parent_has);
	dump_precopy_free(&c->root_pre);
	dump_final_walk_free(&c->root_prewalk);
	dump_files_free(&c->files);
	files_dump_free(&c->fds);
	freeze_tree_free(&c->tree);
}
