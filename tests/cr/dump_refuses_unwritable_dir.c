/* A dump into a read-only image directory must fail (with and without -R)
 * and leave the task running and unchanged: counters kept in registers
 * still agree, its memory intact, no tracer attached, no fd added. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @readonly; !dump -R @readonly; verify");
CRT_DAMAGE_FAILS("region word 4095 is");

#define STEP 0x9e3779b97f4a7c15ull
#define REGION_WORDS (1u << 20)	/* 8 MiB */
#define EXPECTED_FDS 0

static uint64_t pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull ^ (i + 1) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 29);
}

/* The checks every failed dump must pass: the task is as it was. */
static void check_unchanged(const uint64_t *region, uint64_t n, uint64_t mult)
{
	unsigned long long tracer = 0;
	int fds = crt_fd_count();

	if (mult != n * STEP)
		crt_fail("multiple counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)mult, (unsigned long long)(n * STEP),
			 (unsigned long long)n);
	for (size_t i = 0; i < REGION_WORDS; i++)
		if (region[i] != pattern(9, i)) {
			crt_fail("region word %zu is %#llx, expected %#llx", i,
				 (unsigned long long)region[i], (unsigned long long)pattern(9, i));
			break;
		}
	if (crt_status_field("TracerPid", &tracer) || tracer)
		crt_fail("TracerPid is %llu, expected 0 (no tracer left attached)", tracer);
	if (fds != EXPECTED_FDS)
		crt_fail("the task has %d open fds, expected %d", fds, EXPECTED_FDS);
}

int main(int argc, char **argv)
{
	uint64_t n = 0, mult = 0, *region;

	crt_init(argc, argv);
	region = mmap(NULL, REGION_WORDS * 8, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < REGION_WORDS; i++)
		region[i] = pattern(9, i);
	crt_ready();
	do {
		n++;
		mult += STEP;
	} while (!crt_verify_requested());
	if (crt_damage())
		region[4095] ^= 8;
	check_unchanged(region, n, mult);
	return crt_finish();
}
