/* track — dirty tracking in its three modes (see track.h for the design and
 * for how the state survives between crisp runs). Touches the task only in
 * track_create (a remote userfaultfd()) and through kernel interfaces on its
 * mm; reads no page contents.
 */
#include "track.h"
#include "proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "probes.h"
#include "proc_stat.h"
#include "uapi-compat.h"

#define TRACK_VEC 4096			/* regions per PAGEMAP_SCAN call */
/* While the task runs, page-table walks go in steps of this much: each call
 * holds the task's mmap lock for reading, and a writer waiting behind it
 * (an mmap in the task) would hold up the task's page faults meanwhile. */
#define TRACK_STEP (32ull << 20)
/* The kernel does not reschedule inside one unprotect: a small step keeps
 * each ioctl, and so what a thread sharing our CPU waits, short. */
#define TRACK_UNWIND_STEP (2ull << 20)
#define TRACK_UFFD_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
#define PM_PFN_MASK ((1ULL << 55) - 1)

enum track_mode track_probe_mode(void)
{
	struct probe_result r;

	probe_uffd_wp_async(&r);
	if (r.ok)
		return TRACK_UFFD_WP;
	probe_soft_dirty(&r);
	return r.ok ? TRACK_SOFT_DIRTY : TRACK_FULL;
}

const char *track_mode_name(enum track_mode m)
{
	switch (m) {
	case TRACK_UFFD_WP: return "uffd-wp-async";
	case TRACK_SOFT_DIRTY: return "soft-dirty";
	default: return "full-copy";
	}
}

void track_vma_scan_free(struct track_vma_scan *s)
{
	mem_ranges_free(&s->present);
	mem_ranges_free(&s->written);
	mem_ranges_free(&s->guards);
	s->tracked = false;
	s->guards_scanned = false;
}

/*
 * The pagemap entry (swap bit and swap entry) of a uffd-wp marker on this
 * kernel, learnt once on a page of our own: protecting a page never
 * populated leaves one. 0 when none shows.
 */
static uint64_t track_marker_entry(void)
{
	static uint64_t marker;
	static bool probed;
	struct uffdio_api api = { .api = UFFD_API, .features = TRACK_UFFD_FEATURES };
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	int uffd, pm;
	char *m;

	if (probed)
		return marker;
	probed = true;
	m = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 0;
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd >= 0 && !ioctl(uffd, UFFDIO_API, &api)) {
		struct uffdio_register reg = { .range = { (uintptr_t)m, (uint64_t)ps },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = reg.range,
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pm >= 0 && !ioctl(uffd, UFFDIO_REGISTER, &reg) &&
		    !ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) &&
		    pread(pm, &e, sizeof(e), (off_t)((uintptr_t)m / (uint64_t)ps * 8)) == sizeof(e) &&
		    (e & (PM_ENTRY_SWAP | PM_ENTRY_PRESENT)) == PM_ENTRY_SWAP)
			marker = e & (PM_ENTRY_SWAP | PM_PFN_MASK);
		if (pm >= 0)
			close(pm);
	}
	if (uffd >= 0)
		close(uffd);
	munmap(m, (size_t)ps);
	return marker;
}

