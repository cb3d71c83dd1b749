/* restore — `crisp restore`, the orchestrator: read and check the images of
 * every task, plan each restorer's region, create the root with its PID (it
 * creates its children, each premaps its memory and runs its restorer), let
 * all go together, then detach or wait for the root. Calls stages only; on
 * any failure every task is killed and reaped.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blog.h"
#include "freeze.h"
#include "restore.h"

/* Written aside and renamed into place: whoever waits for the file to
 * appear never reads it half written. */
static int rst_write_pidfile(const struct rst_ctx *c)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (!c->o->pidfile)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", c->o->pidfile) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%d", (int)c->pid) < 0 || fclose(f) || rename(tmp, c->o->pidfile)) {
		int err = -errno;

		pr_perror("cannot write the pid file %s", c->o->pidfile);
		unlink(tmp);
		return err ? err : -EIO;
	}
	return 0;
}

static int rst_run(struct rst_tree *t)
{
	uint64_t t0;
	int err;

	err = rst_tree_prepare(t);
	if (err)
		return err;
	t0 = freeze_now_ns();
	err = rst_tree_create(t);
	if (!err)
		err = rst_tree_wait_parked(t);
	t->stats.forking_us = (freeze_now_ns() - t0) / 1000;
	if (!err)
		err = rst_tree_release(t);
	return err;
}

/* Without -d: as CRIU, crisp stays the parent and exits as the task did. */
static int rst_wait_root(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		pr_perror("waiting for the restored task %d", (int)pid);
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int restore_main(const struct crisp_opts *o)
{
	struct rst_tree t;
	struct rst_ctx *root;
	pid_t wait_for;
	int err, ret = 0;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.t_start = freeze_now_ns();
	if (!o->images_dir) {
		pr_err("restore needs -D DIR");
		return 1;
	}
	err = img_dir_open(&t.dir, o->images_dir, false);
	if (err) {
		pr_err("cannot open the images directory %s: %s", o->images_dir, strerror(-err));
		return 1;
	}
	err = rst_run(&t);
	root = t.nr ? &t.task[0] : NULL;
	if (err) {
		if (root)
			rst_tree_abort(&t);
		pr_err("Restoring FAILED.");
		ret = 1;
	} else {
		t.stats.restore_us = (freeze_now_ns() - t.t_start) / 1000;
		root->stats = t.stats;
		if (rst_write_pidfile(root))
			ret = 1;
		/* the tree's directory: a task's is a borrowed copy */
		if (rst_stats_write(&t.dir, root))
			pr_warn("cannot write stats-restore into %s", o->images_dir);
		if (o->display_stats)
			rst_stats_print(root);
		pr_info("Restore finished successfully (%zu tasks)", t.nr);
	}
	wait_for = !ret && !o->restore_detached && root->child_ours ? root->pid : 0;
	rst_tree_free(&t);
	img_dir_close(&t.dir);
	return wait_for ? rst_wait_root(wait_for) : ret;
}
