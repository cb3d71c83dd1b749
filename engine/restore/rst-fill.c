/* rst-fill — one task's saved pages into their premapped places (see
 * rst-fill.h): pages-N.img and the parent chain's pages files, on two
 * cores. Runs in the new task; must not map, unmap or move any VMA of the
 * task (it maps and unmaps only its own sources and tables).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "page-chain.h"
#include "rst-fill.h"

#define RST_PAGE		4096ull
#define RST_VMA_FILE_PRIVATE	(1u << 6)
#define RST_VMA_FILE_SHARED	(1u << 7)
#define RST_VMA_ANON_SHARED	(1u << 8)

/*
 * First a flat list of segments is built: each names a stretch of
 * premapped memory and where its bytes are (pages-N.img, or the pages file
 * of the parent level that holds them, resolved once through the chain).
 * The list is cut into units of RST_UNIT bytes, which the two workers (this
 * thread and a helper thread) take in turn from a shared counter, so that
 * neither waits for the other when one core is busy with something else.
 *
 * A segment is put in place one of two ways:
 * - private anonymous VMAs (not THP): registered with a userfaultfd, and
 *   each segment put in place with UFFDIO_COPY from a read-only mapping of
 *   its pages file. The kernel allocates each page and copies into it: one
 *   copy, no clearing, no page-table walk of its own (profiles showed the
 *   clearing and the walk of MADV_POPULATE_WRITE at about a third of the
 *   fill). Closing the userfaultfd unregisters the VMAs: their flags are
 *   as before.
 * - everything else (file-private, shared, THP VMAs, or no userfaultfd):
 *   pieces of up to RST_PIECE bytes are faulted in with MADV_POPULATE_WRITE
 *   (the kernel allocates the pages in a loop instead of taking one
 *   page-fault exception per page inside the copy; THP VMAs get their huge
 *   pages), then read with one preadv while the cleared pages are still in
 *   the cache.
 *
 * Pages files that are not in the page cache (a pre-dump writes them with
 * O_DIRECT; the kernel may have evicted others) are slow to fault in
 * through the mapping: the kernel reads them in readahead-sized pieces,
 * page fault by page fault. So a worker looks at its unit's uffd segments
 * as spans that lie back to back in one pages file (a dump writes runs in
 * address order: holes between them in memory, none in the file); a span
 * of at least RST_DIRECT_MIN bytes that is mostly out of the page cache
 * (mincore() on the mapping) is read with one O_DIRECT read into the
 * worker's bounce buffer and put in place from there with UFFDIO_COPY.
 *
 * When all units are done, both workers drop the page-table entries of the
 * mapped pages files, half each (rst_fill_drop_sources).
 *
 * The helper shares this thread's TLS, so the worker code makes raw system
 * calls and never touches errno or the log; the helper is gone (its TID
 * free again) before the fill returns.
 */
#define RST_PIECE	(512ull << 10)
#define RST_UNIT	(2ull << 20)
#define RST_IOV		64
#define RST_HELPER_STACK (16u << 10)
#define RST_MAX_SRC	(PAGE_CHAIN_MAX_DEPTH + 1)
#define RST_DIRECT_MIN	(64ull << 10)	/* shorter ranges: the mapped file */
#define RST_COLD_SAMPLES 4

/* A stretch of premapped memory and where its bytes are. */
struct rst_seg {
	uint64_t dst;		/* in the premap reservation */
	uint64_t off;		/* in the pages file of src */
	uint64_t len;
	uint16_t src;		/* index into rst_fill.src */
	bool uffd;		/* its VMA is registered with the userfaultfd */
};

/* A position in the segment list: the start of a unit. */
struct rst_fill_at {
	size_t seg;
	uint64_t off;
};

/* A pages file: pages-N.img (0) or a parent level's. */
struct rst_fill_src {
	int fd;
	int dfd;		/* the same file opened with O_DIRECT, or -1 */
	const uint8_t *map;	/* mapped read-only when a uffd segment uses it */
	uint64_t len;
};

