/* page-writer — the raw page stream (pages-N.img): large aligned buffers
 * written with io_uring, several writes in flight, buffers recycled on
 * completion; plain pwrite() where io_uring is not available.
 *
 * Every failed or short write is an error naming the image and the offset;
 * the stream is never silently truncated. Knows nothing of pagemaps.
 */
#ifndef CRISP_PAGE_WRITER_H
#define CRISP_PAGE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "img.h"

struct page_writer_opts {
	size_t buf_size;	/* bytes per buffer, a multiple of 4096 (default 1 MiB) */
	unsigned int nr_bufs;	/* buffers, i.e. writes in flight + 1 (default 8) */
	bool direct;		/* try O_DIRECT (falls back when refused) */
	bool no_uring;		/* force the pwrite() path */
	bool async;		/* io_uring writes go to the kernel's worker thread
				 * (IOSQE_ASYNC) instead of running inside the
				 * submit: the caller fills the next buffer meanwhile */
	bool prefault;		/* warm every buffer at open (page_buf_warm), not
				 * page by page while it is filled: for streams
				 * that fill them all */
};

/*
 * Makes @len bytes at @p (page-aligned) ready for the kernel to write into
 * them: populated (MADV_POPULATE_WRITE), then written once by the kernel
 * itself (a read of /dev/zero). Under a hypervisor that fills page tables
 * lazily (shadow paging, as on the machines crisp is built on) the
 * kernel's first write to each user page traps, whoever populated it: a
 * process_vm_readv of 4 MiB into fresh memory took 16 ms there, 0.7 ms into
 * memory warmed so. Those traps, inside one syscall, also keep the CPU
 * from everyone else on a kernel without preemption; here the kernel may
 * reschedule between pages. Memory stays zeroed; a plain populate where
 * /dev/zero cannot be read.
 */
void page_buf_warm(void *p, size_t len);

struct page_writer;

/* Creates pages-@pages_id.img in @d. Returns 0 or -errno. */
int page_writer_open(struct page_writer **pw, struct img_dir *d,
		     unsigned int pages_id, const struct page_writer_opts *o);
/* Same onto an open @fd (kept open at close); @label names it in errors. */
int page_writer_open_fd(struct page_writer **pw, int fd, const char *label,
			const struct page_writer_opts *o);

/*
 * Zero-copy: a pointer to @len (<= buf_size) free bytes to fill, then
 * page_writer_commit(@len). Returns NULL after an error (see
 * page_writer_error()).
 */
void *page_writer_reserve(struct page_writer *pw, size_t len);
int page_writer_commit(struct page_writer *pw, size_t len);

/*
 * Zero-copy with the most room: a pointer to the free bytes of the current
 * buffer (a fresh one when it has less than a page left), their number in
 * *@room (at least 4096, a multiple of 4096 while only whole pages are
 * committed), then page_writer_commit(<= *@room). NULL after an error.
 */
void *page_writer_reserve_room(struct page_writer *pw, size_t *room);

/* Copies @len bytes into the stream. Returns 0 or -errno. */
int page_writer_write(struct page_writer *pw, const void *p, size_t len);

/*
 * Writes @len bytes from @p into the stream without copying them (in
 * pieces of one buffer's size, several in flight): the caller keeps the
 * memory unchanged until page_writer_close(). With O_DIRECT and @p or @len
 * not page-aligned, it copies as page_writer_write(). Returns 0 or -errno.
 */
int page_writer_write_stable(struct page_writer *pw, const void *p, size_t len);

/* Writes what is left, waits for every write, closes. Returns 0 or the
 * first -errno of the stream's life. Frees @pw in any case. */
int page_writer_close(struct page_writer *pw);

int page_writer_error(const struct page_writer *pw);
/* "io_uring" or "pwrite", and whether O_DIRECT is in use. */
const char *page_writer_mode(const struct page_writer *pw);
bool page_writer_direct(const struct page_writer *pw);
uint64_t page_writer_bytes(const struct page_writer *pw);

#endif
