/* A 1 GiB private anonymous mapping with a few hundred pages touched, spread
 * out and in one run: after restore the mapping is whole, exactly the
 * touched pages are resident (mincore) — a restore must not fill the rest —
 * they hold their patterns, and untouched pages read as zero. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("touched page 1024 word 3 is");

#define SPAN (1ul << 30)
#define SPREAD_STEP 1024ul	/* touch one page in every 1024 (4 MiB) */
#define RUN_FIRST 100000ul	/* and a run of consecutive pages */
#define RUN_PAGES 96ul

static bool touched(size_t p)
{
	return p % SPREAD_STEP == 0 || (p >= RUN_FIRST && p < RUN_FIRST + RUN_PAGES);
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8, pages = SPAN / page;
	size_t ntouched = 0, resident = 0;
	unsigned char *vec;
	uint64_t *map;
	int advise_err = 0;
	struct crt_vma vma;

	crt_init(argc, argv);
	map = mmap(NULL, SPAN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	vec = malloc(pages);
	if (map == MAP_FAILED || !vec)
		return 2;
	/* no transparent huge pages: a touch must fault in one page only */
	if (madvise(map, SPAN, MADV_NOHUGEPAGE))
		advise_err = errno;
	for (size_t p = 0; p < pages; p++)
		if (touched(p)) {
			for (size_t i = 0; i < wpp; i++)
				map[p * wpp + i] = crt_pattern(p, i);
			ntouched++;
		}
	crt_ready();
	crt_wait_verify();

	if (advise_err)
		crt_fail("MADV_NOHUGEPAGE failed at set-up: %s (expected success)", strerror(advise_err));
	if (crt_damage())
		map[1024 * wpp + 3] ^= 4;
	if (crt_vma_of(map, &vma))
		crt_fail("no mapping holds %p", (void *)map);
	else if (vma.start != (unsigned long)map || vma.end != (unsigned long)map + SPAN)
		crt_fail("the mapping is %#lx-%#lx, expected %p-%p", vma.start, vma.end,
			 (void *)map, (void *)((char *)map + SPAN));
	/* residency first: reading untouched pages below would map them */
	if (mincore(map, SPAN, vec))
		crt_fail("mincore: %s", strerror(errno));
	else {
		for (size_t p = 0; p < pages; p++) {
			bool in = vec[p] & 1;

			resident += in;
			if (in != touched(p)) {
				crt_fail("page %zu is %s, expected %s", p, in ? "resident" : "not resident",
					 touched(p) ? "resident (touched)" : "not resident (never touched)");
				break;
			}
		}
		if (resident != ntouched)
			crt_fail("%zu pages are resident, expected the %zu touched ones", resident, ntouched);
	}
	for (size_t p = 0; p < pages; p++) {
		if (!touched(p))
			continue;
		for (size_t i = 0; i < wpp; i++)
			if (map[p * wpp + i] != crt_pattern(p, i)) {
				crt_fail("touched page %zu word %zu is %#llx, expected %#llx", p, i,
					 (unsigned long long)map[p * wpp + i],
					 (unsigned long long)crt_pattern(p, i));
				p = pages;
				break;
			}
	}
	/* a few untouched pages, now read (this maps them as zero pages) */
	for (size_t p = 1; p < pages; p += 65537)
		if (!touched(p) && map[p * wpp + 11])
			crt_fail("untouched page %zu reads %#llx, expected 0", p,
				 (unsigned long long)map[p * wpp + 11]);
	return crt_finish();
}