/* What both workers share. */
struct rst_fill {
	const struct rst_fill_task *t;
	int uffd;		/* -1: MADV_POPULATE_WRITE and preadv everywhere */
	struct rst_fill_src src[RST_MAX_SRC];
	unsigned int nr_src;
	struct rst_seg *seg;
	size_t nr_seg, cap_seg;
	struct rst_fill_at *unit;	/* nr_unit + 1 entries, the last one the end */
	size_t nr_unit;
	size_t next_unit;		/* taken with an atomic add */
	int failed;			/* set by a worker that failed: both stop */
	int workers, done;		/* the workers running, those past their units */
	size_t vi;			/* the VMA of the run being added */
	bool vi_uffd;
	uint8_t *bounce;		/* RST_UNIT per worker, for O_DIRECT reads */
};

/* One worker's state and its first failure. */
struct rst_fill_part {
	struct rst_fill *f;
	int idx;		/* 0: this thread, 1: the helper */
	long err;		/* first -errno, 0, or 1 for a short file */
	uint16_t err_src;
	uint64_t err_off;
	uint64_t direct;	/* bytes read with O_DIRECT */
	bool no_direct;		/* an O_DIRECT read was refused: the mapping only */
	pid_t tid;		/* the helper's; cleared by the kernel as it exits (futex) */
};

