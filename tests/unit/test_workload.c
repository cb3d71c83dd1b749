/* Unit tests of the benchmark workload's page layout and consistency check:
 * a region replayed to any prefix of its writers' schedules verifies; a torn
 * page, a page from the future or a lost write does not. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "workload.h"

static unsigned char *region_at(const struct wl_layout *l, const uint64_t *upto)
{
	unsigned char *r = calloc(l->pages, WL_PAGE);

	for (size_t p = 0; p < l->pages; p++)
		if (wl_page_kind(l, p) != WL_ZERO)
			wl_fill(l, r + p * WL_PAGE, p, 0);
	for (unsigned int t = 0; t < l->writers; t++)
		for (uint64_t k = 1; k <= upto[t]; k++) {
			size_t p = wl_target(l, t, k);

			wl_fill(l, r + p * WL_PAGE, p, k);
		}
	return r;
}

static void test_kinds_and_targets(void)
{
	struct wl_layout l = { .pages = 1000, .zero_pct = 10, .text_pct = 40, .writers = 3 };
	size_t zero = 0, text = 0;

	for (size_t p = 0; p < l.pages; p++) {
		zero += wl_page_kind(&l, p) == WL_ZERO;
		text += wl_page_kind(&l, p) == WL_TEXT;
	}
	CHECK(zero > 50 && zero < 150);
	CHECK(text > 320 && text < 480);
	for (unsigned int t = 0; t < 3; t++)
		for (uint64_t k = 1; k < 2000; k++) {
			size_t p = wl_target(&l, t, k);

			if (p == SIZE_MAX || p % 3 != t || wl_page_kind(&l, p) == WL_ZERO) {
				CHECK(!"target outside its writer's slice or a zero page");
				return;
			}
		}
	l.random_order = true;
	CHECK(wl_target(&l, 1, 5) % 3 == 1);
	struct wl_layout all_zero = { .pages = 10, .zero_pct = 100, .writers = 1 };
	CHECK(wl_target(&all_zero, 0, 1) == SIZE_MAX);
}

static void test_prefix_states_verify(void)
{
	struct wl_layout l = { .pages = 256, .zero_pct = 10, .text_pct = 40, .writers = 2,
			       .random_order = true };
	uint64_t upto[2] = { 777, 123 }, last[2];
	char why[256];
	unsigned char *r = region_at(&l, upto);

	CHECK_INT(wl_verify_region(&l, r, last, why, sizeof(why)), 0);
	/* the newest write per slice is what was found; with random order an
	 * older write may have been overwritten, so only an upper bound holds
	 * in general, but the newest write itself always survives */
	CHECK_INT(last[0], 777);
	CHECK_INT(last[1], 123);
	free(r);

	uint64_t none[2] = { 0, 0 };

	r = region_at(&l, none);
	CHECK_INT(wl_verify_region(&l, r, last, why, sizeof(why)), 0);
	CHECK_INT(last[0], 0);
	free(r);
}

static void test_damage_is_found(void)
{
	struct wl_layout l = { .pages = 128, .zero_pct = 10, .text_pct = 40, .writers = 1 };
	uint64_t upto[1] = { 300 }, last[1];
	char why[256];
	unsigned char *r = region_at(&l, upto);
	size_t p = wl_target(&l, 0, 290);

	/* torn: body of one write, header of another */
	r[p * WL_PAGE + 100] ^= 1;
	CHECK_INT(wl_verify_region(&l, r, last, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "torn");
	free(r);

	/* a lost write: page p keeps an older write while newer ones exist */
	r = region_at(&l, upto);
	p = wl_target(&l, 0, 299);
	wl_fill(&l, r + p * WL_PAGE, p, 299 - l.pages);
	CHECK_INT(wl_verify_region(&l, r, last, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "but the state after write 300");
	free(r);

	/* a zero page that is not zero */
	r = region_at(&l, upto);
	for (p = 0; wl_page_kind(&l, p) != WL_ZERO; p++)
		;
	r[p * WL_PAGE + 7] = 1;
	CHECK_INT(wl_verify_region(&l, r, last, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "zero page");
	free(r);
}

int main(void)
{
	test_kinds_and_targets();
	test_prefix_states_verify();
	test_damage_is_found();
	return unit_summary("workload");
}