int track_open(struct track_ctx *t, pid_t pid, enum track_mode mode)
{
	struct proc_stat st;
	char path[64];
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->uffd = t->keeper = t->pagemap_fd = -1;
	err = proc_read_stat(pid, 0, &st);
	if (err)
		return err;
	t->start_time = st.start_time;
	if (mode != TRACK_FULL) {
		enum track_mode have = track_probe_mode();

		if (have != mode && !(mode == TRACK_UFFD_WP && have == TRACK_SOFT_DIRTY))
			mode = TRACK_FULL;
		else
			mode = have;
	}
	t->mode = mode;
	if (mode == TRACK_SOFT_DIRTY) {
		struct mem_scanner sc;

		if (!mem_scanner_open(&sc, pid, MEM_SCAN_NO_IOCTL)) {
			t->zero_pfn = sc.zero_pfn;
			mem_scanner_close(&sc);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	t->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pagemap_fd < 0) {
		err = -errno;
		pr_perror("open %s", path);
		return err;
	}
	t->vec_len = TRACK_VEC;
	t->vec = calloc(TRACK_VEC, sizeof(struct page_region) > 8 ?
				   sizeof(struct page_region) : 8);
	if (!t->vec)
		return -ENOMEM;
	if (mode != TRACK_UFFD_WP)
		return 0;
	t->marker = track_marker_entry();
	t->keeper = track_keeper_connect(pid, t->start_time);
	if (t->keeper < 0) {
		t->keeper = -1;
		return 0;	/* the first round: nothing armed yet */
	}
	err = track_keeper_get(t->keeper, &t->uffd, &t->have_stamp, &t->stamp);
	if (err) {
		pr_err("task %d: the tracking keeper did not hand over its userfaultfd: %s",
		       (int)pid, strerror(-err));
		close(t->keeper);
		t->keeper = t->uffd = -1;
		return err;
	}
	pr_info("task %d: tracking state taken from its keeper (%s)", (int)pid,
		t->have_stamp ? "committed" : "not committed: full round");
	return 0;
}

bool track_relative_to(const struct track_ctx *t, const struct track_stamp *parent)
{
	switch (t->mode) {
	case TRACK_UFFD_WP:
		return t->uffd >= 0 && t->have_stamp && parent &&
		       t->stamp.dev == parent->dev && t->stamp.ino == parent->ino &&
		       t->stamp.uptime == parent->uptime;
	case TRACK_SOFT_DIRTY:
		return parent != NULL;	/* the bits live in the kernel, as CRIU's */
	default:
		return false;
	}
}

int track_begin_round(struct track_ctx *t)
{
	int err;

	if (t->keeper < 0)
		return 0;
	err = track_keeper_invalidate(t->keeper);
	if (err)
		pr_err("task %d: the tracking keeper does not answer: %s", (int)t->pid, strerror(-err));
	return err;
}

/* Runs one remote syscall whose result must not be an error. */
static int track_remote(struct infect_ctx *ic, long nr, const uint64_t a[6],
			const char *what, long *ret)
{
	int err = infect_syscall(ic, nr, a, ret);

	if (!err && *ret < 0 && *ret > -4096)
		err = (int)*ret;
	if (err)
		pr_err("task %d: remote %s: %s", ic->pid, what, strerror(-err));
	return err;
}

int track_create(struct track_ctx *t, struct infect_ctx *ic)
{
	const uint64_t ua[6] = { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY };
	struct uffdio_api api = { .api = UFFD_API, .features = TRACK_UFFD_FEATURES };
	long rfd, r;
	int pidfd, err, err2;

	if (t->mode != TRACK_UFFD_WP || t->uffd >= 0)
		return 0;
	err = track_remote(ic, SYS_userfaultfd, ua, "userfaultfd", &rfd);
	if (err)
		return err;
	pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (pidfd >= 0) {
		t->uffd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)rfd, 0);
		err = t->uffd < 0 ? -errno : 0;
		close(pidfd);
	} else {
		err = -errno;
	}
	if (err)
		pr_err("task %d: taking its userfaultfd with pidfd_getfd: %s", (int)t->pid,
		       strerror(-err));
	/* the task's copy goes in any case: no trace in its fd table */
	{
		const uint64_t ca[6] = { (uint64_t)rfd };

		err2 = track_remote(ic, SYS_close, ca, "close", &r);
	}
	if (!err)
		err = err2;
	if (!err && ioctl(t->uffd, UFFDIO_API, &api)) {
		err = -errno;
		pr_perror("task %d: UFFDIO_API with WP_ASYNC|WP_UNPOPULATED", (int)t->pid);
	}
	if (err && t->uffd >= 0) {
		close(t->uffd);
		t->uffd = -1;
	}
	return err;
}

/*
 * [@start, @end), reported swapped and not written: adds to @out->present
 * the pages that hold something, reading their pagemap entries to leave
 * out the markers. Without a known marker every page counts.
 */
