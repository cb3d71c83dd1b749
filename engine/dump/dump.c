/* dump — `crisp dump`, the orchestrator: checks, freeze, collect, copy
 * pages (with a parent and --track-mem only those written since it),
 * release (with -R/-s as early as consistency allows), settle what the
 * collection left for later (bookkeeping that reads no task), write the
 * images, kill (default), stats, inventory.img last, disarm dirty
 * tracking. With --leave-running the memory is by default copied live
 * after the release (dump-live.c). Calls stages only; on any failure the
 * tree is released as it was and the images are removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"

/* An images dir we cannot write into is found before the tree is touched. */
int dump_probe_dir(struct dump_ctx *c)
{
	int fd = openat(c->dir.dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EOPNOTSUPP) {
		fd = openat(c->dir.dfd, ".crisp-probe", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			unlinkat(c->dir.dfd, ".crisp-probe", 0);
	}
	if (fd < 0) {
		int err = -errno;

		pr_perror("cannot write into the images directory %s", c->o->images_dir);
		return err;
	}
	close(fd);
	return 0;
}

static int dump_collect_frozen(struct dump_ctx *c)
{
	uint64_t t0;
	int err;

	err = dump_tree_collect(c);
	if (!err)
		err = dump_misc_collect(c);
	if (c->stream_pages && dump_shmem_wanted(c))
		c->stream_pages = false;	/* dump-shmem regroups staged pages */
	t0 = freeze_now_ns();
	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		/* before the arming changes page tables (it may be under way:
		 * dump_walk_start_early) */
		err = c->tasks[i].zombie ? 0 : dump_guards_collect(&c->tasks[i]);
		if (!err)
			err = dump_live_arm(c, i);	/* live VMAs first: the rest is read now */
		if (!err)
			err = dump_pages_read(c, &c->tasks[i]);
	}
	if (!err && c->live)
		err = dump_pages_grow(c, dump_pages_live_end(c));	/* the live slots */
	c->stats.memdump_us = (freeze_now_ns() - t0) / 1000;
	return err;
}

/* What the collection left for after the release, reading no task: the
 * list of pages left to the parent joined, and the pages saved from the
 * copy before the freeze put among the others. */
static int dump_collect_settle(struct dump_ctx *c)
{
	int err = 0;

	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		struct dump_task *t = &c->tasks[i];

		err = dump_final_walk_settle(c, t);
		if (!err && t->from_pre.nr)
			err = dump_precopy_adopt(t);
	}
	return err;
}

static int dump_write_images(struct dump_ctx *c)
{
	struct dump_shms *shm = NULL;
	uint64_t t_pages = 0;
	int err = dump_shmem_split(c, &shm);

	c->fds.id_base = (uint32_t)c->files.nr;	/* fd files follow the others */
	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		const struct dump_task *t = &c->tasks[i];

		err = dump_core_write(c, t);
		if (!err && !t->zombie) {
			uint64_t t0 = freeze_now_ns();

			err = dump_mm_write(c, t);
			if (!err)
				err = dump_guards_write(c, t);
			if (!err)
				err = dump_pages_write(c, t, (unsigned int)i + 1);
			t_pages += freeze_now_ns() - t0;
		}
		if (!err)
			err = dump_misc_write_task(c, t);
	}
	if (!err)
		err = dump_shmem_write(c, shm, (unsigned int)c->nr_tasks + 1);
	dump_shmem_free(shm);
	c->stats.memwrite_us = t_pages / 1000;
	if (!err)
		err = dump_files_write(c);
	if (!err)
		err = dump_misc_write_pstree(c);
	return err;
}