static long rst_raw(long nr, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Whether premapped VMA @vi can be filled through a userfaultfd. */
static bool rst_fill_vma_uffd(const struct rst_fill_task *t, size_t vi)
{
	const VmaEntry *v = t->im->mme->vmas[t->vma_idx[vi]];

	if (v->status & (RST_VMA_FILE_PRIVATE | RST_VMA_FILE_SHARED | RST_VMA_ANON_SHARED))
		return false;
	return !(v->has_madv && (v->madv & (1ull << MADV_HUGEPAGE)));
}

/* ---- building the segment list (this thread alone, before the helper) ---- */

static int rst_fill_src_of(struct rst_fill *f, int fd, uint16_t *idx)
{
	struct stat st;

	for (unsigned int i = 0; i < f->nr_src; i++)
		if (f->src[i].fd == fd) {
			*idx = (uint16_t)i;
			return 0;
		}
	if (f->nr_src == RST_MAX_SRC || fstat(fd, &st))
		return -EINVAL;
	f->src[f->nr_src] = (struct rst_fill_src){ .fd = fd, .dfd = -1,
						   .len = (uint64_t)st.st_size };
	*idx = (uint16_t)f->nr_src++;
	return 0;
}

/* Appends a segment, merged with the last one when both are contiguous. */
static int rst_fill_add(struct rst_fill *f, uint64_t dst, int fd, uint64_t off, uint64_t len)
{
	struct rst_seg *last = f->nr_seg ? &f->seg[f->nr_seg - 1] : NULL;
	uint16_t src;
	int err = rst_fill_src_of(f, fd, &src);

	if (err)
		return err;
	if (last && last->src == src && last->uffd == f->vi_uffd && last->dst + last->len == dst &&
	    last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (f->nr_seg == f->cap_seg) {
		size_t cap = f->cap_seg ? 2 * f->cap_seg : 1024;
		struct rst_seg *s = realloc(f->seg, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		f->seg = s;
		f->cap_seg = cap;
	}
	f->seg[f->nr_seg++] = (struct rst_seg){ dst, off, len, src, f->vi_uffd };
	return 0;
}

struct rst_fill_resolve {
	struct rst_fill *f;
	uint64_t vaddr, dst;	/* the run's: where it is saved, where it goes */
};

static int rst_fill_resolved(void *arg, int pages_fd, uint64_t off, uint64_t vaddr,
			     uint64_t nr_pages)
{
	struct rst_fill_resolve *r = arg;

	return rst_fill_add(r->f, r->dst + (vaddr - r->vaddr), pages_fd, off, nr_pages * RST_PAGE);
}

/* Where @run goes in the premapped reservation, or 0 when it is in no
 * private VMA; f->vi walks the VMAs in step with the sorted runs. */
static uint64_t rst_fill_run_dst(struct rst_fill *f, const struct rst_pages_run *run)
{
	const struct rst_fill_task *t = f->t;
	const struct rst_vma *rv = t->vmas;
	uint64_t len = run->nr_pages * RST_PAGE;

	while (f->vi < t->nr_vmas && rv[f->vi].dst + rv[f->vi].len <= run->vaddr)
		f->vi++;
	if (f->vi == t->nr_vmas || run->vaddr < rv[f->vi].dst ||
	    run->vaddr + len > rv[f->vi].dst + rv[f->vi].len ||
	    (t->im->mme->vmas[t->vma_idx[f->vi]]->status & RST_VMA_FILE_SHARED))
		return 0;
	f->vi_uffd = f->uffd >= 0 && rst_fill_vma_uffd(t, f->vi);
	return rv[f->vi].src + (run->vaddr - rv[f->vi].dst);
}

static int rst_fill_segments(struct rst_fill *f, char *msg, size_t msg_len)
{
	const struct rst_images *im = f->t->im;

	for (size_t i = 0; i < im->nr_runs; i++) {
		const struct rst_pages_run *run = &im->runs[i];
		uint64_t len = run->nr_pages * RST_PAGE, dst = rst_fill_run_dst(f, run);
		struct rst_fill_resolve r = { f, run->vaddr, dst };
		int err;

		if (!dst) {
			snprintf(msg, msg_len, "bad image %s: pages at %#llx+%llu are in no private VMA",
				 im->pagemap.name, (unsigned long long)run->vaddr, (unsigned long long)len);
			return -EINVAL;
		}
		if (!run->in_parent)
			err = rst_fill_add(f, dst, im->pages_fd, run->file_off, len);
		else
			err = page_chain_resolve(im->chain, run->vaddr, run->nr_pages, rst_fill_resolved, &r);
		if (err) {
			snprintf(msg, msg_len, "pages at %#llx+%llu%s: %s", (unsigned long long)run->vaddr,
				 (unsigned long long)len, run->in_parent ? " (in the parent images)" : "",
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Cuts the segment list into units of RST_UNIT bytes. */
static int rst_fill_units(struct rst_fill *f)
{
	uint64_t total = 0, acc = 0;
	size_t n = 0;

	for (size_t i = 0; i < f->nr_seg; i++)
		total += f->seg[i].len;
	f->unit = malloc((total / RST_UNIT + 2) * sizeof(*f->unit));
	if (!f->unit)
		return -ENOMEM;
	f->unit[n++] = (struct rst_fill_at){ 0, 0 };
	for (size_t i = 0; i < f->nr_seg; i++) {
		for (uint64_t off = 0; off < f->seg[i].len;) {
			uint64_t take = f->seg[i].len - off;

			take = take < RST_UNIT - acc ? take : RST_UNIT - acc;
			off += take;
			acc += take;
			if (acc == RST_UNIT) {
				f->unit[n++] = off == f->seg[i].len ? (struct rst_fill_at){ i + 1, 0 }
								    : (struct rst_fill_at){ i, off };
				acc = 0;
			}
		}
	}
	if (f->unit[n - 1].seg != f->nr_seg)
		f->unit[n++] = (struct rst_fill_at){ f->nr_seg, 0 };
	f->nr_unit = n - 1;
	return 0;
}

/*
 * A userfaultfd with every private anonymous VMA of @t registered for
 * missing pages; f->uffd stays -1 when it is not to be had (the fill then
 * populates and reads everywhere).
 */
static void rst_fill_uffd_open(struct rst_fill *f)
{
	const struct rst_fill_task *t = f->t;
	struct uffdio_api api = { .api = UFFD_API };
	bool any = false;

	for (size_t i = 0; i < t->nr_vmas && !any; i++)
		any = rst_fill_vma_uffd(t, i);
	if (!any || !t->im->nr_runs)
		return;
	f->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (f->uffd < 0)
		return;
	if (ioctl(f->uffd, UFFDIO_API, &api))
		goto no;
	for (size_t i = 0; i < t->nr_vmas; i++) {
		struct uffdio_register reg = {
			.range = { .start = t->vmas[i].src, .len = t->vmas[i].len },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (rst_fill_vma_uffd(t, i) && ioctl(f->uffd, UFFDIO_REGISTER, &reg))
			goto no;
	}
	return;
no:
	close(f->uffd);		/* unregisters what was registered */
	f->uffd = -1;
}

/* @fd's file again, with O_DIRECT; -1 where that is not to be had (a
 * filesystem without it, no /proc): the fill then maps it only. */
static int rst_fill_open_direct(int fd)
{
	char path[40];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

/* A bounce buffer for each of the two workers, or NULL (no O_DIRECT reads). */
static uint8_t *rst_fill_bounce(void)
{
	void *p = mmap(NULL, 2 * RST_UNIT, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Maps the pages files that uffd segments read from, and opens them with
 * O_DIRECT too, for the ranges not in the page cache. 0 or -errno. */
static int rst_fill_map_sources(struct rst_fill *f, char *msg, size_t msg_len)
{
	for (size_t i = 0; i < f->nr_seg; i++) {
		struct rst_fill_src *s = &f->src[f->seg[i].src];
		void *p;

		if (f->seg[i].off + f->seg[i].len > s->len) {
			snprintf(msg, msg_len, "a pages file of %llu bytes is short: pages at %llu+%llu "
				 "(it changed after it was checked?)", (unsigned long long)s->len,
				 (unsigned long long)f->seg[i].off, (unsigned long long)f->seg[i].len);
			return -EIO;
		}
		if (!f->seg[i].uffd || s->map)
			continue;
		p = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (p == MAP_FAILED) {
			int err = -errno;

			snprintf(msg, msg_len, "cannot map %llu bytes of a pages file: %s",
				 (unsigned long long)s->len, strerror(errno));
			return err;
		}
		s->map = p;
		s->dfd = rst_fill_open_direct(s->fd);
		if (s->dfd >= 0 && !f->bounce)
			f->bounce = rst_fill_bounce();
	}
	return 0;
}

static void rst_fill_free(struct rst_fill *f)
{
	if (f->uffd >= 0)
		close(f->uffd);
	for (unsigned int i = 0; i < f->nr_src; i++) {
		if (f->src[i].map)
			munmap((void *)f->src[i].map, f->src[i].len);
		if (f->src[i].dfd >= 0)
			close(f->src[i].dfd);
	}
	if (f->bounce)
		munmap(f->bounce, 2 * RST_UNIT);
	free(f->seg);
	free(f->unit);
}

/* ---- the workers (raw system calls only) ---- */

/* @len bytes from @from into the missing pages at @dst. 0 or -errno. */
static long rst_fill_uffd_copy(int uffd, uint64_t dst, const uint8_t *from, uint64_t len)
{
	while (len) {
		struct uffdio_copy cp = {
			.dst = dst, .src = (uintptr_t)from, .len = len,
			.mode = UFFDIO_COPY_MODE_DONTWAKE,
		};
		long ret = rst_raw(SYS_ioctl, uffd, (long)UFFDIO_COPY, (long)&cp, 0, 0);

		if (ret < 0 && ret != -EAGAIN)
			return ret;
		if (cp.copy <= 0)
			return cp.copy < 0 ? cp.copy : -EIO;
		dst += (uint64_t)cp.copy;
		from += cp.copy;
		len -= (uint64_t)cp.copy;
	}
	return 0;
}

/*
 * Whether the @len bytes mapped at @at (page-aligned) are out of the page
 * cache, judged by RST_COLD_SAMPLES pages spread over them: asking about
 * every page (a page-cache lookup each) made a warm 4 GiB restore 0.05-0.08 s
 * slower. Pages files are mostly cold or warm as a whole, as written.
 */
static bool rst_fill_cold(const uint8_t *at, uint64_t len)
{
	uint64_t n = len / RST_PAGE;
	int out = 0;

	for (uint64_t k = 0; k < RST_COLD_SAMPLES; k++) {
		unsigned char v = 1;

		if (rst_raw(SYS_mincore, (long)(at + k * n / RST_COLD_SAMPLES * RST_PAGE),
			    (long)RST_PAGE, (long)&v, 0, 0))
			return false;
		out += !(v & 1);
	}
	return 2 * out > RST_COLD_SAMPLES;
}

/* A batch of pieces, back to back at @off of pages file @src. 0 or -1. */
static int rst_fill_batch(struct rst_fill_part *p, uint16_t src, struct iovec *iov, int n,
			  uint64_t off)
{
	int i = 0;

	while (i < n) {
		uint8_t *start = iov[i].iov_base, *end = start + iov[i].iov_len;

		for (i++; i < n && (uint8_t *)iov[i].iov_base == end; i++)
			end += iov[i].iov_len;
		/* an old kernel without it: the read faults the pages in */
		rst_raw(SYS_madvise, (long)start, end - start, MADV_POPULATE_WRITE, 0, 0);
	}
	while (n > 0) {
		long got = rst_raw(SYS_preadv, p->f->src[src].fd, (long)iov, n, (long)off, 0);

		if (got <= 0) {
			p->err = got < 0 ? got : 1;
			p->err_src = src;
			p->err_off = off;
			return -1;
		}
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (long)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

/* The pieces read with preadv, gathered while they are back to back in
 * one pages file. */
struct rst_fill_gather {
	struct iovec iov[RST_IOV];
	int n;
	uint16_t src;
	uint64_t off, end;
};

static int rst_fill_flush(struct rst_fill_part *p, struct rst_fill_gather *g)
{
	int ret = g->n ? rst_fill_batch(p, g->src, g->iov, g->n, g->off) : 0;

	g->n = 0;
	return ret;
}

/* [from, to) of segment @s. 0 or -1 (p->err set). */
static int rst_fill_range(struct rst_fill_part *p, struct rst_fill_gather *g,
			  const struct rst_seg *s, uint64_t from, uint64_t to)
{
	if (s->uffd) {
		long err = rst_fill_uffd_copy(p->f->uffd, s->dst + from,
					      p->f->src[s->src].map + s->off + from, to - from);

		if (err) {
			p->err = err;
			p->err_src = s->src;
			p->err_off = s->off + from;
			return -1;
		}
		return 0;
	}
	for (uint64_t at = from; at < to; at += RST_PIECE) {
		uint64_t pl = to - at < RST_PIECE ? to - at : RST_PIECE;

		if (g->n && (g->n == RST_IOV || g->end - g->off >= RST_PIECE || g->src != s->src ||
			     s->off + at != g->end) && rst_fill_flush(p, g))
			return -1;
		if (!g->n) {
			g->src = s->src;
			g->off = g->end = s->off + at;
		}
		g->iov[g->n].iov_base = (void *)(uintptr_t)(s->dst + at);
		g->iov[g->n].iov_len = pl;
		g->end += pl;
		g->n++;
	}
	return 0;
}

/* The part of segment @i that unit [@a, @b) holds: [*from, *to). */
static void rst_fill_in_unit(const struct rst_fill *f, struct rst_fill_at a, struct rst_fill_at b,
			     size_t i, uint64_t *from, uint64_t *to)
{
	*from = i == a.seg ? a.off : 0;
	*to = i == b.seg ? b.off : f->seg[i].len;
}

/*
 * The span of uffd segments from @i on in unit [@a, @b) that lie back to
 * back in one pages file (it ends before segment *@next): read with one
 * O_DIRECT read and put in place from the bounce buffer when it is long
 * enough and mostly out of the page cache. Returns 1 when it was, 0 when
 * it is left to the mapping, -1 on failure (p->err set). The caller sets
 * *@next to @i + 1; it is left so where O_DIRECT is not to be had.
 */
static int rst_fill_direct_span(struct rst_fill_part *p, struct rst_fill_at a,
				struct rst_fill_at b, size_t i, size_t *next)
{
	const struct rst_fill *f = p->f;
	const struct rst_seg *seg = f->seg;
	const struct rst_fill_src *src = &f->src[seg[i].src];
	uint8_t *buf = f->bounce + (uint64_t)p->idx * RST_UNIT;
	uint64_t from, to, start, end, got = 0;
	size_t j = i;
	long ret;

	if (src->dfd < 0 || !f->bounce || p->no_direct)
		return 0;	/* *next stays i + 1: segment by segment */
	rst_fill_in_unit(f, a, b, i, &from, &to);
	start = end = seg[i].off + from;
	for (; j < f->nr_seg && (j < b.seg || (j == b.seg && b.off)); j++) {
		rst_fill_in_unit(f, a, b, j, &from, &to);
		if (!seg[j].uffd || seg[j].src != seg[i].src || seg[j].off + from != end)
			break;
		end += to - from;
	}
	*next = j;
	if (end - start < RST_DIRECT_MIN || !rst_fill_cold(src->map + start, end - start))
		return 0;
	while (got < end - start) {
		ret = rst_raw(SYS_pread64, src->dfd, (long)(buf + got), (long)(end - start - got),
			      (long)(start + got), 0);
		if (ret == -EINVAL && !got) {
			/* opened with O_DIRECT, yet not read so (some filesystems) */
			p->no_direct = true;
			return 0;
		}
		if (ret <= 0)
			goto failed;
		got += (uint64_t)ret;
	}
	for (size_t k = i; k < j; k++) {
		rst_fill_in_unit(f, a, b, k, &from, &to);
		ret = rst_fill_uffd_copy(f->uffd, seg[k].dst + from, buf + (seg[k].off + from - start),
					 to - from);
		if (ret) {
			got = seg[k].off + from - start;
			goto failed;
		}
	}
	p->direct += end - start;
	return 1;
failed:
	p->err = ret < 0 ? ret : 1;
	p->err_src = seg[i].src;
	p->err_off = start + got;
	return -1;
}

/* Takes units until none is left or one fails. */
static void rst_fill_worker(struct rst_fill_part *p)
{
	struct rst_fill *f = p->f;
	struct rst_fill_gather g;

	g.n = 0;
	for (;;) {
		size_t k = __atomic_fetch_add(&f->next_unit, 1, __ATOMIC_RELAXED);
		struct rst_fill_at a, b;

		if (k >= f->nr_unit)
			break;
		a = f->unit[k];
		b = f->unit[k + 1];
		for (size_t i = a.seg; i < f->nr_seg && (i < b.seg || (i == b.seg && b.off));) {
			size_t next = i + 1;
			int direct = f->seg[i].uffd ? rst_fill_direct_span(p, a, b, i, &next) : 0;

			if (direct < 0)
				goto failed;
			for (; !direct && i < next; i++) {
				uint64_t from, to;

				rst_fill_in_unit(f, a, b, i, &from, &to);
				if (rst_fill_range(p, &g, &f->seg[i], from, to))
					goto failed;
			}
			i = next;
		}
		if (rst_fill_flush(p, &g))
			goto failed;
		if (__atomic_load_n(&f->failed, __ATOMIC_RELAXED))
			return;
	}
	return;
failed:
	__atomic_store_n(&f->failed, 1, __ATOMIC_RELAXED);
}

/*
 * Once every unit is done, each worker drops its share of the page-table
 * entries of the mapped pages files (tens of milliseconds for a GiB on one
 * core at munmap time). Not earlier: dropping entries while the other
 * worker copies costs it TLB-shootdown interrupts, which cost more.
 */
static void rst_fill_drop_sources(struct rst_fill_part *p)
{
	struct rst_fill *f = p->f;
	int done = __atomic_add_fetch(&f->done, 1, __ATOMIC_ACQ_REL);

	if (done == f->workers)
		rst_raw(SYS_futex, (long)&f->done, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT32_MAX, 0, 0);
	while ((done = __atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) < f->workers)
		rst_raw(SYS_futex, (long)&f->done, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, done, 0, 0);
	for (unsigned int i = 0; i < f->nr_src; i++) {
		const struct rst_fill_src *s = &f->src[i];
		uint64_t cut = s->len / (uint64_t)f->workers / RST_PAGE * RST_PAGE;
		uint64_t lo = cut * (uint64_t)p->idx;
		uint64_t hi = p->idx == f->workers - 1 ? s->len : lo + cut;

		if (s->map && hi > lo)
			rst_raw(SYS_madvise, (long)(s->map + lo), (long)(hi - lo), MADV_DONTNEED, 0, 0);
	}
}

static int rst_fill_helper(void *arg)
{
	rst_fill_worker(arg);
	rst_fill_drop_sources(arg);
	return 0;
}

/* 0, or the part's -errno with its message written. */
static int rst_fill_result(const struct rst_fill_part *p, char *msg, size_t msg_len)
{
	const struct rst_images *im = p->f->t->im;

	if (!p->err)
		return 0;
	if (p->f->src[p->err_src].fd == im->pages_fd)
		snprintf(msg, msg_len, "reading pages-%u.img at %llu: %s", im->pages_id,
			 (unsigned long long)p->err_off, p->err < 0 ? strerror((int)-p->err) : "short file");
	else
		snprintf(msg, msg_len, "reading a parent's pages file at %llu: %s (the chain changed "
			 "after it was checked?)", (unsigned long long)p->err_off,
			 p->err < 0 ? strerror((int)-p->err) : "short file");
	return p->err < 0 ? (int)p->err : -EIO;
}

/* Runs the workers: the helper thread when there is enough to share.
 * Adds the pages they read with O_DIRECT to @direct. */
static int rst_fill_run(struct rst_fill *f, uint64_t *direct, char *msg, size_t msg_len)
{
	uint8_t stack[RST_HELPER_STACK] __attribute__((aligned(16)));
	struct rst_fill_part me = { .f = f }, helper = { .f = f, .idx = 1 };
	pid_t tid = -1;
	int err;

	f->workers = 2;
	if (f->nr_unit >= 4)
		tid = clone(rst_fill_helper, stack + sizeof(stack),
			    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
			    &helper, &helper.tid, NULL, &helper.tid);
	if (tid <= 0)
		f->workers = 1;		/* before any worker is past its units */
	rst_fill_worker(&me);
	rst_fill_drop_sources(&me);
	err = rst_fill_result(&me, msg, msg_len);
	if (tid > 0) {
		pid_t w;

		while ((w = __atomic_load_n(&helper.tid, __ATOMIC_ACQUIRE)) != 0)
			syscall(SYS_futex, &helper.tid, 0 /* FUTEX_WAIT */, w, NULL, NULL, 0);
		/* until its TID is free for the task's own threads */
		while (!syscall(SYS_tgkill, getpid(), tid, 0))
			sched_yield();
		if (!err)
			err = rst_fill_result(&helper, msg, msg_len);
		*direct += helper.direct / RST_PAGE;
	}
	*direct += me.direct / RST_PAGE;
	return err;
}

int rst_fill_task(const struct rst_fill_task *t, uint64_t *direct, char *msg, size_t msg_len)
{
	struct rst_fill f = { .t = t, .uffd = -1 };
	int err;

	msg[0] = '\0';
	*direct = 0;
	rst_fill_uffd_open(&f);
	err = rst_fill_segments(&f, msg, msg_len);
	if (!err)
		err = rst_fill_map_sources(&f, msg, msg_len);
	if (!err) {
		err = rst_fill_units(&f);
		if (err)
			snprintf(msg, msg_len, "no memory for the fill's units: %s", strerror(-err));
	}
	if (!err)
		err = rst_fill_run(&f, direct, msg, msg_len);
	rst_fill_free(&f);
	return err;
}