static int track_swapped(struct track_ctx *t, uint64_t start, uint64_t end,
			 struct mem_ranges *present)
{
	uint64_t pm[512];

	if (!t->marker)
		return mem_ranges_add(present, start, (end - start) / MEM_PAGE_SIZE);
	while (start < end) {
		uint64_t pages = (end - start) / MEM_PAGE_SIZE;
		ssize_t n;

		if (pages > sizeof(pm) / sizeof(pm[0]))
			pages = sizeof(pm) / sizeof(pm[0]);
		n = pread(t->pagemap_fd, pm, pages * 8, (off_t)(start / MEM_PAGE_SIZE * 8));
		if (n <= 0 || n % 8)
			return n < 0 ? -errno : -EIO;
		for (size_t i = 0; i < (size_t)n / 8; i++) {
			int err;

			if (!(pm[i] & PM_ENTRY_PRESENT) &&
			    (pm[i] & (PM_ENTRY_SWAP | PM_PFN_MASK)) == t->marker)
				continue;
			err = mem_ranges_add(present, start + i * MEM_PAGE_SIZE, 1);
			if (err)
				return err;
		}
		start += (uint64_t)n / 8 * MEM_PAGE_SIZE;
	}
	return 0;
}

/* What a present-pages walk classifies. */
struct track_present {
	struct track_ctx *t;
	struct track_vma_scan *out;
};

/* A region of a present-pages walk: present (or swapped), and written too
 * if marked so; swapped, unwritten ones may be markers. */
static int track_scan_region(const struct page_region *r, void *arg)
{
	struct track_present *p = arg;
	uint64_t cat = r->categories, pages = (r->end - r->start) / MEM_PAGE_SIZE;
	int err;

	if (!(cat & (PAGE_IS_PRESENT | PAGE_IS_WRITTEN)))
		return track_swapped(p->t, r->start, r->end, &p->out->present);
	err = mem_ranges_add(&p->out->present, r->start, pages);
	if (!err && (cat & PAGE_IS_WRITTEN))
		err = mem_ranges_add(&p->out->written, r->start, pages);
	return err;
}

/* One PAGEMAP_SCAN walk of [start, end) with @sflags; returns -EPERM for a
 * VMA that is not tracked (PM_SCAN_CHECK_WPASYNC). */
static int track_scan(struct track_ctx *t, uint64_t start, uint64_t end, unsigned int flags,
		      uint64_t sflags, struct track_vma_scan *out)
{
	struct track_present p = { t, out };
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = sflags,
		.vec = (uint64_t)(uintptr_t)t->vec,
		.vec_len = t->vec_len,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
	};

	if (flags & MEM_SCAN_SKIP_FILE) {
		a.category_inverted |= PAGE_IS_FILE;
		a.category_mask |= PAGE_IS_FILE;
	}
	return mem_pagemap_walk(t->pagemap_fd, &a, start, end, track_scan_region, &p, NULL);
}

/* Present pages only, everything written: the untracked case. */
static int track_collect_all(struct track_ctx *t, uint64_t start, uint64_t end,
			     unsigned int flags, struct track_vma_scan *out)
{
	struct mem_scanner sc;
	int err;

	out->tracked = false;
	err = 0;
	for (uint64_t a = start, e; a < end && !err; a = e) {
		e = end - a > TRACK_STEP ? a + TRACK_STEP : end;
		err = track_scan(t, a, e, flags, 0, out);
	}
	if (err == -EINVAL || err == -ENOTTY) {
		mem_ranges_free(&out->present);
		/* no PAGEMAP_SCAN: read the pagemap */
		err = mem_scanner_open(&sc, t->pid, MEM_SCAN_NO_IOCTL);
		if (!err) {
			err = mem_scan(&sc, start, end, flags, &out->present);
			mem_scanner_close(&sc);
		}
	}
	if (err)
		return err;
	for (size_t i = 0; i < out->present.nr && !err; i++)
		err = mem_ranges_add(&out->written, out->present.r[i].start,
				       out->present.r[i].nr_pages);
	return err;
}

