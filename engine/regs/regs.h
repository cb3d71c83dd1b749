/* regs — a stopped thread's registers through ptrace regsets (x86_64).
 *
 * General-purpose registers (NT_PRSTATUS, fs/gs base included) and the
 * whole XSAVE area (NT_X86_XSTATE: x87, SSE, AVX, AVX-512, ...), read and
 * written back. The thread must be in a ptrace stop; nothing is encoded.
 */
#ifndef CRISP_REGS_H
#define CRISP_REGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct regs_thread {
	struct user_regs_struct gpr;
	void *xsave;		/* malloc'ed XSAVE area as the kernel gives it */
	size_t xsave_size;	/* bytes the kernel filled */
};

/* XSAVE area layout facts (SDM vol. 1, 13.4) used by callers and tests. */
#define REGS_XSAVE_XMM_OFFSET	160	/* XMM0..15, 16 bytes each */
#define REGS_XSAVE_HDR_OFFSET	512	/* XSTATE_BV, XCOMP_BV */

/* The largest XSAVE area this CPU may need (CPUID leaf 0xD), in bytes. */
size_t regs_xsave_max(void);

/* Reads @tid's registers into @r (allocating r->xsave). 0 or -errno. */
int regs_get(pid_t tid, struct regs_thread *r);

/* Writes @r back into @tid (general-purpose first, then XSAVE when
 * r->xsave is set). 0 or -errno. */
int regs_set(pid_t tid, const struct regs_thread *r);

/* Only the general-purpose registers: the fast path for remote calls. */
int regs_get_gpr(pid_t tid, struct user_regs_struct *gpr);
int regs_set_gpr(pid_t tid, const struct user_regs_struct *gpr);

void regs_free(struct regs_thread *r);

#endif
