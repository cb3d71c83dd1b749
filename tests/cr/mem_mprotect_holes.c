/* A region cut by mprotect into pieces of every protection, with a hole
 * unmapped in it: after restore each page has its protection back, the hole
 * is still a hole, PROT_NONE pages still fault on access yet kept their
 * data (seen after making them readable), the others their patterns. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"
#include "fault-probe.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("page 5 has perms rw-p, expected r--p");

#define PAGES 16

/* Protection of each page; -1 marks the hole. */
static const int page_prot[PAGES] = {
	PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_NONE, PROT_NONE,
	PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
	PROT_READ | PROT_EXEC, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE, PROT_NONE,
	PROT_READ | PROT_WRITE, -1, PROT_READ | PROT_WRITE, PROT_READ,
};

static void perms_text(int prot, char out[5])
{
	out[0] = prot & PROT_READ ? 'r' : '-';
	out[1] = prot & PROT_WRITE ? 'w' : '-';
	out[2] = prot & PROT_EXEC ? 'x' : '-';
	out[3] = 'p';
	out[4] = '\0';
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	uint64_t *region;

	crt_init(argc, argv);
	region = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (size_t p = 0; p < PAGES; p++)
		for (size_t i = 0; i < wpp; i++)
			region[p * wpp + i] = crt_pattern(p, i);
	for (size_t p = 0; p < PAGES; p++) {
		void *addr = (char *)region + p * page;

		if (page_prot[p] < 0 ? munmap(addr, page) : mprotect(addr, page, page_prot[p]))
			return 2;
	}
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		mprotect((char *)region + 5 * page, page, PROT_READ | PROT_WRITE);
	fp_install();

	for (size_t p = 0; p < PAGES; p++) {
		uint64_t *w = region + p * wpp;
		struct crt_vma vma;
		char want[5];
		int err = crt_vma_of(w, &vma);

		if (page_prot[p] < 0) {
			if (err != -ENOENT)
				crt_fail("page %zu should be a hole, but it is mapped %s", p, vma.perms);
			continue;
		}
		perms_text(page_prot[p], want);
		if (err) {
			crt_fail("page %zu is not mapped, expected %s", p, want);
			continue;
		}
		if (strcmp(vma.perms, want))
			crt_fail("page %zu has perms %s, expected %s", p, vma.perms, want);
		if (page_prot[p] == PROT_NONE) {
			if (!fp_read_faults(w))
				crt_fail("page %zu is PROT_NONE but reading it did not fault", p);
			if (mprotect(w, page, PROT_READ)) {
				crt_fail("mprotect of page %zu: %s", p, strerror(errno));
				continue;
			}
		} else if (fp_read_faults(w)) {
			crt_fail("page %zu (%s) faults on read", p, want);
			continue;
		}
		for (size_t i = 0; i < wpp; i++)
			if (w[i] != crt_pattern(p, i)) {
				crt_fail("page %zu word %zu is %#llx, expected %#llx", p, i,
					 (unsigned long long)w[i], (unsigned long long)crt_pattern(p, i));
				break;
			}
	}
	return crt_finish();
}