static int track_collect_sd(struct track_ctx *t, uint64_t start, uint64_t end,
			    unsigned int flags, struct track_vma_scan *out)
{
	uint64_t *pm = t->vec;
	size_t cap = t->vec_len * sizeof(struct page_region) / 8;
	int err;

	out->tracked = true;
	while (start < end) {
		uint64_t pages = (end - start) / MEM_PAGE_SIZE;
		ssize_t n;

		if (pages > cap)
			pages = cap;
		n = pread(t->pagemap_fd, pm, pages * 8, (off_t)(start / MEM_PAGE_SIZE * 8));
		if (n <= 0 || n % 8)
			return n < 0 ? -errno : -EIO;
		err = track_sd_parse(pm, (size_t)n / 8, start, t->zero_pfn, flags, out);
		if (err)
			return err;
		start += (uint64_t)n / 8 * MEM_PAGE_SIZE;
	}
	return 0;
}

int track_collect(struct track_ctx *t, uint64_t start, uint64_t end,
		  unsigned int flags, bool reprotect, struct track_vma_scan *out)
{
	uint64_t sflags = PM_SCAN_CHECK_WPASYNC | (reprotect ? PM_SCAN_WP_MATCHING : 0);
	int err = 0;

	memset(out, 0, sizeof(*out));
	if ((start | end) & (MEM_PAGE_SIZE - 1) || start > end)
		return -EINVAL;
	if (t->mode == TRACK_SOFT_DIRTY)
		return track_collect_sd(t, start, end, flags, out);
	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return track_collect_all(t, start, end, flags, out);
	out->tracked = true;
	if (reprotect) {
		err = track_scan(t, start, end, flags, sflags, out);
	} else {
		for (uint64_t a = start, e; a < end && !err; a = e) {
			e = end - a > TRACK_STEP ? a + TRACK_STEP : end;
			err = track_scan(t, a, e, flags, sflags, out);
		}
	}
	if (err == -EPERM) {
		/* not registered (created since the last round) */
		track_vma_scan_free(out);
		return track_collect_all(t, start, end, flags, out);
	}
	if (err)
		pr_err("task %d: PAGEMAP_SCAN (written pages) of %#llx-%#llx: %s", (int)t->pid,
		       (unsigned long long)start, (unsigned long long)end, strerror(-err));
	return err;
}

/* What the final walk classifies, in address order. */
struct track_final {
	struct track_ctx *t;
	struct track_vma_scan *out;
	uint64_t cursor;		/* classified up to here */
	bool skip_file;
};

/* [cursor, @to) did not come back from the walk: present, not written, not
 * the zero page, no guard (nor a file page, where those are left out). */
static int track_final_unchanged(struct track_final *f, uint64_t to)
{
	uint64_t from = f->cursor;

	if (to <= from)
		return 0;
	f->cursor = to;
	return mem_ranges_add(&f->out->present, from, (to - from) / MEM_PAGE_SIZE);
}

static int track_final_region(const struct page_region *r, void *arg)
{
	struct track_final *f = arg;
	uint64_t cat = r->categories, pages = (r->end - r->start) / MEM_PAGE_SIZE;
	int err = track_final_unchanged(f, r->start);

	f->cursor = r->end;
	if (err)
		return err;
	/* a guard marker also reads as swapped: it goes first */
	if (cat & PAGE_IS_GUARD)
		return mem_ranges_add(&f->out->guards, r->start, pages);
	if ((cat & PAGE_IS_PFNZERO) || ((cat & PAGE_IS_FILE) && f->skip_file))
		return 0;
	if (!(cat & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)))
		return 0;	/* nothing mapped: reads as zeros */
	if (!(cat & (PAGE_IS_PRESENT | PAGE_IS_WRITTEN)))
		return track_swapped(f->t, r->start, r->end, &f->out->present);
	err = mem_ranges_add(&f->out->present, r->start, pages);
	if (!err && (cat & PAGE_IS_WRITTEN))
		err = mem_ranges_add(&f->out->written, r->start, pages);
	return err;
}

