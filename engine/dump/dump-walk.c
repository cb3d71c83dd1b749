/* dump-walk — walks of a task's page tables inside the freeze, by two
 * threads at once: the final dump's walk of its tracked VMAs (written,
 * present, zero and guard pages) and the guard-region scan of the VMAs no
 * such walk covers. The tree is stopped, so the CPU it used is free, and
 * these walks are most of the freeze of a big task (the final dump at
 * 4 GiB: 6 ms of 10). The VMAs are cut into pieces that the threads take in
 * turn; each piece's result is kept apart and the pieces are joined in
 * address order, so the caller gets what one walk gives. A VMA with a
 * piece whose final walk must fall back (not registered, an older kernel)
 * is walked again whole by track_collect_final. Copies no page; changes
 * nothing in the task.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "dump.h"
#include "uapi-compat.h"

#define DUMP_WALK_PIECE (64ull << 20)		/* bytes per piece, at most */
#define DUMP_WALK_ALIGN (2ull << 20)		/* pieces are cut on page-table boundaries */
#define DUMP_WALK_PAR_MIN (128ull << 20)	/* less than this: one thread */
#define DUMP_WALK_VEC 4096			/* regions per PAGEMAP_SCAN call */

enum dump_walk_kind { DUMP_WALK_FINAL, DUMP_WALK_GUARDS };

struct dump_walk_shared {
	struct dump_task *t;
	struct dump_final_walk *w;
	enum dump_walk_kind kind;
	atomic_size_t next;
};

/* What one thread walks with: its own vector, or its own pagemap scanner. */
struct dump_walk_thread {
	struct dump_walk_shared *sh;
	struct page_region *vec;
	struct mem_scanner sc;
	bool sc_open;
};

static unsigned int dump_walk_flags(const struct dump_task *t, size_t vma)
{
	return t->vmas[vma].file_skip ? MEM_SCAN_SKIP_FILE : 0;
}

static int dump_walk_piece(struct dump_walk_thread *th, struct dump_walk_piece *p)
{
	struct dump_task *t = th->sh->t;
	int err;

	if (th->sh->kind == DUMP_WALK_FINAL) {
		err = track_collect_final_walk(&t->trk, th->vec, DUMP_WALK_VEC, p->start, p->end,
					       dump_walk_flags(t, p->vma), &p->s);
		if (err || !t->relative || !p->s.tracked)
			return err;
		/* what goes to the parent and what is copied, here too */
		err = dump_track_relative_into(&t->parent_has, &p->s, &p->parent, &p->copy);
		mem_ranges_free(&p->s.present);
		mem_ranges_free(&p->s.written);
		p->split = true;
		return err;
	}
	if (!th->sc_open) {
		err = mem_scanner_open(&th->sc, t->pid, 0);
		if (err) {
			pr_err("task %d: cannot open its pagemap: %s", (int)t->pid, strerror(-err));
			return err;
		}
		th->sc_open = true;
	}
	err = mem_scan_guards(&th->sc, p->start, p->end, &p->s.guards);
	if (err)
		pr_err("task %d: looking for guard regions in %#llx-%#llx: %s", (int)t->pid,
		       (unsigned long long)p->start, (unsigned long long)p->end, strerror(-err));
	return err;
}

static void dump_walk_pieces(struct dump_walk_thread *th)
{
	struct dump_walk_shared *sh = th->sh;
	size_t i;

	while ((i = atomic_fetch_add(&sh->next, 1)) < sh->w->nr) {
		struct dump_walk_piece *p = &sh->w->p[i];

		p->err = dump_walk_piece(th, p);
		/* only a final walk falls back: a guard scan's -EAGAIN is an error */
		if (p->err == -EAGAIN && sh->kind != DUMP_WALK_FINAL)
			p->err = -EIO;
		if (p->err && p->err != -EAGAIN)
			atomic_store(&sh->next, sh->w->nr);	/* the rest is moot */
	}
	if (th->sc_open)
		mem_scanner_close(&th->sc);
	th->sc_open = false;
}

