/* dump-pages — pagemap-PID.img and pages-N.img. While the tree is frozen,
 * present pages (engine/mem: PAGEMAP_SCAN, no zero pages, for private file
 * mappings only the pages that differ from the file) are copied into one
 * staging buffer, prepared before the freeze; the images are written from
 * it afterwards through the page writer, so the freeze covers copying only;
 * many pages are read by two threads at once, each into its half.
 * A dump that kills the tree streams instead: the pages are read into the
 * page writer's buffers and written while the next ones are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "mem_read.h"
#include "page-writer.h"
#include "pagemap.pb-c.h"
#include "proc_read.h"

#define DUMP_STAGING_SLACK (16ull << 20)
/* address space (not memory: MAP_NORESERVE, touched on use) kept at the
 * staging area so that growing it never moves it: growing it with mremap
 * inside the freeze of a 64 MiB live snapshot took about 0.5 ms here */
#define DUMP_STAGING_RESERVE (256ull << 30)
/* per write: 2 MiB writes ran 4 times slower here than 1 MiB ones (1 GiB
 * kill dump, 2.2 s vs 0.5 s; the page cache then takes 2 MiB folios) */
#define DUMP_STREAM_BUF	(1u << 20)
#define DUMP_STREAM_BUFS 8u
/* pages: fewer are read by one thread (a second costs its start) */
#define DUMP_READ_TWO_MIN 512

int dump_pages_grow(struct dump_ctx *c, size_t want)
{
	void *p;

	if (want <= c->staging_len)
		return 0;
	want = (want + DUMP_STAGING_SLACK) & ~(size_t)(MEM_PAGE_SIZE - 1);
	if (want <= c->staging_resv) {
		c->staging_len = want;	/* reserved already: nothing moves */
		return 0;
	}
	p = MAP_FAILED;
	if (!c->staging && want < DUMP_STAGING_RESERVE)
		p = mmap(NULL, DUMP_STAGING_RESERVE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED) {
		c->staging_resv = DUMP_STAGING_RESERVE;
	} else {
		/* no room for the reserve (RLIMIT_AS, say): exactly what is asked */
		if (c->staging)
			p = mremap(c->staging, c->staging_resv, want, MREMAP_MAYMOVE);
		else
			p = mmap(NULL, want, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			int err = -errno;

			pr_perror("cannot map %zu bytes to stage pages in", want);
			return err;
		}
		c->staging_resv = want;
	}
	c->staging = p;
	c->staging_len = want;
	return 0;
}

/* the live slots' part of the reserve: its upper half */
#define DUMP_STAGING_LIVE (DUMP_STAGING_RESERVE / 2)

size_t dump_pages_live_next(const struct dump_ctx *c)
{
	if (c->staging_resv < DUMP_STAGING_RESERVE)
		return c->staging_used;
	return DUMP_STAGING_LIVE + c->live_used;
}

void dump_pages_live_take(struct dump_ctx *c, size_t len)
{
	if (c->staging_resv < DUMP_STAGING_RESERVE)
		c->staging_used += len;
	else
		c->live_used += len;
}

size_t dump_pages_live_end(const struct dump_ctx *c)
{
	if (c->staging_resv < DUMP_STAGING_RESERVE)
		return c->staging_used;
	return c->live_used ? DUMP_STAGING_LIVE + c->live_used : c->staging_used;
}

/* Outside the freeze: the freeze's process_vm_readv of 2000 scattered
 * pages ran at 6.2 us per page into populated staging, at 0.8 us into
 * staging warmed so (page_buf_warm). */
static void dump_pages_warm(struct dump_ctx *c)
{
	page_buf_warm(c->staging, c->staging_len);
}

/* Before the freeze: a staging buffer as big as the root's resident memory,
 * already faulted in, so that copying into it does not fault while frozen.
 * An incremental dump copies only what was written since its parent: it
 * starts from DUMP_STAGING_SLACK and grows if it must. */
