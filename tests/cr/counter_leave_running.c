/* With --leave-running the original keeps counting and verifies itself
 * (then exits, freeing its PID); the copy restored from the same images
 * continues from the dump with counters that agree and the same PID. */
#include <stdint.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump -R; verify; restore; verify");
CRT_DAMAGE_FAILS("multiple counter is");

#define STEP 0x9e3779b97f4a7c15ull

/* xor of 1..n */
static uint64_t xor_upto(uint64_t n)
{
	switch (n & 3) {
	case 0: return n;
	case 1: return 1;
	case 2: return n + 1;
	default: return 0;
	}
}

int main(int argc, char **argv)
{
	uint64_t n = 0, mult = 0, xs = 0, sum = 0;
	pid_t pid;

	crt_init(argc, argv);
	pid = getpid();
	crt_ready();
	do {
		n++;
		mult += STEP;
		xs ^= n;
		sum += n;
	} while (!crt_verify_requested());
	if (crt_damage())
		mult ^= 1;
	if (mult != n * STEP)
		crt_fail("multiple counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)mult, (unsigned long long)(n * STEP),
			 (unsigned long long)n);
	if (xs != xor_upto(n))
		crt_fail("xor counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)xs, (unsigned long long)xor_upto(n),
			 (unsigned long long)n);
	if (sum != n * (n + 1) / 2)
		crt_fail("sum counter is %llu, expected %llu (count %llu)",
			 (unsigned long long)sum, (unsigned long long)(n * (n + 1) / 2),
			 (unsigned long long)n);
	if (getpid() != pid)
		crt_fail("pid is %d, expected %d", (int)getpid(), (int)pid);
	return crt_finish();
}
