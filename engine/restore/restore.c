/* restore — `crisp restore`, the orchestrator: read and check the images,
 * plan the restorer's region, create the task with its PID (it premaps its
 * memory and runs the restorer), let it go, then detach or wait for it.
 * Calls stages only; on any failure the task is killed and reaped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blog.h"
#include "freeze.h"
#include "restore.h"

static int rst_write_pidfile(const struct rst_ctx *c)
{
	FILE *f;

	if (!c->o->pidfile)
		return 0;
	f = fopen(c->o->pidfile, "we");
	if (!f || fprintf(f, "%d", (int)c->pid) < 0 || fclose(f)) {
		int err = -errno;

		pr_perror("cannot write the pid file %s", c->o->pidfile);
		return err ? err : -EIO;
	}
	return 0;
}

static int rst_run(struct rst_ctx *c)
{
	uint64_t t0;
	int err;

	err = rst_images_read(c);
	if (!err)
		err = rst_plan(c);
	if (!err)
		err = rst_files_open(c);
	if (err)
		return err;
	for (size_t i = 0; i < c->im.nr_runs; i++)
		c->stats.pages_restored += c->im.runs[i].nr_pages;
	t0 = freeze_now_ns();
	err = rst_task_create(c);
	c->stats.forking_us = (freeze_now_ns() - t0) / 1000;
	if (!err)
		err = rst_task_wait_parked(c);
	if (!err)
		err = rst_task_release(c);
	return err;
}

/* Without -d: as CRIU, crisp stays the parent and exits as the task did. */
static int rst_wait_root(struct rst_ctx *c)
{
	int status;

	if (!c->child_ours)
		return 0;
	if (waitpid(c->pid, &status, 0) != c->pid) {
		pr_perror("waiting for the restored task %d", (int)c->pid);
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int restore_main(const struct crisp_opts *o)
{
	struct rst_ctx c;
	int err, ret = 0;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.pidfd = -1;
	c.im.pages_fd = -1;
	c.t_start = freeze_now_ns();
	if (!o->images_dir) {
		pr_err("restore needs -D DIR");
		return 1;
	}
	err = img_dir_open(&c.dir, o->images_dir, false);
	if (err) {
		pr_err("cannot open the images directory %s: %s", o->images_dir, strerror(-err));
		return 1;
	}
	err = rst_run(&c);
	if (err) {
		rst_task_abort(&c);
		pr_err("Restoring FAILED.");
		ret = 1;
	} else {
		c.stats.restore_us = (freeze_now_ns() - c.t_start) / 1000;
		if (rst_write_pidfile(&c))
			ret = 1;
		if (rst_stats_write(&c))
			pr_warn("cannot write stats-restore into %s", o->images_dir);
		if (o->display_stats)
			rst_stats_print(&c);
		pr_info("Restore finished successfully");
	}
	files_rst_free(&c.fr);
	rst_plan_free(&c);
	rst_images_free(&c.im);
	img_dir_close(&c.dir);
	if (!ret && !o->restore_detached)
		ret = rst_wait_root(&c);
	if (c.pidfd >= 0)
		close(c.pidfd);
	return ret;
}
