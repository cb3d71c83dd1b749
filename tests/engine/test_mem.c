/* Behaviour tests of engine/mem on a scratch child: the scan finds exactly
 * the written pages (not zero-page reads, not untouched or file pages when
 * asked), both methods agree, and the reader returns every page's bytes
 * even through small buffers and pages unmapped after the scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem_read.h"
#include "mem_scan.h"
#include "scratch.h"
#include "unit.h"

#define AREA_PAGES 4096		/* 16 MiB */
#define PG 4096

struct shared {
	volatile int ready, unmap, unmapped;
	volatile uint64_t area, file;
};

/* page i is written when i % 3 == 0, only read when i % 3 == 1 */
static bool written(uint64_t i)
{
	return i % 3 == 0;
}

/* Some kernels (a PVM guest booted with pvm_no_zero_page) give a read
 * fault a zero-filled page of its own instead of the shared zero page: such
 * a page is present memory and the scan must find it, with zeros in it. */
static bool no_zero_page;

static bool scanned(uint64_t i)
{
	return written(i) || (no_zero_page && i % 3 == 1);
}

static bool probe_no_zero_page(void)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mem_scanner s;
	struct mem_ranges r = { 0 };
	volatile char sink;
	bool found = false;

	CHECK(p != MAP_FAILED);
	sink = p[0];
	(void)sink;
	if (!mem_scanner_open(&s, getpid(), 0)) {
		found = !mem_scan(&s, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + PG, 0, &r) &&
			r.pages == 1;
		mem_scanner_close(&s);
	}
	mem_ranges_free(&r);
	munmap(p, PG);
	return found;
}