static void *dump_walk_worker_main(void *arg)
{
	dump_walk_pieces(arg);
	return NULL;
}

static int dump_walk_add(struct dump_final_walk *w, size_t vma, uint64_t start, uint64_t end)
{
	if (w->nr == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct dump_walk_piece *n = realloc(w->p, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->p = n;
		w->cap = cap;
	}
	memset(&w->p[w->nr], 0, sizeof(w->p[0]));
	w->p[w->nr].vma = vma;
	w->p[w->nr].start = start;
	w->p[w->nr].end = end;
	w->p[w->nr].err = -EINPROGRESS;	/* until a thread walks it */
	w->nr++;
	return 0;
}

/* VMA @i of @t is the guard scan's: not the kernel's own areas (which never
 * carry guard markers), nor one the final walk covers (which finds them). */
static bool dump_walk_guards_cover(const struct dump_task *t, size_t i)
{
	return !(t->vmas[i].status & (DUMP_VMA_VSYSCALL | DUMP_VMA_VDSO | DUMP_VMA_VVAR)) &&
	       !dump_track_final_covers(t, i);
}

/* The VMAs the walk of @kind covers, cut into pieces; the bytes to walk in
 * *@total. */
static int dump_walk_cut(const struct dump_task *t, enum dump_walk_kind kind,
			 struct dump_final_walk *w, uint64_t *total)
{
	*total = 0;
	for (size_t i = 0; i < t->maps.nr; i++) {
		const struct proc_vma *v = &t->maps.vma[i];

		if (kind == DUMP_WALK_FINAL ? !dump_track_final_covers(t, i) :
					      !dump_walk_guards_cover(t, i))
			continue;
		*total += v->end - v->start;
		for (uint64_t a = v->start; a < v->end;) {
			uint64_t e = (a + DUMP_WALK_PIECE + DUMP_WALK_ALIGN - 1) & ~(DUMP_WALK_ALIGN - 1);
			int err;

			if (e >= v->end || v->end - e < DUMP_WALK_PIECE / 4)
				e = v->end;	/* no sliver at the end */
			err = dump_walk_add(w, i, a, e);
			if (err)
				return err;
			a = e;
		}
	}
	return 0;
}

bool dump_two_cpus(void)
{
	cpu_set_t set;

	return !sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 1;
}

/* Cuts and walks every piece of the walk of @kind, on two threads where it
 * pays. 0, or the first failed piece's error. */
static int dump_walk_run(struct dump_task *t, enum dump_walk_kind kind, struct dump_final_walk *w)
{
	struct dump_walk_shared sh = { .t = t, .w = w, .kind = kind };
	struct dump_walk_thread me = { .sh = &sh }, other = { .sh = &sh };
	uint64_t t0 = freeze_now_ns(), total;
	bool two = false;
	pthread_t th;
	int err;

	memset(w, 0, sizeof(*w));
	err = dump_walk_cut(t, kind, w, &total);
	if (err)
		return err;
	if (kind == DUMP_WALK_FINAL) {	/* a guard scan's threads open their own scanner */
		me.vec = malloc(2 * DUMP_WALK_VEC * sizeof(*me.vec));
		if (!me.vec)
			return -ENOMEM;
		other.vec = me.vec + DUMP_WALK_VEC;
	}
	if ((kind != DUMP_WALK_FINAL || (t->trk.mode == TRACK_UFFD_WP && t->trk.uffd >= 0)) &&
	    total >= DUMP_WALK_PAR_MIN && w->nr > 1 && dump_two_cpus())
		two = !pthread_create(&th, NULL, dump_walk_worker_main, &other);
	dump_walk_pieces(&me);
	if (two)
		pthread_join(th, NULL);
	free(me.vec);
	pr_debug("task %d: the %s walk: %zu pieces, %llu MiB, threads=%d, %llu us", (int)t->pid,
		 kind == DUMP_WALK_FINAL ? "final" : "guard", w->nr,
		 (unsigned long long)(total >> 20), two ? 2 : 1,
		 (unsigned long long)(freeze_now_ns() - t0) / 1000);
	/* a failed piece stopped the others: none of it may be used */
	for (size_t k = 0; k < w->nr; k++)
		if (w->p[k].err && w->p[k].err != -EAGAIN)
			return w->p[k].err == -EINPROGRESS ? -ECANCELED : w->p[k].err;
	return 0;
}

int dump_final_walk_run(struct dump_task *t, struct dump_final_walk *w)
{
	return dump_walk_run(t, DUMP_WALK_FINAL, w);
}

static void dump_walk_piece_free(struct dump_walk_piece *p)
{
	track_vma_scan_free(&p->s);
	mem_ranges_free(&p->copy);
	mem_ranges_free(&p->parent);
}

/* Appends @src to @dst (both in address order, @src after @dst), merging
 * ranges that touch at the seam; @src is emptied. */
static int dump_walk_cat(struct mem_ranges *dst, struct mem_ranges *src)
{
	int err = 0;

	if (!dst->nr) {		/* the first piece: taken as it is */
		free(dst->r);
		*dst = *src;
		memset(src, 0, sizeof(*src));
		return 0;
	}
	/* mem_ranges_add merges a range with the last one where they touch */
	for (size_t i = 0; i < src->nr && !err; i++)
		err = mem_ranges_add(dst, src->r[i].start, src->r[i].nr_pages);
	mem_ranges_free(src);
	return err;
}

int dump_final_walk_join(struct dump_task *t, struct dump_final_walk *w, size_t *i,
			 struct dump_walk_vma *out)
{
	size_t vma = w->p[*i].vma, end = *i;
	bool fall_back = false, split = true;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (end < w->nr && w->p[end].vma == vma) {
		if (w->p[end].err == -EAGAIN)
			fall_back = true;
		else if (w->p[end].err && !err)
			err = w->p[end].err;
		split = split && w->p[end].split;
		end++;
	}
	for (size_t k = *i; k < end && !err && !fall_back; k++) {
		struct dump_walk_piece *p = &w->p[k];

		err = dump_walk_cat(&out->s.present, &p->s.present);
		if (!err)
			err = dump_walk_cat(&out->s.written, &p->s.written);
		if (!err)
			err = dump_walk_cat(&out->s.guards, &p->s.guards);
		if (!err)
			err = dump_walk_cat(&out->copy, &p->copy);
		if (!err)
			err = dump_walk_cat(&out->parent, &p->parent);
	}
	for (size_t k = *i; k < end; k++)
		dump_walk_piece_free(&w->p[k]);
	*i = end;
	if (err) {
		dump_walk_vma_free(out);
		return err;
	}
	if (fall_back) {
		const struct proc_vma *v = &t->maps.vma[vma];

		dump_walk_vma_free(out);
		return track_collect_final(&t->trk, v->start, v->end, dump_walk_flags(t, vma),
					   &out->s);
	}
	out->s.tracked = out->s.guards_scanned = true;
	out->split = split;
	return 0;
}

void dump_walk_vma_free(struct dump_walk_vma *v)
{
	track_vma_scan_free(&v->s);
	mem_ranges_free(&v->copy);
	mem_ranges_free(&v->parent);
	v->split = false;
}

int dump_guards_walk(struct dump_task *t)
{
	struct dump_final_walk w;
	int err = dump_walk_run(t, DUMP_WALK_GUARDS, &w);

	for (size_t k = 0; k < w.nr && !err; k++)
		err = dump_walk_cat(&t->guards, &w.p[k].s.guards);
	dump_final_walk_free(&w);
	return err;
}

void dump_final_walk_free(struct dump_final_walk *w)
{
	for (size_t k = 0; k < w->nr; k++)
		dump_walk_piece_free(&w->p[k]);
	free(w->p);
	memset(w, 0, sizeof(*w));
}
