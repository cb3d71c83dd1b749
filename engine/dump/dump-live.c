/* dump-live — the live snapshot of `dump --leave-running` (engine/track
 * snap.c does the copy-before-write): decides which tasks and VMAs are
 * copied live, write-protects the root's memory before the freeze (its
 * leader thread alone is stopped for the remote userfaultfd()), finishes
 * arming while the tree is frozen, copies once it runs again and turns
 * what was kept into the task's page runs. Writes no images;
 * VMAs it does not take are copied frozen by dump-pages as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>

#include "blog.h"
#include "dump.h"
#include "infect.h"
#include "page-writer.h"

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
		/* a series' final dump copies only what was written, frozen */
		if (!(o->track_mem && c->have_parent))
			dump_live_prearm(c);
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

static struct snap_ctx *dump_live_new(pid_t pid)
{
	struct snap_ctx *s = malloc(sizeof(*s));

	if (s)
		snap_init(s, pid);
	return s;
}

/* Closes (the task is free of it) and frees *@s. */
static void dump_live_free(struct snap_ctx **s)
{
	if (*s) {
		uint8_t *held = (*s)->held_buf;
		size_t len = (*s)->held_cap;

		snap_close(*s);
		if (held)
			munmap(held, len);
		free(*s);
		*s = NULL;
	}
}

/*
 * The buffer for what the task writes between the pre-arming and the
 * freeze (see snap.h): read inside the freeze, those pages do not fault
 * the moment the task runs. Reading 147 such pages inside the freeze of a
 * 64 MiB task took 2.0 ms into a fresh buffer, 0.42 ms into a warmed one.
 */
#define DUMP_LIVE_HELD (1u << 20)

