/* A 2 MiB-aligned region advised MADV_HUGEPAGE and filled, so THP backs it
 * with huge pages: after restore it keeps the advice (VmFlags "hg"), is
 * still backed by huge pages (AnonHugePages), and holds its pattern. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("word 262144 is");

#define HUGE (2ul << 20)
#define REGION (16ul << 20)

int main(int argc, char **argv)
{
	char *raw, *aligned;
	uint64_t *w;
	struct crt_vma vma;
	unsigned long huge_kb_at_setup = 0;
	int advise_err = 0;

	crt_init(argc, argv);
	raw = mmap(NULL, REGION + HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 2;
	aligned = (char *)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
	if (aligned > raw)
		munmap(raw, (size_t)(aligned - raw));
	munmap(aligned + REGION, (size_t)(raw + HUGE - aligned));
	if (madvise(aligned, REGION, MADV_HUGEPAGE))
		advise_err = errno;
	w = (uint64_t *)aligned;
	for (size_t i = 0; i < REGION / 8; i++)
		w[i] = crt_pattern(7, i);
	if (!crt_vma_of(aligned, &vma))
		huge_kb_at_setup = vma.anon_huge_kb;
	crt_ready();
	crt_wait_verify();

	if (advise_err)
		crt_fail("MADV_HUGEPAGE failed at set-up: %s (expected success)", strerror(advise_err));
	if (!huge_kb_at_setup)
		crt_fail("THP gave the region no huge page at set-up (AnonHugePages 0 kB, expected > 0): "
			 "is transparent_hugepage 'never'?");
	if (crt_damage())
		w[262144] = 0;
	for (size_t i = 0; i < REGION / 8; i++)
		if (w[i] != crt_pattern(7, i)) {
			crt_fail("word %zu is %#llx, expected %#llx", i, (unsigned long long)w[i],
				 (unsigned long long)crt_pattern(7, i));
			break;
		}
	if (crt_vma_of(aligned, &vma))
		crt_fail("no mapping holds the region %p", (void *)aligned);
	else {
		if (!crt_vma_has_flag(&vma, "hg"))
			crt_fail("the region's VmFlags '%s' lack 'hg' (MADV_HUGEPAGE)", vma.vmflags);
		if (vma.anon_huge_kb < HUGE / 1024)
			crt_fail("the region has %lu kB in huge pages, expected at least %lu (it had %lu at set-up)",
				 vma.anon_huge_kb, HUGE / 1024, huge_kb_at_setup);
	}
	return crt_finish();
}
