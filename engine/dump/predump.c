/* predump — `crisp pre-dump`, the orchestrator: the task keeps running.
 * In uffd-wp mode the frozen window holds only seize and the VMA list: the
 * first round's userfaultfd is made before, the root's leader alone
 * stopped for the remote call. Collecting the written ranges
 * (which re-protects them, atomically per page) and copying the pages
 * happen after the task runs again: a page written meanwhile is either
 * collected now or left written for the next round. It
 * writes what CRIU's pre-dump writes: pagemap-PID.img, pages-N.img,
 * stats-dump and an inventory.img with dump_uptime and pre_dump_mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>

#include "blog.h"
#include "dump.h"
#include "infect.h"

static int predump_create_uffd(struct dump_ctx *c, size_t i)
{
	struct dump_task *t = &c->tasks[i];
	const struct proc_pids *th = &c->tree.task[i].threads;
	pid_t tid = proc_pids_has(th, t->pid) ? t->pid : (th->nr ? th->pid[0] : t->pid);
	struct infect_ctx ic;
	int err, err2;

	if (t->trk.mode != TRACK_UFFD_WP || t->trk.uffd >= 0)
		return 0;
	err = infect_start_maps(&ic, t->pid, tid, 0, 0, &t->maps);
	if (err) {
		pr_err("task %d: cannot run remote calls in it: %s", (int)t->pid, strerror(-err));
		return err;
	}
	err = track_create(&t->trk, &ic);
	err2 = infect_stop(&ic);
	if (err2)
		return err2;
	if (err)
		pr_warn("task %d: no userfaultfd tracking (%s): this round and the next copy everything",
			(int)t->pid, strerror(-err));
	return 0;
}

/*
 * The first round's userfaultfd, before the freeze: the root's leader is
 * stopped alone for the remote userfaultfd() (0.13-0.18 ms of a first
 * round's frozen window, harness medians) while its other threads run on. An fd with
 * nothing registered changes nothing in the task. Anything failing here is
 * left to the freeze, which creates it there.
 */
static void predump_create_root_uffd(struct dump_ctx *c)
{
	pid_t pid = c->o->tree_pid;
	struct infect_ctx ic;
	struct proc_stat st;
	int err;

	if (!c->root_trk_open || c->root_trk.mode != TRACK_UFFD_WP || c->root_trk.uffd >= 0)
		return;
	/* a stopped task stays as it is: the freeze alone handles it */
	if (proc_read_stat(pid, 0, &st) || (st.state != 'R' && st.state != 'S' && st.state != 'D'))
		return;
	if (freeze_stop_one(pid, pid, 1000))
		return;
	err = infect_start(&ic, pid, pid, 0, 0);
	if (!err) {
		err = track_create(&c->root_trk, &ic);
		if (infect_stop(&ic) && !err)
			err = -EIO;
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (err)
		pr_info("task %d: no userfaultfd before the freeze (%s)", (int)pid, strerror(-err));
	else
		pr_debug("task %d: uffd_early=1: its userfaultfd was made before the freeze", (int)pid);
}

static int predump_collect_frozen(struct dump_ctx *c, struct mem_ranges *copy)
{
	int err = 0;

	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		struct dump_task *t = &c->tasks[i];

		if (t->zombie)
			continue;
		err = dump_track_open_task(c, t);
		/* the map first: the userfaultfd's creation reads where the vdso is */
		if (!err)
			err = proc_read_maps(t->pid, false, &t->maps);
		if (!err)
			err = predump_create_uffd(c, i);
		if (err)
			break;
		t->vmas = calloc(t->maps.nr ? t->maps.nr : 1, sizeof(*t->vmas));
		if (!t->vmas)
			return -ENOMEM;
		dump_track_classify(t);
		/* uffd-wp: everything else once the tree runs again */
		if (t->trk.mode != TRACK_UFFD_WP || t->trk.uffd < 0)
			err = dump_track_collect(c, t, true, &copy[i]);
	}
	return err;
}