int track_collect_final_walk(struct track_ctx *t, struct page_region *vec, size_t vec_len,
			     uint64_t start, uint64_t end, unsigned int flags,
			     struct track_vma_scan *out)
{
	bool skip_file = flags & MEM_SCAN_SKIP_FILE;
	uint64_t any = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO | PAGE_IS_GUARD | PAGE_IS_PRESENT |
		       (skip_file ? PAGE_IS_FILE : 0);
	/* PRESENT inverted: "any of" then also takes every page not present */
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.vec = (uint64_t)(uintptr_t)vec,
		.vec_len = vec_len,
		.category_inverted = PAGE_IS_PRESENT,
		.category_anyof_mask = any,
		.return_mask = any | PAGE_IS_SWAPPED,
	};
	struct track_final f = { .t = t, .out = out, .cursor = start, .skip_file = skip_file };
	bool ioctl_failed = false;
	int err;

	memset(out, 0, sizeof(*out));
	if ((start | end) & (MEM_PAGE_SIZE - 1) || start > end || !vec || !vec_len)
		return -EINVAL;
	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return -EAGAIN;
	out->tracked = out->guards_scanned = true;
	err = mem_pagemap_walk(t->pagemap_fd, &a, start, end, track_final_region, &f,
			       &ioctl_failed);
	if (!err)
		err = track_final_unchanged(&f, end);
	if (err && ioctl_failed && (err == -EPERM || err == -EINVAL)) {
		/* not registered, or no PAGE_IS_GUARD in this kernel's walk */
		track_vma_scan_free(out);
		return -EAGAIN;
	}
	if (err) {
		track_vma_scan_free(out);
		pr_err("task %d: PAGEMAP_SCAN (final) of %#llx-%#llx: %s", (int)t->pid,
		       (unsigned long long)start, (unsigned long long)end, strerror(-err));
	}
	return err;
}

int track_collect_final(struct track_ctx *t, uint64_t start, uint64_t end,
			unsigned int flags, struct track_vma_scan *out)
{
	int err = track_collect_final_walk(t, t->vec, t->vec_len, start, end, flags, out);

	if (err == -EAGAIN)
		return track_collect(t, start, end, flags, false, out);
	return err;
}

/* What collecting re-protected written ranges gathers. */
struct track_written {
	struct mem_ranges *written;
	bool any;			/* a region came back */
};

static int track_written_region(const struct page_region *r, void *arg)
{
	struct track_written *w = arg;

	w->any = true;
	return mem_ranges_add(w->written, r->start, (r->end - r->start) / MEM_PAGE_SIZE);
}

int track_collect_written(struct track_ctx *t, uint64_t start, uint64_t end,
			  struct mem_ranges *written, bool *tracked)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.vec = (uint64_t)(uintptr_t)t->vec,
		.vec_len = t->vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	struct track_written w = { .written = written };
	bool ioctl_failed;
	int err;

	*tracked = false;
	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return 0;
	err = mem_pagemap_walk(t->pagemap_fd, &a, start, end, track_written_region, &w,
			       &ioctl_failed);
	/* tracked once a scan succeeded: a later scan runs only after a full
	 * vector came back */
	*tracked = !err || w.any;
	if (err == -EPERM && ioctl_failed)
		return 0;	/* not registered */
	if (err && ioctl_failed)
		pr_err("task %d: PAGEMAP_SCAN (written, re-protect) of %#llx-%#llx: %s",
		       (int)t->pid, (unsigned long long)a.start, (unsigned long long)a.end,
		       strerror(-err));
	return err;
}

