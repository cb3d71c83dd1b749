/* mem_read — copies a task's pages into a caller's buffer in large batches.
 *
 * An iterator over scanned ranges (mem_scan): each call fills the buffer
 * with one process_vm_readv (more only after a fault) and says which
 * addresses landed where. A page that vanished since the scan (munmap) is
 * skipped and counted, not fatal. Writes nothing anywhere but the buffer.
 */
#ifndef CRISP_MEM_READ_H
#define CRISP_MEM_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mem_scan.h"

#define MEM_READ_MAX_IOV 1024	/* remote iovecs per process_vm_readv (IOV_MAX) */

/* A run of pages of one batch: @nr_pages from @vaddr sit at buf + @off. */
struct mem_seg {
	uint64_t vaddr;
	uint64_t nr_pages;
	size_t off;
};

struct mem_batch {
	const void *buf;
	size_t bytes;			/* valid bytes from buf */
	const struct mem_seg *seg;
	size_t nr_segs;
};

struct mem_reader {
	pid_t pid;
	const struct mem_range *ranges;
	size_t nr_ranges;
	size_t ri;			/* the next page: ranges[ri] + rpage pages */
	uint64_t rpage;
	void *buf;
	size_t buf_pages;
	struct iovec iov[MEM_READ_MAX_IOV];
	struct mem_seg seg[MEM_READ_MAX_IOV];
	uint64_t pages_read, pages_vanished;
	uint64_t readv_calls;
	int mem_fd;			/* /proc/PID/mem for pages readv cannot reach, or -1 */
	uint64_t pages_pread;		/* pages that came through mem_fd */
};

/*
 * Sets up @r to read @ranges (kept by reference) of task @pid into @buf of
 * @size bytes (at least one page; used in whole pages). Set r->mem_fd to an
 * open /proc/PID/mem afterwards to retry, through it, a page that
 * process_vm_readv cannot read (mprotect'ed away meanwhile) before
 * counting it as vanished.
 */
void mem_reader_init(struct mem_reader *r, pid_t pid,
		     const struct mem_range *ranges, size_t nr_ranges,
		     void *buf, size_t size);

/*
 * Fills the buffer with the next pages and describes them in @b (valid
 * until the next call). Returns 1 when @b holds pages, 0 when all ranges
 * are done, or -errno (-ESRCH when the task is gone).
 */
int mem_reader_next(struct mem_reader *r, struct mem_batch *b);

#endif
