/* What the final dump's walk in the freeze relies on, on this kernel, on
 * memory of our own registered the way crisp registers a task's (uffd-wp,
 * async, WP_UNPOPULATED): after everything is protected,
 * track_collect_touched reports every page of a private anonymous mapping
 * that changed since, and nothing else here: a page written, pages dropped
 * with MADV_DONTNEED (one by one, and a whole page table's worth, which
 * the kernel may free), a page read again after its drop, a guard region
 * installed and one removed. track_collect_final_walk then tells each of
 * them apart as the freeze's walk must (written, empty, guard). The same
 * again on transparent huge pages, where there are any: a write or a drop
 * splits a huge page, and dropping a whole one empties its entry.
 * Where a read fault maps the shared zero page, the page read again is
 * empty to the walk; some kernels give it a page of its own, zeroed,
 * which the walk then finds written: both are right. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "track.h"
#include "uapi-compat.h"
#include "unit.h"

#define PG 4096ull
#define PAGES 2048ull			/* 8 MiB: four page tables */
#define VEC 64

enum { WRITTEN_PAGE = 3, DROP_FIRST = 10, DROP_LAST = 12, TABLE_FIRST = 512,
       TABLE_LAST = 1023, READ_AGAIN = 1500, GUARD_NEW = 1700, GUARD_GONE = 1800 };

static bool changed_page(uint64_t i)
{
	return i == WRITTEN_PAGE || (i >= DROP_FIRST && i <= DROP_LAST) ||
	       (i >= TABLE_FIRST && i <= TABLE_LAST) || i == READ_AGAIN || i == GUARD_NEW ||
	       i == GUARD_GONE;
}

static bool in_ranges(const struct mem_ranges *r, uint64_t addr)
{
	for (size_t k = 0; k < r->nr; k++)
		if (addr >= r->r[k].start && addr < r->r[k].start + r->r[k].nr_pages * PG)
			return true;
	return false;
}

/* The smaps field @field (kB) of the mapping that holds @addr. */
static long smaps_kb(uintptr_t addr, const char *field)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	long kb = -1;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
			in = a <= addr && addr < b;
		else if (in && !strncmp(line, field, strlen(field)) &&
			 sscanf(line + strlen(field), ": %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

static long huge_kb(uintptr_t addr)
{
	return smaps_kb(addr, "AnonHugePages");
}

/* The frame that a read fault in a fresh private anonymous page maps (0:
 * none, or frames hidden from us). */
static uint64_t read_fault_pfn(void)
{
	volatile char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;

	if (p != MAP_FAILED) {
		(void)p[0];
		if (fd < 0 || pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / PG * 8)) != 8)
			e = 0;
		munmap((void *)p, PG);
	}
	if (fd >= 0)
		close(fd);
	return e >> 63 ? e & ((1ull << 55) - 1) : 0;
}

/* Does a read fault in fresh private anonymous memory map the zero page?
 * Two such faults map the same frame then. Where frames are hidden, smaps
 * says (it counts a page of its own as Anonymous; some kernels count the
 * zero page there too, so it is only the fallback). */
static bool read_maps_zero_page(void)
{
	uint64_t a = read_fault_pfn(), b = read_fault_pfn();
	volatile char *p;
	bool zero;

	if (a && b)
		return a == b;
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return true;
	(void)p[0];
	zero = smaps_kb((uintptr_t)p, "Anonymous") == 0;
	munmap((void *)p, PG);
	return zero;
}

/* 0 done, 77 when this kernel cannot register memory so (nor then track a
 * task), 2 when nothing could be set up. */