static int child_main(void *arg)
{
	struct shared *sh = arg;
	char *area = mmap(NULL, AREA_PAGES * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int fd = open("/proc/self/exe", O_RDONLY);
	char *file = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	volatile char sink = 0;

	if (area == MAP_FAILED || file == MAP_FAILED)
		return 1;
	madvise(area, AREA_PAGES * PG, MADV_NOHUGEPAGE);
	for (uint64_t i = 0; i < AREA_PAGES; i++) {
		if (written(i))
			for (size_t w = 0; w < PG / 8; w++)
				((uint64_t *)(area + i * PG))[w] = (uint64_t)(uintptr_t)area + i * PG + w;
		else if (i % 3 == 1)
			sink += area[i * PG];
	}
	/* file pages: 0 and 1 read (page cache), 2 written (private copy) */
	sink += file[0] + file[PG];
	__asm__ volatile("" : : "r"(sink));
	file[2 * PG] = 'x';
	sh->area = (uint64_t)(uintptr_t)area;
	sh->file = (uint64_t)(uintptr_t)file;
	sh->ready = 1;
	while (!sh->unmap)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	/* punch holes: pages 300 and 3000..3002 */
	munmap(area + 300 * PG, PG);
	munmap(area + 3000 * PG, 3 * PG);
	sh->unmapped = 1;
	for (;;)
		pause();
	return 0;
}

static void check_scan(pid_t pid, struct shared *sh, unsigned int flags,
		       struct mem_ranges *out)
{
	struct mem_scanner s;
	uint64_t found = 0, bad = 0;

	memset(out, 0, sizeof(*out));
	CHECK_INT(mem_scanner_open(&s, pid, flags), 0);
	CHECK(s.use_ioctl == !(flags & MEM_SCAN_NO_IOCTL));
	CHECK_INT(mem_scan(&s, sh->area, sh->area + AREA_PAGES * PG, flags, out), 0);
	for (size_t i = 0; i < out->nr; i++)
		for (uint64_t p = 0; p < out->r[i].nr_pages; p++) {
			uint64_t idx = (out->r[i].start - sh->area) / PG + p;

			found++;
			bad += !scanned(idx);
		}
	UNIT_RECORD(found == (no_zero_page ? (2 * AREA_PAGES + 2) / 3 : (AREA_PAGES + 2) / 3) &&
		    bad == 0,
		    "flags %#x: %llu pages found, %llu not written", flags,
		    (unsigned long long)found, (unsigned long long)bad);
	CHECK(out->pages == found);
	CHECK_INT(mem_scan(&s, 1, 2, 0, out), -EINVAL);

	/* the private file mapping: 3 pages or more (fault-around maps
	 * neighbours of the read ones) present, 1 once file pages go */
	struct mem_ranges f = { 0 };
	CHECK_INT(mem_scan(&s, sh->file, sh->file + 4 * PG, flags, &f), 0);
	CHECK(f.pages >= 3);
	mem_ranges_free(&f);
	CHECK_INT(mem_scan(&s, sh->file, sh->file + 4 * PG, flags | MEM_SCAN_SKIP_FILE, &f), 0);
	CHECK(f.pages == 1 && f.nr == 1 && f.r[0].start == sh->file + 2 * PG);
	mem_ranges_free(&f);
	mem_scanner_close(&s);
}

static uint64_t check_batches(pid_t pid, const struct mem_ranges *rg, size_t buf_size,
			      uint64_t *vanished)
{
	void *buf = malloc(buf_size);
	struct mem_reader r;
	struct mem_batch b;
	uint64_t pages = 0, wrong = 0;
	int ret;

	mem_reader_init(&r, pid, rg->r, rg->nr, buf, buf_size);
	while ((ret = mem_reader_next(&r, &b)) == 1) {
		size_t off = 0;

		CHECK(b.bytes <= buf_size && b.nr_segs > 0);
		for (size_t i = 0; i < b.nr_segs; i++) {
			CHECK(b.seg[i].off == off);	/* segments fill the buffer in order */
			for (uint64_t p = 0; p < b.seg[i].nr_pages; p++) {
				const uint64_t *w = (const uint64_t *)((const char *)b.buf +
								       b.seg[i].off + p * PG);
				uint64_t va = b.seg[i].vaddr + p * PG;

				if (written((va - rg->r[0].start) / PG))
					wrong += w[0] != va || w[PG / 8 - 1] != va + PG / 8 - 1;
				else	/* a read page of a kernel without the zero page */
					wrong += w[0] != 0 || w[PG / 8 - 1] != 0;
			}
			off += b.seg[i].nr_pages * PG;
			pages += b.seg[i].nr_pages;
		}
		CHECK(off == b.bytes);
	}
	CHECK_INT(ret, 0);
	CHECK_INT(wrong, 0);
	CHECK(r.pages_read == pages);
	*vanished = r.pages_vanished;
	free(buf);
	return pages;
}

/* mem_ranges_move: taken whole into an empty list, copied after a full
 * one, joined at a touching seam only when asked. */
static void check_ranges_move(void)
{
	struct mem_ranges o = { 0 }, s = { 0 };
	struct mem_range *taken;

	CHECK_INT(mem_ranges_add(&s, 0x10000, 2), 0);
	taken = s.r;
	CHECK_INT(mem_ranges_move(&o, &s, true), 0);
	CHECK(o.r == taken && o.nr == 1 && o.pages == 2);
	CHECK(s.r == NULL && s.nr == 0 && s.pages == 0);
	for (int merge = 0; merge < 2; merge++) {
		size_t nr = o.nr;

		/* touches the last range: pages 0x12000 on */
		CHECK_INT(mem_ranges_add(&s, o.r[nr - 1].start + o.r[nr - 1].nr_pages * PG, 3), 0);
		for (uint64_t i = 0; i < 100; i++)
			CHECK_INT(mem_ranges_add(&s, 0x1000000 * (merge + 1) + i * 2 * PG, 1), 0);
		CHECK_INT(mem_ranges_move(&o, &s, merge), 0);
		CHECK_INT(o.nr, nr + (merge ? 100 : 101));
		CHECK(s.nr == 0 && s.r == NULL);
	}
	CHECK_INT(o.pages, 2 + 2 * 103);
	CHECK_INT(o.r[o.nr - 1].start, 0x2000000 + 99 * 2 * PG);
	mem_ranges_free(&o);
}

/* mem_ranges_reserve: room made once is used by later moves, even into an
 * empty list (copied, not taken), and a merge at the seam of an empty list
 * has nothing to join. */
static void check_ranges_reserve(void)
{
	struct mem_ranges o = { 0 }, s = { 0 };
	struct mem_range *room;

	CHECK_INT(mem_ranges_reserve(&o, 300), 0);
	CHECK(o.r != NULL && o.cap >= 300 && o.nr == 0);
	room = o.r;
	CHECK_INT(mem_ranges_reserve(&o, 200), 0);
	CHECK(o.r == room);
	for (int part = 0; part < 3; part++) {
		for (uint64_t i = 0; i < 100; i++)
			CHECK_INT(mem_ranges_add(&s, 0x1000000 * (part + 1) + i * 2 * PG, 1), 0);
		CHECK_INT(mem_ranges_move(&o, &s, true), 0);
		CHECK(s.r == NULL && s.nr == 0 && s.pages == 0);
		CHECK(o.r == room);
	}
	CHECK_INT(o.nr, 300);
	CHECK_INT(o.pages, 300);
	CHECK_INT(o.r[0].start, 0x1000000);
	CHECK_INT(o.r[299].start, 0x3000000 + 99 * 2 * PG);
	/* past the room: grown, everything kept */
	CHECK_INT(mem_ranges_add(&s, 0x5000000, 4), 0);
	CHECK_INT(mem_ranges_move(&o, &s, false), 0);
	CHECK_INT(o.nr, 301);
	CHECK_INT(o.pages, 304);
	CHECK_INT(o.r[100].start, 0x2000000);
	mem_ranges_free(&o);
}

#define MODEL_PAGES 192

/* A page set as ranges, one page at a time (address order, merged). */
static void model_ranges(const bool *set, struct mem_ranges *o)
{
	for (uint64_t i = 0; i < MODEL_PAGES; i++)
		if (set[i])
			CHECK_INT(mem_ranges_add(o, 0x400000 + i * PG, 1), 0);
}

/* mem_ranges_replace against a page model, on random sets: the pages of
 * the result are exactly (o minus cut) plus with, in address order, no
 * two ranges touching, and the page count agrees. */
static void check_ranges_replace(void)
{
	srand(7);
	for (int round = 0; round < 300; round++) {
		bool o[MODEL_PAGES], cut[MODEL_PAGES], with[MODEL_PAGES], want[MODEL_PAGES];
		bool got[MODEL_PAGES] = { false };
		struct mem_ranges ro = { 0 }, rc = { 0 }, rw = { 0 };
		uint64_t pages = 0;
		int dense = round % 4;

		for (int i = 0; i < MODEL_PAGES; i++) {
			/* runs rather than lone pages, so that ranges span cuts */
			o[i] = i && rand() % 5 ? o[i - 1] : rand() % 4 < 1 + dense;
			cut[i] = i && rand() % 4 ? cut[i - 1] : rand() % 3 == 0;
			with[i] = cut[i] && rand() % 3 != 0;
			want[i] = (o[i] && !cut[i]) || with[i];
			pages += want[i];
		}
		model_ranges(o, &ro);
		model_ranges(cut, &rc);
		model_ranges(with, &rw);
		CHECK_INT(mem_ranges_replace(&ro, &rc, &rw), 0);
		CHECK_INT(ro.pages, pages);
		for (size_t k = 0; k < ro.nr; k++) {
			const struct mem_range *r = &ro.r[k];

			CHECK(r->nr_pages > 0);
			if (k)
				CHECK(ro.r[k - 1].start + ro.r[k - 1].nr_pages * PG < r->start);
			for (uint64_t p = 0; p < r->nr_pages; p++) {
				uint64_t i = (r->start - 0x400000) / PG + p;

				if (i < MODEL_PAGES)
					got[i] = true;
			}
		}
		CHECK(memcmp(got, want, sizeof(want)) == 0);
		mem_ranges_free(&ro);
		mem_ranges_free(&rc);
		mem_ranges_free(&rw);
	}
}

int main(void)
{
	struct shared *sh;
	struct mem_ranges a, b;
	uint64_t vanished;
	pid_t pid;

	check_ranges_move();
	check_ranges_reserve();
	check_ranges_replace();
	scratch_init();
	no_zero_page = probe_no_zero_page();
	if (no_zero_page)
		printf("mem: this kernel maps no shared zero page: read pages count as present\n");
	sh = scratch_shared(sizeof(*sh));
	pid = scratch_fork(child_main, sh);
	while (!sh->ready)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);

	check_scan(pid, sh, 0, &a);
	check_scan(pid, sh, MEM_SCAN_NO_IOCTL, &b);
	CHECK(a.nr == b.nr && a.pages == b.pages);
	CHECK(a.nr == b.nr && memcmp(a.r, b.r, a.nr * sizeof(a.r[0])) == 0);
	mem_ranges_free(&b);

	/* every page read back, whatever the buffer size */
	CHECK_INT(check_batches(pid, &a, PG, &vanished), a.pages);
	CHECK_INT(vanished, 0);
	CHECK_INT(check_batches(pid, &a, 7 * PG, &vanished), a.pages);
	CHECK_INT(check_batches(pid, &a, 16 << 20, &vanished), a.pages);

	/* pages unmapped after the scan are skipped and counted */
	sh->unmap = 1;
	while (!sh->unmapped)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	/* 300 and 3000 are written pages (multiples of 3); 3001 is only read
	 * (found without a zero page), 3002 untouched */
	CHECK_INT(check_batches(pid, &a, 16 << 20, &vanished), a.pages - 2 - no_zero_page);
	CHECK_INT(vanished, 2 + no_zero_page);
	CHECK_INT(check_batches(pid, &a, 5 * PG, &vanished), a.pages - 2 - no_zero_page);
	CHECK_INT(vanished, 2 + no_zero_page);
	mem_ranges_free(&a);

	kill(pid, SIGKILL);
	scratch_cleanup();
	return unit_summary("mem");
}