int dump_pages_prepare(struct dump_ctx *c)
{
	unsigned long long rss_kb = 0;
	size_t len;
	char *buf, *p;
	int err;

	if (c->stream_pages)
		return 0;
	/* a live snapshot copies little while frozen; its own slots are
	 * reserved in the freeze and filled once the tree runs */
	if (c->live || (c->o->track_mem && c->have_parent && c->root_trk_open &&
			track_relative_to(&c->root_trk, &c->parent_stamp))) {
		uint64_t written = 0;

		/* what was written so far, and as much again until the freeze */
		if (c->root_trk_open && !track_count_written(&c->root_trk, &written))
			pr_debug("task %d: %llu pages written since the parent", (int)c->o->tree_pid,
				 (unsigned long long)written);
		err = dump_pages_grow(c, written * 2 * MEM_PAGE_SIZE + 1);
		if (!err)
			dump_pages_warm(c);
		return err;
	}

	err = proc_read_file(c->o->tree_pid, 0, "smaps_rollup", &buf, &len);
	if (err)
		return 0;	/* the freeze reports a missing task */
	p = strstr(buf, "\nRss:");
	if (p)
		rss_kb = strtoull(p + 5, NULL, 10);
	free(buf);
	err = dump_pages_grow(c, (size_t)rss_kb * 1024);
	if (err)
		return err;
	/* fault it in now; MAP_POPULATE cannot be asked after the fact */
	dump_pages_warm(c);
	return 0;
}

/* Appends a run to a run list, merged with the last one where both the
 * addresses and the staging offsets follow on. */
