/* snap — live snapshot memory copy with synchronous uffd-wp (see snap.h for
 * the protocol). Touches the task only in snap_create (a remote
 * userfaultfd() and close()) and through the userfaultfd on its mm.
 */
#include "snap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "mem_read.h"
#include "mem_scan.h"
#include "probes.h"
#include "track.h"
#include "uapi-compat.h"

#define SNAP_FEATURES	UFFD_FEATURE_WP_UNPOPULATED
#define SNAP_STEP	(32ull << 20)	/* copier chunk: scanned, copied, un-protected */
#define SNAP_BOUNCE	(4ull << 20)	/* one process_vm_readv reads at most this */
#define SNAP_MSGS	64		/* uffd messages per read */
#define SNAP_HANDLER_RT_PRIO 1		/* SCHED_FIFO, where allowed */
#define SNAP_COPIER_NICE 10		/* while copying, for the calling thread */
#define SNAP_UNREG_STEP	(2ull << 20)	/* unregistered at a time once copied */
#define SNAP_HOLD_RUN	(8 * MEM_PAGE_SIZE) /* held of one written run, at most */

static uint64_t snap_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

bool snap_supported(void)
{
	struct probe_result r;

	probe_uffd_wp_sync(&r);
	return r.ok;
}

void snap_init(struct snap_ctx *s, pid_t pid)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->uffd = s->stop_fd = s->pagemap_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
}

static int snap_remote(struct infect_ctx *ic, long nr, const uint64_t a[6], const char *what,
		       long *ret)
{
	int err = infect_syscall(ic, nr, a, ret);

	if (!err && *ret < 0 && *ret > -4096)
		err = (int)*ret;
	if (err)
		pr_info("task %d: remote %s: %s", ic->pid, what, strerror(-err));
	return err;
}

int snap_create(struct snap_ctx *s, struct infect_ctx *ic)
{
	const uint64_t ua[6] = { O_CLOEXEC | O_NONBLOCK };
	struct uffdio_api api = { .api = UFFD_API, .features = SNAP_FEATURES };
	uint64_t ca[6] = { 0 };
	long rfd, r;
	int pidfd, err, err2;

	err = snap_remote(ic, SYS_userfaultfd, ua, "userfaultfd", &rfd);
	if (err)
		return err;
	pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pidfd >= 0) {
		s->uffd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)rfd, 0);
		err = s->uffd < 0 ? -errno : 0;
		close(pidfd);
	} else {
		err = -errno;
	}
	if (err) {
		s->uffd = -1;
		pr_err("task %d: taking its userfaultfd with pidfd_getfd: %s", (int)s->pid,
		       strerror(-err));
	}
	ca[0] = (uint64_t)rfd;	/* the task's copy goes in any case */
	err2 = snap_remote(ic, SYS_close, ca, "close", &r);
	if (!err)
		err = err2;
	if (!err && ioctl(s->uffd, UFFDIO_API, &api)) {
		err = -errno;
		pr_perror("task %d: UFFDIO_API with WP_UNPOPULATED", (int)s->pid);
	}
	if (!err) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->pid);
		s->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->pagemap_fd < 0) {
			err = -errno;
			pr_perror("task %d: open %s", (int)s->pid, path);
		}
	}
	if (err && s->uffd >= 0) {
		close(s->uffd);
		s->uffd = -1;
	}
	return err;
}

