/* rst-tree — the restored tree as the engine sees it: pstree.img into one
 * context per task (parents first), sessions and process groups checked
 * against what the restore can build, every task's images and plan, the
 * root's creation, and the tree-wide steps:
 * wait until every task is parked, let all go together, or kill them all.
 * What runs inside the new tasks is rst-fork.c and rst-child.c.
 */
#include <errno.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "core.pb-c.h"
#include "pstree.pb-c.h"
#include "restore.h"

#define RST_PID_MAX		(1u << 22)

static struct rst_ctx *rst_tree_find(struct rst_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->task[i].pid == pid)
			return &t->task[i];
	return NULL;
}

/* pstree.img: pids in range and unique, the root first, parents before
 * their children. */
static int rst_tree_read_pstree(struct rst_tree *t)
{
	const struct img_kind *k = img_kind_by_name("PSTREE");
	int err = img_read(&t->pstree, t->dir.dfd, "pstree.img", k);

	if (err) {
		pr_err("cannot read the image pstree.img in %s: %s", t->o->images_dir, strerror(-err));
		return err;
	}
	if (!t->pstree.n) {
		pr_err("bad image pstree.img: no tasks");
		return -EINVAL;
	}
	/* room for a session and a group helper per task (rst-helpers.c) */
	t->task = calloc(3 * t->pstree.n, sizeof(*t->task));
	if (!t->task)
		return -ENOMEM;
	for (size_t i = 0; i < t->pstree.n; i++) {
		const PstreeEntry *pe = (const PstreeEntry *)t->pstree.ents[i].msg;
		struct rst_ctx *c = &t->task[i];
		const char *bad = NULL;

		if (!pe->pid || pe->pid > RST_PID_MAX || pe->ppid > RST_PID_MAX)
			bad = "a pid out of range";
		else if (rst_tree_find(t, (pid_t)pe->pid))
			bad = "a pid twice";
		else if (!i && pe->ppid)
			bad = "the first task (the root) has a parent";
		else if (i && !rst_tree_find(t, (pid_t)pe->ppid))
			bad = "a task before its parent (or without one)";
		if (bad) {
			pr_err("bad image pstree.img: entry %zu at offset %zu (pid %u): %s", i,
			       t->pstree.ents[i].offset, pe->pid, bad);
			return -EINVAL;
		}
		c->o = t->o;
		c->dir = t->dir;
		c->tree = t;
		c->idx = i;
		c->pid = (pid_t)pe->pid;
		c->ppid = c->creator = (pid_t)pe->ppid;
		c->sid = (pid_t)pe->sid;
		c->pgid = (pid_t)pe->pgid;
		c->pidfd = -1;
		c->im.pages_fd = -1;
		t->nr++;
	}
	return 0;
}

/*
 * Which session and group each task takes. A task leads its session or
 * stays in its creator's (its parent, or a session helper); a group is led
 * by a task (or helper) of the tree in the same session. With --shell-job
 * the root's session (and a group led outside the tree) belong to the
 * caller: inherited, not recreated. Anything else cannot be built: refused.
 */