int track_collect_touched(struct track_ctx *t, struct page_region *vec, size_t vec_len,
			  uint64_t start, uint64_t end, struct mem_ranges *out)
{
	/* only WRITTEN asked and returned: the fast path, which takes every
	 * entry without the protection bit (empty ones too) as written */
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.vec = (uint64_t)(uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	struct track_written w = { .written = out };
	bool ioctl_failed = false;
	int err;

	if ((start | end) & (MEM_PAGE_SIZE - 1) || start > end || !vec || !vec_len)
		return -EINVAL;
	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return -EAGAIN;
	err = mem_pagemap_walk(t->pagemap_fd, &a, start, end, track_written_region, &w,
			       &ioctl_failed);
	if (err && ioctl_failed && (err == -EPERM || err == -EINVAL))
		return -EAGAIN;
	if (err)
		pr_err("task %d: PAGEMAP_SCAN (changed pages) of %#llx-%#llx: %s", (int)t->pid,
		       (unsigned long long)start, (unsigned long long)end, strerror(-err));
	return err;
}

int track_count_written(struct track_ctx *t, uint64_t *pages)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.vec = (uint64_t)(uintptr_t)t->vec,
		.vec_len = t->vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};

	*pages = 0;
	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return -EOPNOTSUPP;
	/* the user address space of x86_64 */
	return mem_pagemap_walk(t->pagemap_fd, &a, MEM_PAGE_SIZE, (1ull << 47) - MEM_PAGE_SIZE,
				mem_region_count,
				pages, NULL);
}

bool track_too_sparse(int pagemap_fd, uint64_t start, uint64_t end)
{
	uint64_t resident;

	if (end - start <= TRACK_SPARSE_BYTES ||
	    mem_count_resident(pagemap_fd, start, end, &resident))
		return false;	/* small, or gone: protecting says which */
	return resident * 64 < (end - start) / MEM_PAGE_SIZE;
}

int track_protect(struct track_ctx *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { start, end - start },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int err;

	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return -EOPNOTSUPP;
	if (track_too_sparse(t->pagemap_fd, start, end)) {
		pr_info("task %d: mapping %#llx-%#llx (%llu MiB) is mostly not resident: left "
			"untracked, each round copies what it holds", (int)t->pid,
			(unsigned long long)start, (unsigned long long)end,
			(unsigned long long)((end - start) >> 20));
		return -E2BIG;
	}
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg)) {
		err = -errno;
		if (err == -EBUSY)
			pr_err("task %d: mapping %#llx-%#llx is registered with another userfaultfd: "
			       "the task uses userfaultfd itself, which crisp cannot track",
			       (int)t->pid, (unsigned long long)start, (unsigned long long)end);
		else
			pr_debug("task %d: UFFDIO_REGISTER %#llx-%#llx: %d (left untracked)",
				 (int)t->pid, (unsigned long long)start,
				 (unsigned long long)end, err);
		return err;
	}
	err = 0;
	for (uint64_t a = start; a < end && !err; a += TRACK_STEP) {
		wp.range.start = a;
		wp.range.len = end - a > TRACK_STEP ? TRACK_STEP : end - a;
		if (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp))
			err = -errno;
	}
	if (err) {
		pr_debug("task %d: UFFDIO_WRITEPROTECT %#llx-%#llx: %d", (int)t->pid,
			 (unsigned long long)start, (unsigned long long)end, err);
		/* registered but unprotected would read as clean: undo */
		ioctl(t->uffd, UFFDIO_UNREGISTER, &reg.range);
		return err;
	}
	return 0;
}

int track_sd_reset(struct track_ctx *t)
{
	char path[64];
	int fd, err = 0;

	if (t->mode != TRACK_SOFT_DIRTY)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)t->pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "4", 1) != 1)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		pr_err("task %d: clearing soft-dirty bits: %s", (int)t->pid, strerror(-err));
	return err;
}

int track_sd_parse(const uint64_t *pm, size_t n, uint64_t start,
		   uint64_t zero_pfn, unsigned int flags, struct track_vma_scan *out)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t e = pm[i], addr = start + i * MEM_PAGE_SIZE;
		int err;

		if (!(e & (PM_ENTRY_PRESENT | PM_ENTRY_SWAP)))
			continue;
		if ((e & PM_ENTRY_PRESENT) && zero_pfn && (e & PM_PFN_MASK) == zero_pfn)
			continue;
		if ((flags & MEM_SCAN_SKIP_FILE) && (e & PM_ENTRY_FILE))
			continue;
		err = mem_ranges_add(&out->present, addr, 1);
		if (!err && (e & PM_ENTRY_SOFT_DIRTY))
			err = mem_ranges_add(&out->written, addr, 1);
		if (err)
			return err;
	}
	return 0;
}

