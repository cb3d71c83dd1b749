/* mem_read — batched process_vm_readv of scanned pages (see mem_read.h). */
#include "mem_read.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"

void mem_reader_init(struct mem_reader *r, pid_t pid,
		     const struct mem_range *ranges, size_t nr_ranges,
		     void *buf, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ranges = ranges;
	r->nr_ranges = nr_ranges;
	r->buf = buf;
	r->buf_pages = size / MEM_PAGE_SIZE;
	r->mem_fd = -1;
}

/* Moves the position on by @pages pages. */
static void mem_reader_advance(struct mem_reader *r, uint64_t pages)
{
	while (pages && r->ri < r->nr_ranges) {
		uint64_t left = r->ranges[r->ri].nr_pages - r->rpage;

		if (pages < left) {
			r->rpage += pages;
			return;
		}
		pages -= left;
		r->ri++;
		r->rpage = 0;
	}
}

/* Plans remote iovecs from the position for up to @room pages. */
static size_t mem_reader_plan(struct mem_reader *r, uint64_t room, uint64_t *pages)
{
	size_t n = 0, ri = r->ri;
	uint64_t rpage = r->rpage;

	*pages = 0;
	while (room && ri < r->nr_ranges && n < MEM_READ_MAX_IOV) {
		uint64_t take = r->ranges[ri].nr_pages - rpage;

		if (take > room)
			take = room;
		r->iov[n].iov_base = (void *)(uintptr_t)(r->ranges[ri].start + rpage * MEM_PAGE_SIZE);
		r->iov[n].iov_len = take * MEM_PAGE_SIZE;
		n++;
		room -= take;
		*pages += take;
		ri++;
		rpage = 0;
	}
	return n;
}

/* Records @pages good pages from the position, landed at buffer @off. */
static void mem_reader_keep(struct mem_reader *r, struct mem_batch *b,
			    uint64_t pages, size_t off)
{
	while (pages) {
		const struct mem_range *rg = &r->ranges[r->ri];
		uint64_t take = rg->nr_pages - r->rpage;
		uint64_t vaddr = rg->start + r->rpage * MEM_PAGE_SIZE;
		struct mem_seg *last = b->nr_segs ? &r->seg[b->nr_segs - 1] : NULL;

		if (take > pages)
			take = pages;
		if (last && last->vaddr + last->nr_pages * MEM_PAGE_SIZE == vaddr &&
		    last->off + last->nr_pages * MEM_PAGE_SIZE == off) {
			last->nr_pages += take;
		} else {
			r->seg[b->nr_segs].vaddr = vaddr;
			r->seg[b->nr_segs].nr_pages = take;
			r->seg[b->nr_segs].off = off;
			b->nr_segs++;
		}
		off += take * MEM_PAGE_SIZE;
		pages -= take;
		r->pages_read += take;
		mem_reader_advance(r, take);
	}
}

int mem_reader_next(struct mem_reader *r, struct mem_batch *b)
{
	size_t used = 0;	/* pages of the buffer filled */

	memset(b, 0, sizeof(*b));
	b->buf = r->buf;
	b->seg = r->seg;
	/* a fault splits a segment: leave room for one more each round */
	while (r->ri < r->nr_ranges && used < r->buf_pages &&
	       b->nr_segs + 1 < MEM_READ_MAX_IOV) {
		uint64_t planned, got;
		size_t niov = mem_reader_plan(r, r->buf_pages - used, &planned);
		struct iovec local = { (char *)r->buf + used * MEM_PAGE_SIZE,
				       planned * MEM_PAGE_SIZE };
		ssize_t n;

		/* the segments of this round may not outgrow the table */
		if (niov > MEM_READ_MAX_IOV - 1 - b->nr_segs) {
			niov = MEM_READ_MAX_IOV - 1 - b->nr_segs;
			planned = 0;
			for (size_t i = 0; i < niov; i++)
				planned += r->iov[i].iov_len / MEM_PAGE_SIZE;
			local.iov_len = planned * MEM_PAGE_SIZE;
		}
		n = process_vm_readv(r->pid, &local, 1, r->iov, niov, 0);
		r->readv_calls++;
		if (n < 0 && errno != EFAULT && errno != ENOMEM) {
			int err = -errno;

			pr_perror("task %d: process_vm_readv of %llu pages", r->pid,
				  (unsigned long long)planned);
			return err;
		}
		got = n < 0 ? 0 : (uint64_t)n / MEM_PAGE_SIZE;
		mem_reader_keep(r, b, got, used * MEM_PAGE_SIZE);
		used += got;
		if (got < planned && r->mem_fd >= 0 && used < r->buf_pages) {
			/* the page after the good ones: readable with FOLL_FORCE? */
			uint64_t va = r->ranges[r->ri].start + r->rpage * MEM_PAGE_SIZE;
			char *dst = (char *)r->buf + used * MEM_PAGE_SIZE;

			if (pread(r->mem_fd, dst, MEM_PAGE_SIZE, (off_t)va) == (ssize_t)MEM_PAGE_SIZE) {
				mem_reader_keep(r, b, 1, used * MEM_PAGE_SIZE);
				used++;
				r->pages_pread++;
				continue;
			}
		}
		if (got < planned) {
			/* the page after the good ones is gone: skip it */
			pr_debug("task %d: page %#llx vanished", r->pid,
				 (unsigned long long)(r->ranges[r->ri].start +
						      r->rpage * MEM_PAGE_SIZE));
			r->pages_vanished++;
			mem_reader_advance(r, 1);
		}
	}
	b->bytes = used * MEM_PAGE_SIZE;
	if (b->bytes)
		return 1;
	return r->ri < r->nr_ranges ? mem_reader_next(r, b) : 0;
}