static int dump_run(struct dump_ctx *c)
{
	const struct crisp_opts *o = c->o;
	bool early = o->leave_running || o->leave_stopped;
	int err;

	/* killed afterwards: frozen until the images are written anyway, so
	 * the pages are written while they are read, without staging them */
	c->stream_pages = !early;
	err = dump_probe_dir(c);
	if (!err)
		err = dump_track_parent(c);
	c->track_mode = track_probe_mode();
	if (!err)
		err = dump_live_decide(c);
	if (!err)
		err = dump_track_open_root(c);
	if (!err)
		err = dump_pages_prepare(c);
	if (!err)
		dump_mm_preread(c);
	if (!err)
		dump_heap_warm(c);
	/* last before the freeze: what is written after it is copied frozen */
	if (!err)
		err = dump_precopy(c);
	if (!err)
		dump_prewalk(c);
	/* a tree that is killed is frozen until its pages are written, which
	 * takes seconds: no CPU is kept polling for that */
	if (!err && early)
		dump_awake_begin(c);
	if (!err)
		err = dump_tree_freeze(c);
	/* tracking first: the refusal checks must know our own registrations */
	for (size_t i = 0; i < c->nr_tasks && !err; i++)
		err = dump_track_open_task(c, &c->tasks[i]);
	if (!err && c->live)
		dump_live_adopt(c);
	if (!err)
		err = dump_collect_frozen(c);
	if (err)
		return err;
	/* everything is copied (or armed for the live copy): a task left
	 * running may go on now */
	if (early)
		err = dump_tree_release(c, o->leave_stopped ? FREEZE_LEAVE_STOPPED : FREEZE_RESUME);
	/* released, or frozen until the images are written: no more hand-overs */
	dump_awake_end(c);
	if (!err)
		err = dump_collect_settle(c);
	if (!err && early && c->live) {
		err = dump_live_copy(c);
		c->live_copied = true;
		if (!err && !o->leave_stopped)
			dump_yield_cpu(c);
	}
	if (err)
		return err;
	err = dump_write_images(c);
	if (err)
		return err;
	if (!early)
		c->stats.frozen_us = (freeze_now_ns() - c->t_frozen) / 1000;
	err = dump_stats_write(c);
	if (!err)
		err = dump_misc_write_inventory(c);
	if (err)
		return err;
	if (!early) {
		/* as CRIU: the dumped tree is gone once its images are complete */
		err = dump_tree_release(c, FREEZE_KILL);
		if (err)
			return err;
	}
	/* the last round: no tracking is left behind */
	return dump_track_finish(c, true);
}

int dump_begin(struct dump_ctx *c, const char *cmd)
{
	const struct crisp_opts *o = c->o;
	int err;

	if (!o->tree_pid || !o->images_dir) {
		pr_err("%s needs -t PID and -D DIR", cmd);
		return -EINVAL;
	}
	err = img_dir_open(&c->dir, o->images_dir, false);
	if (err)
		pr_err("cannot open the images directory %s: %s", o->images_dir, strerror(-err));
	return err;
}

void dump_end(struct dump_ctx *c, int err, const char *doing)
{
	if (err) {
		if (c->frozen)
			dump_tree_release(c, FREEZE_RESUME);
		dump_track_finish(c, false);
		img_dir_abort(&c->dir);
		pr_err("%s FAILED.", doing);
	} else {
		if (c->o->display_stats)
			dump_stats_print(c);
		pr_info("%s finished successfully", doing);
	}
	dump_awake_end(c);
	dump_yield_end(c);
	img_dir_close(&c->dir);
}

int dump_main(const struct crisp_opts *o)
{
	struct dump_ctx c;
	int err;

	memset(&c, 0, sizeof(c));
	c.o = o;
	err = dump_begin(&c, "dump");
	if (err)
		return err;
	pr_info("Dumping the tree of %d into %s", (int)o->tree_pid, o->images_dir);
	err = dump_run(&c);
	dump_live_close(&c);
	proc_maps_free(&c.pre_smaps);
	dump_end(&c, err, "Dumping");
	if (c.staging)
		munmap(c.staging, c.staging_resv);
	dump_ctx_free(&c);
	return err;
}
