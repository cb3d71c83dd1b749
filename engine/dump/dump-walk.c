/* dump-walk — walks of a task's page tables inside the freeze, by two
 * threads at once: the final dump's walk of its tracked VMAs (written,
 * present, zero and guard pages) and the guard-region scan of the VMAs no
 * such walk covers. The tree is stopped, so the CPU it used is free, and
 * these walks are most of the freeze of a big task (the final dump at
 * 4 GiB: 6 ms of 10). The VMAs are cut into pieces that the threads take in
 * turn; each piece's result is kept apart and the pieces are joined in
 * address order, so the caller gets what one walk gives. A VMA with a
 * piece whose final walk must fall back (not registered, an older kernel)
 * is walked again whole by track_collect_final. One walk per task may
 * start early (dump_walk_start_early): its helper walks while the caller
 * reads /proc, and the caller joins in when it needs the result. Copies no
 * page; changes nothing in the task.
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
#define DUMP_WALK_EARLY_MIN (32ull << 20)	/* ... unless the caller works meanwhile */
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
		err = dump_track_relative_into(&t->parent_has, &t->pre, &p->from_pre, &p->s,
					       &p->parent, &p->copy);
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

/* A walk under way: its pieces, each thread's state and the helper. */
struct dump_walk_job {
	struct dump_walk_shared sh;
	struct dump_walk_thread me, other;
	struct dump_final_walk w;
	pthread_t th;
	bool two, early;
	uint64_t t0, total;
};

static void dump_walk_job_free(struct dump_walk_job *job)
{
	free(job->me.vec);
	free(job);
}

/* Cuts the walk of @kind into pieces and, where it pays, starts a helper
 * thread walking them. @early: the caller has other work to do first, so
 * the helper is started for a smaller walk, and not at all is no job
 * (*@jobp NULL, 0 returned). */
static int dump_walk_begin(struct dump_task *t, enum dump_walk_kind kind, bool early,
			   struct dump_walk_job **jobp)
{
	struct dump_walk_job *job = calloc(1, sizeof(*job));
	bool tracked = kind != DUMP_WALK_FINAL || (t->trk.mode == TRACK_UFFD_WP && t->trk.uffd >= 0);
	int err;

	*jobp = NULL;
	if (!job)
		return -ENOMEM;
	job->t0 = freeze_now_ns();
	job->early = early;
	job->sh = (struct dump_walk_shared){ .t = t, .w = &job->w, .kind = kind };
	job->me.sh = job->other.sh = &job->sh;
	err = dump_walk_cut(t, kind, &job->w, &job->total);
	if (!err && kind == DUMP_WALK_FINAL) {	/* a guard scan's threads open their own scanner */
		job->me.vec = malloc(2 * DUMP_WALK_VEC * sizeof(*job->me.vec));
		job->other.vec = job->me.vec ? job->me.vec + DUMP_WALK_VEC : NULL;
		err = job->me.vec ? 0 : -ENOMEM;
	}
	if (!err && tracked && job->w.nr &&
	    job->total >= (early ? DUMP_WALK_EARLY_MIN : DUMP_WALK_PAR_MIN) &&
	    (early || job->w.nr > 1) && dump_two_cpus())
		job->two = !pthread_create(&job->th, NULL, dump_walk_worker_main, &job->other);
	if (err || (early && !job->two)) {
		dump_final_walk_free(&job->w);
		dump_walk_job_free(job);
		return early ? 0 : err;
	}
	*jobp = job;
	return 0;
}

/* The caller walks what is left, with the helper; @w gets the pieces.
 * 0, or the first failed piece's error. Frees @job. */
static int dump_walk_finish(struct dump_walk_job *job, struct dump_final_walk *w)
{
	struct dump_task *t = job->sh.t;
	size_t before = atomic_load(&job->sh.next);

	dump_walk_pieces(&job->me);
	if (job->two)
		pthread_join(job->th, NULL);
	if (before > job->w.nr)
		before = job->w.nr;
	pr_debug("task %d: the %s walk: %zu pieces (%zu taken before the caller joined), %llu MiB, "
		 "threads=%d%s, %llu us", (int)t->pid,
		 job->sh.kind == DUMP_WALK_FINAL ? "final" : "guard", job->w.nr, before,
		 (unsigned long long)(job->total >> 20), job->two ? 2 : 1,
		 job->early ? ", started early" : "",
		 (unsigned long long)(freeze_now_ns() - job->t0) / 1000);
	*w = job->w;
	dump_walk_job_free(job);
	/* a failed piece stopped the others: none of it may be used */
	for (size_t k = 0; k < w->nr; k++)
		if (w->p[k].err && w->p[k].err != -EAGAIN)
			return w->p[k].err == -EINPROGRESS ? -ECANCELED : w->p[k].err;
	return 0;
}

/* Cuts and walks every piece of the walk of @kind, on two threads where it
 * pays; an early walk of that kind is finished instead. 0, or the first
 * failed piece's error. */
static int dump_walk_run(struct dump_task *t, enum dump_walk_kind kind, struct dump_final_walk *w)
{
	struct dump_walk_job *job = t->early_walk;
	int err = 0;

	memset(w, 0, sizeof(*w));
	if (job && job->sh.kind == kind)
		t->early_walk = NULL;
	else
		err = dump_walk_begin(t, kind, false, &job);
	return err ? err : dump_walk_finish(job, w);
}

void dump_walk_start_early(struct dump_task *t)
{
	enum dump_walk_kind kind = t->relative ? DUMP_WALK_FINAL : DUMP_WALK_GUARDS;

	if (!t->early_walk && !t->zombie && dump_walk_begin(t, kind, true, &t->early_walk))
		t->early_walk = NULL;	/* no memory: walked later, the usual way */
}

void dump_walk_early_drop(struct dump_task *t)
{
	struct dump_walk_job *job = t->early_walk;

	if (!job)
		return;
	t->early_walk = NULL;
	atomic_store(&job->sh.next, job->w.nr);	/* the helper stops after its piece */
	if (job->two)
		pthread_join(job->th, NULL);
	dump_final_walk_free(&job->w);
	dump_walk_job_free(job);
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
	mem_ranges_free(&p->from_pre);
}

/* Appends @src to @dst (both in address order, @src after @dst), merging
 * ranges that touch at the seam; @src is emptied. */
static int dump_walk_cat(struct mem_ranges *dst, struct mem_ranges *src)
{
	return mem_ranges_move(dst, src, true);
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
		if (!err)
			err = dump_walk_cat(&out->from_pre, &p->from_pre);
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
	mem_ranges_free(&v->from_pre);
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
