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
 * reads /proc, and the caller joins in when it needs the result.
 *
 * The root's final walk is mostly done before the freeze (dump_prewalk):
 * its private anonymous VMAs are walked the same way while it still runs,
 * after the copy before the freeze protected them again. Inside the freeze
 * a piece cut the same way then only asks which of its pages are not
 * protected now (track_collect_touched, a walk on the kernel's fast path):
 * in such a VMA every page changed since, written or dropped, shows there,
 * and only those pages are walked again. A piece the walk before the freeze
 * does not cover exactly (a VMA that changed, a file mapping) is walked
 * whole. Copies no page; changes nothing in the task.
 *
 * The pages left to the parent are joined into one list only after the
 * release (dump_final_walk_settle): until then the pieces' lists are kept
 * as they are (struct dump_parts).
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
#define DUMP_WALK_DELTA_RANGES 16		/* more changed ranges: their span walked at once */

/* DUMP_WALK_PRE: the root's final walk before the freeze (no dump_task yet) */
enum dump_walk_kind { DUMP_WALK_FINAL, DUMP_WALK_GUARDS, DUMP_WALK_PRE };

struct dump_walk_shared {
	struct dump_task *t;		/* NULL for DUMP_WALK_PRE */
	struct track_ctx *trk;
	pid_t pid;
	struct dump_final_walk *w;
	enum dump_walk_kind kind;
	atomic_size_t next;
	atomic_size_t reused;		/* final: pieces taken from the walk before the freeze */
	atomic_uint_least64_t rewalked;	/* ... and their pages walked again */
	/* DUMP_WALK_PRE: what its pieces are split against, as in the freeze */
	const struct mem_ranges *parent_has;
	const struct dump_precopy *pre;
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

/* A private anonymous mapping: the only kind whose changes all show on the
 * fast path (track_collect_touched). */
static bool dump_walk_anon(const struct proc_maps *m, const struct proc_vma *v)
{
	return !v->shared && !v->ino && !dump_vma_kernels(proc_vma_name(m, v));
}

/* The piece of the walk before the freeze that covers exactly @p, in a
 * VMA that is still private anonymous, or NULL. */
static struct dump_walk_piece *dump_prewalk_find(struct dump_task *t,
						 const struct dump_walk_piece *p)
{
	struct dump_final_walk *pre = &t->prewalk;
	size_t lo = 0, hi = pre->nr;

	if (!pre->nr || !dump_walk_anon(&t->maps, &t->maps.vma[p->vma]))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pre->p[mid].start < p->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == pre->nr || pre->p[lo].start != p->start || pre->p[lo].end != p->end ||
	    pre->p[lo].err)
		return NULL;
	return &pre->p[lo];
}

/* Replaces in @p the pages of @changed by @now's, for each list of a
 * split walk: what @now's pages split into (against the same parent and
 * copy before the freeze), and its guards. */
static int dump_walk_patch(struct dump_task *t, struct dump_walk_piece *p,
			   const struct mem_ranges *changed, struct track_vma_scan *now)
{
	struct mem_ranges copy = { 0 }, parent = { 0 }, from_pre = { 0 };
	int err = dump_track_relative_into(&t->parent_has, &t->pre, &from_pre, now, &parent, &copy);

	if (!err)
		err = mem_ranges_replace(&p->copy, changed, &copy);
	if (!err)
		err = mem_ranges_replace(&p->parent, changed, &parent);
	if (!err)
		err = mem_ranges_replace(&p->from_pre, changed, &from_pre);
	if (!err)
		err = mem_ranges_replace(&p->s.guards, changed, &now->guards);
	mem_ranges_free(&copy);
	mem_ranges_free(&parent);
	mem_ranges_free(&from_pre);
	return err;
}

/* @p's walk, split, from @pw's, walked and split before the freeze: the
 * pages changed since are walked again and take their place (past a few
 * ranges, the whole span from the first to the last: one walk costs more
 * than a few pages). -ENOENT: @p must be walked whole (not registered);
 * @pw is then of no more use. */
static int dump_walk_delta(struct dump_walk_thread *th, struct dump_walk_piece *p,
			   struct dump_walk_piece *pw)
{
	struct dump_walk_shared *sh = th->sh;
	struct mem_ranges changed = { 0 };
	struct track_vma_scan now = { 0 }, part;
	int err = track_collect_touched(sh->trk, th->vec, DUMP_WALK_VEC, p->start, p->end,
					&changed);

	if (!err && changed.nr > DUMP_WALK_DELTA_RANGES) {
		uint64_t a = changed.r[0].start;
		uint64_t e = changed.r[changed.nr - 1].start +
			     changed.r[changed.nr - 1].nr_pages * MEM_PAGE_SIZE;

		mem_ranges_free(&changed);
		err = mem_ranges_add(&changed, a, (e - a) / MEM_PAGE_SIZE);
	}
	for (size_t i = 0; i < changed.nr && !err; i++) {
		uint64_t a = changed.r[i].start, e = a + changed.r[i].nr_pages * MEM_PAGE_SIZE;

		err = track_collect_final_walk(sh->trk, th->vec, DUMP_WALK_VEC, a, e, 0, &part);
		if (err)
			break;
		err = mem_ranges_move(&now.present, &part.present, true);
		if (!err)
			err = mem_ranges_move(&now.written, &part.written, true);
		if (!err)
			err = mem_ranges_move(&now.guards, &part.guards, true);
		track_vma_scan_free(&part);
	}
	if (!err && changed.nr)
		err = dump_walk_patch(sh->t, pw, &changed, &now);
	if (!err) {
		p->s = pw->s;
		p->copy = pw->copy;
		p->parent = pw->parent;
		p->from_pre = pw->from_pre;
		p->split = true;
		memset(&pw->s, 0, sizeof(pw->s));
		memset(&pw->copy, 0, sizeof(pw->copy));
		memset(&pw->parent, 0, sizeof(pw->parent));
		memset(&pw->from_pre, 0, sizeof(pw->from_pre));
		atomic_fetch_add(&sh->reused, 1);
		atomic_fetch_add(&sh->rewalked, changed.pages);
	}
	track_vma_scan_free(&now);
	mem_ranges_free(&changed);
	return err == -EAGAIN ? -ENOENT : err;
}

static int dump_walk_piece(struct dump_walk_thread *th, struct dump_walk_piece *p)
{
	struct dump_task *t = th->sh->t;
	int err;

	if (th->sh->kind == DUMP_WALK_PRE) {
		/* split as the freeze's walk would, which then only patches */
		err = track_collect_final_walk(th->sh->trk, th->vec, DUMP_WALK_VEC, p->start,
					       p->end, 0, &p->s);
		if (!err)
			err = dump_track_relative_into(th->sh->parent_has, th->sh->pre,
						       &p->from_pre, &p->s, &p->parent, &p->copy);
		mem_ranges_free(&p->s.present);
		mem_ranges_free(&p->s.written);
		p->split = true;
		return err;
	}
	if (th->sh->kind == DUMP_WALK_FINAL) {
		struct dump_walk_piece *pw = dump_prewalk_find(t, p);

		err = pw ? dump_walk_delta(th, p, pw) : -ENOENT;
		if (err != -ENOENT)
			return err;
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
		/* only a final walk falls back (and a piece of the walk before
		 * the freeze is not used): a guard scan's -EAGAIN is an error */
		if (p->err == -EAGAIN && sh->kind == DUMP_WALK_GUARDS)
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

/* VMA @i, [@start, @end), cut into pieces: the same pieces for the same
 * bounds, before the freeze and in it. */
static int dump_walk_cut_vma(struct dump_final_walk *w, size_t i, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end;) {
		uint64_t e = (a + DUMP_WALK_PIECE + DUMP_WALK_ALIGN - 1) & ~(DUMP_WALK_ALIGN - 1);
		int err;

		if (e >= end || end - e < DUMP_WALK_PIECE / 4)
			e = end;	/* no sliver at the end */
		err = dump_walk_add(w, i, a, e);
		if (err)
			return err;
		a = e;
	}
	return 0;
}

/* The VMAs the walk of @kind covers, cut into pieces; the bytes to walk in
 * *@total. */
static int dump_walk_cut(const struct dump_task *t, enum dump_walk_kind kind,
			 struct dump_final_walk *w, uint64_t *total)
{
	*total = 0;
	for (size_t i = 0; i < t->maps.nr; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		int err;

		if (kind == DUMP_WALK_FINAL ? !dump_track_final_covers(t, i) :
					      !dump_walk_guards_cover(t, i))
			continue;
		*total += v->end - v->start;
		err = dump_walk_cut_vma(w, i, v->start, v->end);
		if (err)
			return err;
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

static struct dump_walk_job *dump_walk_job_new(struct dump_task *t, struct track_ctx *trk,
					       pid_t pid, enum dump_walk_kind kind, bool early)
{
	struct dump_walk_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->t0 = freeze_now_ns();
	job->early = early;
	job->sh = (struct dump_walk_shared){
		.t = t, .trk = trk, .pid = pid, .w = &job->w, .kind = kind
	};
	job->me.sh = job->other.sh = &job->sh;
	return job;
}

/* The pieces cut, gives the threads their vectors (a guard scan's threads
 * open their own scanner) and, where it pays, starts the helper. */
static int dump_walk_job_start(struct dump_walk_job *job, bool tracked)
{
	if (job->sh.kind != DUMP_WALK_GUARDS) {
		job->me.vec = malloc(2 * DUMP_WALK_VEC * sizeof(*job->me.vec));
		if (!job->me.vec)
			return -ENOMEM;
		job->other.vec = job->me.vec + DUMP_WALK_VEC;
	}
	if (tracked && job->w.nr &&
	    job->total >= (job->early ? DUMP_WALK_EARLY_MIN : DUMP_WALK_PAR_MIN) &&
	    (job->early || job->w.nr > 1) && dump_two_cpus())
		job->two = !pthread_create(&job->th, NULL, dump_walk_worker_main, &job->other);
	return 0;
}

/* Cuts the walk of @kind into pieces and, where it pays, starts a helper
 * thread walking them. @early: the caller has other work to do first, so
 * the helper is started for a smaller walk, and not at all is no job
 * (*@jobp NULL, 0 returned). */
static int dump_walk_begin(struct dump_task *t, enum dump_walk_kind kind, bool early,
			   struct dump_walk_job **jobp)
{
	struct dump_walk_job *job = dump_walk_job_new(t, &t->trk, t->pid, kind, early);
	bool tracked = kind != DUMP_WALK_FINAL || (t->trk.mode == TRACK_UFFD_WP && t->trk.uffd >= 0);
	int err;

	*jobp = NULL;
	if (!job)
		return -ENOMEM;
	err = dump_walk_cut(t, kind, &job->w, &job->total);
	if (!err)
		err = dump_walk_job_start(job, tracked);
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
	static const char *const kind[] = {
		[DUMP_WALK_FINAL] = "final", [DUMP_WALK_GUARDS] = "guard",
		[DUMP_WALK_PRE] = "pre-freeze final"
	};
	size_t before = atomic_load(&job->sh.next);

	dump_walk_pieces(&job->me);
	if (job->two)
		pthread_join(job->th, NULL);
	if (before > job->w.nr)
		before = job->w.nr;
	pr_debug("task %d: the %s walk: %zu pieces (%zu taken before the caller joined), %llu MiB, "
		 "threads=%d%s, %llu us", (int)job->sh.pid, kind[job->sh.kind], job->w.nr, before,
		 (unsigned long long)(job->total >> 20), job->two ? 2 : 1,
		 job->early ? ", started early" : "",
		 (unsigned long long)(freeze_now_ns() - job->t0) / 1000);
	if (job->sh.kind == DUMP_WALK_FINAL && atomic_load(&job->sh.reused))
		pr_debug("task %d: the final walk built on the pre-freeze walk: reused_pieces=%zu, "
			 "changed pages walked again: %llu", (int)job->sh.pid,
			 atomic_load(&job->sh.reused),
			 (unsigned long long)atomic_load(&job->sh.rewalked));
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

void dump_prewalk(struct dump_ctx *c)
{
	const struct proc_maps *m = &c->pre_smaps;
	struct dump_walk_job *job;
	int err = 0;

	if (!c->root_pre.ran || !c->root_relative)
		return;
	job = dump_walk_job_new(NULL, &c->root_trk, c->o->tree_pid, DUMP_WALK_PRE, false);
	if (!job)
		return;
	job->sh.parent_has = &c->root_parent_has;
	job->sh.pre = &c->root_pre;
	for (size_t i = 0; i < m->nr && !err; i++) {
		const struct proc_vma *v = &m->vma[i];

		if (!dump_walk_anon(m, v))
			continue;
		job->total += v->end - v->start;
		err = dump_walk_cut_vma(&job->w, i, v->start, v->end);
	}
	if (!err)
		err = dump_walk_job_start(job, true);
	if (err) {
		dump_final_walk_free(&job->w);
		dump_walk_job_free(job);
	} else {
		err = dump_walk_finish(job, &c->root_prewalk);
	}
	if (err) {
		/* the freeze walks everything, as without it */
		pr_debug("task %d: no final walk before the freeze: %s", (int)c->o->tree_pid,
			 strerror(-err));
		dump_final_walk_free(&c->root_prewalk);
	}
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

int dump_parts_take(struct dump_parts *ps, struct mem_ranges *r, bool seam)
{
	if (!r->nr)
		return 0;
	if (ps->nr == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;
		struct dump_part *n = realloc(ps->p, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ps->p = n;
		ps->cap = cap;
	}
	ps->p[ps->nr].r = *r;
	ps->p[ps->nr].seam = seam;
	ps->nr++;
	memset(r, 0, sizeof(*r));
	return 0;
}

void dump_parts_free(struct dump_parts *ps)
{
	for (size_t k = 0; k < ps->nr; k++)
		mem_ranges_free(&ps->p[k].r);
	free(ps->p);
	memset(ps, 0, sizeof(*ps));
}

int dump_final_walk_settle(struct dump_ctx *c, struct dump_task *t)
{
	struct dump_parts *ps = &t->parent_parts;
	uint64_t before = t->parent.pages;
	size_t total = 0;
	int err;

	for (size_t k = 0; k < ps->nr; k++)
		total += ps->p[k].r.nr;
	err = mem_ranges_reserve(&t->parent, total);
	for (size_t k = 0; k < ps->nr && !err; k++)
		err = mem_ranges_move(&t->parent, &ps->p[k].r, ps->p[k].seam);
	if (err)
		return err;
	dump_parts_free(ps);
	c->stats.pages_skipped_parent += t->parent.pages - before;
	return 0;
}

int dump_final_walk_reserve(const struct dump_final_walk *w, const struct dump_walk_into *into)
{
	size_t copy = 0, from_pre = 0, guards = 0;
	int err;

	for (size_t k = 0; k < w->nr; k++) {
		const struct dump_walk_piece *p = &w->p[k];

		if (p->err || !p->split)
			continue;
		copy += p->copy.nr;
		from_pre += p->from_pre.nr;
		guards += p->s.guards.nr;
	}
	err = mem_ranges_reserve(into->copy, copy);
	if (!err)
		err = mem_ranges_reserve(into->from_pre, from_pre);
	if (!err)
		err = mem_ranges_reserve(into->guards, guards);
	return err;
}

/* Appends split piece @p to @into; @seam: it follows a piece of the same
 * VMA, so ranges that touch across them are one. */
static int dump_walk_append(const struct dump_walk_into *into, struct dump_walk_piece *p,
			    bool seam)
{
	int err = mem_ranges_move(into->copy, &p->copy, seam);

	if (!err)
		err = dump_parts_take(into->parent, &p->parent, seam);
	if (!err)
		err = mem_ranges_move(into->from_pre, &p->from_pre, seam);
	if (!err)
		err = mem_ranges_move(into->guards, &p->s.guards, seam);
	return err;
}

int dump_final_walk_join(struct dump_task *t, struct dump_final_walk *w, size_t *i,
			 const struct dump_walk_into *into, struct dump_walk_vma *out)
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

		if (split) {
			err = dump_walk_append(into, p, k > *i);
			continue;
		}
		err = dump_walk_cat(&out->s.present, &p->s.present);
		if (!err)
			err = dump_walk_cat(&out->s.written, &p->s.written);
		if (!err)
			err = dump_walk_cat(&out->s.guards, &p->s.guards);
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
