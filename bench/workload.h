/* workload — the memory layout and write schedule of crisp's benchmark
 * workload, shared by the workload program and its tests.
 *
 * Every page of the workload's region holds a header (magic, page index, the
 * number of the write that filled it) and a body derived from those, so that
 * any page can be checked on its own. Each writer thread t owns the pages
 * whose index is t modulo the number of writers, and follows a deterministic
 * schedule there (its write k goes to page wl_target(t, k)), so a restored
 * workload can tell whether each slice is exactly the state after some write
 * M of its writer: every page holds the last write to it numbered at most M.
 * That is what "a consistent image of one instant" means here.
 */
#ifndef CRISP_WORKLOAD_H
#define CRISP_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WL_MAGIC 0x6b6c7763u	/* "cwlk" */
#define WL_PAGE 4096u

enum wl_kind {
	WL_ZERO = 0,		/* never written: the zero page, read-faulted */
	WL_TEXT = 1,		/* compressible body */
	WL_RANDOM = 2,		/* incompressible body */
};

struct wl_header {
	uint32_t magic;
	uint32_t index;
	uint64_t write;		/* 0: the initial fill */
};

struct wl_layout {
	size_t pages;
	unsigned int zero_pct;		/* share of zero pages */
	unsigned int text_pct;		/* share of compressible pages */
	bool random_order;		/* writes in pseudo-random page order */
	unsigned int writers;		/* writer threads, each with its slice */
};

/* The kind of page @index (a fixed, evenly spread choice). */
enum wl_kind wl_page_kind(const struct wl_layout *l, size_t index);

/* The page written by write number @k (k >= 1) of writer @t; never a zero
 * page. Returns SIZE_MAX when writer @t's slice has no page to write. */
size_t wl_target(const struct wl_layout *l, unsigned int t, uint64_t k);

/* Fills @page (WL_PAGE bytes) as write @k of page @index leaves it. */
void wl_fill(const struct wl_layout *l, void *page, size_t index, uint64_t k);

/*
 * Checks @page against what write @k of page @index would have left;
 * returns true when it matches. @k_out gets the write number the header
 * claims (also when it does not match).
 */
bool wl_page_ok(const struct wl_layout *l, const void *page, size_t index,
		uint64_t *k_out);

/*
 * Checks a whole region: every page is intact and each writer's slice is
 * the state right after some write of that writer (the highest write number
 * present in the slice). @last_writes gets, per writer, that number.
 * Returns 0, -ENOMEM, or -EINVAL with the first difference in @why.
 */
int wl_verify_region(const struct wl_layout *l, const void *region,
		     uint64_t *last_writes, char *why, size_t whylen);

#endif
