/* A task that reserves 64 GiB (MAP_NORESERVE) and writes a few hundred
 * pages of it, as AddressSanitizer's shadow or a runtime's heap arena does.
 * Pre-dumps and a final dump that keeps it running must not write-protect
 * the reservation whole: that gives every page never touched a marker, in
 * page tables the kernel allocates (128 MiB here; for ASan's terabytes the
 * task was killed for want of memory). Such a mapping is left untracked and
 * copied each round. From inside: the task's page tables (VmPTE) grew by
 * less than 16 MiB, exactly the written pages are resident, and they hold
 * their patterns. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("pre-dump @says=untracked,; pre-dump @says=untracked,; dump -R --track-mem; verify");
CRT_DAMAGE_FAILS("page 4096 word 5 is");

#define SPAN (64ul << 30)
#define STEP 4096ul		/* one page in every 16 MiB */
#define PTE_GROWTH_KB (16ul << 10)

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8, pages = SPAN / page;
	unsigned long long pte_before = 0, pte_after = 0;
	unsigned char *vec;
	uint64_t *map;

	crt_init(argc, argv);
	map = mmap(NULL, SPAN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	vec = malloc(pages / STEP + 1);
	if (map == MAP_FAILED || !vec)
		return 2;
	madvise(map, SPAN, MADV_NOHUGEPAGE);	/* a touch faults in one page */
	for (size_t p = 0; p < pages; p += STEP)
		for (size_t i = 0; i < wpp; i++)
			map[p * wpp + i] = crt_pattern(p, i);
	if (crt_status_field("VmPTE", &pte_before))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		map[STEP * wpp + 5] ^= 8;
	if (crt_status_field("VmPTE", &pte_after))
		crt_fail("cannot read VmPTE");
	else if (pte_after > pte_before + PTE_GROWTH_KB)
		crt_fail("page tables grew from %llu kB to %llu kB: the reservation was "
			 "write-protected whole", pte_before, pte_after);
	for (size_t p = 0; p < pages; p += STEP) {
		unsigned char in = 0;

		if (mincore(map + p * wpp, page, &in))
			crt_fail("mincore of page %zu: %s", p, strerror(errno));
		else if (!(in & 1))
			crt_fail("page %zu was written but is not resident", p);
		for (size_t i = 0; i < wpp; i++)
			if (map[p * wpp + i] != crt_pattern(p, i)) {
				crt_fail("page %zu word %zu is %#llx, expected %#llx", p, i,
					 (unsigned long long)map[p * wpp + i],
					 (unsigned long long)crt_pattern(p, i));
				break;
			}
	}
	/* a page between two written ones: never touched, not resident */
	unsigned char in = 0;

	if (!mincore(map + (STEP / 2) * wpp, page, &in) && (in & 1))
		crt_fail("page %lu was never written but is resident", STEP / 2);
	free(vec);
	return crt_finish();
}