int track_commit(struct track_ctx *t, const struct track_stamp *s)
{
	const char *exe = t->keeper_exe ? t->keeper_exe : "/proc/self/exe";
	int err;

	if (t->mode != TRACK_UFFD_WP || t->uffd < 0)
		return 0;
	if (t->keeper < 0) {
		err = track_keeper_spawn(exe, t->pid, t->start_time, t->uffd);
		if (err)
			return err;
		t->keeper = track_keeper_connect(t->pid, t->start_time);
		if (t->keeper < 0) {
			err = t->keeper;
			t->keeper = -1;
			pr_err("task %d: cannot reach the tracking keeper just started: %s",
			       (int)t->pid, strerror(-err));
			return err;
		}
	}
	err = track_keeper_commit(t->keeper, s);
	if (err)
		pr_err("task %d: the tracking keeper refused the commit: %s", (int)t->pid,
		       strerror(-err));
	return err;
}

/*
 * Closing the last uffd reference makes the kernel unprotect and unregister
 * every VMA at once, holding the task's mmap lock for writing throughout:
 * about 0.5 s at 4 GiB on this machine's kernel, during which any fault or
 * mmap of the task waits. Undoing it here 2 MiB at a time (unprotect
 * under the lock taken for reading, then unregister) lets the task run
 * meanwhile: after a final dump -R of 4 GiB, 1.6 s of unprotecting and
 * 0.2 s of unregistering, the lock held for writing at most 3.7 ms at a
 * time (2062 pieces, crisp at nice 19). Best effort: whatever fails is
 * left to the close.
 */
static void track_unwind(struct track_ctx *t)
{
	struct proc_maps m;
	struct timespec t0, t1;
	unsigned long pieces = 0;

	if (proc_read_maps(t->pid, false, &m))
		return;		/* gone (killed): nothing to spare it */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < m.nr; i++) {
		const struct proc_vma *v = &m.vma[i];

		if (v->ino || !(v->prot & PROT_WRITE))
			continue;	/* only anonymous writable memory is registered */
		for (uint64_t a = v->start, e; a < v->end; a = e) {
			struct uffdio_writeprotect wp = { .range = { a, 0 }, .mode = 0 };
			struct uffdio_range r;

			e = v->end - a > TRACK_UNWIND_STEP ? a + TRACK_UNWIND_STEP : v->end;
			wp.range.len = e - a;
			r = wp.range;
			if (!ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp)) {
				ioctl(t->uffd, UFFDIO_UNREGISTER, &r);
				pieces++;
			} else if (a == v->start) {
				break;	/* not registered (too sparse, or new): none of it */
			}
		}
	}
	proc_maps_free(&m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_debug("task %d: tracking undone in %lu pieces in %lld us", (int)t->pid, pieces,
		 (long long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
}

int track_disarm(struct track_ctx *t)
{
	int err = 0;

	if (t->keeper >= 0) {
		err = track_keeper_quit(t->keeper);
		if (err)
			pr_warn("task %d: the tracking keeper did not confirm quitting: %s",
				(int)t->pid, strerror(-err));
		close(t->keeper);
		t->keeper = -1;
	}
	if (t->uffd >= 0) {
		if (t->mode == TRACK_UFFD_WP)
			track_unwind(t);
		/* the last reference: the kernel drops what is left */
		close(t->uffd);
		t->uffd = -1;
	}
	return err;
}

void track_close(struct track_ctx *t)
{
	if (t->keeper >= 0)
		close(t->keeper);
	if (t->uffd >= 0)
		close(t->uffd);
	if (t->pagemap_fd >= 0)
		close(t->pagemap_fd);
	free(t->vec);
	memset(t, 0, sizeof(*t));
	t->keeper = t->uffd = t->pagemap_fd = -1;
}
