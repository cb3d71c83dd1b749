/* mem_scan — present-page scanning with PAGEMAP_SCAN or pagemap reads, and
 * the PAGEMAP_SCAN walk engine/track uses too (see mem_scan.h). */
#include "mem_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "uapi-compat.h"

#define MEM_SCAN_VEC 4096		/* regions per ioctl / entries per pread */
#define PM_PFN_MASK ((1ULL << 55) - 1)

int mem_ranges_add(struct mem_ranges *o, uint64_t start, uint64_t pages)
{
	struct mem_range *nr;

	if (o->nr && o->r[o->nr - 1].start + o->r[o->nr - 1].nr_pages * MEM_PAGE_SIZE == start) {
		o->r[o->nr - 1].nr_pages += pages;
		o->pages += pages;
		return 0;
	}
	if (o->nr == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;

		nr = realloc(o->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		o->r = nr;
		o->cap = cap;
	}
	o->r[o->nr].start = start;
	o->r[o->nr].nr_pages = pages;
	o->nr++;
	o->pages += pages;
	return 0;
}

int mem_ranges_reserve(struct mem_ranges *o, size_t more)
{
	struct mem_range *n;

	if (o->nr + more <= o->cap)
		return 0;
	n = realloc(o->r, (o->nr + more) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	o->r = n;
	o->cap = o->nr + more;
	return 0;
}

int mem_ranges_move(struct mem_ranges *o, struct mem_ranges *src, bool merge)
{
	size_t from = 0;

	if (!src->nr)
		return 0;
	if (!o->nr && o->cap < src->nr) {
		free(o->r);
		*o = *src;
		memset(src, 0, sizeof(*src));
		return 0;
	}
	if (o->nr + src->nr > o->cap) {
		size_t cap = o->cap * 2 > o->nr + src->nr ? o->cap * 2 : o->nr + src->nr;
		struct mem_range *n = realloc(o->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->r = n;
		o->cap = cap;
	}
	if (merge && o->nr && o->r[o->nr - 1].start + o->r[o->nr - 1].nr_pages * MEM_PAGE_SIZE ==
			     src->r[0].start) {
		o->r[o->nr - 1].nr_pages += src->r[0].nr_pages;
		from = 1;
	}
	memcpy(&o->r[o->nr], &src->r[from], (src->nr - from) * sizeof(*o->r));
	o->nr += src->nr - from;
	o->pages += src->pages;
	mem_ranges_free(src);
	return 0;
}

static uint64_t mem_range_end(const struct mem_range *r)
{
	return r->start + r->nr_pages * MEM_PAGE_SIZE;
}

int mem_ranges_subtract(const struct mem_ranges *o, const struct mem_ranges *cut,
			struct mem_ranges *out)
{
	size_t ci = 0;
	int err = 0;

	for (size_t i = 0; i < o->nr && !err; i++) {
		uint64_t a = o->r[i].start, e = mem_range_end(&o->r[i]);

		while (ci < cut->nr && mem_range_end(&cut->r[ci]) <= a)
			ci++;
		for (size_t k = ci; a < e && !err; k++) {
			if (k == cut->nr || cut->r[k].start >= e) {
				err = mem_ranges_add(out, a, (e - a) / MEM_PAGE_SIZE);
				break;
			}
			if (cut->r[k].start > a)
				err = mem_ranges_add(out, a, (cut->r[k].start - a) / MEM_PAGE_SIZE);
			if (mem_range_end(&cut->r[k]) > a)
				a = mem_range_end(&cut->r[k]);
		}
	}
	return err;
}

int mem_ranges_replace(struct mem_ranges *o, const struct mem_ranges *cut,
		       const struct mem_ranges *with)
{
	struct mem_ranges kept = { 0 }, n = { 0 };
	size_t i = 0, j = 0;
	int err = mem_ranges_subtract(o, cut, &kept);

	/* kept and @with do not overlap: a merge by address */
	while (!err && (i < kept.nr || j < with->nr)) {
		const struct mem_range *r;

		if (j == with->nr || (i < kept.nr && kept.r[i].start < with->r[j].start))
			r = &kept.r[i++];
		else
			r = &with->r[j++];
		err = mem_ranges_add(&n, r->start, r->nr_pages);
	}
	mem_ranges_free(&kept);
	if (err) {
		mem_ranges_free(&n);
		return err;
	}
	mem_ranges_free(o);
	*o = n;
	return 0;
}

void mem_ranges_free(struct mem_ranges *r)
{
	free(r->r);
	memset(r, 0, sizeof(*r));
}

/* The pfn of the shared zero page, from a page of ours that reads zero. */
static uint64_t mem_zero_pfn(void)
{
	volatile char *p = mmap(NULL, MEM_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t e = 0;
	int fd;

	if (p == MAP_FAILED)
		return 0;
	(void)p[0];
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / MEM_PAGE_SIZE * 8)) != sizeof(e))
			e = 0;
		close(fd);
	}
	munmap((void *)p, MEM_PAGE_SIZE);
	return (e & PM_ENTRY_PRESENT) ? e & PM_PFN_MASK : 0;
}

