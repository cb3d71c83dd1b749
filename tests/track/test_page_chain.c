/* test_page_chain — page-chain on synthetic chains written with the image
 * layer (reads across three levels, holes, broken chains of every kind,
 * loops), page_chain_resolve's pieces, and the soft-dirty pagemap parsing
 * of engine/track.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img.h"
#include "page-chain.h"
#include "pagemap.pb-c.h"
#include "track.h"
#include "uapi-compat.h"
#include "unit.h"

#define PG 4096u
#define PID 42ul

struct ent {
	uint64_t vaddr;
	uint32_t nr;
	uint32_t flags;
};

/* A page's content: its address and the level that wrote it. */
static void fill(unsigned char *p, uint64_t va, int level)
{
	for (unsigned int i = 0; i < PG; i += 16) {
		memcpy(p + i, &va, 8);
		memcpy(p + i + 8, &level, 4);
		memset(p + i + 12, 0xa5, 4);
	}
}

/* Writes pagemap-42.img and pages-1.img of one level into @dir. */
static void level(const char *dir, int lvl, const struct ent *e, size_t n, size_t cut_bytes)
{
	struct img_dir d;
	struct img_writer w;
	PagemapHead h = PAGEMAP_HEAD__INIT;
	unsigned char page[PG];
	char path[512];
	FILE *f;

	mkdir(dir, 0755);
	if (img_dir_open(&d, dir, false))
		abort();
	if (img_writer_open(&w, &d, img_kind_by_name("PAGEMAP"), PID))
		abort();
	h.pages_id = 1;
	img_writer_entry(&w, &h.base);
	for (size_t i = 0; i < n; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = e[i].vaddr;
		pe.nr_pages = e[i].nr;
		pe.has_flags = true;
		pe.flags = e[i].flags;
		img_writer_entry(&w, &pe.base);
	}
	if (img_writer_close(&w))
		abort();
	img_dir_close(&d);
	snprintf(path, sizeof(path), "%s/pages-1.img", dir);
	f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; e[i].flags & PAGE_CHAIN_PE_PRESENT && k < e[i].nr; k++) {
			fill(page, e[i].vaddr + (uint64_t)k * PG, lvl);
			fwrite(page, PG, 1, f);
		}
	fclose(f);
	if (cut_bytes && truncate(path, (off_t)cut_bytes))
		abort();
}

static int open_chain(const char *dir, struct page_chain **pc)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	int err;

	if (dfd < 0)
		return -errno;
	err = page_chain_open(pc, dfd, dir, PID);
	close(dfd);
	return err;
}

static int page_level(const unsigned char *p, uint64_t va)
{
	uint64_t got;
	int lvl;

	memcpy(&got, p, 8);
	memcpy(&lvl, p + 8, 4);
	return got == va ? lvl : -1;
}

/* What page_chain_resolve handed over: each piece read back from its fd. */
struct resolved {
	uint64_t next_va;
	int levels[16];
	size_t pages, calls;
	int stop_after;		/* calls before failing with -E2BIG, 0: never */
};

static int on_piece(void *arg, int fd, uint64_t off, uint64_t va, uint64_t nr)
{
	struct resolved *r = arg;
	unsigned char page[PG];

	if (r->stop_after && r->calls == (size_t)r->stop_after)
		return -E2BIG;
	r->calls++;
	CHECK(va == r->next_va);
	for (uint64_t k = 0; k < nr && r->pages < 16; k++) {
		CHECK_INT(pread(fd, page, PG, (off_t)(off + k * PG)), PG);
		r->levels[r->pages++] = page_level(page, va + k * PG);
	}
	r->next_va = va + nr * PG;
	return 0;
}

/* The pieces of A..A+8 pages: each page from the level that has it, in
 * address order, neighbours in one level handed over together. */
static void check_resolve(struct page_chain *pc, uint64_t A, const int want[8])
{
	struct resolved r = { .next_va = A };

	CHECK_INT(page_chain_resolve(pc, A, 8, on_piece, &r), 0);
	CHECK_INT(r.pages, 8);
	for (int i = 0; i < 8; i++)
		CHECK_INT(r.levels[i], want[i]);
	/* 3 3 | 1 1 | 2 2 | 3 | 1: five pieces */
	CHECK_INT(r.calls, 5);
	memset(&r, 0, sizeof(r));
	r.next_va = A;
	r.stop_after = 2;
	CHECK_INT(page_chain_resolve(pc, A, 8, on_piece, &r), -E2BIG);
	CHECK_INT(r.calls, 2);
	r.next_va = A + 6 * PG;
	r.stop_after = 0;
	CHECK_INT(page_chain_resolve(pc, A + 6 * PG, 6, on_piece, &r), -ENOENT);
	CHECK_INT(page_chain_resolve(pc, A + 1, 1, on_piece, &r), -EINVAL);
}