static int predump_range_cmp(const void *a, const void *b)
{
	const struct mem_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* VMAs that were not tracked: protect them now (the task runs), then take
 * every page they hold, which is at least what they held when protected. */
static int predump_track_new(struct dump_task *t, struct mem_ranges *copy)
{
	int err = 0;

	for (size_t i = 0; i < t->untracked.nr && !err; i++) {
		uint64_t s = t->untracked.r[i].start;
		uint64_t e = s + t->untracked.r[i].nr_pages * MEM_PAGE_SIZE;
		const struct proc_vma *v = proc_maps_find(&t->maps, s);
		bool skip_file = v && t->vmas[v - t->maps.vma].file_skip;
		struct track_vma_scan sc;

		err = track_protect(&t->trk, s, e);
		if (err == -EBUSY)
			return -EOPNOTSUPP;
		err = track_collect(&t->trk, s, e, skip_file ? MEM_SCAN_SKIP_FILE : 0, false, &sc);
		if (err == -ESRCH || err == -ENOENT) {
			err = 0;	/* gone meanwhile */
			continue;
		}
		for (size_t k = 0; k < sc.present.nr && !err; k++) {
			if (copy->nr == copy->cap) {
				size_t cap = copy->cap ? copy->cap * 2 : 64;
				struct mem_range *n = realloc(copy->r, cap * sizeof(*n));

				if (!n) {
					err = -ENOMEM;
					break;
				}
				copy->r = n;
				copy->cap = cap;
			}
			copy->r[copy->nr++] = sc.present.r[k];
			copy->pages += sc.present.r[k].nr_pages;
		}
		track_vma_scan_free(&sc);
	}
	if (!err && copy->nr > 1)
		qsort(copy->r, copy->nr, sizeof(copy->r[0]), predump_range_cmp);
	return err;
}

static int predump_run(struct dump_ctx *c, struct mem_ranges **copyp)
{
	struct mem_ranges *copy = NULL;
	uint64_t t0;
	int err;

	err = dump_probe_dir(c);
	if (!err)
		err = dump_track_parent(c);
	if (err)
		return err;
	c->track_mode = track_probe_mode();
	err = dump_track_open_root(c);
	if (!err) {
		predump_create_root_uffd(c);
		dump_awake_begin(c);
		err = dump_tree_freeze_list(c);
	}
	if (!err) {
		/* one list of pages to copy per task */
		*copyp = copy = calloc(c->nr_tasks, sizeof(*copy));
		err = copy ? predump_collect_frozen(c, copy) : -ENOMEM;
	}
	if (c->frozen) {
		int e = dump_tree_release(c, FREEZE_RESUME);

		if (!err)
			err = e;
	}
	dump_awake_end(c);
	if (err)
		return err;
	pr_info("pre-dump: the tree ran again after %llu us frozen",
		(unsigned long long)c->stats.frozen_us);
	t0 = freeze_now_ns();
	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		struct dump_task *t = &c->tasks[i];

		if (t->zombie)
			continue;
		if (t->trk.mode == TRACK_UFFD_WP && t->trk.uffd >= 0) {
			err = dump_track_reprotect(c, t);
			if (!err)
				err = dump_track_plan(c, t, &copy[i]);
		}
		if (!err)
			err = predump_track_new(t, &copy[i]);
		if (err == -EOPNOTSUPP)
			pr_err("task %d uses userfaultfd itself: crisp cannot pre-dump it", (int)t->pid);
		if (!err)
			err = predump_copy(c, t, &copy[i], (unsigned int)i + 1);
		if (!err)
			err = dump_pages_write_pagemap(c, t, (unsigned int)i + 1);
		c->stats.pages_scanned += t->pages_scanned;
	}
	c->stats.memwrite_us = (freeze_now_ns() - t0) / 1000;
	if (!err)
		err = dump_stats_write(c);
	if (!err)
		err = dump_misc_write_predump_inventory(c);
	if (!err && dump_track_finish(c, true))
		pr_warn("the dirty-tracking state could not be kept: the next round copies everything");
	return err;
}

int predump_main(const struct crisp_opts *o)
{
	struct mem_ranges *copy = NULL;
	struct dump_ctx c;
	int err;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.predump = true;
	err = dump_begin(&c, "pre-dump");
	if (err)
		return err;
	if (!o->track_mem)
		pr_info("Enforcing memory tracking for pre-dump.");
	pr_info("Pre-dumping the tree of %d into %s", (int)o->tree_pid, o->images_dir);
	err = predump_run(&c, &copy);
	dump_end(&c, err, "Pre-dumping");
	for (size_t i = 0; copy && i < c.nr_tasks; i++)
		mem_ranges_free(&copy[i]);
	free(copy);
	dump_ctx_free(&c);
	return err;
}
