/* dump -R leaves the task running unchanged: a counter keeps counting and
 * a memory pattern (with zero pages between) reads back intact. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "crtest.h"

CRT_SCENARIO("dump -R; dump -R --display-stats; verify");

#define PAGES 2048

int main(int argc, char **argv)
{
	volatile uint64_t counter = 0;
	uint64_t before, *mem;

	crt_init(argc, argv);
	mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	for (size_t p = 0; p < PAGES; p += 2)
		mem[p * 512 + p % 512] = p * 2654435761u + 1;
	crt_ready();
	while (!crt_verify_requested())
		counter++;
	before = counter;
	for (size_t p = 0; p < PAGES; p++) {
		uint64_t want = p % 2 ? 0 : p * 2654435761u + 1;

		if (mem[p * 512 + p % 512] != want) {
			crt_fail("page %zu holds %#llx, expected %#llx", p,
				 (unsigned long long)mem[p * 512 + p % 512],
				 (unsigned long long)want);
			break;
		}
	}
	for (int i = 0; i < 1000000; i++)
		counter++;
	if (counter != before + 1000000)
		crt_fail("the counter did not count on");
	return crt_finish();
}
