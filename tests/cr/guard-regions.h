/* guard-regions — the task of the guard-region scenarios: lightweight guard
 * regions (madvise MADV_GUARD_INSTALL, Linux 6.13) inside one writable
 * mapping of GR_PAGES pages, at the pages GR_GUARDS lists. After restore the
 * guard pages still fault on access without splitting the mapping, and the
 * pages around them keep their data. Header-only: each scenario is one file
 * that sets the layout, declares its steps and calls gr_main(). With
 * --damage the guard at GR_DAMAGED is removed before the check.
 */
#ifndef CRISP_TESTS_GUARD_REGIONS_H
#define CRISP_TESTS_GUARD_REGIONS_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"
#include "fault-probe.h"
#include "uapi-compat.h"

static const size_t gr_guards[] = GR_GUARDS;

static bool gr_is_guard(size_t p)
{
	for (size_t i = 0; i < sizeof(gr_guards) / sizeof(gr_guards[0]); i++)
		if (gr_guards[i] == p)
			return true;
	return false;
}

static int gr_main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	uint64_t *region;
	struct crt_vma vma;
	int install_err = 0;

	crt_init(argc, argv);
	region = mmap(NULL, GR_PAGES * page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (size_t p = 0; p < GR_PAGES; p++)
		for (size_t i = 0; i < wpp; i++)
			region[p * wpp + i] = crt_pattern(p, i);
	for (size_t i = 0; i < sizeof(gr_guards) / sizeof(gr_guards[0]) && !install_err; i++)
		if (madvise((char *)region + gr_guards[i] * page, page, MADV_GUARD_INSTALL))
			install_err = errno;
	crt_ready();
	crt_wait_verify();

	if (install_err) {
		crt_fail("MADV_GUARD_INSTALL failed at set-up: %s (expected success on Linux >= 6.13)",
			 strerror(install_err));
		return crt_finish();
	}
	if (crt_damage())
		madvise((char *)region + GR_DAMAGED * page, page, MADV_GUARD_REMOVE);
	fp_install();

	if (crt_vma_of(region, &vma))
		crt_fail("no mapping holds the region %p", (void *)region);
	else if (vma.start > (unsigned long)region ||
		 vma.end < (unsigned long)region + GR_PAGES * page || strcmp(vma.perms, "rw-p"))
		crt_fail("the region is split or changed: mapping %#lx-%#lx %s, expected one rw-p mapping over %p-%p",
			 vma.start, vma.end, vma.perms, (void *)region,
			 (void *)((char *)region + GR_PAGES * page));
	for (size_t p = 0; p < GR_PAGES; p++) {
		uint64_t *w = region + p * wpp;

		if (gr_is_guard(p)) {
			if (!fp_read_faults(w))
				crt_fail("page %zu is a guard page, but reading it did not fault", p);
			continue;
		}
		if (fp_read_faults(w)) {
			crt_fail("page %zu is not a guard page, but reading it faults", p);
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

#endif
