/* fault-probe — asks "does reading this address fault?" from inside a
 * scenario, for the ones that check protections and guard pages survived.
 * Include in one scenario file only (it holds static state). */
#ifndef CRISP_CR_FAULT_PROBE_H
#define CRISP_CR_FAULT_PROBE_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static sigjmp_buf fp_jmp;

static void fp_on_fault(int sig)
{
	siglongjmp(fp_jmp, sig);
}

/* Catches SIGSEGV from now on (call before the first fp_read_faults). */
static inline void fp_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fp_on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
}

/* True when reading @p faults. */
static inline bool fp_read_faults(const volatile uint64_t *p)
{
	volatile uint64_t sink;

	if (sigsetjmp(fp_jmp, 1))
		return true;
	sink = *p;
	(void)sink;
	return false;
}

#endif
