/* dump-precopy — the final dump's last live round. Just before the freeze,
 * the root's pages written since its parent are protected again (in the
 * same walk that finds them) and copied into staging while the task still
 * runs. The walk inside the freeze then sees as written only what was
 * written after that, so the freeze copies a few pages instead of every
 * page written since the parent (on this VM 1.5-4 us each). Of the pages
 * protected here, one not written since is saved from this copy; any other
 * is copied in the freeze; none is ever left to the parent, whose copy is
 * older. Only for a dump that stages its pages, tracked with uffd-wp and
 * relative to its parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "mem_read.h"

void dump_precopy_free(struct dump_precopy *p)
{
	mem_ranges_free(&p->protected_);
	mem_ranges_free(&p->copied);
	free(p->runs);
	memset(p, 0, sizeof(*p));
}

/* The root's VMAs whose written pages are copied here: private, readable,
 * not the kernel's own (dump-mm saves pages of no other private ones).
 * Shared memory and unreadable VMAs are left to the freeze as they are. */
static bool dump_precopy_vma(const struct proc_maps *m, const struct proc_vma *v)
{
	const char *name = proc_vma_name(m, v);

	return !v->shared && (v->prot & PROT_READ) && !dump_vma_kernels(name);
}

/* Copies @p->protected_ into staging from c->staging_used on. */
static int dump_precopy_read(struct dump_ctx *c, pid_t pid, struct dump_precopy *p)
{
	struct mem_reader rd;
	struct mem_batch b;
	char path[64];
	int ret;

	ret = dump_pages_grow(c, c->staging_used + p->protected_.pages * MEM_PAGE_SIZE);
	if (ret)
		return ret;
	mem_reader_init(&rd, pid, p->protected_.r, p->protected_.nr, c->staging + c->staging_used,
			c->staging_len - c->staging_used);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	rd.mem_fd = open(path, O_RDONLY | O_CLOEXEC);	/* mprotect'ed away since */
	while ((ret = mem_reader_next(&rd, &b)) == 1) {
		for (size_t i = 0; i < b.nr_segs && ret == 1; i++) {
			const struct mem_seg *s = &b.seg[i];

			if (dump_runs_add(&p->runs, &p->nr_runs, &p->cap_runs, s->vaddr, s->nr_pages,
					  c->staging_used + s->off) ||
			    mem_ranges_add(&p->copied, s->vaddr, s->nr_pages))
				ret = -ENOMEM;
		}
		if (ret != 1)
			break;
		c->staging_used += b.bytes;
		rd.buf = c->staging + c->staging_used;
		rd.buf_pages = (c->staging_len - c->staging_used) / MEM_PAGE_SIZE;
	}
	if (rd.mem_fd >= 0)
		close(rd.mem_fd);
	if (rd.pages_vanished)
		pr_debug("task %d: %llu pages protected before the freeze vanished before their copy",
			 (int)pid, (unsigned long long)rd.pages_vanished);
	return ret;
}

int dump_precopy(struct dump_ctx *c)
{
	const struct proc_maps *m = &c->pre_smaps;
	struct dump_precopy *p = &c->root_pre;
	pid_t pid = c->o->tree_pid;
	uint64_t t0 = freeze_now_ns(), t1;
	int err;

	if (c->stream_pages || c->root_snap || !c->root_trk_open || !c->root_relative ||
	    !c->have_pre_smaps || c->root_trk.mode != TRACK_UFFD_WP || c->root_trk.uffd < 0)
		return 0;
	/* from here the keeper's state is changing: a dump that fails is
	 * followed by one that copies everything */
	err = track_begin_round(&c->root_trk);
	for (size_t i = 0; i < m->nr && !err; i++) {
		bool tracked;

		if (dump_precopy_vma(m, &m->vma[i]))
			err = track_collect_written(&c->root_trk, m->vma[i].start, m->vma[i].end,
						    &p->protected_, &tracked);
	}
	t1 = freeze_now_ns();
	if (!err)
		err = dump_precopy_read(c, pid, p);
	if (err) {
		pr_err("task %d: copying the pages written since the parent before the freeze: %s",
		       (int)pid, strerror(-err));
		return err;
	}
	p->ran = true;
	pr_info("task %d: precopy: %llu pages written since the parent protected again in %llu us, "
		"%llu copied in %llu us, before the freeze",
		(int)pid, (unsigned long long)p->protected_.pages,
		(unsigned long long)(t1 - t0) / 1000, (unsigned long long)p->copied.pages,
		(unsigned long long)(freeze_now_ns() - t1) / 1000);
	return 0;
}

int dump_precopy_adopt(struct dump_task *t)
{
	const struct dump_precopy *p = &t->pre;
	size_t ri = 0;
	int err = 0;

	for (size_t i = 0; i < t->from_pre.nr && !err; i++) {
		uint64_t a = t->from_pre.r[i].start;
		uint64_t end = a + t->from_pre.r[i].nr_pages * MEM_PAGE_SIZE;

		while (a < end && !err) {
			const struct dump_run *r;
			uint64_t rend, stop;

			while (ri < p->nr_runs &&
			       p->runs[ri].vaddr + p->runs[ri].nr_pages * MEM_PAGE_SIZE <= a)
				ri++;
			r = ri < p->nr_runs ? &p->runs[ri] : NULL;
			if (!r || r->vaddr > a) {
				/* from_pre is within what was copied: a bug, not data */
				pr_err("task %d: page %#llx was not copied before the freeze", (int)t->pid,
				       (unsigned long long)a);
				return -EIO;
			}
			rend = r->vaddr + r->nr_pages * MEM_PAGE_SIZE;
			stop = rend < end ? rend : end;
			err = dump_pages_add_run(t, a, (stop - a) / MEM_PAGE_SIZE,
						 r->off + (size_t)(a - r->vaddr));
			a = stop;
		}
	}
	if (!err) {
		dump_pages_sort_runs(t);
		pr_debug("task %d: %llu pages saved from the copy before the freeze", (int)t->pid,
			 (unsigned long long)t->from_pre.pages);
	}
	return err;
}
