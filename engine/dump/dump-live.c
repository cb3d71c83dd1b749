/* dump-live — the live snapshot of `dump --leave-running` (engine/track
 * snap.c does the copy-before-write): decides which tasks and VMAs are
 * copied live, arms them while the tree is frozen, copies them once it runs
 * again and turns what was kept into the task's page runs. Writes no images;
 * VMAs it does not take are copied frozen by dump-pages as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blog.h"
#include "dump.h"
#include "infect.h"

/* Before the freeze: live or frozen for this dump (the kernel probe stays
 * out of the frozen window). 0, or -EOPNOTSUPP when live was demanded. */
int dump_live_decide(struct dump_ctx *c)
{
	const struct crisp_opts *o = c->o;

	c->live = false;
	if (!o->leave_running)
		return 0;
	if (o->snapshot == CRISP_SNAPSHOT_FROZEN) {
		pr_info("snapshot=frozen: memory is copied while the tree is stopped");
		return 0;
	}
	if (snap_supported()) {
		c->live = true;
		pr_info("snapshot=live: memory is copied while the tree runs (copy-before-write)");
		return 0;
	}
	if (o->snapshot == CRISP_SNAPSHOT_LIVE) {
		pr_err("--snapshot live: this kernel has no synchronous userfaultfd write-protection "
		       "with WP_UNPOPULATED (see crisp check --feature uffd_wp_sync)");
		return -EOPNOTSUPP;
	}
	pr_info("snapshot=frozen: this kernel cannot take live snapshots");
	return 0;
}

/* Which VMAs are taken live: writable private or shared anonymous memory,
 * what userfaultfd can write-protect synchronously. Private file mappings
 * (written .data) and read-only ones are copied frozen: small, and a
 * read-only one cannot change without an mprotect. */
static bool dump_live_vma(const struct proc_vma *v, const struct dump_vma *d)
{
	return d->dump_pages && (v->prot & PROT_WRITE) && !d->file_skip &&
	       (d->status & (DUMP_VMA_ANON_PRIVATE | DUMP_VMA_ANON_SHARED));
}

static int dump_live_create(struct dump_ctx *c, size_t i)
{
	struct dump_task *t = &c->tasks[i];
	const struct proc_pids *th = &c->tree.task[i].threads;
	pid_t tid = proc_pids_has(th, t->pid) ? t->pid : (th->nr ? th->pid[0] : t->pid);
	struct infect_ctx ic;
	int err, err2;

	err = infect_start(&ic, t->pid, tid, 0, 0);
	if (err) {
		pr_err("task %d: cannot run remote calls in it: %s", (int)t->pid, strerror(-err));
		return err;
	}
	err = snap_create(&t->snap, &ic);
	err2 = infect_stop(&ic);
	return err2 ? err2 : err;
}

/*
 * While the tree is frozen, before its pages are read: creates the task's
 * userfaultfd and write-protects its live VMAs, each given a slot in the
 * staging area past what is used (reserved now, mapped by
 * dump_live_reserve). A task that cannot be armed is copied frozen, unless
 * live was demanded. 0 or -errno.
 */
int dump_live_arm(struct dump_ctx *c, size_t i)
{
	struct dump_task *t = &c->tasks[i];
	size_t live = 0;
	int err;

	if (!c->live || t->zombie)
		return 0;
	snap_init(&t->snap, t->pid);
	if (t->relative || t->trk.uffd >= 0) {
		pr_info("task %d: tracked by earlier pre-dumps: copied frozen", (int)t->pid);
		return 0;
	}
	err = dump_live_create(c, i);
	if (err == -ESRCH)
		return err;
	if (err) {
		if (c->o->snapshot == CRISP_SNAPSHOT_LIVE) {
			pr_err("task %d: no userfaultfd for a live snapshot: %s", (int)t->pid,
			       strerror(-err));
			return err;
		}
		pr_info("task %d: no userfaultfd for a live snapshot (%s): copied frozen",
			(int)t->pid, strerror(-err));
		return 0;
	}
	t->snap_open = true;
	for (size_t k = 0; k < t->maps.nr; k++) {
		const struct proc_vma *v = &t->maps.vma[k];
		struct dump_vma *d = &t->vmas[k];
		size_t len = v->end - v->start;

		if (!dump_live_vma(v, d))
			continue;
		err = snap_protect(&t->snap, v->start, v->end, c->staging_used);
		if (err == -EINVAL || err == -EBUSY) {
			pr_debug("task %d: %#llx-%#llx cannot be write-protected (%d): copied frozen",
				 (int)t->pid, (unsigned long long)v->start,
				 (unsigned long long)v->end, err);
			continue;
		}
		if (err)
			return err;
		d->live = true;
		c->staging_used += len;
		live++;
	}
	pr_info("task %d: %zu mappings write-protected for the live copy", (int)t->pid, live);
	return 0;
}

static int dump_live_run_cmp(const void *a, const void *b)
{
	const struct dump_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int dump_live_add(uint64_t vaddr, uint64_t nr, const uint8_t *src, void *arg)
{
	void **ctx = arg;
	struct dump_ctx *c = ctx[0];
	struct dump_task *t = ctx[1];

	return dump_pages_add_run(t, vaddr, nr, (size_t)(src - c->staging));
}

/*
 * Once the tree runs again: the live copy of every armed task, then its
 * kept pages join the task's runs (in address order, beside the frozen
 * ones). Nothing is left in the tasks afterwards. 0 or -errno.
 */
int dump_live_copy(struct dump_ctx *c)
{
	uint64_t t0 = freeze_now_ns();
	int err = 0;

	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		struct dump_task *t = &c->tasks[i];
		void *ctx[2] = { c, t };

		if (!t->snap_open)
			continue;
		err = snap_copy(&t->snap, c->staging);
		if (!err)
			err = snap_for_each_run(&t->snap, dump_live_add, ctx);
		if (!err && t->nr_runs > 1)
			qsort(t->runs, t->nr_runs, sizeof(t->runs[0]), dump_live_run_cmp);
		c->stats.live_faults += t->snap.st.faults;
		snap_close(&t->snap);
		t->snap_open = false;
	}
	c->stats.livecopy_us = (freeze_now_ns() - t0) / 1000;
	return err;
}

/* Drops what a failed dump left armed (closing the uffd frees the task). */
void dump_live_close(struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_tasks; i++) {
		if (c->tasks[i].snap_open)
			snap_close(&c->tasks[i].snap);
		c->tasks[i].snap_open = false;
	}
}