int dump_runs_add(struct dump_run **runs, size_t *nr_runs, size_t *cap_runs, uint64_t vaddr,
		  uint64_t nr, size_t off)
{
	struct dump_run *last = *nr_runs ? &(*runs)[*nr_runs - 1] : NULL;

	if (last && last->vaddr + last->nr_pages * MEM_PAGE_SIZE == vaddr &&
	    last->off + last->nr_pages * MEM_PAGE_SIZE == off) {
		last->nr_pages += nr;
		return 0;
	}
	if (*nr_runs == *cap_runs) {
		size_t cap = *cap_runs ? *cap_runs * 2 : 64;
		struct dump_run *n = realloc(*runs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*runs = n;
		*cap_runs = cap;
	}
	(*runs)[(*nr_runs)++] = (struct dump_run){ vaddr, nr, off };
	return 0;
}

int dump_pages_add_run(struct dump_task *t, uint64_t vaddr, uint64_t nr, size_t off)
{
	return dump_runs_add(&t->runs, &t->nr_runs, &t->cap_runs, vaddr, nr, off);
}

static int dump_run_cmp(const void *a, const void *b)
{
	const struct dump_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

void dump_pages_sort_runs(struct dump_task *t)
{
	if (t->nr_runs > 1)
		qsort(t->runs, t->nr_runs, sizeof(t->runs[0]), dump_run_cmp);
}

/* One half of a read split between two threads: its ranges, read into its
 * own part of staging, and the runs it found (offsets from @buf). */
struct dump_read_half {
	pid_t pid;
	const struct mem_range *r;
	size_t n;
	uint8_t *buf;
	size_t room, bytes;
	struct dump_run *runs;
	size_t nr_runs, cap_runs;
	uint64_t vanished;
	struct mem_reader rd;
	int err;
};

static void *dump_read_half_main(void *arg)
{
	struct dump_read_half *h = arg;
	struct mem_batch b;
	int ret;

	mem_reader_init(&h->rd, h->pid, h->r, h->n, h->buf, h->room);
	while ((ret = mem_reader_next(&h->rd, &b)) == 1) {
		for (size_t i = 0; i < b.nr_segs && ret == 1; i++)
			if (dump_runs_add(&h->runs, &h->nr_runs, &h->cap_runs, b.seg[i].vaddr,
					  b.seg[i].nr_pages, h->bytes + b.seg[i].off))
				ret = -ENOMEM;
		if (ret != 1)
			break;
		h->bytes += b.bytes;
		h->rd.buf = h->buf + h->bytes;
		h->rd.buf_pages = (h->room - h->bytes) / MEM_PAGE_SIZE;
	}
	h->vanished = h->rd.pages_vanished;
	h->err = ret;
	return NULL;
}

/*
 * Inside the freeze, with a second CPU free: the ranges split in two halves
 * of as many pages, read at once by this thread and a second one, each into
 * its own part of staging; then the second half's pages are moved down if
 * the first came up short (pages that vanished) and its runs follow the
 * first's. Returns 1 when done so, 0 when the caller reads them alone, or
 * -errno.
 */
static int dump_pages_readv_two(struct dump_ctx *c, struct dump_task *t,
				const struct mem_range *r, size_t n, uint64_t total)
{
	struct dump_read_half *h;	/* on the heap: the readers are big, the stack cold */
	struct mem_range *split;
	uint64_t half = total / 2, acc = 0;
	size_t m = 0, first_n;
	pthread_t th;
	int err = 0;

	split = malloc((n + 1) * sizeof(*split));
	h = calloc(2, sizeof(*h));
	if (!split || !h) {
		free(split);
		free(h);
		return 0;
	}
	while (acc + r[m].nr_pages <= half)
		acc += r[m++].nr_pages;
	/* ranges [0, m) and the head of range m, then its tail and the rest */
	memcpy(split, r, m * sizeof(*r));
	first_n = m;
	if (half > acc)
		split[first_n++] = (struct mem_range){ r[m].start, half - acc };
	split[first_n] = (struct mem_range){ r[m].start + (half - acc) * MEM_PAGE_SIZE,
					     r[m].nr_pages - (half - acc) };
	memcpy(split + first_n + 1, r + m + 1, (n - m - 1) * sizeof(*r));
	for (int k = 0; k < 2; k++) {
		h[k].pid = t->pid;
		h[k].buf = c->staging + c->staging_used + (k ? half * MEM_PAGE_SIZE : 0);
		h[k].room = (k ? total - half : half) * MEM_PAGE_SIZE;
	}
	h[0].r = split;
	h[0].n = first_n;
	h[1].r = split + first_n;
	h[1].n = n - m;
	if (pthread_create(&th, NULL, dump_read_half_main, &h[1])) {
		free(split);
		free(h);
		return 0;
	}
	dump_read_half_main(&h[0]);
	pthread_join(th, NULL);
	for (int k = 0; k < 2 && !err; k++)
		err = h[k].err < 0 ? h[k].err : 0;
	if (!err && h[0].bytes < h[0].room)
		memmove(h[0].buf + h[0].bytes, h[1].buf, h[1].bytes);
	for (int k = 0; k < 2 && !err; k++) {
		for (size_t i = 0; i < h[k].nr_runs && !err; i++)
			err = dump_pages_add_run(t, h[k].runs[i].vaddr, h[k].runs[i].nr_pages,
						 c->staging_used + h[k].runs[i].off);
		c->staging_used += h[k].bytes;
	}
	if (h[0].vanished + h[1].vanished)
		pr_debug("task %d: %llu pages vanished while reading", (int)t->pid,
			 (unsigned long long)(h[0].vanished + h[1].vanished));
	pr_debug("task %d: %llu pages read by two threads", (int)t->pid, (unsigned long long)total);
	for (int k = 0; k < 2; k++)
		free(h[k].runs);
	free(h);
	free(split);
	return err ? err : 1;
}

/* Readable ranges: batched process_vm_readv straight into staging. */
static int dump_pages_readv(struct dump_ctx *c, struct dump_task *t,
			    const struct mem_range *r, size_t n)
{
	struct mem_reader rd;
	struct mem_batch b;
	uint64_t total = 0;
	int ret;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += r[i].nr_pages;
	if (total >= DUMP_READ_TWO_MIN && dump_two_cpus()) {
		ret = dump_pages_readv_two(c, t, r, n, total);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	mem_reader_init(&rd, t->pid, r, n, c->staging + c->staging_used,
			c->staging_len - c->staging_used);
	while ((ret = mem_reader_next(&rd, &b)) == 1) {
		for (size_t i = 0; i < b.nr_segs; i++) {
			int err = dump_pages_add_run(t, b.seg[i].vaddr, b.seg[i].nr_pages,
						     c->staging_used + b.seg[i].off);
			if (err)
				return err;
		}
		c->staging_used += b.bytes;
		/* the next batch lands after this one */
		rd.buf = c->staging + c->staging_used;
		rd.buf_pages = (c->staging_len - c->staging_used) / MEM_PAGE_SIZE;
	}
	if (rd.pages_vanished)
		pr_debug("task %d: %llu pages vanished while reading", (int)t->pid,
			 (unsigned long long)rd.pages_vanished);
	return ret;
}

/* Unreadable (PROT_NONE, write-only) ranges: /proc/PID/mem reads them. */
static int dump_pages_pread(struct dump_ctx *c, struct dump_task *t, int memfd,
			    const struct mem_range *r)
{
	size_t len = r->nr_pages * MEM_PAGE_SIZE;
	ssize_t n = pread(memfd, c->staging + c->staging_used, len, (off_t)r->start);

	if (n != (ssize_t)len) {
		int err = n < 0 ? -errno : -EIO;

		pr_err("task %d: reading %#llx+%zu through /proc/PID/mem: %s", (int)t->pid,
		       (unsigned long long)r->start, len, strerror(-err));
		return err;
	}
	if (dump_pages_add_run(t, r->start, r->nr_pages, c->staging_used))
		return -ENOMEM;
	c->staging_used += len;
	return 0;
}

struct dump_scan {
	struct mem_range *r;
	bool *readable;
	size_t nr, cap;
	uint64_t pages;
};

static int dump_scan_push(struct dump_scan *s, const struct mem_range *r, bool readable)
{
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct mem_range *nr = realloc(s->r, cap * sizeof(*nr));
		bool *nb;

		if (!nr)
			return -ENOMEM;
		s->r = nr;
		nb = realloc(s->readable, cap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		s->readable = nb;
		s->cap = cap;
	}
	s->r[s->nr] = *r;
	s->readable[s->nr++] = readable;
	s->pages += r->nr_pages;
	return 0;
}

/* Every page worth saving of @t, in address order, VMA by VMA. */
static int dump_pages_scan(struct dump_task *t, struct dump_scan *s)
{
	struct mem_scanner sc;
	struct mem_ranges tmp = { 0 };
	int err = mem_scanner_open(&sc, t->pid, 0);

	if (err) {
		pr_err("task %d: cannot open its pagemap: %s", (int)t->pid, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < t->maps.nr && !err; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		struct dump_vma *d = &t->vmas[i];

		if (!d->dump_pages || d->live || d->copied)
			continue;
		d->copied = true;
		t->pages_scanned += (v->end - v->start) / MEM_PAGE_SIZE;
		tmp.nr = 0;
		tmp.pages = 0;
		err = mem_scan(&sc, v->start, v->end, d->file_skip ? MEM_SCAN_SKIP_FILE : 0, &tmp);
		if (err) {
			pr_err("task %d: scanning %#llx-%#llx: %s", (int)t->pid,
			       (unsigned long long)v->start, (unsigned long long)v->end,
			       strerror(-err));
			break;
		}
		for (size_t k = 0; k < tmp.nr && !err; k++)
			err = dump_scan_push(s, &tmp.r[k], (v->prot & PROT_READ) != 0);
	}
	mem_ranges_free(&tmp);
	mem_scanner_close(&sc);
	return err;
}

/* With tracking: the written pages (all present ones without a usable
 * parent), cut at VMA boundaries so that each piece has one protection. */
static int dump_pages_scan_tracked(struct dump_task *t, struct dump_scan *s)
{
	struct mem_ranges copy = { 0 };
	int err = dump_track_collect_final(t, &copy);

	for (size_t i = 0; i < copy.nr && !err; i++) {
		uint64_t a = copy.r[i].start;
		uint64_t end = a + copy.r[i].nr_pages * MEM_PAGE_SIZE;

		while (a < end && !err) {
			const struct proc_vma *v = proc_maps_find(&t->maps, a);
			uint64_t stop = v && v->end < end ? v->end : end;
			struct mem_range r = { a, (stop - a) / MEM_PAGE_SIZE };

			err = dump_scan_push(s, &r, v && (v->prot & PROT_READ));
			a = stop;
		}
	}
	mem_ranges_free(&copy);
	return err;
}

/* Streaming, readable ranges: batched process_vm_readv straight into the
 * page writer's buffers; *@off is the stream's offset. */
static int dump_stream_readv(struct dump_task *t, struct page_writer *pw,
			     const struct mem_range *r, size_t n, size_t *off)
{
	struct mem_reader rd;
	struct mem_batch b;
	size_t room;
	void *dst = page_writer_reserve_room(pw, &room);
	int ret;

	if (!dst)
		return page_writer_error(pw) ? page_writer_error(pw) : -EIO;
	mem_reader_init(&rd, t->pid, r, n, dst, room);
	while ((ret = mem_reader_next(&rd, &b)) == 1) {
		for (size_t i = 0; i < b.nr_segs; i++) {
			int err = dump_pages_add_run(t, b.seg[i].vaddr, b.seg[i].nr_pages,
						     *off + b.seg[i].off);
			if (err)
				return err;
		}
		*off += b.bytes;
		if (page_writer_commit(pw, b.bytes))
			return page_writer_error(pw);
		dst = page_writer_reserve_room(pw, &room);
		if (!dst)
			return page_writer_error(pw) ? page_writer_error(pw) : -EIO;
		rd.buf = dst;
		rd.buf_pages = room / MEM_PAGE_SIZE;
	}
	if (rd.pages_vanished)
		pr_debug("task %d: %llu pages vanished while reading", (int)t->pid,
			 (unsigned long long)rd.pages_vanished);
	return ret;
}

/* Streaming, an unreadable range: through /proc/PID/mem, a buffer at a time. */
static int dump_stream_pread(struct dump_task *t, struct page_writer *pw, int memfd,
			     const struct mem_range *r, size_t *off)
{
	for (uint64_t done = 0; done < r->nr_pages;) {
		size_t room, len;
		void *dst = page_writer_reserve_room(pw, &room);
		uint64_t va = r->start + done * MEM_PAGE_SIZE;
		ssize_t got;

		if (!dst)
			return page_writer_error(pw) ? page_writer_error(pw) : -EIO;
		len = room / MEM_PAGE_SIZE < r->nr_pages - done ? room :
			(size_t)(r->nr_pages - done) * MEM_PAGE_SIZE;
		got = pread(memfd, dst, len, (off_t)va);
		if (got != (ssize_t)len) {
			int err = got < 0 ? -errno : -EIO;

			pr_err("task %d: reading %#llx+%zu through /proc/PID/mem: %s", (int)t->pid,
			       (unsigned long long)va, len, strerror(-err));
			return err;
		}
		if (dump_pages_add_run(t, va, len / MEM_PAGE_SIZE, *off))
			return -ENOMEM;
		*off += len;
		done += len / MEM_PAGE_SIZE;
		if (page_writer_commit(pw, len))
			return page_writer_error(pw);
	}
	return 0;
}

int dump_pages_read(struct dump_ctx *c, struct dump_task *t)
{
	struct dump_scan s = { 0 };
	struct page_writer *pw = NULL;
	size_t i = 0, stream_off = 0;
	int memfd = -1, err;
	uint64_t t0, t1;

	if (t->zombie)
		return 0;
	t0 = freeze_now_ns();
	err = t->relative ? dump_pages_scan_tracked(t, &s) : dump_pages_scan(t, &s);
	t1 = freeze_now_ns();
	if (!err && c->stream_pages) {
		struct page_writer_opts po = { .buf_size = DUMP_STREAM_BUF, .nr_bufs = DUMP_STREAM_BUFS,
					       .async = true, .prefault = true };

		err = page_writer_open(&pw, &c->dir, (unsigned int)(t - c->tasks) + 1, &po);
	} else if (!err) {
		err = dump_pages_grow(c, c->staging_used + s.pages * MEM_PAGE_SIZE);
	}
	pr_debug("task %d: %llu pages to read in %zu ranges, scanned in %llu us, staging ready "
		 "after %llu us", (int)t->pid, (unsigned long long)s.pages, s.nr,
		 (unsigned long long)(t1 - t0) / 1000,
		 (unsigned long long)(freeze_now_ns() - t1) / 1000);
	while (!err && i < s.nr) {
		size_t j = i;

		while (j < s.nr && s.readable[j] == s.readable[i])
			j++;
		if (s.readable[i] && pw) {
			err = dump_stream_readv(t, pw, s.r + i, j - i, &stream_off);
		} else if (s.readable[i]) {
			err = dump_pages_readv(c, t, s.r + i, j - i);
		} else {
			char path[64];

			if (memfd < 0) {
				snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
				memfd = open(path, O_RDONLY | O_CLOEXEC);
				if (memfd < 0) {
					err = -errno;
					pr_perror("task %d: open %s", (int)t->pid, path);
					break;
				}
			}
			for (size_t k = i; k < j && !err; k++)
				err = pw ? dump_stream_pread(t, pw, memfd, &s.r[k], &stream_off) :
					   dump_pages_pread(c, t, memfd, &s.r[k]);
		}
		i = j;
	}
	if (memfd >= 0)
		close(memfd);
	if (pw) {
		int err2 = page_writer_close(pw);

		err = err ? err : err2;
	}
	c->stats.pages_scanned += t->pages_scanned;
	free(s.r);
	free(s.readable);
	return err;
}

/* Emits [vaddr, vaddr + nr pages) with @flags, one entry per VMA piece
 * (an entry never crosses a VMA boundary in the image, as CRIU's restore
 * expects). *@vi is the VMA cursor, moving forward only. */
static int dump_pages_emit(struct img_writer *w, const struct dump_task *t, size_t *vi,
			   uint64_t addr, uint64_t nr, uint32_t flags)
{
	uint64_t end = addr + nr * MEM_PAGE_SIZE;
	int err = 0;

	while (addr < end && !err) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;
		uint64_t stop = end;

		while (*vi < t->maps.nr && t->maps.vma[*vi].end <= addr)
			(*vi)++;
		if (*vi < t->maps.nr && t->maps.vma[*vi].end < stop)
			stop = t->maps.vma[*vi].end;
		pe.vaddr = addr;
		pe.nr_pages = (uint32_t)((stop - addr) / MEM_PAGE_SIZE);
		pe.has_flags = true;
		pe.flags = flags;
		err = img_writer_entry(w, &pe.base);
		addr = stop;
	}
	return err;
}

/* The saved runs (PE_PRESENT) and the pages left to the parent
 * (PE_PARENT), merged in address order. */
static int dump_pages_entries(struct img_writer *w, const struct dump_task *t)
{
	size_t vi = 0, ri = 0, pi = 0;
	int err = 0;

	while (!err && (ri < t->nr_runs || pi < t->parent.nr)) {
		bool run = pi == t->parent.nr ||
			   (ri < t->nr_runs && t->runs[ri].vaddr < t->parent.r[pi].start);

		if (run) {
			err = dump_pages_emit(w, t, &vi, t->runs[ri].vaddr, t->runs[ri].nr_pages,
					      DUMP_PE_PRESENT);
			ri++;
		} else {
			err = dump_pages_emit(w, t, &vi, t->parent.r[pi].start,
					      t->parent.r[pi].nr_pages, DUMP_PE_PARENT);
			pi++;
		}
	}
	return err;
}

int dump_pages_write_pagemap(struct dump_ctx *c, const struct dump_task *t, unsigned int pages_id)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	struct img_writer w;
	int err, err2;

	err = img_writer_open(&w, &c->dir, img_kind_by_name("PAGEMAP"), (unsigned long)t->pid);
	if (err)
		return err;
	head.pages_id = pages_id;
	err = img_writer_entry(&w, &head.base);
	if (!err)
		err = dump_pages_entries(&w, t);
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

int dump_pages_write(struct dump_ctx *c, const struct dump_task *t, unsigned int pages_id)
{
	/* O_DIRECT: the tree runs again (or waits, stopped) while this writes.
	 * Through the page cache, a 1 GiB live snapshot's write took 13.4 s
	 * after the 0.83 s copy, with 2 GB already dirty in the cache (the
	 * kernel throttles writers then), and the flusher threads that write
	 * it out later do not yield to the tree. A restore reads cold pages
	 * files with O_DIRECT too (rst-fill.c). */
	const struct page_writer_opts po = { .direct = true };
	struct page_writer *pw = NULL;
	int err, err2;

	err = dump_pages_write_pagemap(c, t, pages_id);
	if (!err && c->stream_pages) {
		/* the pages went into pages-N.img as they were read */
		for (size_t i = 0; i < t->nr_runs; i++)
			c->stats.pages_written += t->runs[i].nr_pages;
		return 0;
	}
	if (!err)
		err = page_writer_open(&pw, &c->dir, pages_id, &po);
	if (err)
		return err;
	/* straight from staging (untouched until the dump ends), runs that
	 * lie back to back there in one go */
	for (size_t i = 0, j; i < t->nr_runs && !err; i = j) {
		size_t end = t->runs[i].off + t->runs[i].nr_pages * MEM_PAGE_SIZE;
		uint64_t pages = t->runs[i].nr_pages;

		for (j = i + 1; j < t->nr_runs && t->runs[j].off == end; j++) {
			end += t->runs[j].nr_pages * MEM_PAGE_SIZE;
			pages += t->runs[j].nr_pages;
		}
		err = page_writer_write_stable(pw, c->staging + t->runs[i].off, end - t->runs[i].off);
		if (!err)
			c->stats.pages_written += pages;
	}
	err2 = page_writer_close(pw);
	return err ? err : err2;
}