int mem_scanner_open(struct mem_scanner *s, pid_t pid, unsigned int flags)
{
	char path[64];
	struct pm_scan_arg probe = { .size = sizeof(probe) };

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	s->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->pagemap_fd < 0) {
		int err = -errno;

		pr_perror("open %s", path);
		return err;
	}
	/* an empty walk tells whether the ioctl is there */
	probe.return_mask = PAGE_IS_PRESENT;
	s->use_ioctl = !(flags & MEM_SCAN_NO_IOCTL) &&
		       ioctl(s->pagemap_fd, PAGEMAP_SCAN, &probe) >= 0;
	if (s->use_ioctl) {
		/* kernels before 6.15 reject the guard category with EINVAL */
		probe.category_mask = PAGE_IS_GUARD;
		s->ioctl_guard = ioctl(s->pagemap_fd, PAGEMAP_SCAN, &probe) >= 0;
		s->vec_len = MEM_SCAN_VEC;
		s->vec = malloc(MEM_SCAN_VEC * sizeof(struct page_region));
	} else {
		s->zero_pfn = mem_zero_pfn();
		if (!s->zero_pfn)
			pr_info("zero page pfn unknown: zero pages will be copied");
		s->vec_len = MEM_SCAN_VEC;
		s->vec = malloc(MEM_SCAN_VEC * sizeof(uint64_t));
	}
	if (!s->vec) {
		close(s->pagemap_fd);
		return -ENOMEM;
	}
	return 0;
}

void mem_scanner_close(struct mem_scanner *s)
{
	if (s->pagemap_fd >= 0)
		close(s->pagemap_fd);
	free(s->vec);
	memset(s, 0, sizeof(*s));
	s->pagemap_fd = -1;
}

int mem_pagemap_walk(int pagemap_fd, struct pm_scan_arg *a, uint64_t start, uint64_t end,
		     mem_region_fn fn, void *arg, bool *ioctl_failed)
{
	const struct page_region *reg = (const struct page_region *)(uintptr_t)a->vec;
	int err;

	if (ioctl_failed)
		*ioctl_failed = false;
	while (start < end) {
		long n;

		a->start = start;
		a->end = end;
		n = ioctl(pagemap_fd, PAGEMAP_SCAN, a);
		if (n < 0) {
			if (ioctl_failed)
				*ioctl_failed = true;
			return -errno;
		}
		for (long i = 0; i < n; i++) {
			err = fn(&reg[i], arg);
			if (err)
				return err;
		}
		/*
		 * A walk that did not fill the vector covered the whole range
		 * (no max_pages). walk_end alone is not trusted: on 6.18 it
		 * was seen lagging behind regions already returned.
		 */
		if ((uint64_t)n < a->vec_len)
			return 0;
		if (a->walk_end > start)
			start = a->walk_end;
		if (reg[n - 1].end > start)
			start = reg[n - 1].end;
	}
	return 0;
}

static int mem_scan_region(const struct page_region *r, void *arg)
{
	return mem_ranges_add(arg, r->start, (r->end - r->start) / MEM_PAGE_SIZE);
}

