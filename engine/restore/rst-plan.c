/* rst-plan — where everything of the restore lives before the restorer
 * runs: the shared region (restorer blob, argument block, VMA and thread
 * tables, stacks, signal frames) and the premap reservation, both at spots
 * no target VMA uses; and the argument block's contents. Maps nothing of
 * the target itself (rst-child does, in the new task).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blog.h"
#include "guard.pb-c.h"
#include "pie-restorer-blob.h"
#include "regs.h"
#include "restore.h"

#define RST_PAGE	4096ull
#define RST_ALIGN(x, a)	(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define RST_LOW		(1ull << 20)
#define RST_HIGH	0x7ffffffff000ull
/* CRIU's vma_entry.status bits */
#define RST_VMA_VSYSCALL	(1u << 2)
#define RST_VMA_VDSO		(1u << 3)
#define RST_VMA_VVAR		(1u << 12)

static bool rst_vma_special(const VmaEntry *v)
{
	return v->status & (RST_VMA_VDSO | RST_VMA_VVAR | RST_VMA_VSYSCALL);
}

/* Our own [vdso] and [vvar*] areas, in address order. */
static int rst_own_specials(struct rst_ctx *c)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	if (!f)
		return -errno;
	c->nr_own = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char *name = strchr(line, '[');

		if (!name || (strncmp(name, "[vdso]", 6) && strncmp(name, "[vvar", 5)))
			continue;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2 || c->nr_own == RST_MAX_SPECIAL)
			continue;
		c->own[c->nr_own++] = (struct rst_own_special){ s, e, name[2] == 'd' };
	}
	fclose(f);
	return 0;
}

/* The target's vdso/vvar areas must be ours, area for area and size for size. */
static int rst_match_specials(struct rst_ctx *c)
{
	const MmEntry *mm = c->im.mme;
	size_t k = 0;
	int err = rst_own_specials(c);

	if (err)
		return err;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (!(v->status & (RST_VMA_VDSO | RST_VMA_VVAR)))
			continue;
		if (k == c->nr_own || c->own[k].end - c->own[k].start != v->end - v->start ||
		    c->own[k].vdso != !!(v->status & RST_VMA_VDSO)) {
			pr_err("the saved vdso/vvar layout (area %#llx-%#llx) differs from the "
			       "running kernel's; cannot restore on this kernel",
			       (unsigned long long)v->start, (unsigned long long)v->end);
			return -EOPNOTSUPP;
		}
		k++;
	}
	if (k && k != c->nr_own) {
		pr_err("the running kernel has %zu vdso/vvar areas, the image %zu", c->nr_own, k);
		return -EOPNOTSUPP;
	}
	if (!k)
		c->nr_own = 0;	/* the task had none: ours go with the engine */
	return 0;
}

/* Does [a, a+len) meet a target VMA or @extra? */
static bool rst_overlaps(const MmEntry *mm, uint64_t a, uint64_t len, uint64_t xs, uint64_t xl)
{
	if (xl && a < xs + xl && xs < a + len)
		return true;
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (a < mm->vmas[i]->end && mm->vmas[i]->start < a + len)
			return true;
	return false;
}

/* Maps @len bytes where no target VMA (nor [xs, xs+xl)) is and nothing of
 * ours is: tries the top and bottom of every gap between target VMAs. */
