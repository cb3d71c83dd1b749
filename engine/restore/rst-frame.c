/* rst-frame — each thread's rt_sigframe, built in the shared region: its
 * general registers (an interrupted restartable syscall is set up to run
 * again, as the kernel would have), its XSAVE area in the standard format
 * the kernel reads on sigreturn (x87/SSE legacy area, AVX, AVX-512, PKRU),
 * its blocked mask and sigaltstack. The restorer only points rsp at it.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "blog.h"
#include "restore.h"

#define RST_UC_FP_XSTATE	0x1
#define RST_UC_SIGCONTEXT_SS	0x2
#define RST_UC_STRICT_RESTORE_SS 0x4
#define RST_FP_XSTATE_MAGIC1	0x46505853u
#define RST_FP_XSTATE_MAGIC2	0x46505845u
#define RST_NR_restart_syscall	219
#define RST_ERESTARTSYS		512
#define RST_ERESTARTNOINTR	513
#define RST_ERESTARTNOHAND	514
#define RST_ERESTART_RESTARTBLOCK 516

/* the kernel's struct sigcontext (x86_64) */
struct rst_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct rst_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	struct rst_sigcontext mc;
	uint64_t sigmask;
};

struct rst_sigframe {
	uint64_t pretcode;
	struct rst_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct rst_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct rst_sigframe) == 440, "rt_sigframe layout");

/* XSAVE features the frame may carry: x87, SSE, AVX, MPX, AVX-512, PKRU. */
#define RST_XFEATURES_USER	0x2ffull

