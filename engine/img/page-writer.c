/* page-writer — see page-writer.h. A pool of aligned buffers: one is being
 * filled, the others are free or in flight. A full buffer is submitted as
 * one write at the stream's next offset; completions return it to the pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "page-writer.h"

#define PW_ALIGN 4096

struct pw_buf {
	uint8_t *mem;		/* ours, or the caller's (page_writer_write_stable) */
	size_t len;		/* bytes queued in the write */
	uint64_t off;		/* file offset of the write */
	bool busy;
};

struct page_writer {
	char name[256];
	int fd;
	bool own_fd, direct, uring, async;
	struct io_uring ring;
	struct pw_buf *bufs;
	struct pw_buf *refs;	/* in-flight writes of the caller's memory */
	unsigned int nr_bufs, in_flight;
	size_t buf_size;
	struct pw_buf *cur;	/* being filled, or NULL */
	size_t cur_len;
	uint64_t off;		/* offset of the next submitted write */
	int err;
};

static int pw_fail(struct page_writer *pw, int err, uint64_t off, size_t len,
		   const char *what)
{
	if (!pw->err) {
		pw->err = err;
		pr_err("%s: %s of %zu bytes at offset %llu failed: %s", pw->name,
		       what, len, (unsigned long long)off, strerror(-err));
	}
	return pw->err;
}

/* Writes the remainder of a short write synchronously; a second shortfall
 * (0 bytes written) is reported, never ignored. */
static int pw_pwrite_all(struct page_writer *pw, const uint8_t *p, size_t len,
			 uint64_t off)
{
	while (len) {
		ssize_t r = pwrite(pw->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && pw->direct) {
			/* an unaligned tail under O_DIRECT: finish buffered */
			int fl = fcntl(pw->fd, F_GETFL);

			if (fl >= 0 && !fcntl(pw->fd, F_SETFL, fl & ~O_DIRECT)) {
				pw->direct = false;
				continue;
			}
		}
		if (r < 0)
			return pw_fail(pw, -errno, off, len, "write");
		if (r == 0)
			return pw_fail(pw, -ENOSPC, off, len, "write (short, nothing written)");
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Handles one completion. */
static int pw_complete(struct page_writer *pw, struct io_uring_cqe *cqe)
{
	struct pw_buf *b = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&pw->ring, cqe);
	pw->in_flight--;
	b->busy = false;
	if (res < 0)
		return pw_fail(pw, res, b->off, b->len, "write");
	if ((size_t)res < b->len)
		return pw_pwrite_all(pw, b->mem + res, b->len - (size_t)res,
				     b->off + (uint64_t)res);
	return 0;
}

static int pw_reap(struct page_writer *pw, bool wait)
{
	struct io_uring_cqe *cqe;
	int ret;

	for (;;) {
		ret = wait ? io_uring_wait_cqe(&pw->ring, &cqe) :
			     io_uring_peek_cqe(&pw->ring, &cqe);
		if (ret == -EAGAIN && !wait)
			return 0;
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return pw_fail(pw, ret, pw->off, 0, "io_uring wait");
		pw_complete(pw, cqe);
		wait = false;
	}
}

static int pw_submit(struct page_writer *pw, struct pw_buf *b, size_t len)
{
	struct io_uring_sqe *sqe;
	int ret;

	b->len = len;
	b->off = pw->off;
	pw->off += len;
	if (!pw->uring) {
		ret = pw_pwrite_all(pw, b->mem, len, b->off);
		return ret;
	}
	if (len % PW_ALIGN && pw->direct)	/* the tail: no O_DIRECT io_uring write */
		return pw_pwrite_all(pw, b->mem, len, b->off);
	sqe = io_uring_get_sqe(&pw->ring);
	if (!sqe)
		return pw_fail(pw, -EBUSY, b->off, len, "io_uring queueing");
	io_uring_prep_write(sqe, pw->fd, b->mem, (unsigned int)len, b->off);
	if (pw->async)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, b);
	b->busy = true;
	pw->in_flight++;
	ret = io_uring_submit(&pw->ring);
	if (ret < 0)
		return pw_fail(pw, ret, b->off, len, "io_uring submit");
	return 0;
}

