/* dump-track — what pre-dump and dump share for iterative checkpoints: the
 * parent image set (the `parent` link, its inventory stamp, pid reuse),
 * opening each task's dirty tracking (engine/track), turning the written
 * and present ranges into pages to copy and pages left to the parent, and
 * committing or disarming the tracking at the end. Copies no pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "inventory.pb-c.h"
#include "page-chain.h"

#define DUMP_PARENT_LINK "parent"

/* The `parent` link (as CRIU: relative to the images dir) and the stamp
 * of the parent's inventory. A parent without one is not usable. */
int dump_track_parent(struct dump_ctx *c)
{
	const char *prev = c->o->prev_images_dir;
	struct img_file inv;
	struct stat st;
	uint64_t up = 0;
	int pfd, err;

	if (!prev)
		return 0;
	if (faccessat(c->dir.dfd, prev, R_OK, 0)) {
		err = -errno;
		pr_perror("the parent images directory %s (relative to %s) is not usable", prev,
			  c->o->images_dir);
		return err;
	}
	if (symlinkat(prev, c->dir.dfd, DUMP_PARENT_LINK) && errno != EEXIST) {
		err = -errno;
		pr_perror("cannot link %s/%s to %s", c->o->images_dir, DUMP_PARENT_LINK, prev);
		return err;
	}
	img_dir_note_created(&c->dir, DUMP_PARENT_LINK);
	if (prev[0] == '/')
		pr_warn("an absolute parent path may not resolve where the images are restored");
	pfd = openat(c->dir.dfd, DUMP_PARENT_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st)) {
		err = -errno;
		pr_perror("cannot open the parent images directory %s", prev);
		if (pfd >= 0)
			close(pfd);
		return err;
	}
	err = img_read(&inv, pfd, "inventory.img", img_kind_by_name("INVENTORY"));
	close(pfd);
	if (err) {
		pr_warn("the parent %s has no readable inventory.img: every page is saved", prev);
		return 0;
	}
	if (inv.n && img_msg_uint(inv.ents[0].msg, "dump_uptime", &up) && up) {
		c->have_parent = true;
		c->parent_stamp.dev = st.st_dev;
		c->parent_stamp.ino = st.st_ino;
		c->parent_stamp.uptime = up;
	} else {
		pr_warn("the parent %s has no dump_uptime: every page is saved", prev);
	}
	img_file_free(&inv);
	return 0;
}

/* A parent written before the task started belongs to an earlier process
 * that had the same pid (CRIU's check). */
static bool dump_track_pid_reused(const struct dump_ctx *c, const struct track_ctx *trk)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t start_us = trk->start_time * 1000000ull / (uint64_t)(hz > 0 ? hz : 100);

	return c->parent_stamp.uptime < start_us;
}

/* The pages the parent chain holds for task @pid (entries of the parent's
 * pagemap) into @has: only those may be left to it. 0, or -errno when it
 * cannot be read. */
