/* Behaviour tests of engine/regs: registers a scratch child holds (r12, an
 * XMM register, fs base) are read, and values written back are the ones the
 * child continues with. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "regs.h"
#include "scratch.h"
#include "unit.h"

#define MAGIC 0x5eed1234abcd0001ULL
#define NEWVAL 0x0ddba11cafe00002ULL
#define NEWXMM 0x1122334455667788ULL

struct shared {
	volatile int ready;
	volatile uint64_t fs_base;
	volatile uint64_t r12_out, xmm0_out[2];
	volatile int done;
};

static int child_main(void *arg)
{
	struct shared *sh = arg;
	uint64_t r12_out, x0[2], fs;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	sh->fs_base = fs;
	sh->ready = 1;
	/* spin with MAGIC in r12 and xmm0 until r12 is changed from outside */
	__asm__ volatile(
		"mov %[magic], %%r12\n\t"
		"movq %%r12, %%xmm0\n\t"
		"1: cmp %[magic], %%r12\n\t"
		"je 1b\n\t"
		"mov %%r12, %[r12]\n\t"
		"movdqu %%xmm0, %[x0]\n\t"
		: [r12] "=m"(r12_out), [x0] "=m"(x0)
		: [magic] "r"(MAGIC)
		: "r12", "xmm0", "cc", "memory");
	sh->r12_out = r12_out;
	sh->xmm0_out[0] = x0[0];
	sh->xmm0_out[1] = x0[1];
	sh->done = 1;
	return 0;
}

static void test_roundtrip(void)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	pid_t pid = scratch_fork(child_main, sh);
	struct freeze_tree t;
	struct regs_thread r, again;
	uint64_t xmm0[2];

	while (!sh->ready)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	/* let it reach the loop: r12 holds MAGIC once it spins */
	for (int i = 0; i < 1000; i++) {
		CHECK_INT(freeze_tree(&t, pid, 5000), 0);
		CHECK_INT(regs_get(pid, &r), 0);
		if (r.gpr.r12 == MAGIC)
			break;
		regs_free(&r);
		freeze_release(&t, FREEZE_RESUME);
		freeze_tree_free(&t);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	CHECK(r.gpr.r12 == MAGIC);
	CHECK(r.gpr.fs_base == sh->fs_base);
	CHECK(r.xsave_size >= 576 && r.xsave_size <= regs_xsave_max());
	memcpy(xmm0, (char *)r.xsave + REGS_XSAVE_XMM_OFFSET, 16);
	CHECK(xmm0[0] == MAGIC && xmm0[1] == 0);
	CHECK(r.gpr.orig_rax == (unsigned long long)-1);	/* not in a syscall */

	/* writing back the same values changes nothing */
	CHECK_INT(regs_set(pid, &r), 0);
	CHECK_INT(regs_get(pid, &again), 0);
	CHECK(memcmp(&again.gpr, &r.gpr, sizeof(r.gpr)) == 0);
	CHECK(again.xsave_size == r.xsave_size &&
	      memcmp(again.xsave, r.xsave, r.xsave_size) == 0);
	regs_free(&again);

	/* new values: the child sees them when it runs on */
	r.gpr.r12 = NEWVAL;
	xmm0[0] = NEWXMM;
	xmm0[1] = ~NEWXMM;
	memcpy((char *)r.xsave + REGS_XSAVE_XMM_OFFSET, xmm0, 16);
	CHECK_INT(regs_set(pid, &r), 0);
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	freeze_tree_free(&t);
	regs_free(&r);
	int status;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(sh->done);
	CHECK(sh->r12_out == NEWVAL);
	CHECK(sh->xmm0_out[0] == NEWXMM && sh->xmm0_out[1] == ~NEWXMM);
	munmap(sh, sizeof(*sh));
}

static void test_errors(void)
{
	struct regs_thread r;

	/* not traced by us: refused */
	CHECK_INT(regs_get(getppid(), &r), -ESRCH);
	CHECK(r.xsave == NULL);
	CHECK(regs_xsave_max() >= 576);
}

int main(void)
{
	scratch_init();
	test_roundtrip();
	test_errors();
	scratch_cleanup();
	return unit_summary("regs");
}