static uint64_t rst_xcr0(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* Puts @n bytes of feature @f at its standard offset; the area is @size. */
static void rst_put_comp(uint8_t *x, size_t size, unsigned int f, const void *src, size_t n)
{
	unsigned int sz, off, c, d;

	if (!n)
		return;
	__cpuid_count(0xd, f, sz, off, c, d);
	(void)c;
	(void)d;
	if (n > sz)
		n = sz;
	if ((size_t)off + n <= size)
		memcpy(x + off, src, n);
}

/* The standard-format area the kernel expects for the features we carry. */
static size_t rst_xsave_size(uint64_t xf)
{
	size_t size = 576;

	for (unsigned int f = 2; f < 10; f++) {
		unsigned int sz, off, c, d;

		if (!(xf & (1ull << f)))
			continue;
		__cpuid_count(0xd, f, sz, off, c, d);
		(void)c;
		(void)d;
		if ((size_t)off + sz > size)
			size = (size_t)off + sz;
	}
	return size;
}

static int rst_frame_fpu(const struct rst_ctx *c, size_t ti, uint8_t *x, size_t room)
{
	const UserX86FpregsEntry *fp = c->im.cores[ti]->thread_info->fpregs;
	const UserX86XsaveEntry *xs = fp->xsave;
	uint64_t xf = rst_xcr0() & RST_XFEATURES_USER, bv;
	size_t size = xf ? rst_xsave_size(xf) : 512;
	uint32_t u32;
	uint16_t u16;

	if (size + 4 > room || fp->n_st_space != 32 || fp->n_xmm_space != 64) {
		pr_err("bad image %s: FPU state does not fit or is malformed", c->im.core[ti].name);
		return -EINVAL;
	}
	memset(x, 0, size + 4);
	u16 = (uint16_t)fp->cwd;
	memcpy(x + 0, &u16, 2);
	u16 = (uint16_t)fp->swd;
	memcpy(x + 2, &u16, 2);
	x[4] = (uint8_t)fp->twd;
	u16 = (uint16_t)fp->fop;
	memcpy(x + 6, &u16, 2);
	memcpy(x + 8, &fp->rip, 8);
	memcpy(x + 16, &fp->rdp, 8);
	memcpy(x + 24, &fp->mxcsr, 4);
	memcpy(x + 28, &fp->mxcsr_mask, 4);
	memcpy(x + 32, fp->st_space, 128);
	memcpy(x + 160, fp->xmm_space, 256);
	if (!xf)
		return 0;
	/* the software-reserved bytes tell the kernel an XSAVE area follows */
	u32 = RST_FP_XSTATE_MAGIC1;
	memcpy(x + 464, &u32, 4);
	u32 = (uint32_t)size + 4;
	memcpy(x + 468, &u32, 4);
	memcpy(x + 472, &xf, 8);
	u32 = (uint32_t)size;
	memcpy(x + 480, &u32, 4);
	u32 = RST_FP_XSTATE_MAGIC2;
	memcpy(x + size, &u32, 4);

	bv = 3;	/* x87 and SSE always: the legacy area holds them */
	if (xs) {
		bv = (xs->xstate_bv | 3) & xf;
		rst_put_comp(x, size, 2, xs->ymmh_space, xs->n_ymmh_space * 4);
		rst_put_comp(x, size, 3, xs->bndreg_state, xs->n_bndreg_state * 8);
		rst_put_comp(x, size, 4, xs->bndcsr_state, xs->n_bndcsr_state * 8);
		rst_put_comp(x, size, 5, xs->opmask_reg, xs->n_opmask_reg * 8);
		rst_put_comp(x, size, 6, xs->zmm_upper, xs->n_zmm_upper * 8);
		rst_put_comp(x, size, 7, xs->hi16_zmm, xs->n_hi16_zmm * 8);
		rst_put_comp(x, size, 9, xs->pkru, xs->n_pkru * 4);
	}
	memcpy(x + 512, &bv, 8);
	return 0;
}

static bool rst_frame_gpr(struct rst_sigcontext *sc, const UserX86RegsEntry *g)
{
	int64_t ax = (int64_t)g->ax;

	sc->r8 = g->r8, sc->r9 = g->r9, sc->r10 = g->r10, sc->r11 = g->r11;
	sc->r12 = g->r12, sc->r13 = g->r13, sc->r14 = g->r14, sc->r15 = g->r15;
	sc->di = g->di, sc->si = g->si, sc->bp = g->bp, sc->bx = g->bx;
	sc->dx = g->dx, sc->ax = g->ax, sc->cx = g->cx, sc->sp = g->sp;
	sc->ip = g->ip, sc->flags = g->flags;
	sc->cs = (uint16_t)(g->cs ? g->cs : 0x33);
	sc->ss = (uint16_t)(g->ss ? g->ss : 0x2b);
	/* stopped inside a syscall: run it again, as the kernel would have */
	if ((int64_t)g->orig_ax >= 0) {
		if (ax == -RST_ERESTARTSYS || ax == -RST_ERESTARTNOINTR ||
		    ax == -RST_ERESTARTNOHAND) {
			sc->ax = g->orig_ax;
			sc->ip -= 2;
			return true;
		} else if (ax == -RST_ERESTART_RESTARTBLOCK) {
			sc->ax = RST_NR_restart_syscall;
			sc->ip -= 2;
			return true;
		}
	}
	return false;
}

int rst_frames_build(struct rst_ctx *c)
{
	struct rst_thread *rt = (struct rst_thread *)(uintptr_t)c->args->threads;

	for (size_t i = 0; i < c->im.nr_threads; i++) {
		const CoreEntry *ce = c->im.cores[i];
		const ThreadCoreEntry *tc = ce->thread_core;
		uint8_t *base = c->region + c->frames_off + i * c->frame_size;
		struct rst_sigframe *f = (struct rst_sigframe *)base;
		uint8_t *fpu = base + 512;	/* 64-aligned: frames_off and frame_size are */
		int err;

		memset(base, 0, c->frame_size);
		f->uc.uc_flags = RST_UC_FP_XSTATE | RST_UC_SIGCONTEXT_SS | RST_UC_STRICT_RESTORE_SS;
		rt[i].restarts = rst_frame_gpr(&f->uc.mc, ce->thread_info->gpregs);
		err = rst_frame_fpu(c, i, fpu, c->frame_size - 512);
		if (err)
			return err;
		f->uc.mc.fpstate = (uint64_t)(uintptr_t)fpu;
		if (tc->has_blk_sigset)
			f->uc.sigmask = tc->blk_sigset;
		else if (ce->tc)
			f->uc.sigmask = ce->tc->blk_sigset;
		if (tc->sas) {
			f->uc.ss_sp = tc->sas->ss_sp;
			f->uc.ss_size = tc->sas->ss_size;
			f->uc.ss_flags = (int32_t)tc->sas->ss_flags;
		} else {
			f->uc.ss_flags = 2;	/* SS_DISABLE */
		}
		rt[i].frame_sp = (uint64_t)(uintptr_t)&f->uc;
	}
	return 0;
}
