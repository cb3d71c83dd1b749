/* The stack is grown 2 MiB deep by recursion before the dump and stays deep
 * across it: after restore every frame's data is intact on the way back up,
 * [stack] is still a grows-down mapping, and it can grow deeper again. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("frame 100 word 33 is");

#define FRAME_WORDS 512		/* 4 KiB of data per frame */
#define DEPTH 512		/* 2 MiB */
#define DEEPER 768		/* 3 MiB, after the check */

static sigjmp_buf overflow_jmp;

static void check_stack_vma(const void *addr)
{
	struct crt_vma vma;

	if (crt_vma_of(addr, &vma)) {
		crt_fail("no mapping holds the stack address %p", addr);
		return;
	}
	if (strcmp(vma.path, "[stack]"))
		crt_fail("the deepest frame is in '%s', expected [stack]", vma.path);
	if (!crt_vma_has_flag(&vma, "gd"))
		crt_fail("the stack's VmFlags '%s' lack 'gd' (grows down)", vma.vmflags);
	if (vma.end - vma.start < (unsigned long)DEPTH * FRAME_WORDS * 8)
		crt_fail("the stack mapping is %lu bytes, expected at least %lu", vma.end - vma.start,
			 (unsigned long)DEPTH * FRAME_WORDS * 8);
}

/* Fills a frame, goes deeper, then checks the frame on the way back. */
static __attribute__((noinline)) uint64_t descend(int depth, bool wait_at_bottom,
						  volatile uint64_t *frame100)
{
	volatile uint64_t local[FRAME_WORDS];
	uint64_t sum = 0;

	for (int i = 0; i < FRAME_WORDS; i++)
		local[i] = crt_pattern((uint64_t)depth, (uint64_t)i);
	if (depth == 100)
		frame100 = local;
	if (depth + 1 < (wait_at_bottom ? DEPTH : DEEPER)) {
		sum = descend(depth + 1, wait_at_bottom, frame100);
	} else if (wait_at_bottom) {
		crt_ready();
		crt_wait_verify();
		check_stack_vma((const void *)local);
		if (crt_damage() && frame100)
			frame100[33] ^= 2;
	}
	for (int i = 0; i < FRAME_WORDS; i++)
		if (local[i] != crt_pattern((uint64_t)depth, (uint64_t)i)) {
			crt_fail("frame %d word %d is %#llx, expected %#llx", depth, i,
				 (unsigned long long)local[i],
				 (unsigned long long)crt_pattern((uint64_t)depth, (uint64_t)i));
			break;
		}
	return sum + local[depth % FRAME_WORDS];
}

static void on_overflow(int sig)
{
	siglongjmp(overflow_jmp, sig);
}

int main(int argc, char **argv)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	crt_init(argc, argv);
	descend(0, true, NULL);

	/* the restored stack must still grow on demand */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_overflow;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL))
		crt_fail("cannot set up the SIGSEGV catcher for the growth check");
	else if (sigsetjmp(overflow_jmp, 1))
		crt_fail("growing the stack to %lu bytes faulted, expected it to grow",
			 (unsigned long)DEEPER * FRAME_WORDS * 8);
	else
		descend(0, false, NULL);
	return crt_finish();
}