static void test_three_levels(const char *base)
{
	char top[256], mid[256], bot[256], link[300];
	struct page_chain *pc;
	unsigned char *buf = malloc(16 * PG);
	const uint64_t A = 0x10000;
	/* bottom: pages 0..7 present; mid: 0..3 parent, 4..5 present, 6..7 parent;
	 * top: 0..1 present, 2..5 parent, 6 present, 7 parent; 10..11 present */
	const struct ent b[] = { { A, 8, PAGE_CHAIN_PE_PRESENT } };
	const struct ent m[] = { { A, 4, PAGE_CHAIN_PE_PARENT }, { A + 4 * PG, 2, PAGE_CHAIN_PE_PRESENT },
				 { A + 6 * PG, 2, PAGE_CHAIN_PE_PARENT } };
	const struct ent t[] = { { A, 2, PAGE_CHAIN_PE_PRESENT }, { A + 2 * PG, 4, PAGE_CHAIN_PE_PARENT },
				 { A + 6 * PG, 1, PAGE_CHAIN_PE_PRESENT }, { A + 7 * PG, 1, PAGE_CHAIN_PE_PARENT },
				 { A + 10 * PG, 2, PAGE_CHAIN_PE_PRESENT } };
	const int want[8] = { 3, 3, 1, 1, 2, 2, 3, 1 };
	size_t n;

	snprintf(bot, sizeof(bot), "%s/1", base);
	snprintf(mid, sizeof(mid), "%s/2", base);
	snprintf(top, sizeof(top), "%s/3", base);
	level(bot, 1, b, 1, 0);
	level(mid, 2, m, 3, 0);
	level(top, 3, t, 5, 0);
	snprintf(link, sizeof(link), "%s/parent", mid);
	CHECK_INT(symlink("../1", link), 0);
	snprintf(link, sizeof(link), "%s/parent", top);
	CHECK_INT(symlink("../2", link), 0);

	CHECK_INT(open_chain(top, &pc), 0);
	CHECK_INT(page_chain_verify(pc), 0);
	CHECK_INT(page_chain_read(pc, A, 8, buf, 0), 0);
	for (int i = 0; i < 8; i++)
		CHECK_INT(page_level(buf + i * PG, A + (uint64_t)i * PG), want[i]);
	CHECK_INT(page_chain_depth(pc), 3);
	page_chain_entries(pc, &n);
	CHECK_INT(n, 5);
	/* pages 8, 9 are in no entry */
	CHECK_INT(page_chain_read(pc, A + 6 * PG, 6, buf, 0), -ENOENT);
	memset(buf, 0xff, 6 * PG);
	CHECK_INT(page_chain_read(pc, A + 6 * PG, 6, buf, PAGE_CHAIN_ZERO_HOLES), 0);
	CHECK_INT(page_level(buf, A + 6 * PG), 3);
	CHECK_INT(page_level(buf + PG, A + 7 * PG), 1);
	CHECK(buf[2 * PG] == 0 && buf[4 * PG - 1] == 0);
	CHECK_INT(page_level(buf + 4 * PG, A + 10 * PG), 3);
	CHECK_INT(page_chain_read(pc, A + 1, 1, buf, 0), -EINVAL);
	check_resolve(pc, A, want);
	page_chain_close(pc);

	/* the middle level loses page 6: the top's PE_PARENT at 7 still
	 * resolves, the one at 6..7 of the middle does not */
	{
		const struct ent m2[] = { { A, 4, PAGE_CHAIN_PE_PARENT },
					  { A + 4 * PG, 2, PAGE_CHAIN_PE_PRESENT } };

		level(mid, 2, m2, 2, 0);
		CHECK_INT(open_chain(top, &pc), 0);
		CHECK_INT(page_chain_verify(pc), -EINVAL);
		CHECK_INT(page_chain_read(pc, A, 6, buf, 0), 0);
		page_chain_close(pc);
	}
	free(buf);
}