static int rst_tree_ids(struct rst_tree *t)
{
	const struct rst_ctx *root = &t->task[0];
	bool outer_sid = root->sid != root->pid;

	if (outer_sid && !t->o->shell_job) {
		pr_err("the tree's session %d is led by a task outside it (pid %d's sid); "
		       "restore it into this session with --shell-job", (int)root->sid,
		       (int)root->pid);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_ctx *c = &t->task[i];
		const struct rst_ctx *cr = i ? rst_tree_find(t, c->creator) : NULL;
		const struct rst_ctx *lead = rst_tree_find(t, c->pgid);

		if (c->zombie) {
			/* as far as it can: a zombie exits as soon as it is made */
			c->want_sid = c->sid == c->pid ? c->sid : 0;
			c->want_pgid = lead && lead->sid == c->sid ? c->pgid : 0;
			continue;
		}
		if (outer_sid && c->sid == root->sid)
			c->want_sid = 0;
		else if (c->sid == c->pid || (cr && c->sid == cr->sid))
			c->want_sid = c->sid;
		else {
			pr_err("task %d is in session %d, neither its own nor its parent's (%d): it "
			       "cannot be rebuilt", (int)c->pid, (int)c->sid, (int)c->ppid);
			return -EOPNOTSUPP;
		}
		if (lead && lead->sid == c->sid)
			c->want_pgid = c->pgid;
		else if (!lead && outer_sid && c->sid == root->sid && c->pgid == root->pgid)
			c->want_pgid = 0;	/* the caller's job group */
		else {
			pr_err("task %d is in process group %d, whose leader is in another session "
			       "or outside the tree: it cannot be rebuilt", (int)c->pid, (int)c->pgid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* ids-PID.img: what the task shares with its parent (CLONE_FS, CLONE_FILES:
 * the tasks have no fds of their own yet, but the table is one). */
static int rst_tree_sharing(struct rst_tree *t, struct rst_ctx *c, TaskKobjIdsEntry **out)
{
	const struct img_kind *k = img_kind_by_name("IDS");
	struct img_file *f = calloc(1, sizeof(*f));
	char name[64];
	int err;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	snprintf(name, sizeof(name), "ids-%d.img", (int)c->pid);
	err = img_read(f, t->dir.dfd, name, k);
	if (err == -ENOENT) {
		free(f);
		return 0;	/* older images: nothing shared */
	}
	if (err || f->n != 1) {
		pr_err("cannot read the image %s: %s", name, err ? strerror(-err) : "not one entry");
		img_file_free(f);
		free(f);
		return err ? err : -EINVAL;
	}
	c->ids = f;
	*out = (TaskKobjIdsEntry *)f->ents[0].msg;
	return 0;
}

static int rst_tree_clone_flags(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_ctx *c = &t->task[i];
		TaskKobjIdsEntry *me, *par;
		bool fs_ok, files_ok;
		int err;

		if (!c->pe)
			continue;	/* a zombie or a helper */
		err = rst_tree_sharing(t, c, &me);
		if (err)
			return err;
		if (!i || !me)
			continue;
		par = rst_tree_find(t, c->creator)->ids ?
		      (TaskKobjIdsEntry *)rst_tree_find(t, c->creator)->ids->ents[0].msg : NULL;
		fs_ok = par && par->fs_id == me->fs_id;
		files_ok = par && par->files_id == me->files_id;
		for (size_t j = 0; j < i; j++) {
			const struct rst_ctx *o = &t->task[j];
			const TaskKobjIdsEntry *oi = o->ids ? (TaskKobjIdsEntry *)o->ids->ents[0].msg : NULL;

			if (!oi)
				continue;
			if (oi->vm_id == me->vm_id) {
				pr_err("tasks %d and %d share their memory (CLONE_VM without "
				       "CLONE_THREAD): not supported", (int)o->pid, (int)c->pid);
				return -EOPNOTSUPP;
			}
			/* shared with others only through its parent (which shares it too) */
			if ((oi->fs_id == me->fs_id && !fs_ok) || (oi->files_id == me->files_id && !files_ok)) {
				pr_err("task %d shares its %s with %d, not with its parent: "
				       "not supported", (int)c->pid, oi->fs_id == me->fs_id ?
				       "fs struct" : "fd table", (int)o->pid);
				return -EOPNOTSUPP;
			}
		}
		if (fs_ok)
			c->clone_flags |= CLONE_FS;
		if (files_ok) {
			c->clone_flags |= CLONE_FILES;
			/* neither closes the engine's fds in its restorer */
			c->args->keep_fds = 1;
			rst_tree_find(t, c->creator)->args->keep_fds = 1;
		}
	}
	return 0;
}

/* A zombie's core: dead, with its exit status. */
static int rst_tree_zombie_or_not(struct rst_tree *t, struct rst_ctx *c)
{
	const struct img_kind *k = img_kind_by_name("CORE");
	struct img_file f;
	char name[64];
	const CoreEntry *ce;
	int err;

	snprintf(name, sizeof(name), "core-%d.img", (int)c->pid);
	err = img_read(&f, t->dir.dfd, name, k);
	if (err) {
		pr_err("cannot read the image %s in %s: %s", name, t->o->images_dir, strerror(-err));
		return err;
	}
	ce = f.n == 1 ? (const CoreEntry *)f.ents[0].msg : NULL;
	if (!ce || !ce->tc) {
		img_file_free(&f);
		pr_err("bad image %s: not one entry with a task core", name);
		return -EINVAL;
	}
	c->zombie = ce->tc->task_state == 2;
	c->exit_code = ce->tc->exit_code;
	img_file_free(&f);
	if (c->zombie && !c->idx) {
		pr_err("%s: the root of the tree is a zombie; nothing to restore", name);
		return -EINVAL;
	}
	return 0;
}

/* No PID or TID of the tree (nor a helper's) may be taken: found before
 * anything starts. */
static int rst_tree_pids_free(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_ctx *c = &t->task[i];
		size_t nr = c->pe ? c->pe->n_threads : 0;

		for (size_t k = 0; k <= nr; k++) {
			pid_t p = k ? (pid_t)c->pe->threads[k - 1] : c->pid;

			if (k && p == c->pid)
				continue;
			if (kill(p, 0) == 0 || errno != ESRCH) {
				pr_err("PID %d is in use: cannot restore %s %d of the tree with it",
				       (int)p, k ? "a thread of task" : c->helper ?
				       "the session helper" : "task", (int)c->pid);
				return -EEXIST;
			}
		}
	}
	return 0;
}

int rst_tree_prepare(struct rst_tree *t)
{
	int err = rst_tree_read_pstree(t);

	for (size_t i = 0; !err && i < t->nr; i++) {
		struct rst_ctx *c = &t->task[i];

		err = rst_tree_zombie_or_not(t, c);
		if (err || c->zombie)
			continue;
		c->pe = (const PstreeEntry *)t->pstree.ents[i].msg;
		err = rst_images_read(c);
		if (!err)
			err = rst_plan(c);
	}
	if (!err)
		err = rst_helpers_add(t);
	if (!err)
		err = rst_tree_ids(t);
	if (!err)
		err = rst_tree_clone_flags(t);
	if (!err)
		err = rst_shm_prepare(t);
	if (!err)
		err = rst_files_prepare(t);
	for (size_t i = 0; !err && i < t->nr; i++)
		for (size_t r = 0; r < t->task[i].im.nr_runs; r++)
			t->stats.pages_restored += t->task[i].im.runs[r].nr_pages;
	if (!err)
		err = rst_tree_pids_free(t);
	return err;
}

/* The root is ours; the others are created by their parents. A subreaper
 * for the time being, so that nothing of a failed restore outlives it. */
int rst_tree_create(struct rst_tree *t)
{
	if (!t->o->restore_sibling && !prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		t->subreaper = true;
	return rst_task_create(&t->task[0]);
}

/* A task that has started (it says so in its argument block) gets a pidfd. */
static int rst_tree_pidfd(struct rst_ctx *c)
{
	if (c->pidfd >= 0 || !c->args)
		return 0;
	if (!__atomic_load_n(&c->args->stage, __ATOMIC_SEQ_CST))
		return -EAGAIN;
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	return c->pidfd < 0 ? -errno : 0;
}

int rst_tree_wait_parked(struct rst_tree *t)
{
	/* parents first: a task that never starts is its parent's failure */
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_ctx *c = &t->task[i];
		int err;

		if (!c->args)
			continue;	/* a zombie or a helper */
		err = rst_task_wait_parked(c);
		if (err)
			return err;
		err = rst_tree_pidfd(c);
		if (err) {
			pr_err("task %d: pidfd_open: %s", (int)c->pid, strerror(-err));
			return err;
		}
	}
	return 0;
}

int rst_tree_release(struct rst_tree *t)
{
	int err = 0;

	for (size_t i = 0; i < t->nr && !err; i++)
		if (t->task[i].args)
			err = rst_task_seize(&t->task[i]);
	if (err)
		return err;
	/* every thread of every task is parked and stopped: all go at once */
	for (size_t i = 0; i < t->nr; i++)
		if (t->task[i].args)
			rst_task_go(&t->task[i]);
	for (size_t i = 0; i < t->nr && !err; i++)
		if (t->task[i].args)
			err = rst_task_finish(&t->task[i]);
	for (size_t i = t->nr; i-- > 0 && !err;)
		if (t->task[i].args)
			err = rst_task_detach(&t->task[i]);
	if (!err && t->subreaper) {
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		t->subreaper = false;
	}
	return err;
}

/* Kills every task that was created and reaps what comes to us. Children
 * die with their parents while they run engine code; any task that has
 * started gets its SIGKILL by pidfd, again until none is left (a task just
 * created says it has started a moment later). */
void rst_tree_abort(struct rst_tree *t)
{
	for (int round = 0; round < 500; round++) {
		bool alive = false;

		for (size_t i = t->nr; i-- > 0;) {
			struct rst_ctx *c = &t->task[i];
			struct pollfd p = { c->pidfd, POLLIN, 0 };

			if (i)
				rst_tree_pidfd(c);
			if (c->pidfd < 0)
				continue;
			syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
			if (poll(&p, 1, 0) != 1)
				alive = true;
		}
		if (t->subreaper) {
			pid_t r;

			/* the root, and orphans of the killed tasks, are ours */
			while ((r = waitpid(-1, NULL, __WALL | WNOHANG)) > 0)
				;
			if (r < 0 && errno == ECHILD)
				break;
		} else if (!alive) {
			break;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	for (size_t i = 0; i < t->nr; i++) {
		if (t->task[i].pidfd >= 0)
			close(t->task[i].pidfd);
		t->task[i].pidfd = -1;
	}
}

void rst_tree_free(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_ctx *c = &t->task[i];

		rst_plan_free(c);
		rst_images_free(&c->im);
		if (c->ids) {
			img_file_free(c->ids);
			free(c->ids);
		}
		if (c->pidfd >= 0)
			close(c->pidfd);
	}
	rst_shm_free(t);
	files_rst_free(&t->fr);
	free(t->task);
	img_file_free(&t->pstree);
	if (t->subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}
