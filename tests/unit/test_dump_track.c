/* Unit tests of the final dump's split of a walked piece
 * (dump_track_relative_into): which pages are copied, which are left to
 * the parent and which come from the copy before the freeze, checked page
 * by page against a plain model on random range lists. Covers both of its
 * ways: the single pass (no pre-copy in the piece) and the general one.
 * And the pages left to the parent kept in parts until the release
 * (dump_parts_take, dump_final_walk_settle): joined in order, merged only
 * at a seam, counted once. */
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "unit.h"

#define NPAGES 4096
#define BASE 0x7f0000000000ull

enum { P_NONE, P_COPY, P_PARENT, P_PRE };

/* Ranges of the pages where @bits is set. */
static void to_ranges(const unsigned char *bits, struct mem_ranges *out)
{
	int err = 0;

	for (size_t i = 0; i < NPAGES; i++)
		if (bits[i] && !err)
			err = mem_ranges_add(out, BASE + i * MEM_PAGE_SIZE, 1);
	CHECK_INT(err, 0);
}

/* Marks in @where, as @what, every page of @r; counts pages marked twice. */
static unsigned int mark(const struct mem_ranges *r, unsigned char *where, unsigned char what)
{
	unsigned int twice = 0;

	for (size_t i = 0; i < r->nr; i++)
		for (uint64_t p = 0; p < r->r[i].nr_pages; p++) {
			size_t idx = (r->r[i].start - BASE) / MEM_PAGE_SIZE + p;

			if (where[idx] != P_NONE)
				twice++;
			where[idx] = what;
		}
	return twice;
}

/* Random runs of pages: each run set with probability @pct % */
static void random_runs(unsigned char *bits, unsigned int pct, unsigned int run)
{
	for (size_t i = 0; i < NPAGES;) {
		size_t len = 1 + (size_t)rand() % run;
		unsigned char on = (unsigned int)rand() % 100 < pct;

		for (size_t j = 0; j < len && i < NPAGES; j++, i++)
			bits[i] = on;
	}
}

static void one_case(unsigned int seed, bool with_pre)
{
	static unsigned char present[NPAGES], written[NPAGES], has[NPAGES], prot[NPAGES],
		copied[NPAGES], got[NPAGES];
	struct mem_ranges r_present = { 0 }, r_written = { 0 }, r_has = { 0 }, parent = { 0 },
			  copy = { 0 }, from_pre = { 0 };
	struct dump_precopy pre = { 0 };
	struct track_vma_scan s = { 0 };
	unsigned int bad = 0, twice = 0;

	srand(seed);
	random_runs(present, 85, 8);	/* holes as zero pages leave them */
	random_runs(has, 90, 64);
	random_runs(written, 3, 4);
	memset(prot, 0, sizeof(prot));
	memset(copied, 0, sizeof(copied));
	for (size_t i = 0; i < NPAGES; i++) {
		written[i] &= present[i];
		if (with_pre && i >= NPAGES / 2 && i < NPAGES / 2 + 64) {
			prot[i] = 1;	/* protected again before the freeze ... */
			copied[i] = i % 3 != 0;	/* ... most of them copied then */
		}
	}
	to_ranges(present, &r_present);
	to_ranges(written, &r_written);
	to_ranges(has, &r_has);
	to_ranges(prot, &pre.protected_);
	to_ranges(copied, &pre.copied);
	s.present = r_present;
	s.written = r_written;
	s.tracked = true;
	CHECK_INT(dump_track_relative_into(&r_has, with_pre ? &pre : NULL, &from_pre, &s, &parent,
					   &copy), 0);
	memset(got, P_NONE, sizeof(got));
	twice += mark(&copy, got, P_COPY);
	twice += mark(&parent, got, P_PARENT);
	twice += mark(&from_pre, got, P_PRE);
	CHECK_INT(twice, 0);
	for (size_t i = 0; i < NPAGES; i++) {
		unsigned char want = P_NONE;

		if (!present[i])
			want = P_NONE;
		else if (!written[i] && copied[i])
			want = P_PRE;	/* unchanged since that copy */
		else if (!written[i] && !prot[i] && has[i])
			want = P_PARENT;
		else
			want = P_COPY;	/* written, protected and not copied, or not the parent's */
		if (got[i] != want && bad++ < 5)
			fprintf(stderr, "seed %u pre %d page %zu: got %d, want %d\n", seed,
				(int)with_pre, i, got[i], want);
	}
	CHECK_INT(bad, 0);
	mem_ranges_free(&r_present);
	mem_ranges_free(&r_written);
	mem_ranges_free(&r_has);
	mem_ranges_free(&parent);
	mem_ranges_free(&copy);
	mem_ranges_free(&from_pre);
	mem_ranges_free(&pre.protected_);
	mem_ranges_free(&pre.copied);
}