static int dump_track_parent_has(struct dump_ctx *c, pid_t pid, struct mem_ranges *has)
{
	const struct page_chain_entry *e;
	struct page_chain *pc;
	size_t nr;
	int pfd, err;

	pfd = openat(c->dir.dfd, DUMP_PARENT_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	err = page_chain_open(&pc, pfd, DUMP_PARENT_LINK, (unsigned long)pid);
	close(pfd);
	if (err)
		return err;
	e = page_chain_entries(pc, &nr);
	for (size_t i = 0; i < nr && !err; i++)
		if (e[i].flags & (PAGE_CHAIN_PE_PRESENT | PAGE_CHAIN_PE_PARENT))
			err = mem_ranges_add(has, e[i].vaddr, e[i].nr_pages);
	page_chain_close(pc);
	return err;
}

/* Whether the pages of task @pid (tracked by @trk) unchanged since the
 * parent may be left to it, with the pages the parent holds in @has (when
 * it returns true). Reads the parent's pagemap: the root's is read before
 * the freeze. */
static bool dump_track_relate(struct dump_ctx *c, pid_t pid, const struct track_ctx *trk,
			      struct mem_ranges *has)
{
	int err;

	if (!(c->predump || c->o->track_mem) || !c->have_parent ||
	    !track_relative_to(trk, &c->parent_stamp))
		return false;
	if (dump_track_pid_reused(c, trk)) {
		pr_warn("task %d started after its parent images were written: pid reused, "
			"every page is saved", (int)pid);
		return false;
	}
	err = dump_track_parent_has(c, pid, has);
	if (err) {
		pr_warn("task %d: the parent's pagemap cannot be read (%s): every page is saved",
			(int)pid, strerror(-err));
		mem_ranges_free(has);
		return false;
	}
	return true;
}

/* The root's tracking before the freeze: the keeper's round trips (and,
 * for a pre-dump, marking the state as changing) and reading the parent's
 * pagemap (milliseconds for a big task) stay out of the frozen window.
 * Kept in c->root until dump_track_open_task takes it over. A missing task
 * is left for the freeze to report. */
int dump_track_open_root(struct dump_ctx *c)
{
	pid_t pid = c->o->tree_pid;
	int err = track_open(&c->root_trk, pid, c->track_mode);

	if (err == -ENOENT || err == -ESRCH)
		return 0;
	if (err) {
		pr_err("task %d: cannot set up dirty tracking: %s", (int)pid, strerror(-err));
		return err;
	}
	c->root_trk_open = true;
	if (c->predump)
		err = track_begin_round(&c->root_trk);
	if (!err)
		c->root_relative = dump_track_relate(c, pid, &c->root_trk, &c->root_parent_has);
	return err;
}

int dump_track_open_task(struct dump_ctx *c, struct dump_task *t)
{
	int err;

	if (t->trk_open || t->zombie)
		return 0;
	if (c->root_trk_open && t->pid == c->o->tree_pid) {
		t->trk = c->root_trk;
		t->relative = c->root_relative;
		t->parent_has = c->root_parent_has;
		memset(&c->root_parent_has, 0, sizeof(c->root_parent_has));
		t->pre = c->root_pre;
		memset(&c->root_pre, 0, sizeof(c->root_pre));
		t->prewalk = c->root_prewalk;
		memset(&c->root_prewalk, 0, sizeof(c->root_prewalk));
		c->root_trk_open = false;
	} else {
		err = track_open(&t->trk, t->pid, c->track_mode);
		if (!err && c->predump)
			err = track_begin_round(&t->trk);
		if (err) {
			pr_err("task %d: cannot set up dirty tracking: %s", (int)t->pid, strerror(-err));
			if (t->trk.pagemap_fd >= 0 || t->trk.keeper >= 0)
				track_close(&t->trk);
			return err;
		}
		t->relative = dump_track_relate(c, t->pid, &t->trk, &t->parent_has);
	}
	t->trk_open = true;
	t->uffd_ours = t->trk.uffd >= 0;
	pr_info("task %d: dirty tracking %s, %s", (int)t->pid, track_mode_name(t->trk.mode),
		t->relative ? "pages unchanged since the parent are left to it" :
			      "every page is saved");
	return 0;
}

/* Pre-dump's classification (no files, no images): which VMAs have pages
 * worth saving. Mirrors dump-mm: private anonymous and private file
 * mappings, not the kernel's vdso/vvar/vsyscall. */
void dump_track_classify(struct dump_task *t)
{
	for (size_t i = 0; i < t->maps.nr; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		const char *name = proc_vma_name(&t->maps, v);
		struct dump_vma *d = &t->vmas[i];

		memset(d, 0, sizeof(*d));
		if (v->shared || dump_vma_kernels(name))
			continue;
		d->dump_pages = true;
		d->file_skip = v->ino && name[0] == '/';
	}
}

static int dump_track_append(struct mem_ranges *out, const struct mem_ranges *in)
{
	for (size_t i = 0; i < in->nr; i++) {
		if (out->nr == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			struct mem_range *n = realloc(out->r, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			out->r = n;
			out->cap = cap;
		}
		out->r[out->nr++] = in->r[i];
		out->pages += in->r[i].nr_pages;
	}
	return 0;
}

/* The first range of @b (sorted) that ends after @addr: where a walk that
 * starts at @addr begins. Binary: @b may be a whole task's list. */
static size_t dump_track_seek(const struct mem_ranges *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->r[mid].start + b->r[mid].nr_pages * MEM_PAGE_SIZE <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* @a and @b (both sorted), appended to @out. @a is one VMA's, @b may be the
 * whole task's: the walk of @b starts where @a does. */
static int dump_track_and(const struct mem_ranges *a, const struct mem_ranges *b,
			  struct mem_ranges *out)
{
	size_t i = 0, j = a->nr ? dump_track_seek(b, a->r[0].start) : 0;

	while (i < a->nr && j < b->nr) {
		uint64_t as = a->r[i].start, ae = as + a->r[i].nr_pages * MEM_PAGE_SIZE;
		uint64_t bs = b->r[j].start, be = bs + b->r[j].nr_pages * MEM_PAGE_SIZE;
		uint64_t s = as > bs ? as : bs, e = ae < be ? ae : be;

		if (s < e) {
			struct mem_range r = { s, (e - s) / MEM_PAGE_SIZE };
			struct mem_ranges one = { &r, 1, 1, r.nr_pages };
			int err = dump_track_append(out, &one);

			if (err)
				return err;
		}
		if (ae <= be)
			i++;
		else
			j++;
	}
	return 0;
}

/*
 * Of @present, the pages @unchanged names (both sorted) go to the parent
 * where the parent chain holds them; every other page of @present is
 * copied. A page can be unchanged and still missing from the parent: one
 * the kernel populated on a read since (this kernel may have no shared zero
 * page), or an image set that lost it. The parent is never named for it.
 */
static int dump_track_split_into(const struct mem_ranges *parent_has,
				 const struct mem_ranges *present,
				 const struct mem_ranges *unchanged, struct mem_ranges *parent,
				 struct mem_ranges *copy)
{
	struct mem_ranges left = { 0 };
	int err = dump_track_and(unchanged, parent_has, &left);

	if (!err)
		err = dump_track_append(parent, &left);
	if (!err)
		err = mem_ranges_subtract(present, &left, copy);
	mem_ranges_free(&left);
	return err;
}

static int dump_track_split(struct dump_task *t, const struct mem_ranges *present,
			    const struct mem_ranges *unchanged, struct mem_ranges *copy)
{
	return dump_track_split_into(&t->parent_has, present, unchanged, &t->parent, copy);
}

/* Whether a range of @b (sorted) meets [@start, @end). */
static bool dump_track_meets(const struct mem_ranges *b, uint64_t start, uint64_t end)
{
	size_t j = dump_track_seek(b, start);

	return j < b->nr && b->r[j].start < end;
}

/* Where range @j of @b ends. */
static uint64_t dump_track_end_at(const struct mem_ranges *b, size_t j)
{
	return b->r[j].start + b->r[j].nr_pages * MEM_PAGE_SIZE;
}

/*
 * What dump_track_split_into gives for @present less @written, in one pass
 * and no list of its own: a page of @present goes to @parent when it is not
 * written and @parent_has holds it, else to @copy. All sorted; @written
 * within @present. The final walk's pieces are cut this way, thousands of
 * ranges each where zero pages break the memory up.
 */
static int dump_track_sort_pages(const struct mem_ranges *parent_has,
				 const struct mem_ranges *present, const struct mem_ranges *written,
				 struct mem_ranges *parent, struct mem_ranges *copy)
{
	size_t wi = 0, pj = present->nr ? dump_track_seek(parent_has, present->r[0].start) : 0;

	for (size_t i = 0; i < present->nr; i++) {
		uint64_t a = present->r[i].start, end = dump_track_end_at(present, i);

		while (a < end) {
			uint64_t stop = end;
			bool in_w = false, in_p = false;
			int err;

			while (wi < written->nr && dump_track_end_at(written, wi) <= a)
				wi++;
			while (pj < parent_has->nr && dump_track_end_at(parent_has, pj) <= a)
				pj++;
			if (wi < written->nr) {
				in_w = written->r[wi].start <= a;
				uint64_t edge = in_w ? dump_track_end_at(written, wi) : written->r[wi].start;

				stop = edge < stop ? edge : stop;
			}
			if (pj < parent_has->nr) {
				in_p = parent_has->r[pj].start <= a;
				uint64_t edge = in_p ? dump_track_end_at(parent_has, pj)
						     : parent_has->r[pj].start;

				stop = edge < stop ? edge : stop;
			}
			err = mem_ranges_add(!in_w && in_p ? parent : copy, a,
					     (stop - a) / MEM_PAGE_SIZE);
			if (err)
				return err;
			a = stop;
		}
	}
	return 0;
}

int dump_track_relative_into(const struct mem_ranges *parent_has, const struct dump_precopy *pre,
			     struct mem_ranges *from_pre, const struct track_vma_scan *s,
			     struct mem_ranges *parent, struct mem_ranges *copy)
{
	struct mem_ranges unchanged = { 0 }, kept = { 0 }, prot = { 0 }, rest = { 0 }, cut = { 0 };
	uint64_t lo, hi;
	int err;

	if (!s->present.nr)
		return 0;
	lo = s->present.r[0].start;
	hi = dump_track_end_at(&s->present, s->present.nr - 1);
	/* no page of the copy before the freeze here (most pieces): one pass */
	if (!pre || !dump_track_meets(&pre->protected_, lo, hi))
		return dump_track_sort_pages(parent_has, &s->present, &s->written, parent, copy);
	err = mem_ranges_subtract(&s->present, &s->written, &unchanged);
	/* unchanged since the copy before the freeze: that copy (kept); the
	 * other pages protected then are not the parent's (rest leaves them
	 * out, so they are copied now); what remains of present without the
	 * kept pages (cut) splits as usual */
	if (!err)
		err = dump_track_and(&unchanged, &pre->copied, &kept);
	if (!err)
		err = dump_track_and(&unchanged, &pre->protected_, &prot);
	if (!err)
		err = mem_ranges_subtract(&unchanged, &prot, &rest);
	if (!err)
		err = mem_ranges_subtract(&s->present, &kept, &cut);
	if (!err)
		err = dump_track_split_into(parent_has, &cut, &rest, parent, copy);
	if (!err)
		err = dump_track_append(from_pre, &kept);
	mem_ranges_free(&unchanged);
	mem_ranges_free(&kept);
	mem_ranges_free(&prot);
	mem_ranges_free(&rest);
	mem_ranges_free(&cut);
	return err;
}

/* One tracked VMA of a task relative to its parent: what was not written
 * goes to the parent where it can, the rest to @copy. */
static int dump_track_relative(struct dump_task *t, const struct track_vma_scan *s,
			       struct mem_ranges *copy)
{
	return dump_track_relative_into(&t->parent_has, &t->pre, &t->from_pre, s, &t->parent, copy);
}

/*
 * Collects every VMA with pages worth saving: @copy gets the pages to copy
 * (written ones, or all present ones without a usable parent), t->parent
 * the present pages left to the parent. With @reprotect (pre-dump) written
 * pages are write-protected again in the same walk, and VMAs that are not
 * tracked yet go to t->untracked (the caller protects them once the task
 * runs again, then copies them whole).
 */
int dump_track_collect(struct dump_ctx *c, struct dump_task *t, bool reprotect,
		       struct mem_ranges *copy)
{
	int err = 0;

	for (size_t i = 0; i < t->maps.nr && !err; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		const struct dump_vma *d = &t->vmas[i];
		struct track_vma_scan s;

		if (!d->dump_pages)
			continue;
		t->pages_scanned += (v->end - v->start) / MEM_PAGE_SIZE;
		err = track_collect(&t->trk, v->start, v->end,
				    d->file_skip ? MEM_SCAN_SKIP_FILE : 0, reprotect, &s);
		if (err)
			break;
		if (reprotect && !s.tracked && t->trk.mode == TRACK_UFFD_WP && t->trk.uffd >= 0) {
			struct mem_range r = { v->start, (v->end - v->start) / MEM_PAGE_SIZE };
			struct mem_ranges one = { &r, 1, 1, r.nr_pages };

			err = dump_track_append(&t->untracked, &one);
		} else if (t->relative && s.tracked) {
			err = dump_track_relative(t, &s, copy);
		} else {
			err = dump_track_append(copy, &s.present);
		}
		track_vma_scan_free(&s);
	}
	if (!err && reprotect)
		err = track_sd_reset(&t->trk);
	c->stats.pages_skipped_parent += t->parent.pages;
	return err;
}

bool dump_track_final_covers(const struct dump_task *t, size_t i)
{
	return t->relative && t->vmas[i].dump_pages &&
	       !(t->vmas[i].status & (DUMP_VMA_VSYSCALL | DUMP_VMA_VDSO | DUMP_VMA_VVAR));
}

static int dump_guard_cmp(const void *a, const void *b)
{
	const struct mem_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The final dump's collection, the task frozen: @copy gets the written pages,
 * t->parent_parts the present ones left to the parent (in parts, joined
 * into t->parent after the release: dump_final_walk_settle), t->guards the
 * guard pages of these VMAs (dump_guards_collect left them out). One walk
 * per VMA where the kernel allows; a VMA without tracking is copied whole.
 */
int dump_track_collect_final(struct dump_task *t, struct mem_ranges *copy)
{
	struct dump_walk_into into = { copy, &t->from_pre, &t->guards, &t->parent_parts };
	struct dump_final_walk w;
	struct mem_scanner sc;
	bool sc_open = false;
	size_t guards_before = t->guards.nr;
	int err = dump_final_walk_run(t, &w);

	if (!err)
		err = dump_final_walk_reserve(&w, &into);
	for (size_t k = 0; k < w.nr && !err;) {
		const struct proc_vma *v = &t->maps.vma[w.p[k].vma];
		struct dump_walk_vma vs;

		t->pages_scanned += (v->end - v->start) / MEM_PAGE_SIZE;
		err = dump_final_walk_join(t, &w, &k, &into, &vs);
		if (err)
			break;
		/* a VMA the walk's threads split is in place (into) already */
		if (!vs.split && vs.s.tracked) {
			struct mem_ranges parent = { 0 };

			err = dump_track_relative_into(&t->parent_has, &t->pre, &t->from_pre,
						       &vs.s, &parent, copy);
			if (!err)
				err = dump_parts_take(&t->parent_parts, &parent, false);
			mem_ranges_free(&parent);
		} else if (!vs.split) {
			err = dump_track_append(copy, &vs.s.present);
		}
		if (!err && vs.s.guards_scanned) {
			err = mem_ranges_move(&t->guards, &vs.s.guards, false);
		} else if (!err) {
			if (!sc_open)
				err = mem_scanner_open(&sc, t->pid, 0);
			sc_open = !err;
			if (!err)
				err = mem_scan_guards(&sc, v->start, v->end, &t->guards);
		}
		dump_walk_vma_free(&vs);
	}
	dump_final_walk_free(&w);
	if (sc_open)
		mem_scanner_close(&sc);
	/* the other VMAs' guards came first: keep the list in address order */
	if (!err && t->guards.nr > guards_before && guards_before)
		qsort(t->guards.r, t->guards.nr, sizeof(t->guards.r[0]), dump_guard_cmp);
	if (!err && t->guards.nr > guards_before)
		pr_info("task %d: %llu guard pages in %zu ranges", (int)t->pid,
			(unsigned long long)t->guards.pages, t->guards.nr);
	return err;
}

/*
 * The first half of a pre-dump's collection in uffd-wp mode, the task
 * running: the pages written since the last round, re-protected in the same
 * walk (t->written_frozen), and the VMAs not tracked yet (t->untracked).
 * The walk is atomic per page, so a page written after its re-protection
 * is simply written again for the next round. The VMA list is the one read
 * at the freeze: a VMA unmapped since has nothing to collect, and one mapped
 * at the same place since is not registered and counts as not tracked.
 */
int dump_track_reprotect(struct dump_ctx *c, struct dump_task *t)
{
	int err = 0;

	(void)c;
	for (size_t i = 0; i < t->maps.nr && !err; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		bool tracked;

		if (!t->vmas[i].dump_pages)
			continue;
		t->pages_scanned += (v->end - v->start) / MEM_PAGE_SIZE;
		err = track_collect_written(&t->trk, v->start, v->end, &t->written_frozen, &tracked);
		if (!err && !tracked) {
			struct mem_range r = { v->start, (v->end - v->start) / MEM_PAGE_SIZE };
			struct mem_ranges one = { &r, 1, 1, r.nr_pages };

			t->vmas[i].untracked = true;
			err = dump_track_append(&t->untracked, &one);
		}
	}
	return err;
}

/*
 * The second half, right after the first: per tracked VMA the pages present
 * now; those just re-protected (t->written_frozen) or written since (not
 * write-protected any more) are copied, the others were not written since
 * the last round and are left to the parent. A page that became present
 * since the freeze was written (or is the zero page, left out), so it is
 * copied: the parent is never named for a page it may lack.
 */
int dump_track_plan(struct dump_ctx *c, struct dump_task *t, struct mem_ranges *copy)
{
	struct mem_ranges keep = { 0 }, left = { 0 };
	int err = 0;

	for (size_t i = 0; i < t->maps.nr && !err; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		const struct dump_vma *d = &t->vmas[i];
		struct track_vma_scan s;

		if (!d->dump_pages || d->untracked)
			continue;
		err = track_collect(&t->trk, v->start, v->end, d->file_skip ? MEM_SCAN_SKIP_FILE : 0,
				    false, &s);
		if (err == -ESRCH || err == -ENOENT)
			return err;
		if (err)
			break;
		if (!t->relative || !s.tracked) {
			err = dump_track_append(copy, &s.present);
		} else {
			/* parent: present minus written-then minus written-since */
			keep.nr = keep.pages = 0;
			left.nr = left.pages = 0;
			err = mem_ranges_subtract(&s.present, &t->written_frozen, &keep);
			if (!err)
				err = mem_ranges_subtract(&keep, &s.written, &left);
			if (!err)
				err = dump_track_split(t, &s.present, &left, copy);
		}
		track_vma_scan_free(&s);
	}
	mem_ranges_free(&keep);
	mem_ranges_free(&left);
	c->stats.pages_skipped_parent += t->parent.pages;
	return err;
}

/* The end of a round: a pre-dump commits the state to its own images, a
 * dump disarms (it is the last round). Without @ok a pre-dump leaves the
 * state invalid (begun) and a dump leaves it as it was. */
int dump_track_finish(struct dump_ctx *c, bool ok)
{
	struct track_stamp me = { 0, 0, 0 };
	struct stat st;
	int err = 0;

	if (ok && c->predump && !fstat(c->dir.dfd, &st)) {
		me.dev = st.st_dev;
		me.ino = st.st_ino;
		me.uptime = c->dump_uptime;
	}
	if (c->root_trk_open) {
		track_close(&c->root_trk);
		c->root_trk_open = false;
	}
	mem_ranges_free(&c->root_parent_has);
	for (size_t i = 0; i < c->nr_tasks; i++) {
		struct dump_task *t = &c->tasks[i];
		int e = 0;

		if (!t->trk_open)
			continue;
		if (ok && c->predump)
			e = track_commit(&t->trk, &me);
		else if (ok)
			e = track_disarm(&t->trk);
		if (e && !err)
			err = e;
		track_close(&t->trk);
		t->trk_open = false;
	}
	return err;
}