static void *rst_map_free_spot(const struct rst_ctx *c, uint64_t len, int prot, int flags,
			       uint64_t xs, uint64_t xl)
{
	const MmEntry *mm = c->im.mme;
	size_t n = mm->n_vmas;

	for (size_t i = n + 1; i-- > 0;) {
		uint64_t lo = i ? mm->vmas[i - 1]->end : RST_LOW;
		uint64_t hi = i < n ? mm->vmas[i]->start : RST_HIGH;
		uint64_t cand[4];

		/* keep a gap to the target's VMAs (stack guard, growth) */
		lo = RST_ALIGN(lo + (16ull << 20), 1ull << 21);
		hi = (hi > (16ull << 20) ? hi - (16ull << 20) : 0) & ~((1ull << 21) - 1);
		if (hi <= lo || hi - lo < len)
			continue;
		cand[0] = (hi - len) & ~((1ull << 21) - 1);
		cand[1] = lo;
		cand[2] = lo + ((hi - lo - len) / 2 & ~((1ull << 21) - 1));
		cand[3] = lo + ((hi - lo - len) / 4 & ~((1ull << 21) - 1));
		for (int k = 0; k < 4; k++) {
			void *p;

			if (cand[k] < lo || cand[k] + len > hi ||
			    rst_overlaps(mm, cand[k], len, xs, xl))
				continue;
			p = mmap((void *)cand[k], len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
			if (p != MAP_FAILED)
				return p;
		}
		/* taken by the regions of the tree's other tasks (same layout):
		 * down from the top of the gap, 2 MiB at a time */
		for (uint64_t a = cand[0], tries = 0; a >= lo && tries < (1u << 16); tries++) {
			void *p;

			if (a + len <= hi && !rst_overlaps(mm, a, len, xs, xl)) {
				p = mmap((void *)a, len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
				if (p != MAP_FAILED)
					return p;
			}
			if (a < lo + (2ull << 20))
				break;
			a -= 2ull << 20;
		}
	}
	return NULL;
}

static size_t rst_region_layout(struct rst_ctx *c, size_t nr_vmas, size_t nr_guards,
				size_t nr_pending, size_t *vmas_off, size_t *guards_off,
				size_t *threads_off, size_t *pending_off, size_t *stacks_off)
{
	size_t nt = c->im.nr_threads, off;

	off = RST_ALIGN(PIE_RESTORER_SIZE, RST_PAGE);
	off += RST_ALIGN(sizeof(struct rst_args), 64);
	*vmas_off = off;
	off += RST_ALIGN(nr_vmas * sizeof(struct rst_vma), 64);
	*guards_off = off;
	off += RST_ALIGN(nr_guards * sizeof(struct rst_guard), 64);
	*threads_off = off;
	off += RST_ALIGN(nt * sizeof(struct rst_thread), 64);
	*pending_off = off;
	off += RST_ALIGN(nr_pending * sizeof(struct rst_siginfo), 64);
	/* frames: pretcode + ucontext + siginfo + the XSAVE area, 64-aligned */
	c->frame_size = RST_ALIGN(1024 + regs_xsave_max() + 64, 64);
	c->frames_off = RST_ALIGN(off, 64);
	off = c->frames_off + nt * c->frame_size;
	*stacks_off = RST_ALIGN(off, RST_PAGE);
	return *stacks_off + nt * RST_THREAD_STACK;
}

static void rst_fill_thread(struct rst_ctx *c, size_t i, struct rst_thread *t,
			    struct rst_siginfo **pend, uint8_t *stack_top)
{
	const CoreEntry *ce = c->im.cores[i];
	const ThreadCoreEntry *tc = ce->thread_core;
	const UserX86RegsEntry *g = ce->thread_info->gpregs;
	const SignalQueueEntry *q = tc->signals_p;

	memset(t, 0, sizeof(*t));
	t->tid = c->im.tids[i];
	t->nice = tc->has_sched_nice ? tc->sched_nice : 0;
	t->policy = tc->has_sched_policy ? (int32_t)tc->sched_policy : 0;
	t->rt_prio = tc->has_sched_prio ? (int32_t)tc->sched_prio : 0;
	t->stack_top = (uint64_t)(uintptr_t)stack_top;
	t->fs_base = g->fs_base;
	t->gs_base = g->gs_base;
	t->clear_tid = ce->thread_info->clear_tid_addr;
	t->robust_head = tc->futex_rla;
	t->robust_len = tc->futex_rla_len;
	if (tc->rseq_entry) {
		t->rseq_ptr = tc->rseq_entry->rseq_abi_pointer;
		t->rseq_size = tc->rseq_entry->rseq_abi_size;
		t->rseq_sig = tc->rseq_entry->signature;
	}
	if (tc->creds) {
		const CredsEntry *cr = tc->creds;

		t->restore_creds = 1;
		t->uid[0] = cr->uid, t->uid[1] = cr->euid, t->uid[2] = cr->suid, t->uid[3] = cr->fsuid;
		t->gid[0] = cr->gid, t->gid[1] = cr->egid, t->gid[2] = cr->sgid, t->gid[3] = cr->fsgid;
#define RST_CAP64(f) (cr->n_##f >= 2 ? (uint64_t)cr->f[1] << 32 | cr->f[0] : cr->n_##f ? cr->f[0] : 0)
		t->cap_inh = RST_CAP64(cap_inh);
		t->cap_prm = RST_CAP64(cap_prm);
		t->cap_eff = RST_CAP64(cap_eff);
		t->cap_bnd = RST_CAP64(cap_bnd);
		t->cap_amb = RST_CAP64(cap_amb);
#undef RST_CAP64
		t->secbits = cr->secbits;
		t->no_new_privs = cr->has_no_new_privs && cr->no_new_privs;
		t->nr_groups = (uint32_t)(cr->n_groups < RST_MAX_GROUPS ? cr->n_groups : RST_MAX_GROUPS);
		if (t->nr_groups)
			memcpy(t->groups, cr->groups, t->nr_groups * sizeof(uint32_t));
	}
	t->pdeath = tc->has_pdeath_sig ? (int32_t)tc->pdeath_sig : 0;
	snprintf(t->comm, sizeof(t->comm), "%s", tc->comm ? tc->comm :
		 ce->tc && ce->tc->comm ? ce->tc->comm : "");
	t->pending = (uint64_t)(uintptr_t)*pend;
	for (size_t k = 0; q && k < q->n_signals; k++) {
		size_t n = q->signals[k]->siginfo.len;

		memset(*pend, 0, sizeof(**pend));
		memcpy((*pend)->b, q->signals[k]->siginfo.data, n < 128 ? n : 128);
		(*pend)++;
		t->nr_pending++;
	}
}

/*
 * guards-PID.img's ranges cut at the premapped VMAs' bounds, in VMA order,
 * into @out (NULL: count only). Every guard page must fall in some premapped
 * VMA. Returns the number of pieces or -EINVAL.
 */
static long rst_guard_pieces(const struct rst_ctx *c, size_t nr_vmas, struct rst_guard *out)
{
	const struct img_file *gf = &c->im.guards;
	uint64_t covered = 0, total = 0;
	long n = 0;

	for (size_t k = 0; k < gf->n; k++)
		total += ((const GuardRangeEntry *)gf->ents[k].msg)->nr_pages;
	for (size_t i = 0; i < nr_vmas && gf->n; i++) {
		const VmaEntry *v = c->im.mme->vmas[c->premap_vma[i]];

		for (size_t k = 0; k < gf->n; k++) {
			const GuardRangeEntry *g = (const GuardRangeEntry *)gf->ents[k].msg;
			uint64_t s = g->start, e = g->start + g->nr_pages * RST_PAGE;

			s = s > v->start ? s : v->start;
			e = e < v->end ? e : v->end;
			if (s >= e)
				continue;
			if (out)
				out[n] = (struct rst_guard){ s, e - s };
			n++;
			covered += (e - s) / RST_PAGE;
		}
	}
	if (covered != total) {
		pr_err("bad image %s: %llu of its %llu guard pages lie outside the restored VMAs",
		       gf->name, (unsigned long long)(total - covered), (unsigned long long)total);
		return -EINVAL;
	}
	return n;
}

static int rst_check_sizes(const struct rst_ctx *c, size_t *nr_pending)
{
	*nr_pending = 0;
	for (size_t i = 0; i < c->im.nr_threads; i++) {
		const SignalQueueEntry *q = c->im.cores[i]->thread_core->signals_p;

		for (size_t k = 0; q && k < q->n_signals; k++)
			if (q->signals[k]->siginfo.len != 128) {
				pr_err("bad image %s: a siginfo of %zu bytes", c->im.core[i].name,
				       q->signals[k]->siginfo.len);
				return -EINVAL;
			}
		*nr_pending += q ? q->n_signals : 0;
		if (c->im.cores[i]->thread_core->creds &&
		    c->im.cores[i]->thread_core->creds->n_groups > RST_MAX_GROUPS) {
			pr_err("%s: more than %d supplementary groups", c->im.core[i].name,
			       RST_MAX_GROUPS);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int rst_plan(struct rst_ctx *c)
{
	const MmEntry *mm = c->im.mme;
	size_t nr_vmas = 0, nr_pending, vmas_off, guards_off, threads_off, pending_off, stacks_off;
	long nr_guards;
	uint64_t premap = 0;
	struct rst_args *a;
	struct rst_vma *rv;
	struct rst_thread *rt;
	struct rst_siginfo *pend;
	void *p;
	int err;

	err = rst_match_specials(c);
	if (!err)
		err = rst_check_sizes(c, &nr_pending);
	if (err)
		return err;
	c->premap_vma = calloc(mm->n_vmas ? mm->n_vmas : 1, sizeof(*c->premap_vma));
	if (!c->premap_vma)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		if (rst_vma_special(mm->vmas[i]))
			continue;
		c->premap_vma[nr_vmas++] = i;
		/* + a hole, + room to keep the 2 MiB phase (huge pages survive) */
		premap += mm->vmas[i]->end - mm->vmas[i]->start + RST_PAGE + (2ull << 20);
	}
	for (size_t i = 0; i < c->nr_own; i++)
		premap += c->own[i].end - c->own[i].start + RST_PAGE;
	c->premap_len = RST_ALIGN(premap, 1ull << 21);

	nr_guards = rst_guard_pieces(c, nr_vmas, NULL);
	if (nr_guards < 0)
		return (int)nr_guards;
	c->region_len = rst_region_layout(c, nr_vmas, (size_t)nr_guards, nr_pending, &vmas_off,
					  &guards_off, &threads_off, &pending_off, &stacks_off);
	p = rst_map_free_spot(c, c->region_len, PROT_READ | PROT_WRITE | PROT_EXEC,
			      MAP_SHARED | MAP_ANONYMOUS, 0, 0);
	if (!p) {
		pr_err("no free spot of %zu bytes for the restorer outside the task's VMAs",
		       c->region_len);
		return -ENOMEM;
	}
	c->region = p;
	p = rst_map_free_spot(c, c->premap_len, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			      (uint64_t)(uintptr_t)c->region, c->region_len);
	if (!p) {
		pr_err("no free spot of %llu bytes to premap the task's memory",
		       (unsigned long long)c->premap_len);
		return -ENOMEM;
	}
	c->premap_base = (uint64_t)(uintptr_t)p;
	memcpy(c->region, pie_restorer_blob, PIE_RESTORER_SIZE);

	a = c->args = (struct rst_args *)(c->region + RST_ALIGN(PIE_RESTORER_SIZE, RST_PAGE));
	a->stage = 0;	/* the task says RST_STAGE_START once it exists */
	a->region = (uint64_t)(uintptr_t)c->region;
	a->region_len = c->region_len;
	a->premap = c->premap_base;
	a->premap_len = c->premap_len;
	a->pid = c->im.pid;
	rv = (struct rst_vma *)(c->region + vmas_off);
	a->vmas = (uint64_t)(uintptr_t)rv;
	a->nr_vmas = (uint32_t)nr_vmas;
	a->guards = (uint64_t)(uintptr_t)(c->region + guards_off);
	a->nr_guards = (uint32_t)rst_guard_pieces(c, nr_vmas,
						  (struct rst_guard *)(c->region + guards_off));
	premap = c->premap_base;
	for (size_t i = 0; i < nr_vmas; i++) {
		const VmaEntry *v = mm->vmas[c->premap_vma[i]];
		uint64_t phase = v->start & ((2ull << 20) - 1);

		premap += (phase - (premap & ((2ull << 20) - 1))) & ((2ull << 20) - 1);
		rv[i].src = premap;
		rv[i].dst = v->start;
		rv[i].len = v->end - v->start;
		rv[i].prot = v->prot;
		rv[i].flags = v->flags;
		rv[i].madv = v->has_madv ? v->madv : 0;
		premap += rv[i].len + RST_PAGE;
	}
	for (size_t i = 0, k = 0; i < mm->n_vmas && c->nr_own; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (!(v->status & (RST_VMA_VDSO | RST_VMA_VVAR)))
			continue;
		a->special[k] = (struct rst_special){ c->own[k].start, premap, v->start,
						      v->end - v->start };
		premap += v->end - v->start + RST_PAGE;
		k++;
	}
	a->nr_special = (uint32_t)c->nr_own;

	a->mm = (struct rst_mm_map){
		mm->mm_start_code, mm->mm_end_code, mm->mm_start_data, mm->mm_end_data,
		mm->mm_start_brk, mm->mm_brk, mm->mm_start_stack,
		mm->mm_arg_start, mm->mm_arg_end, mm->mm_env_start, mm->mm_env_end,
		0, (uint32_t)(mm->n_mm_saved_auxv * sizeof(uint64_t)), UINT32_MAX,
	};
	memcpy(a->auxv, mm->mm_saved_auxv, mm->n_mm_saved_auxv * sizeof(uint64_t));
	a->dumpable = mm->has_dumpable ? mm->dumpable : 1;

	rt = (struct rst_thread *)(c->region + threads_off);
	pend = (struct rst_siginfo *)(c->region + pending_off);
	a->threads = (uint64_t)(uintptr_t)rt;
	a->nr_threads = (uint32_t)c->im.nr_threads;
	for (size_t i = 0; i < c->im.nr_threads; i++)
		rst_fill_thread(c, i, &rt[i], &pend,
				c->region + stacks_off + (i + 1) * RST_THREAD_STACK);
	return rst_frames_build(c);
}

void rst_plan_free(struct rst_ctx *c)
{
	if (c->region)
		munmap(c->region, c->region_len);
	if (c->premap_base)
		munmap((void *)(uintptr_t)c->premap_base, c->premap_len);
	free(c->premap_vma);
	c->region = NULL;
	c->premap_base = 0;
	c->premap_vma = NULL;
}