static void dump_live_hold(struct snap_ctx *s)
{
	void *b = mmap(NULL, DUMP_LIVE_HELD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (b == MAP_FAILED)
		return;
	page_buf_warm(b, DUMP_LIVE_HELD);
	snap_hold_buffer(s, b, DUMP_LIVE_HELD);
}

/* Whether a mapping of /proc/PID/maps is one the live copy takes. */
static bool dump_live_maps_vma(const struct proc_maps *m, const struct proc_vma *v)
{
	const char *name = proc_vma_name(m, v);

	if (!(v->prot & PROT_WRITE))
		return false;
	if (v->shared)
		return !strncmp(name, "/dev/zero", 9);
	return !v->ino && !dump_vma_kernels(name);
}

/*
 * Before the freeze: the root's userfaultfd (its leader stopped alone for a
 * moment) and the write-protection of its anonymous memory, the task
 * running and its writes let go by the handler. The freeze then protects
 * only what was written since. Anything failing here is left to the
 * freeze, which arms from scratch.
 */
void dump_live_prearm(struct dump_ctx *c)
{
	pid_t pid = c->o->tree_pid;
	struct snap_ctx *s;
	struct proc_maps m;
	struct infect_ctx ic;
	struct proc_stat st;
	int err;

	/* a stopped task stays as it is: the freeze alone handles it */
	if (proc_read_stat(pid, 0, &st) || (st.state != 'R' && st.state != 'S' && st.state != 'D'))
		return;
	if (freeze_stop_one(pid, pid, 1000))
		return;
	s = c->root_snap = dump_live_new(pid);
	if (!s) {
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return;
	}
	err = infect_start(&ic, pid, pid, 0, 0);
	if (!err) {
		err = snap_create(s, &ic);
		if (infect_stop(&ic) && !err)
			err = -EIO;
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (!err)
		err = snap_start_handler(s);
	if (!err)
		err = proc_read_maps(pid, false, &m);
	if (err) {
		pr_info("task %d: no write-protection before the freeze (%s)", (int)pid,
			strerror(-err));
		dump_live_free(&c->root_snap);
		return;
	}
	for (size_t i = 0; i < m.nr; i++)
		if (dump_live_maps_vma(&m, &m.vma[i]))
			snap_preprotect(s, m.vma[i].start, m.vma[i].end);
	proc_maps_free(&m);
	dump_live_hold(s);
	pr_info("task %d: memory write-protected before the freeze", (int)pid);
}

/* Inside the freeze, before the refusal checks: the root takes over what
 * dump_live_prearm armed (its "uw" mappings are ours). */
void dump_live_adopt(struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_tasks && c->root_snap; i++) {
		struct dump_task *t = &c->tasks[i];

		if (t->pid != c->o->tree_pid || t->zombie)
			continue;
		t->snap = c->root_snap;
		t->uffd_ours = true;
		c->root_snap = NULL;
	}
	dump_live_free(&c->root_snap);
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

	err = infect_start_maps(&ic, t->pid, tid, 0, 0, &t->maps);
	if (err) {
		pr_err("task %d: cannot run remote calls in it: %s", (int)t->pid, strerror(-err));
		return err;
	}
	err = snap_create(t->snap, &ic);
	err2 = infect_stop(&ic);
	return err2 ? err2 : err;
}

/*
 * While the tree is frozen, before its pages are read: creates the task's
 * userfaultfd and write-protects its live VMAs, each given a slot in the
 * staging area (dump_pages_live_next; taken now, grown to before the
 * copy). A task that cannot be armed is copied frozen, unless
 * live was demanded. 0 or -errno.
 */
int dump_live_arm(struct dump_ctx *c, size_t i)
{
	struct dump_task *t = &c->tasks[i];
	size_t live = 0;
	int err;

	if (!c->live || t->zombie)
		return 0;
	if (t->relative || t->trk.uffd >= 0) {
		pr_info("task %d: snapshot=frozen: tracked_by_earlier_pre-dumps: what was written since "
			"is copied frozen", (int)t->pid);
		dump_live_free(&t->snap);
		return 0;
	}
	if (t->snap) {
		snap_pause(t->snap);	/* armed before the freeze */
		err = 0;
	} else {
		t->snap = dump_live_new(t->pid);
		err = t->snap ? dump_live_create(c, i) : -ENOMEM;
	}
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
		dump_live_free(&t->snap);
		return 0;
	}
	for (size_t k = 0; k < t->maps.nr; k++) {
		const struct proc_vma *v = &t->maps.vma[k];
		struct dump_vma *d = &t->vmas[k];
		size_t len = v->end - v->start;

		if (!dump_live_vma(v, d))
			continue;
		err = snap_protect(t->snap, v->start, v->end, dump_pages_live_next(c));
		if (err == -E2BIG) {
			pr_info("task %d: %#llx-%#llx (%llu MiB) is mostly not resident: copied "
				"frozen", (int)t->pid, (unsigned long long)v->start,
				(unsigned long long)v->end, (unsigned long long)(len >> 20));
			continue;
		}
		if (err == -EINVAL || err == -EBUSY) {
			pr_debug("task %d: %#llx-%#llx cannot be write-protected (%d): copied frozen",
				 (int)t->pid, (unsigned long long)v->start,
				 (unsigned long long)v->end, err);
			continue;
		}
		if (err) {
			pr_err("task %d: write-protecting %#llx-%#llx for the live copy: %s",
			       (int)t->pid, (unsigned long long)v->start,
			       (unsigned long long)v->end, strerror(-err));
			return err;
		}
		d->live = true;
		dump_pages_live_take(c, len);
		live++;
	}
	pr_info("task %d: %zu mappings write-protected for the live copy (%llu pages inside "
		"the freeze)", (int)t->pid, live, (unsigned long long)t->snap->st.reprotected);
	if (t->snap->st.held)
		pr_info("task %d: hot_held=%llu pages written since the pre-arming: read inside "
			"the freeze, left writable", (int)t->pid, (unsigned long long)t->snap->st.held);
	return 0;
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

		if (!t->snap)
			continue;
		err = snap_copy(t->snap, c->staging);
		if (!err)
			err = snap_for_each_run(t->snap, dump_live_add, ctx);
		if (!err)
			dump_pages_sort_runs(t);
		c->stats.live_faults += t->snap->st.faults;
		dump_live_free(&t->snap);
	}
	c->stats.livecopy_us = (freeze_now_ns() - t0) / 1000;
	return err;
}

/* Drops what a failed dump left armed (closing the uffd frees the task). */
void dump_live_close(struct dump_ctx *c)
{
	dump_live_free(&c->root_snap);
	for (size_t i = 0; i < c->nr_tasks; i++)
		dump_live_free(&c->tasks[i].snap);
}
