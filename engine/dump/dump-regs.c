/* dump-regs — a thread's registers as CRIU's thread_info_x86: general
 * registers, the FXSAVE legacy area, the XSAVE components this CPU enables
 * (offsets from CPUID leaf 0xD), and the GDT TLS slots. Encoding only:
 * the registers were read by engine/regs while the thread was stopped.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "dump.h"

/* XSAVE feature numbers (SDM vol. 1, 13.1) */
enum { XF_YMM = 2, XF_BNDREGS = 3, XF_BNDCSR = 4, XF_OPMASK = 5, XF_ZMM_HI256 = 6,
       XF_HI16_ZMM = 7, XF_PKRU = 9 };

#define FX_ST_WORDS	32
#define FX_XMM_WORDS	64
#define FX_PAD_WORDS	24
#define MAX_COMP_BYTES	1024

/* Everything one thread_info needs, in one allocation (ti first). */
struct dump_regs_box {
	ThreadInfoX86 ti;
	UserX86RegsEntry gpr;
	UserX86FpregsEntry fp;
	UserX86XsaveEntry xs;
	UserDescT tls[DUMP_TLS_ENTRIES];
	UserDescT *tlsp[DUMP_TLS_ENTRIES];
	uint32_t st[FX_ST_WORDS], xmm[FX_XMM_WORDS], pad[FX_PAD_WORDS];
	uint32_t ymmh[MAX_COMP_BYTES / 4], pkru[MAX_COMP_BYTES / 4];
	uint64_t bndreg[MAX_COMP_BYTES / 8], bndcsr[MAX_COMP_BYTES / 8];
	uint64_t opmask[MAX_COMP_BYTES / 8], zmmu[MAX_COMP_BYTES / 8], hi16[MAX_COMP_BYTES / 8];
};

static uint64_t dump_regs_xcr0(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))	/* OSXSAVE */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* Copies feature @f of the XSAVE area into @dst (at most MAX_COMP_BYTES);
 * returns the bytes copied, 0 when the CPU or the area lacks it. */
static size_t dump_regs_comp(const struct dump_thread *th, uint64_t xcr0, unsigned int f,
			     void *dst)
{
	unsigned int size, off, c, d;

	if (!(xcr0 & (1ull << f)))
		return 0;
	__cpuid_count(0xd, f, size, off, c, d);
	(void)c;
	(void)d;
	if (!size || size > MAX_COMP_BYTES || (size_t)off + size > th->regs.xsave_size)
		return 0;
	memcpy(dst, (const uint8_t *)th->regs.xsave + off, size);
	return size;
}

static void dump_regs_gpr(UserX86RegsEntry *g, const struct user_regs_struct *r)
{
	g->r15 = r->r15;
	g->r14 = r->r14;
	g->r13 = r->r13;
	g->r12 = r->r12;
	g->bp = r->rbp;
	g->bx = r->rbx;
	g->r11 = r->r11;
	g->r10 = r->r10;
	g->r9 = r->r9;
	g->r8 = r->r8;
	g->ax = r->rax;
	g->cx = r->rcx;
	g->dx = r->rdx;
	g->si = r->rsi;
	g->di = r->rdi;
	g->orig_ax = r->orig_rax;
	g->ip = r->rip;
	g->cs = r->cs;
	g->flags = r->eflags;
	g->sp = r->rsp;
	g->ss = r->ss;
	g->fs_base = r->fs_base;
	g->gs_base = r->gs_base;
	g->ds = r->ds;
	g->es = r->es;
	g->fs = r->fs;
	g->gs = r->gs;
	g->has_mode = true;
	g->mode = USER_X86_REGS_MODE__NATIVE;
}

static void dump_regs_tls(struct dump_regs_box *b, const struct dump_thread *th)
{
	for (int i = 0; i < DUMP_TLS_ENTRIES; i++) {
		const struct user_desc *u = &th->tls[i];
		UserDescT *t = &b->tls[i];

		user_desc_t__init(t);
		t->entry_number = u->entry_number;
		t->base_addr = u->base_addr;
		t->limit = u->limit;
		t->seg_32bit = u->seg_32bit;
		t->contents_h = (u->contents >> 1) & 1;
		t->contents_l = u->contents & 1;
		t->read_exec_only = u->read_exec_only;
		t->limit_in_pages = u->limit_in_pages;
		t->seg_not_present = u->seg_not_present;
		t->usable = u->useable;
		b->tlsp[i] = t;
	}
	b->ti.n_tls = DUMP_TLS_ENTRIES;
	b->ti.tls = b->tlsp;
}

