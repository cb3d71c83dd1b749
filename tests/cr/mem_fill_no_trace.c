/* The memory fill leaves nothing behind: a 24 MiB private anonymous region
 * with scattered untouched pages (enough for both fill workers) comes back
 * with its pattern, its untouched pages still not resident, no userfaultfd
 * VmFlags ("um", "uw") on it and no extra fd in the task. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("region: word");

#define PAGES 6144u

/* Page @p is never touched: runs of 1 to 6 touched pages between holes. */
static bool hole(size_t p)
{
	return p % 7 == 3 || p % 11 == 0;
}

static void check_resident(const uint8_t *map, size_t page)
{
	static unsigned char vec[PAGES];

	if (mincore((void *)map, PAGES * page, vec)) {
		crt_fail("mincore: %s", strerror(errno));
		return;
	}
	for (size_t p = 0; p < PAGES; p++)
		if (!!(vec[p] & 1) == hole(p)) {
			crt_fail("page %zu is %sresident, it was %stouched", p, vec[p] & 1 ? "" : "not ",
				 hole(p) ? "never " : "");
			return;
		}
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	struct crt_vma vma;
	uint64_t *map;
	int fds;

	crt_init(argc, argv);
	map = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return 2;
	madvise(map, PAGES * page, MADV_NOHUGEPAGE);	/* page-sized holes stay holes */
	for (size_t p = 0; p < PAGES; p++)
		for (size_t i = 0; !hole(p) && i < wpp; i++)
			map[p * wpp + i] = crt_pattern(p, i);
	crt_ready();
	fds = crt_fd_count();
	crt_wait_verify();

	if (crt_damage())
		map[9 * wpp + 2] ^= 1;
	check_resident((const uint8_t *)map, page);
	if (crt_vma_of(map, &vma))
		crt_fail("the region is not in /proc/self/smaps");
	else if (crt_vma_has_flag(&vma, "um") || crt_vma_has_flag(&vma, "uw"))
		crt_fail("the region still has userfaultfd flags: VmFlags %s", vma.vmflags);
	if (crt_fd_count() != fds)
		crt_fail("%d fds open after restore, %d before", crt_fd_count(), fds);
	for (size_t p = 0; p < PAGES; p++)
		for (size_t i = 0; i < wpp; i++) {
			uint64_t want = hole(p) ? 0 : crt_pattern(p, i);

			if (map[p * wpp + i] != want) {
				crt_fail("region: word %zu of page %zu is %#llx, expected %#llx", i, p,
					 (unsigned long long)map[p * wpp + i], (unsigned long long)want);
				p = PAGES;
				break;
			}
		}
	return crt_finish();
}