static int snap_register(struct snap_ctx *s, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };

	return ioctl(s->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static int snap_wp(struct snap_ctx *s, uint64_t start, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = { start, len },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	return ioctl(s->uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

void snap_hold_buffer(struct snap_ctx *s, uint8_t *buf, size_t len)
{
	s->held_buf = buf;
	s->held_cap = len & ~(size_t)(MEM_PAGE_SIZE - 1);
	s->held_len = 0;
}

void snap_preprotect(struct snap_ctx *s, uint64_t start, uint64_t end)
{
	if (s->uffd < 0 || track_too_sparse(s->pagemap_fd, start, end) ||
	    snap_register(s, start, end))
		return;
	/* no room to note it: snap_protect counts the pages again */
	mem_ranges_add(&s->prearmed, start, (end - start) / MEM_PAGE_SIZE);
	for (uint64_t a = start; a < end; a += SNAP_STEP)
		if (snap_wp(s, a, end - a > SNAP_STEP ? SNAP_STEP : end - a))
			return;
}

/* Claims page @i of @a: true when this caller is the first. */
static bool snap_claim(struct snap_area *a, uint64_t i)
{
	uint64_t bit = 1ull << (i % 64);

	return !(__atomic_fetch_or(&a->claimed[i / 64], bit, __ATOMIC_ACQ_REL) & bit);
}

static bool snap_is_claimed(const struct snap_area *a, uint64_t i)
{
	return __atomic_load_n(&a->claimed[i / 64], __ATOMIC_ACQUIRE) & (1ull << (i % 64));
}

struct snap_protect_walk {
	struct snap_ctx *s;
	struct snap_area *a;
	bool hold;		/* the area was pre-armed: what is unprotected was written */
};

/* Where the held pages stood before an area's walk (undone if it fails). */
struct snap_held_mark {
	size_t nr;
	uint64_t pages;
	size_t len;
	uint64_t stat;
	uint64_t last_pages;
};

/* Reads what it can of the written region [@start, @end) into the held
 * buffer and claims it; returns where the rest begins. */
static uint64_t snap_hold(struct snap_protect_walk *w, uint64_t start, uint64_t end)
{
	struct snap_ctx *s = w->s;
	uint64_t room = s->held_cap - s->held_len, len = end - start;
	struct iovec l, r;
	ssize_t n;

	if (!w->hold || !s->held_buf || room < MEM_PAGE_SIZE)
		return start;
	if (len > room)
		len = room & ~(MEM_PAGE_SIZE - 1);
	l = (struct iovec){ s->held_buf + s->held_len, len };
	r = (struct iovec){ (void *)(uintptr_t)start, len };
	n = process_vm_readv(s->pid, &l, 1, &r, 1, 0);
	if (n <= 0)
		return start;
	len = (uint64_t)n & ~(MEM_PAGE_SIZE - 1);
	if (!len || mem_ranges_add(&s->held, start, len / MEM_PAGE_SIZE))
		return start;
	for (uint64_t i = (start - w->a->start) / MEM_PAGE_SIZE, k = 0; k < len / MEM_PAGE_SIZE;
	     k++)
		snap_claim(w->a, i + k);
	s->held_len += len;
	s->st.held += len / MEM_PAGE_SIZE;
	return start + len;
}

static int snap_protect_range(struct snap_ctx *s, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	s->st.reprotected += (end - start) / MEM_PAGE_SIZE;
	return snap_wp(s, start, end - start);
}

/* A run of pages written since the pre-arming: its last SNAP_HOLD_RUN are
 * held (a stack, a counter, the page a sequential writer is at: what is
 * written again at once), the rest protected again. */
static int snap_protect_region(const struct page_region *r, void *arg)
{
	struct snap_protect_walk *w = arg;
	uint64_t tail = r->end - r->start > SNAP_HOLD_RUN ? r->end - SNAP_HOLD_RUN : r->start;
	uint64_t held_to = snap_hold(w, tail, r->end);
	int err = snap_protect_range(w->s, r->start, tail);

	return err ? err : snap_protect_range(w->s, held_to, r->end);
}

/* [@start, @end) lies in what snap_preprotect registered. */
static bool snap_prearmed(const struct snap_ctx *s, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < s->prearmed.nr; i++) {
		const struct mem_range *r = &s->prearmed.r[i];

		if (start >= r->start && end <= r->start + r->nr_pages * MEM_PAGE_SIZE)
			return true;
	}
	return false;
}

int snap_protect(struct snap_ctx *s, uint64_t start, uint64_t end, size_t dst_off)
{
	/* not write-protected (or not populated and without a marker) */
	struct pm_scan_arg scan = {
		.size = sizeof(scan),
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	struct page_region vec[256];
	uint64_t pages = (end - start) / MEM_PAGE_SIZE;
	struct snap_protect_walk walk;
	struct snap_held_mark held_was;
	struct snap_area *a;
	int err;

	if (s->uffd < 0)
		return -EBADF;
	/* counted before the freeze where snap_preprotect took it: not again */
	if (!snap_prearmed(s, start, end) && track_too_sparse(s->pagemap_fd, start, end))
		return -E2BIG;	/* copied frozen */
	if (s->nr_area == s->cap_area) {
		size_t cap = s->cap_area ? s->cap_area * 2 : 16;
		struct snap_area *n = realloc(s->area, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->area = n;
		s->cap_area = cap;
	}
	a = &s->area[s->nr_area];
	memset(a, 0, sizeof(*a));
	a->claimed = calloc((pages + 63) / 64, sizeof(uint64_t));
	a->zero = calloc((pages + 63) / 64, sizeof(uint64_t));
	if (!a->claimed || !a->zero) {
		free(a->claimed);
		free(a->zero);
		return -ENOMEM;
	}
	err = snap_register(s, start, end);
	if (err) {
		free(a->claimed);
		free(a->zero);
		return err;
	}
	scan.vec = (uint64_t)(uintptr_t)vec;
	scan.vec_len = sizeof(vec) / sizeof(vec[0]);
	a->start = start;
	walk = (struct snap_protect_walk){ s, a, snap_prearmed(s, start, end) };
	held_was = (struct snap_held_mark){ s->held.nr, s->held.pages, s->held_len, s->st.held,
					    s->held.nr ? s->held.r[s->held.nr - 1].nr_pages : 0 };
	err = mem_pagemap_walk(s->pagemap_fd, &scan, start, end, snap_protect_region, &walk, NULL);
	if (err) {
		struct uffdio_range r = { start, end - start };

		/* copied frozen after all: this area holds nothing */
		s->held.nr = held_was.nr;
		s->held.pages = held_was.pages;
		s->held_len = held_was.len;
		s->st.held = held_was.stat;
		if (held_was.nr)
			s->held.r[held_was.nr - 1].nr_pages = held_was.last_pages;

		pr_err("task %d: write-protecting %#llx-%#llx: %s", (int)s->pid,
		       (unsigned long long)start, (unsigned long long)end, strerror(-err));
		ioctl(s->uffd, UFFDIO_UNREGISTER, &r);
		free(a->claimed);
		free(a->zero);
		return err;
	}
	a->start = a->done_upto = start;
	a->end = end;
	a->dst_off = dst_off;
	s->nr_area++;
	return 0;
}

void snap_pause(struct snap_ctx *s)
{
	if (s->handler_running && !s->paused) {
		pthread_mutex_lock(&s->lock);
		s->paused = true;
	}
}

static void snap_unpause(struct snap_ctx *s)
{
	if (s->paused) {
		s->paused = false;
		pthread_mutex_unlock(&s->lock);
	}
}

static struct snap_area *snap_find(struct snap_ctx *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nr_area;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < s->area[mid].start)
			hi = mid;
		else if (addr >= s->area[mid].end)
			lo = mid + 1;
		else
			return &s->area[mid];
	}
	return NULL;
}

/* Removes the protection of [start, start + len) and wakes its writers.
 * A range that is no longer registered (unmapped meanwhile) is fine. */
static int snap_unprotect(struct snap_ctx *s, uint64_t start, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = { start, len }, .mode = 0 };
	int tries = 0;

	while (ioctl(s->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno == EAGAIN && ++tries < 1000)
			continue;
		if (errno == ENOENT || errno == EINVAL)
			return 0;
		return -errno;
	}
	return 0;
}

/*
 * A chunk the copier is done with leaves the registration, a few pages at a
 * time. Closing the userfaultfd would otherwise walk every page table entry
 * of every registered VMA at once with the task's mmap lock held for
 * writing (a 480 ms stall of a 1 GiB task seen here), and its faults would wait.
 * Unregistering takes that lock too, but only for SNAP_UNREG_STEP. Best
 * effort: what fails is left to the close.
 */
static void snap_unregister(struct snap_ctx *s, uint64_t start, uint64_t end)
{
	for (uint64_t a = start, e; a < end; a = e) {
		struct uffdio_range r;

		e = end - a > SNAP_UNREG_STEP ? a + SNAP_UNREG_STEP : end;
		r = (struct uffdio_range){ a, e - a };
		if (ioctl(s->uffd, UFFDIO_UNREGISTER, &r) && errno != EINVAL && errno != ENOENT)
			return;
	}
}

static bool snap_all_zero(const uint8_t *page)
{
	const uint64_t *w = (const uint64_t *)page;

	for (size_t i = 0; i < MEM_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* A write fault at @addr: keep the page's value first, then let the write go. */
static int snap_fault(struct snap_ctx *s, uint64_t addr, uint8_t *page)
{
	uint64_t pa = addr & ~(MEM_PAGE_SIZE - 1);
	struct snap_area *a = s->copying ? snap_find(s, pa) : NULL;

	s->st.faults++;
	if (a && s->copying) {
		uint64_t i = (pa - a->start) / MEM_PAGE_SIZE;

		if (!snap_is_claimed(a, i)) {
			struct iovec l = { page, MEM_PAGE_SIZE };
			struct iovec r = { (void *)(uintptr_t)pa, MEM_PAGE_SIZE };
			ssize_t n = process_vm_readv(s->pid, &l, 1, &r, 1, 0);

			/* below done_upto the copier un-protected it: the read may
			 * be newer than the freeze (and it was not present then) */
			if (n == (ssize_t)MEM_PAGE_SIZE &&
			    pa >= __atomic_load_n(&a->done_upto, __ATOMIC_ACQUIRE) &&
			    snap_claim(a, i)) {
				/* mostly pages not populated at the freeze: an
				 * absent page restores as zeros just the same */
				if (snap_all_zero(page))
					__atomic_fetch_or(&a->zero[i / 64], 1ull << (i % 64),
							  __ATOMIC_RELAXED);
				else
					memcpy(s->base + a->dst_off + i * MEM_PAGE_SIZE, page,
					       MEM_PAGE_SIZE);
				s->st.pages_faulted++;
			}
		}
	}
	return snap_unprotect(s, pa, MEM_PAGE_SIZE);
}

static void *snap_handler(void *arg)
{
	struct snap_ctx *s = arg;
	struct uffd_msg msg[SNAP_MSGS];
	uint8_t *page = aligned_alloc(MEM_PAGE_SIZE, MEM_PAGE_SIZE);
	struct pollfd p[2] = { { s->uffd, POLLIN, 0 }, { s->stop_fd, POLLIN, 0 } };

	if (!page) {
		s->handler_err = -ENOMEM;
		return NULL;
	}
	/* the task's writers wait for this thread: it runs before ordinary
	 * threads when it can (it sleeps in poll() otherwise) */
	{
		struct sched_param sp = { .sched_priority = SNAP_HANDLER_RT_PRIO };

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
			pr_debug("task %d: the fault handler runs without real-time priority",
				 (int)s->pid);
	}
	__atomic_store_n(&s->handler_ready, true, __ATOMIC_RELEASE);
	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			s->handler_err = -errno;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;		/* the task's mm is gone */
		n = read(s->uffd, msg, sizeof(msg));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			s->handler_err = -errno;
			break;
		}
		pthread_mutex_lock(&s->lock);
		for (size_t k = 0; k < (size_t)n / sizeof(msg[0]); k++) {
			int err;

			if (msg[k].event != UFFD_EVENT_PAGEFAULT)
				continue;
			err = snap_fault(s, msg[k].arg.pagefault.address, page);
			if (err && !s->handler_err) {
				__atomic_store_n(&s->handler_err, err, __ATOMIC_RELEASE);
				pr_err("task %d: un-protecting a written page: %s", (int)s->pid,
				       strerror(-err));
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	free(page);
	return NULL;
}

/* One chunk of one area: scan, read, claim, un-protect. */
static int snap_copy_chunk(struct snap_ctx *s, struct snap_area *a, struct mem_scanner *sc,
			   uint64_t cs, uint64_t ce, struct mem_ranges *rg, uint8_t *bounce)
{
	struct mem_reader rd;
	struct mem_batch b;
	int ret;

	rg->nr = 0;
	rg->pages = 0;
	ret = mem_scan(sc, cs, ce, 0, rg);
	if (ret)
		return ret;
	/* the slots of this chunk's pages at once: cheaper than a fault each */
	for (size_t k = 0; k < rg->nr; k++)
		madvise(s->base + a->dst_off + (rg->r[k].start - a->start),
			rg->r[k].nr_pages * MEM_PAGE_SIZE, MADV_POPULATE_WRITE);
	mem_reader_init(&rd, s->pid, rg->r, rg->nr, bounce, SNAP_BOUNCE);
	while ((ret = mem_reader_next(&rd, &b)) == 1) {
		for (size_t k = 0; k < b.nr_segs; k++) {
			const struct mem_seg *g = &b.seg[k];
			uint64_t i0 = (g->vaddr - a->start) / MEM_PAGE_SIZE;

			for (uint64_t j = 0; j < g->nr_pages; j++) {
				const uint8_t *src = bounce + g->off + j * MEM_PAGE_SIZE;
				uint64_t i = i0 + j;

				if (!snap_claim(a, i))
					continue;
				/* the scan counts write-protect markers of pages
				 * never populated as swapped: they read as zeros,
				 * and an absent page restores as zeros too */
				if (snap_all_zero(src)) {
					__atomic_fetch_or(&a->zero[i / 64], 1ull << (i % 64),
							  __ATOMIC_RELAXED);
					continue;
				}
				memcpy(s->base + a->dst_off + i * MEM_PAGE_SIZE, src, MEM_PAGE_SIZE);
				s->st.pages_copied++;
			}
		}
	}
	s->st.vanished += rd.pages_vanished;
	if (ret < 0)
		return ret;
	/* publish before un-protecting: see snap.h */
	__atomic_store_n(&a->done_upto, ce, __ATOMIC_RELEASE);
	ret = snap_unprotect(s, cs, ce - cs);
	if (!ret)
		snap_unregister(s, cs, ce);
	return ret;
}

static int snap_copy_areas(struct snap_ctx *s)
{
	struct mem_ranges rg = { 0 };
	struct mem_scanner sc;
	uint8_t *bounce;
	int err;

	err = mem_scanner_open(&sc, s->pid, 0);
	if (err) {
		pr_err("task %d: cannot open its pagemap: %s", (int)s->pid, strerror(-err));
		return err;
	}
	bounce = mmap(NULL, SNAP_BOUNCE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (bounce == MAP_FAILED) {
		err = -errno;
		mem_scanner_close(&sc);
		return err;
	}
	for (size_t i = 0; i < s->nr_area && !err; i++) {
		struct snap_area *a = &s->area[i];

		for (uint64_t cs = a->start, ce; cs < a->end && !err; cs = ce) {
			ce = a->end - cs > SNAP_STEP ? cs + SNAP_STEP : a->end;
			err = snap_copy_chunk(s, a, &sc, cs, ce, &rg, bounce);
			if (!err)
				err = __atomic_load_n(&s->handler_err, __ATOMIC_ACQUIRE);
		}
	}
	if (err == -ESRCH || err == -ENOENT)
		pr_err("task %d went away during the live snapshot", (int)s->pid);
	else if (err)
		pr_err("task %d: live copy: %s", (int)s->pid, strerror(-err));
	munmap(bounce, SNAP_BOUNCE);
	mem_ranges_free(&rg);
	mem_scanner_close(&sc);
	return err;
}

int snap_start_handler(struct snap_ctx *s)
{
	int err;

	if (s->handler_running)
		return 0;
	if (s->stop_fd < 0)
		s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0)
		return -errno;
	__atomic_store_n(&s->handler_ready, false, __ATOMIC_RELAXED);
	err = pthread_create(&s->handler, NULL, snap_handler, s);
	if (err) {
		pr_err("task %d: cannot start the fault handler: %s", (int)s->pid, strerror(err));
		return -err;
	}
	s->handler_running = true;
	/* a new thread's first steps (its stack, its priority) took 0.4-8 ms
	 * here: the task's first write fault should not wait for them */
	while (!__atomic_load_n(&s->handler_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	return 0;
}

/* The pages read inside the freeze go to their slots (their bits are
 * claimed already: no one else writes there). */
static void snap_place_held(struct snap_ctx *s)
{
	const uint8_t *src = s->held_buf;

	for (size_t k = 0; k < s->held.nr; k++) {
		uint64_t addr = s->held.r[k].start;

		for (uint64_t j = 0; j < s->held.r[k].nr_pages;
		     j++, addr += MEM_PAGE_SIZE, src += MEM_PAGE_SIZE) {
			struct snap_area *a = snap_find(s, addr);
			uint64_t i;

			if (!a)
				continue;	/* cannot be: held pages lie in areas */
			i = (addr - a->start) / MEM_PAGE_SIZE;
			if (snap_all_zero(src))
				a->zero[i / 64] |= 1ull << (i % 64);
			else
				memcpy(s->base + a->dst_off + i * MEM_PAGE_SIZE, src, MEM_PAGE_SIZE);
		}
	}
	mem_ranges_free(&s->held);
	s->held_len = 0;
}

int snap_copy(struct snap_ctx *s, uint8_t *base)
{
	uint64_t t0 = snap_now_us(), one = 1;
	int err, nice_was;

	if (s->uffd < 0)
		return 0;
	s->base = base;
	snap_place_held(s);
	s->copying = true;
	snap_unpause(s);
	err = snap_start_handler(s);
	if (err)
		return err;
	/* the copier yields the CPU to the task (the fault handler does not:
	 * the task's writers wait on it) */
	errno = 0;
	nice_was = getpriority(PRIO_PROCESS, 0);
	if (errno)
		nice_was = 0;
	if (nice_was < SNAP_COPIER_NICE)	/* never above what the caller chose */
		setpriority(PRIO_PROCESS, 0, SNAP_COPIER_NICE);
	err = snap_copy_areas(s);
	if (nice_was < SNAP_COPIER_NICE)
		setpriority(PRIO_PROCESS, 0, nice_was);
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one) && !err)
		err = -errno;
	pthread_join(s->handler, NULL);
	s->handler_running = false;
	if (!err && s->handler_err)
		err = s->handler_err;
	/* the last reference: every registration and protection goes */
	close(s->uffd);
	s->uffd = -1;
	s->st.copy_us = snap_now_us() - t0;
	/* their value at the freeze is gone: an image with zeros there would
	 * restore a task that differs from the one dumped */
	if (s->st.vanished && !err) {
		pr_err("task %d: %llu pages were unmapped by the task before the live copy reached "
		       "them: the snapshot would be incomplete (dump again, or use --snapshot frozen)",
		       (int)s->pid, (unsigned long long)s->st.vanished);
		err = -EAGAIN;
	}
	pr_info("task %d: live_copy_us=%llu pages by the copier %llu, kept at write faults %llu "
		"(of %llu faults), read inside the freeze %llu", (int)s->pid,
		(unsigned long long)s->st.copy_us, (unsigned long long)s->st.pages_copied,
		(unsigned long long)s->st.pages_faulted, (unsigned long long)s->st.faults,
		(unsigned long long)s->st.held);
	return err;
}

/* Claimed and not all zeros: the page goes into the images. */
static bool snap_saved(const struct snap_area *a, uint64_t i)
{
	return (a->claimed[i / 64] & ~a->zero[i / 64]) & (1ull << (i % 64));
}

int snap_for_each_run(const struct snap_ctx *s,
		      int (*fn)(uint64_t vaddr, uint64_t nr, const uint8_t *src, void *arg),
		      void *arg)
{
	for (size_t k = 0; k < s->nr_area; k++) {
		const struct snap_area *a = &s->area[k];
		uint64_t pages = (a->end - a->start) / MEM_PAGE_SIZE;

		for (uint64_t i = 0; i < pages;) {
			uint64_t j;
			int err;

			if (!(a->claimed[i / 64] & ~a->zero[i / 64]) && i % 64 == 0) {
				i += 64;
				continue;
			}
			if (!snap_saved(a, i)) {
				i++;
				continue;
			}
			for (j = i + 1; j < pages && snap_saved(a, j); j++)
				;
			err = fn(a->start + i * MEM_PAGE_SIZE, j - i,
				 s->base + a->dst_off + i * MEM_PAGE_SIZE, arg);
			if (err)
				return err;
			i = j;
		}
	}
	return 0;
}

void snap_close(struct snap_ctx *s)
{
	snap_unpause(s);
	if (s->handler_running) {
		uint64_t one = 1;

		if (write(s->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(s->handler, NULL);
		s->handler_running = false;
	}
	if (s->uffd >= 0)
		close(s->uffd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->pagemap_fd >= 0)
		close(s->pagemap_fd);
	pthread_mutex_destroy(&s->lock);
	for (size_t i = 0; i < s->nr_area; i++) {
		free(s->area[i].claimed);
		free(s->area[i].zero);
	}
	free(s->area);
	mem_ranges_free(&s->prearmed);
	mem_ranges_free(&s->held);
	snap_init(s, s->pid);
}