static int dump_regs_fpu(struct dump_regs_box *b, const struct dump_thread *th)
{
	const uint8_t *x = th->regs.xsave;
	UserX86FpregsEntry *fp = &b->fp;
	uint16_t w16;
	uint64_t xcr0;
	size_t n;

	if (!x || th->regs.xsave_size < 576) {
		pr_err("thread %d: XSAVE area of %zu bytes is too small", (int)th->tid,
		       th->regs.xsave_size);
		return -EINVAL;
	}
	memcpy(&w16, x + 0, 2);
	fp->cwd = w16;
	memcpy(&w16, x + 2, 2);
	fp->swd = w16;
	fp->twd = x[4];
	memcpy(&w16, x + 6, 2);
	fp->fop = w16;
	memcpy(&fp->rip, x + 8, 8);
	memcpy(&fp->rdp, x + 16, 8);
	memcpy(&fp->mxcsr, x + 24, 4);
	memcpy(&fp->mxcsr_mask, x + 28, 4);
	memcpy(b->st, x + 32, sizeof(b->st));
	memcpy(b->xmm, x + REGS_XSAVE_XMM_OFFSET, sizeof(b->xmm));
	memcpy(b->pad, x + 416, sizeof(b->pad));
	fp->n_st_space = FX_ST_WORDS;
	fp->st_space = b->st;
	fp->n_xmm_space = FX_XMM_WORDS;
	fp->xmm_space = b->xmm;
	fp->n_padding = FX_PAD_WORDS;
	fp->padding = b->pad;

	xcr0 = dump_regs_xcr0();
	if (!xcr0)
		return 0;
	memcpy(&b->xs.xstate_bv, x + REGS_XSAVE_HDR_OFFSET, 8);
	n = dump_regs_comp(th, xcr0, XF_YMM, b->ymmh);
	b->xs.n_ymmh_space = n / 4;
	b->xs.ymmh_space = b->ymmh;
	n = dump_regs_comp(th, xcr0, XF_BNDREGS, b->bndreg);
	b->xs.n_bndreg_state = n / 8;
	b->xs.bndreg_state = b->bndreg;
	n = dump_regs_comp(th, xcr0, XF_BNDCSR, b->bndcsr);
	b->xs.n_bndcsr_state = n / 8;
	b->xs.bndcsr_state = b->bndcsr;
	n = dump_regs_comp(th, xcr0, XF_OPMASK, b->opmask);
	b->xs.n_opmask_reg = n / 8;
	b->xs.opmask_reg = b->opmask;
	n = dump_regs_comp(th, xcr0, XF_ZMM_HI256, b->zmmu);
	b->xs.n_zmm_upper = n / 8;
	b->xs.zmm_upper = b->zmmu;
	n = dump_regs_comp(th, xcr0, XF_HI16_ZMM, b->hi16);
	b->xs.n_hi16_zmm = n / 8;
	b->xs.hi16_zmm = b->hi16;
	n = dump_regs_comp(th, xcr0, XF_PKRU, b->pkru);
	b->xs.n_pkru = n ? 1 : 0;	/* PKRU is one word; the rest is padding */
	b->xs.pkru = b->pkru;
	fp->xsave = &b->xs;
	return 0;
}

int dump_regs_encode(const struct dump_thread *th, ThreadInfoX86 **out)
{
	struct dump_regs_box *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	thread_info_x86__init(&b->ti);
	user_x86_regs_entry__init(&b->gpr);
	user_x86_fpregs_entry__init(&b->fp);
	user_x86_xsave_entry__init(&b->xs);
	dump_regs_gpr(&b->gpr, &th->regs.gpr);
	err = dump_regs_fpu(b, th);
	if (err) {
		free(b);
		return err;
	}
	dump_regs_tls(b, th);
	b->ti.clear_tid_addr = th->clear_tid;
	b->ti.gpregs = &b->gpr;
	b->ti.fpregs = &b->fp;
	*out = &b->ti;
	return 0;
}

void dump_regs_encoded_free(ThreadInfoX86 *ti)
{
	free(ti);	/* the box starts with it */
}
