/* regs — ptrace regset access for x86_64 threads (see regs.h). */
#include "regs.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "blog.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

size_t regs_xsave_max(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* leaf 0xD, sub-leaf 0: EBX = size for the features enabled in XCR0,
	 * ECX = size for every feature the CPU supports */
	if (__get_cpuid_max(0, NULL) < 0xd)
		return 512 + 64;
	__cpuid_count(0xd, 0, eax, ebx, ecx, edx);
	(void)eax;
	(void)edx;
	return ebx > ecx ? ebx : ecx;
}

int regs_get_gpr(pid_t tid, struct user_regs_struct *gpr)
{
	struct iovec iov = { gpr, sizeof(*gpr) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov)) {
		int err = -errno;

		pr_perror("PTRACE_GETREGSET NT_PRSTATUS of thread %d", tid);
		return err;
	}
	if (iov.iov_len != sizeof(*gpr)) {
		pr_err("thread %d: NT_PRSTATUS gave %zu bytes, expected %zu", tid,
		       iov.iov_len, sizeof(*gpr));
		return -EINVAL;
	}
	return 0;
}

int regs_set_gpr(pid_t tid, const struct user_regs_struct *gpr)
{
	struct iovec iov = { (void *)gpr, sizeof(*gpr) };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov)) {
		int err = -errno;

		pr_perror("PTRACE_SETREGSET NT_PRSTATUS of thread %d", tid);
		return err;
	}
	return 0;
}

int regs_get(pid_t tid, struct regs_thread *r)
{
	size_t max = regs_xsave_max();
	struct iovec iov;
	int err;

	memset(r, 0, sizeof(*r));
	err = regs_get_gpr(tid, &r->gpr);
	if (err)
		return err;
	r->xsave = aligned_alloc(64, (max + 63) & ~(size_t)63);
	if (!r->xsave)
		return -ENOMEM;
	memset(r->xsave, 0, max);
	iov.iov_base = r->xsave;
	iov.iov_len = max;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov)) {
		err = -errno;
		pr_perror("PTRACE_GETREGSET NT_X86_XSTATE of thread %d", tid);
		regs_free(r);
		return err;
	}
	if (iov.iov_len < REGS_XSAVE_HDR_OFFSET + 64) {
		pr_err("thread %d: XSAVE area of %zu bytes is too small", tid, iov.iov_len);
		regs_free(r);
		return -EINVAL;
	}
	r->xsave_size = iov.iov_len;
	return 0;
}

int regs_set(pid_t tid, const struct regs_thread *r)
{
	struct iovec iov;
	int err;

	err = regs_set_gpr(tid, &r->gpr);
	if (err || !r->xsave)
		return err;
	iov.iov_base = r->xsave;
	iov.iov_len = r->xsave_size;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov)) {
		err = -errno;
		pr_perror("PTRACE_SETREGSET NT_X86_XSTATE of thread %d", tid);
		return err;
	}
	return 0;
}

void regs_free(struct regs_thread *r)
{
	free(r->xsave);
	r->xsave = NULL;
	r->xsave_size = 0;
}