static void test_broken(const char *base)
{
	char d[256], link[300];
	struct page_chain *pc;
	unsigned char buf[PG];
	const uint64_t A = 0x20000;
	const struct ent par[] = { { A, 2, PAGE_CHAIN_PE_PARENT } };
	const struct ent two[] = { { A, 2, PAGE_CHAIN_PE_PRESENT } };
	const struct ent unsorted[] = { { A + 4 * PG, 1, PAGE_CHAIN_PE_PRESENT },
					{ A, 1, PAGE_CHAIN_PE_PRESENT } };
	const struct ent lazy[] = { { A, 1, PAGE_CHAIN_PE_LAZY } };

	/* no parent link at all */
	snprintf(d, sizeof(d), "%s/orphan", base);
	level(d, 1, par, 1, 0);
	CHECK_INT(open_chain(d, &pc), 0);
	CHECK_INT(page_chain_read(pc, A, 1, buf, 0), -EINVAL);
	page_chain_close(pc);
	/* a parent without this task's pagemap */
	snprintf(link, sizeof(link), "%s/parent", d);
	CHECK_INT(symlink("..", link), 0);
	CHECK_INT(open_chain(d, &pc), 0);
	CHECK_INT(page_chain_verify(pc), -EINVAL);
	page_chain_close(pc);
	/* a loop: the parent is the level itself */
	snprintf(d, sizeof(d), "%s/loop", base);
	level(d, 1, par, 1, 0);
	snprintf(link, sizeof(link), "%s/parent", d);
	CHECK_INT(symlink(".", link), 0);
	CHECK_INT(open_chain(d, &pc), 0);
	CHECK_INT(page_chain_read(pc, A, 1, buf, 0), -EINVAL);
	page_chain_close(pc);
	/* a pages file shorter than the pagemap says */
	snprintf(d, sizeof(d), "%s/short", base);
	level(d, 1, two, 1, PG + 100);
	CHECK_INT(open_chain(d, &pc), -EINVAL);
	/* entries out of order */
	snprintf(d, sizeof(d), "%s/unsorted", base);
	level(d, 1, unsorted, 2, 0);
	CHECK_INT(open_chain(d, &pc), -EINVAL);
	/* lazy pages have no data in the chain */
	snprintf(d, sizeof(d), "%s/lazy", base);
	level(d, 1, lazy, 1, 0);
	CHECK_INT(open_chain(d, &pc), 0);
	CHECK_INT(page_chain_read(pc, A, 1, buf, 0), -EINVAL);
	page_chain_close(pc);
	/* no pagemap at all */
	snprintf(d, sizeof(d), "%s/empty", base);
	mkdir(d, 0755);
	CHECK_INT(open_chain(d, &pc), -ENOENT);
}

static void test_soft_dirty_parse(void)
{
	const uint64_t S = 0x400000, zero = 0x1234;
	uint64_t pm[8] = {
		PM_ENTRY_PRESENT | 0x10,			/* present, clean */
		PM_ENTRY_PRESENT | PM_ENTRY_SOFT_DIRTY | 0x11,	/* present, dirty */
		0,						/* none */
		PM_ENTRY_SWAP | PM_ENTRY_SOFT_DIRTY,		/* swapped, dirty */
		PM_ENTRY_PRESENT | zero,			/* the zero page */
		PM_ENTRY_PRESENT | PM_ENTRY_FILE | 0x12,	/* file page */
		PM_ENTRY_PRESENT | PM_ENTRY_SOFT_DIRTY | 0x13,	/* present, dirty */
		PM_ENTRY_PRESENT | 0x14,			/* present, clean */
	};
	struct track_vma_scan s;

	memset(&s, 0, sizeof(s));
	CHECK_INT(track_sd_parse(pm, 8, S, zero, MEM_SCAN_SKIP_FILE, &s), 0);
	CHECK_INT(s.present.pages, 5);
	CHECK_INT(s.present.nr, 3);	/* 0-1, 3, 6-7 */
	CHECK(s.present.r[0].start == S && s.present.r[0].nr_pages == 2);
	CHECK(s.present.r[1].start == S + 3 * PG && s.present.r[1].nr_pages == 1);
	CHECK(s.present.r[2].start == S + 6 * PG && s.present.r[2].nr_pages == 2);
	CHECK_INT(s.written.pages, 3);
	CHECK(s.written.nr == 3 && s.written.r[0].start == S + PG && s.written.r[2].start == S + 6 * PG);
	track_vma_scan_free(&s);
	/* without SKIP_FILE the file page counts; an unknown zero pfn keeps it */
	memset(&s, 0, sizeof(s));
	CHECK_INT(track_sd_parse(pm, 8, S, 0, 0, &s), 0);
	CHECK_INT(s.present.pages, 7);
	CHECK_INT(s.written.pages, 3);
	track_vma_scan_free(&s);
}

int main(void)
{
	char base[] = "crisp-page-chain-XXXXXX";	/* in the test's working dir */
	char cmd[300];

	if (!mkdtemp(base))
		return 2;
	test_three_levels(base);
	test_broken(base);
	test_soft_dirty_parse();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", base);
	return unit_summary("page-chain");
}
