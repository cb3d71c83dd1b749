/* counting-task — the task of the counter scenarios: a loop that keeps four
 * counters in registers until the driver asks to verify, then checks that
 * they agree with each other (each has a closed form in the iteration count)
 * and that the PID is the one it had at start. Header-only: each scenario
 * stays one file that declares its steps and calls ct_main().
 */
#ifndef CRISP_TESTS_COUNTING_TASK_H
#define CRISP_TESTS_COUNTING_TASK_H

#include <stdint.h>
#include <unistd.h>

#include "crtest.h"

#define CT_STEP 0x9e3779b97f4a7c15ull

/* xor of 1..n */
static inline uint64_t ct_xor_upto(uint64_t n)
{
	switch (n & 3) {
	case 0: return n;
	case 1: return 1;
	case 2: return n + 1;
	default: return 0;
	}
}

/* The whole scenario task; returns its exit code. */
static inline int ct_main(int argc, char **argv)
{
	uint64_t n = 0, mult = 0, xs = 0, sum = 0;
	pid_t pid;

	crt_init(argc, argv);
	pid = getpid();
	crt_ready();
	do {
		n++;
		mult += CT_STEP;
		xs ^= n;
		sum += n;
	} while (!crt_verify_requested());
	if (crt_damage())
		mult ^= 1;
	if (mult != n * CT_STEP)
		crt_fail("multiple counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)mult, (unsigned long long)(n * CT_STEP),
			 (unsigned long long)n);
	if (xs != ct_xor_upto(n))
		crt_fail("xor counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)xs, (unsigned long long)ct_xor_upto(n),
			 (unsigned long long)n);
	if (sum != n * (n + 1) / 2)
		crt_fail("sum counter is %llu, expected %llu (count %llu)",
			 (unsigned long long)sum, (unsigned long long)(n * (n + 1) / 2),
			 (unsigned long long)n);
	if (getpid() != pid)
		crt_fail("pid is %d, expected %d", (int)getpid(), (int)pid);
	return crt_finish();
}

#endif