/* A free slot of @set (bufs or refs), waiting for a completion if all
 * are busy. */
static struct pw_buf *pw_free_slot(struct page_writer *pw, struct pw_buf *set)
{
	for (;;) {
		for (unsigned int i = 0; i < pw->nr_bufs; i++)
			if (!set[i].busy)
				return &set[i];
		if (pw_reap(pw, true) && pw->err && !pw->in_flight)
			return NULL;
	}
}

static struct pw_buf *pw_free_buf(struct page_writer *pw)
{
	return pw_free_slot(pw, pw->bufs);
}

void *page_writer_reserve(struct page_writer *pw, size_t len)
{
	if (pw->err || len > pw->buf_size)
		return NULL;
	if (pw->cur && pw->cur_len + len > pw->buf_size) {
		if (pw_submit(pw, pw->cur, pw->cur_len))
			return NULL;
		pw->cur = NULL;
	}
	if (!pw->cur) {
		if (pw->uring)
			pw_reap(pw, false);
		pw->cur = pw_free_buf(pw);
		pw->cur_len = 0;
		if (!pw->cur || pw->err)
			return NULL;
	}
	return pw->cur->mem + pw->cur_len;
}

void *page_writer_reserve_room(struct page_writer *pw, size_t *room)
{
	void *p = page_writer_reserve(pw, PW_ALIGN);

	if (p)
		*room = pw->buf_size - pw->cur_len;
	return p;
}

int page_writer_commit(struct page_writer *pw, size_t len)
{
	if (pw->err)
		return pw->err;
	pw->cur_len += len;
	if (pw->cur_len == pw->buf_size) {
		int ret = pw_submit(pw, pw->cur, pw->cur_len);

		pw->cur = NULL;
		return ret;
	}
	return 0;
}

int page_writer_write(struct page_writer *pw, const void *p, size_t len)
{
	const uint8_t *src = p;

	while (len) {
		size_t room, n;
		void *dst;

		if (pw->cur && pw->cur_len == pw->buf_size) {
			if (page_writer_commit(pw, 0))
				return pw->err;
		}
		room = pw->cur ? pw->buf_size - pw->cur_len : pw->buf_size;
		n = len < room ? len : room;
		dst = page_writer_reserve(pw, n);
		if (!dst)
			return pw->err ? pw->err : -EINVAL;
		memcpy(dst, src, n);
		if (page_writer_commit(pw, n))
			return pw->err;
		src += n;
		len -= n;
	}
	return 0;
}

int page_writer_write_stable(struct page_writer *pw, const void *p, size_t len)
{
	const uint8_t *src = p;
	size_t piece = pw->buf_size;	/* bigger writes are not faster (see dump-pages.c) */

	if (pw->err)
		return pw->err;
	if (pw->direct && ((uintptr_t)p % PW_ALIGN || len % PW_ALIGN))
		return page_writer_write(pw, p, len);
	/* what is buffered goes first */
	if (pw->cur && pw->cur_len) {
		if (pw_submit(pw, pw->cur, pw->cur_len))
			return pw->err;
		pw->cur = NULL;
	}
	while (len) {
		size_t n = len < piece ? len : piece;
		struct pw_buf *b;

		if (!pw->uring) {
			uint64_t off = pw->off;

			pw->off += n;
			if (pw_pwrite_all(pw, src, n, off))
				return pw->err;
		} else {
			pw_reap(pw, false);
			b = pw_free_slot(pw, pw->refs);
			if (!b || pw->err)
				return pw->err ? pw->err : -EIO;
			b->mem = (uint8_t *)(uintptr_t)src;
			if (pw_submit(pw, b, n))
				return pw->err;
		}
		src += n;
		len -= n;
	}
	return 0;
}