static int mem_scan_ioctl(struct mem_scanner *s, uint64_t start, uint64_t end,
			  unsigned int flags, struct mem_ranges *out)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.vec = (uint64_t)(uintptr_t)s->vec,
		.vec_len = s->vec_len,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};
	bool ioctl_failed;
	int err;

	if (s->ioctl_guard) {	/* guard markers count as swapped */
		a.category_inverted |= PAGE_IS_GUARD;
		a.category_mask |= PAGE_IS_GUARD;
	}
	if (flags & MEM_SCAN_SKIP_FILE) {
		a.category_inverted |= PAGE_IS_FILE;
		a.category_mask |= PAGE_IS_FILE;
	}
	err = mem_pagemap_walk(s->pagemap_fd, &a, start, end, mem_scan_region, out, &ioctl_failed);
	if (err && ioctl_failed) {
		errno = -err;
		pr_perror("task %d: PAGEMAP_SCAN of %#llx-%#llx", s->pid,
			  (unsigned long long)a.start, (unsigned long long)a.end);
	}
	return err;
}

int mem_region_count(const struct page_region *r, void *arg)
{
	*(uint64_t *)arg += (r->end - r->start) / MEM_PAGE_SIZE;
	return 0;
}

int mem_count_resident(int pagemap_fd, uint64_t start, uint64_t end, uint64_t *pages)
{
	struct page_region vec[64];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.vec = (uint64_t)(uintptr_t)vec,
		.vec_len = sizeof(vec) / sizeof(vec[0]),
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	*pages = 0;
	return mem_pagemap_walk(pagemap_fd, &a, start, end, mem_region_count, pages, NULL);
}

static int mem_scan_pagemap(struct mem_scanner *s, uint64_t start, uint64_t end,
			    unsigned int flags, struct mem_ranges *out)
{
	uint64_t *pm = s->vec;
	bool guards = flags & MEM_SCAN_GUARDS;
	int err;

	while (start < end) {
		uint64_t pages = (end - start) / MEM_PAGE_SIZE;
		ssize_t n;

		if (pages > s->vec_len)
			pages = s->vec_len;
		n = pread(s->pagemap_fd, pm, pages * 8, (off_t)(start / MEM_PAGE_SIZE * 8));
		if (n < 0 || n % 8 || n == 0) {
			err = n < 0 ? -errno : -EIO;
			pr_err("task %d: reading pagemap at %#llx: %s", s->pid,
			       (unsigned long long)start, strerror(-err));
			return err;
		}
		pages = (uint64_t)n / 8;
		for (uint64_t i = 0; i < pages; i++) {
			uint64_t e = pm[i];

			if (guards) {
				err = (e & PM_ENTRY_GUARD) ?
				      mem_ranges_add(out, start + i * MEM_PAGE_SIZE, 1) : 0;
				if (err)
					return err;
				continue;
			}
			if (!(e & (PM_ENTRY_PRESENT | PM_ENTRY_SWAP)) || (e & PM_ENTRY_GUARD))
				continue;
			if ((e & PM_ENTRY_PRESENT) && s->zero_pfn && (e & PM_PFN_MASK) == s->zero_pfn)
				continue;
			if ((flags & MEM_SCAN_SKIP_FILE) && (e & PM_ENTRY_FILE))
				continue;
			err = mem_ranges_add(out, start + i * MEM_PAGE_SIZE, 1);
			if (err)
				return err;
		}
		start += pages * MEM_PAGE_SIZE;
	}
	return 0;
}

int mem_scan(struct mem_scanner *s, uint64_t start, uint64_t end,
	     unsigned int flags, struct mem_ranges *out)
{
	if ((start | end) & (MEM_PAGE_SIZE - 1) || start > end)
		return -EINVAL;
	if (s->use_ioctl)
		return mem_scan_ioctl(s, start, end, flags, out);
	return mem_scan_pagemap(s, start, end, flags, out);
}

int mem_scan_guards(struct mem_scanner *s, uint64_t start, uint64_t end, struct mem_ranges *out)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.vec = (uint64_t)(uintptr_t)s->vec,
		.vec_len = s->vec_len,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	bool ioctl_failed;
	int err;

	if ((start | end) & (MEM_PAGE_SIZE - 1) || start > end)
		return -EINVAL;
	if (!s->ioctl_guard)	/* the pagemap bit (6.15) or nothing marked */
		return mem_scan_pagemap(s, start, end, MEM_SCAN_GUARDS, out);
	err = mem_pagemap_walk(s->pagemap_fd, &a, start, end, mem_scan_region, out, &ioctl_failed);
	if (err && ioctl_failed) {
		errno = -err;
		pr_perror("task %d: PAGEMAP_SCAN for guard regions of %#llx-%#llx", s->pid,
			  (unsigned long long)a.start, (unsigned long long)a.end);
	}
	return err;
}