/* A pre-copy elsewhere in the task: this piece takes the single pass. */
static void test_precopy_elsewhere(void)
{
	struct mem_ranges present = { 0 }, written = { 0 }, has = { 0 }, parent = { 0 },
			  copy = { 0 }, from_pre = { 0 };
	struct dump_precopy pre = { 0 };
	struct track_vma_scan s = { 0 };

	CHECK_INT(mem_ranges_add(&present, BASE, 16), 0);
	CHECK_INT(mem_ranges_add(&written, BASE + 4 * MEM_PAGE_SIZE, 2), 0);
	CHECK_INT(mem_ranges_add(&has, BASE, 12), 0);
	CHECK_INT(mem_ranges_add(&pre.protected_, BASE + 100 * MEM_PAGE_SIZE, 4), 0);
	CHECK_INT(mem_ranges_add(&pre.copied, BASE + 100 * MEM_PAGE_SIZE, 4), 0);
	s.present = present;
	s.written = written;
	CHECK_INT(dump_track_relative_into(&has, &pre, &from_pre, &s, &parent, &copy), 0);
	/* parent: 0-3 and 6-11; copy: 4-5 (written) and 12-15 (not the parent's) */
	CHECK_INT(parent.nr, 2);
	CHECK_INT(parent.pages, 10);
	CHECK_INT(copy.nr, 2);
	CHECK_INT(copy.r[0].start, BASE + 4 * MEM_PAGE_SIZE);
	CHECK_INT(copy.r[1].start, BASE + 12 * MEM_PAGE_SIZE);
	CHECK_INT(copy.pages, 6);
	CHECK_INT(from_pre.nr, 0);
	mem_ranges_free(&present);
	mem_ranges_free(&written);
	mem_ranges_free(&has);
	mem_ranges_free(&parent);
	mem_ranges_free(&copy);
	mem_ranges_free(&from_pre);
	mem_ranges_free(&pre.protected_);
	mem_ranges_free(&pre.copied);
}

/* Parts as a final walk leaves them: VMA A in two pieces (a seam, and
 * ranges that touch across it), then VMA B beginning where A ends (no
 * seam: its first range stays apart though it touches A's last). */
static void test_parts_settle(void)
{
	static struct dump_task t;
	static struct dump_ctx c;
	struct mem_ranges a1 = { 0 }, a2 = { 0 }, b = { 0 }, none = { 0 };

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	CHECK_INT(mem_ranges_add(&a1, BASE, 2), 0);
	CHECK_INT(mem_ranges_add(&a1, BASE + 10 * MEM_PAGE_SIZE, 6), 0);	/* to 16 */
	CHECK_INT(mem_ranges_add(&a2, BASE + 16 * MEM_PAGE_SIZE, 4), 0);	/* touches */
	CHECK_INT(mem_ranges_add(&a2, BASE + 30 * MEM_PAGE_SIZE, 2), 0);	/* A ends at 32 */
	CHECK_INT(mem_ranges_add(&b, BASE + 32 * MEM_PAGE_SIZE, 3), 0);
	CHECK_INT(dump_parts_take(&t.parent_parts, &a1, false), 0);
	CHECK_INT(dump_parts_take(&t.parent_parts, &none, true), 0);	/* nothing taken */
	CHECK_INT(dump_parts_take(&t.parent_parts, &a2, true), 0);
	CHECK_INT(dump_parts_take(&t.parent_parts, &b, false), 0);
	CHECK(a1.r == NULL && a1.nr == 0 && a2.nr == 0 && b.nr == 0);
	CHECK_INT(t.parent_parts.nr, 3);
	CHECK_INT(t.parent.nr, 0);	/* nothing joined before the settle */
	CHECK_INT(dump_final_walk_settle(&c, &t), 0);
	CHECK_INT(t.parent_parts.nr, 0);
	CHECK_INT(t.parent.nr, 4);
	CHECK_INT(t.parent.pages, 17);
	CHECK_INT(t.parent.r[1].start, BASE + 10 * MEM_PAGE_SIZE);
	CHECK_INT(t.parent.r[1].nr_pages, 10);
	CHECK_INT(t.parent.r[3].start, BASE + 32 * MEM_PAGE_SIZE);
	CHECK_INT(c.stats.pages_skipped_parent, 17);
	/* a second settle (nothing left) counts nothing twice */
	CHECK_INT(dump_final_walk_settle(&c, &t), 0);
	CHECK_INT(t.parent.nr, 4);
	CHECK_INT(c.stats.pages_skipped_parent, 17);
	mem_ranges_free(&t.parent);
	dump_parts_free(&t.parent_parts);
}

int main(void)
{
	for (unsigned int seed = 1; seed <= 200; seed++) {
		one_case(seed, false);
		one_case(seed, true);
	}
	test_precopy_elsewhere();
	test_parts_settle();
	return unit_summary("dump-track");
}