void page_buf_warm(void *p, size_t len)
{
	int fd;
	size_t done = 0;

	madvise(p, len, MADV_POPULATE_WRITE);	/* cheaper than the read's own faults */
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && done < len) {
		ssize_t n = read(fd, (char *)p + done, len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
}

int page_writer_open_fd(struct page_writer **pwp, int fd, const char *label,
			const struct page_writer_opts *o)
{
	struct page_writer *pw = calloc(1, sizeof(*pw));
	size_t bs = o && o->buf_size ? o->buf_size : (1u << 20);
	unsigned int nb = o && o->nr_bufs ? o->nr_bufs : 8;
	int ret;

	if (!pw)
		return -ENOMEM;
	if (bs % PW_ALIGN || nb < 2) {
		free(pw);
		return -EINVAL;
	}
	snprintf(pw->name, sizeof(pw->name), "%s", label);
	pw->fd = fd;
	pw->buf_size = bs;
	pw->nr_bufs = nb;
	pw->bufs = calloc(nb, sizeof(*pw->bufs));
	pw->refs = calloc(nb, sizeof(*pw->refs));
	if (!pw->bufs || !pw->refs) {
		free(pw->bufs);
		free(pw->refs);
		free(pw);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nb; i++) {
		if (posix_memalign((void **)&pw->bufs[i].mem, PW_ALIGN, bs)) {
			pw->nr_bufs = i;
			page_writer_close(pw);
			return -ENOMEM;
		}
		if (o && o->prefault)
			page_buf_warm(pw->bufs[i].mem, bs);
	}
	if (o && o->direct) {
		int fl = fcntl(fd, F_GETFL);

		pw->direct = fl >= 0 && !fcntl(fd, F_SETFL, fl | O_DIRECT);
		if (!pw->direct)
			pr_debug("%s: O_DIRECT refused, writing through the page cache", label);
	}
	if (!(o && o->no_uring)) {
		ret = io_uring_queue_init(nb, &pw->ring, 0);
		if (ret < 0)
			pr_debug("%s: io_uring unavailable (%s), using pwrite()",
				 label, strerror(-ret));
		else
			pw->uring = true;
	}
	pw->async = pw->uring && o && o->async;
	pr_debug("%s: page stream via %s%s%s, %u buffers of %zu bytes", label,
		 pw->uring ? "io_uring" : "pwrite", pw->async ? " (async)" : "",
		 pw->direct ? " + O_DIRECT" : "", nb, bs);
	*pwp = pw;
	return 0;
}

int page_writer_open(struct page_writer **pwp, struct img_dir *d,
		     unsigned int pages_id, const struct page_writer_opts *o)
{
	char name[64];
	int fd, ret;

	snprintf(name, sizeof(name), "pages-%u.img", pages_id);
	fd = openat(d->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		pr_perror("Can't create image %s/%s", d->path, name);
		return ret;
	}
	ret = img_dir_note_created(d, name);
	if (!ret)
		ret = page_writer_open_fd(pwp, fd, name, o);
	if (ret) {
		close(fd);
		return ret;
	}
	(*pwp)->own_fd = true;
	return 0;
}

int page_writer_close(struct page_writer *pw)
{
	int ret;

	if (pw->cur && pw->cur_len && !pw->err)
		pw_submit(pw, pw->cur, pw->cur_len);
	while (pw->uring && pw->in_flight)
		if (pw_reap(pw, true) && !pw->in_flight)
			break;
	if (pw->uring)
		io_uring_queue_exit(&pw->ring);
	if (pw->own_fd && close(pw->fd) && !pw->err)
		pw_fail(pw, -errno, pw->off, 0, "close");
	ret = pw->err;
	for (unsigned int i = 0; i < pw->nr_bufs; i++)
		free(pw->bufs[i].mem);
	free(pw->bufs);
	free(pw->refs);
	free(pw);
	return ret;
}

int page_writer_error(const struct page_writer *pw)
{
	return pw->err;
}

const char *page_writer_mode(const struct page_writer *pw)
{
	return pw->uring ? "io_uring" : "pwrite";
}

bool page_writer_direct(const struct page_writer *pw)
{
	return pw->direct;
}

uint64_t page_writer_bytes(const struct page_writer *pw)
{
	return pw->off + (pw->cur ? pw->cur_len : 0);
}