static int run(bool huge)
{
	struct page_region vec[VEC];
	struct track_ctx t = { .pid = getpid(), .mode = TRACK_UFFD_WP };
	struct mem_ranges touched = { 0 };
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	char *raw = mmap(NULL, (PAGES + 512) * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *m = (char *)(((uintptr_t)raw + (2ull << 20) - 1) & ~((2ull << 20) - 1));
	uint64_t base = (uintptr_t)m, end = base + PAGES * PG;
	bool zero_page = read_maps_zero_page();
	volatile char sink;

	if (raw == MAP_FAILED)
		return 2;
	/* page tables, or huge pages where the kernel gives them */
	madvise(m, PAGES * PG, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (uint64_t i = 0; i < PAGES; i++)
		m[i * PG] = 1;
	if (huge && huge_kb(base) <= 0) {
		printf("track-touched: no transparent huge pages here: that half is not run\n");
		munmap(raw, (PAGES + 512) * PG);
		return 0;
	}
	if (huge)
		printf("track-touched: %ld kB in huge pages\n", huge_kb(base));
	CHECK_INT(madvise(m + GUARD_GONE * PG, PG, MADV_GUARD_INSTALL), 0);
	t.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (t.uffd < 0 || ioctl(t.uffd, UFFDIO_API, &api)) {
		/* crisp then tracks no task either: nothing here to hold */
		printf("track-touched: no async uffd-wp with WP_UNPOPULATED here (%s)\n",
		       strerror(errno));
		return 77;
	}
	struct uffdio_register reg = { .range = { base, PAGES * PG },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { base, PAGES * PG },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	CHECK_INT(ioctl(t.uffd, UFFDIO_REGISTER, &reg), 0);
	CHECK_INT(ioctl(t.uffd, UFFDIO_WRITEPROTECT, &wp), 0);
	t.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	CHECK(t.pagemap_fd >= 0);

	/* protected everywhere: nothing changed yet, but maybe the guard
	 * installed before (its marker may stay unprotected) */
	CHECK_INT(track_collect_touched(&t, vec, VEC, base, end, &touched), 0);
	CHECK(touched.pages <= 1);
	CHECK(!touched.pages || in_ranges(&touched, base + GUARD_GONE * PG));
	mem_ranges_free(&touched);

	m[WRITTEN_PAGE * PG] = 2;
	CHECK_INT(madvise(m + DROP_FIRST * PG, (DROP_LAST - DROP_FIRST + 1) * PG, MADV_DONTNEED), 0);
	CHECK_INT(madvise(m + TABLE_FIRST * PG, (TABLE_LAST - TABLE_FIRST + 1) * PG,
			  MADV_DONTNEED), 0);
	CHECK_INT(madvise(m + READ_AGAIN * PG, PG, MADV_DONTNEED), 0);
	sink = m[READ_AGAIN * PG];
	(void)sink;
	CHECK_INT(madvise(m + GUARD_NEW * PG, PG, MADV_GUARD_INSTALL), 0);
	CHECK_INT(madvise(m + GUARD_GONE * PG, PG, MADV_GUARD_REMOVE), 0);

	/* a small vector: the walk goes on where a full one stopped */
	CHECK_INT(track_collect_touched(&t, vec, 2, base, end, &touched), 0);
	for (uint64_t i = 0; i < PAGES; i++) {
		bool got = in_ranges(&touched, base + i * PG);

		UNIT_RECORD(got == changed_page(i), "page %llu: reported %d, changed %d",
			    (unsigned long long)i, got, changed_page(i));
	}

	/* the freeze's walk of just those pages */
	for (size_t k = 0; k < touched.nr; k++) {
		uint64_t a = touched.r[k].start, e = a + touched.r[k].nr_pages * PG;
		struct track_vma_scan s;

		CHECK_INT(track_collect_final_walk(&t, vec, VEC, a, e, 0, &s), 0);
		for (uint64_t p = a; p < e; p += PG) {
			uint64_t i = (p - base) / PG;

			bool has = i == WRITTEN_PAGE || (i == READ_AGAIN && !zero_page);

			CHECK_INT(in_ranges(&s.present, p), has);
			CHECK_INT(in_ranges(&s.written, p), has);
			CHECK_INT(in_ranges(&s.guards, p), i == GUARD_NEW);
		}
		track_vma_scan_free(&s);
	}
	mem_ranges_free(&touched);

	/* not registered: -EAGAIN, and the caller walks whole */
	char *other = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(other != MAP_FAILED);
	other[0] = 1;
	CHECK_INT(track_collect_touched(&t, vec, VEC, (uintptr_t)other, (uintptr_t)other + PG,
					&touched), -EAGAIN);
	CHECK_INT(touched.nr, 0);
	munmap(other, PG);
	close(t.pagemap_fd);
	close(t.uffd);
	munmap(raw, (PAGES + 512) * PG);
	return 0;
}

int main(void)
{
	int ret;

	printf("track-touched: a read fault maps %s\n",
	       read_maps_zero_page() ? "the zero page" : "a zeroed page of its own");
	ret = run(false);

	if (!ret)
		ret = run(true);
	return ret ? ret : unit_summary("track-touched");
}
