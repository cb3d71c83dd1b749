/* mem_scan — which pages of a task's address range hold data worth copying.
 *
 * Present or swapped pages, without the shared zero page (and, if asked,
 * without pages still backed by their file), found with the PAGEMAP_SCAN
 * ioctl or, where that is missing, by reading /proc/PID/pagemap; guard
 * regions (MADV_GUARD_INSTALL) are never data and can be listed on their
 * own. Scanning only: no page contents are read here (mem_read does that).
 */
#ifndef CRISP_MEM_SCAN_H
#define CRISP_MEM_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MEM_PAGE_SIZE 4096ULL

struct mem_range {
	uint64_t start;		/* page-aligned */
	uint64_t nr_pages;
};

struct mem_ranges {
	struct mem_range *r;
	size_t nr, cap;
	uint64_t pages;		/* sum of nr_pages */
};

enum mem_scan_flags {
	MEM_SCAN_NO_IOCTL = 1 << 0,	/* read /proc/PID/pagemap even if the ioctl works */
	MEM_SCAN_SKIP_FILE = 1 << 1,	/* leave out pages still shared with the file */
	MEM_SCAN_GUARDS = 1 << 2,	/* internal to mem_scan_guards: list guard pages only */
};

struct mem_scanner {
	pid_t pid;
	int pagemap_fd;
	bool use_ioctl;
	bool ioctl_guard;		/* the ioctl knows PAGE_IS_GUARD */
	uint64_t zero_pfn;		/* fallback only; 0 when unknown */
	void *vec;			/* ioctl regions or pagemap entries */
	size_t vec_len;
};

/* Opens /proc/@pid/pagemap and picks the method (@flags: MEM_SCAN_NO_IOCTL).
 * Returns 0 or -errno. */
int mem_scanner_open(struct mem_scanner *s, pid_t pid, unsigned int flags);

/*
 * Appends to @out the pages of [@start, @end) (page-aligned) that hold
 * data, merged into ranges in address order (@flags: MEM_SCAN_SKIP_FILE).
 * Returns 0 or -errno.
 */
int mem_scan(struct mem_scanner *s, uint64_t start, uint64_t end,
	     unsigned int flags, struct mem_ranges *out);

/*
 * Appends to @out the guard-region pages of [@start, @end) (page-aligned),
 * merged into ranges in address order. Returns 0 or -errno.
 */
int mem_scan_guards(struct mem_scanner *s, uint64_t start, uint64_t end, struct mem_ranges *out);

void mem_scanner_close(struct mem_scanner *s);

struct page_region;
struct pm_scan_arg;

/* Called for each region a PAGEMAP_SCAN walk returns; non-zero stops it. */
typedef int (*mem_region_fn)(const struct page_region *r, void *arg);

/*
 * One PAGEMAP_SCAN walk of [@start, @end) on the pagemap fd @pagemap_fd:
 * @a carries the caller's flags, masks and vector (vec, vec_len); the walk
 * sets its start and end and calls the ioctl until the range is covered,
 * handing each returned region to @fn. Returns 0, what @fn returned, or
 * -errno of a failed ioctl (then *@ioctl_failed is set, if given). Logs
 * nothing: the caller knows what it asked for.
 */
int mem_pagemap_walk(int pagemap_fd, struct pm_scan_arg *a, uint64_t start, uint64_t end,
		     mem_region_fn fn, void *arg, bool *ioctl_failed);

/* A mem_region_fn that adds the region's pages to *(uint64_t *)@arg. */
int mem_region_count(const struct page_region *r, void *arg);

/* The pages of [@start, @end) present or swapped out, in *@pages: one walk
 * that skips what has no page table quickly. 0 or -errno. */
int mem_count_resident(int pagemap_fd, uint64_t start, uint64_t end, uint64_t *pages);

/* Appends @pages pages at @start, merged with the last range when they
 * touch (callers append in address order). Returns 0 or -ENOMEM. */
int mem_ranges_add(struct mem_ranges *o, uint64_t start, uint64_t pages);

/*
 * Moves every range of @src to the end of @o and empties @src: an empty @o
 * without room for them takes @src's array, else they are copied at once
 * (into room mem_ranges_reserve made, or grown). With @merge the first
 * range joins @o's last where they touch. Returns 0 or -ENOMEM (both lists
 * then as they were).
 */
int mem_ranges_move(struct mem_ranges *o, struct mem_ranges *src, bool merge);

/* Makes room in @o for @more ranges besides those it has, at once. 0 or
 * -ENOMEM (@o then as it was). */
int mem_ranges_reserve(struct mem_ranges *o, size_t more);

/* Appends to @out the pages of @o not in @cut (both in address order,
 * without overlaps). 0 or -ENOMEM. */
int mem_ranges_subtract(const struct mem_ranges *o, const struct mem_ranges *cut,
			struct mem_ranges *out);

/*
 * Replaces the pages of @cut in @o by those of @with (within @cut): @o
 * becomes @o without @cut, joined with @with. All three in address order
 * without overlaps; @o stays so, touching ranges merged. Returns 0 or
 * -ENOMEM (@o then as it was).
 */
int mem_ranges_replace(struct mem_ranges *o, const struct mem_ranges *cut,
		       const struct mem_ranges *with);

void mem_ranges_free(struct mem_ranges *r);

#endif
