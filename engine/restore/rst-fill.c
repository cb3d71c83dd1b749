/* rst-fill — one task's saved pages into their premapped places (see
 * rst-fill.h): pages-N.img on two cores, PE_PARENT runs through the parent
 * chain. Runs in the new task; must not map, unmap or move any VMA.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
 * The saved pages go from pages-N.img (back to back there) into their
 * premapped places in pieces of up to RST_PIECE bytes, one of two ways:
 *
 * - private anonymous VMAs (not THP): registered with a userfaultfd, and
 *   each piece put in place with UFFDIO_COPY from a read-only mapping of
 *   pages-N.img. The kernel allocates each page and copies into it: one
 *   copy, no clearing, no page-table walk of its own (profiles show the
 *   clearing and the walk of MADV_POPULATE_WRITE at about a third of the
 *   fill). Closing the userfaultfd unregisters the VMAs: their flags are
 *   as before. PE_PARENT runs there go through a bounce buffer.
 * - everything else (file-private, shared, THP VMAs, or no userfaultfd):
 *   each piece is first faulted in with MADV_POPULATE_WRITE (the kernel
 *   allocates the pages in a loop instead of taking one page-fault
 *   exception per page inside the copy; THP VMAs get their huge pages),
 *   then read with one preadv while the cleared pages are still in the
 *   cache.
 *
 * Two workers share this on the two cores: a helper thread takes the
 * second half of pages-N.img, this thread the first half and the
 * PE_PARENT runs. The helper shares this thread's TLS, so the piece code
 * makes raw system calls and never touches errno; the helper is gone (its
 * TID free again) before the fill returns.
 */
#define RST_PIECE	(512ull << 10)
#define RST_IOV		64
#define RST_HELPER_STACK (16u << 10)

/* What both workers read: the task and how its pages are put in place. */
struct rst_fill_how {
	const struct rst_fill_task *t;
	int uffd;		/* -1: MADV_POPULATE_WRITE and preadv everywhere */
	const uint8_t *src;	/* pages-N.img mapped read-only (with uffd) */
	uint8_t *bounce;	/* RST_PIECE bytes for PE_PARENT runs (with uffd) */
};

struct rst_fill_part {
	const struct rst_fill_how *how;
	const struct rst_fill_task *t;
	uint64_t lo, hi;	/* the part of pages-N.img this worker reads */
	long err;		/* first -errno, 0, or 1 for a short file */
	uint64_t err_off;
	char *msg;		/* the main worker's message buffer, or NULL */
	size_t msg_len;
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

/* Where @run goes in the premapped reservation, or NULL when it is in no
 * private VMA; *@vi walks the VMAs in step with the sorted runs. */
static uint8_t *rst_fill_run_dst(const struct rst_fill_task *t, size_t *vi,
				 const struct rst_pages_run *run)
{
	const struct rst_vma *rv = t->vmas;
	uint64_t len = run->nr_pages * RST_PAGE;

	while (*vi < t->nr_vmas && rv[*vi].dst + rv[*vi].len <= run->vaddr)
		(*vi)++;
	if (*vi == t->nr_vmas || run->vaddr < rv[*vi].dst || run->vaddr + len > rv[*vi].dst + rv[*vi].len ||
	    (t->im->mme->vmas[t->vma_idx[*vi]]->status & RST_VMA_FILE_SHARED))
		return NULL;
	return (uint8_t *)(uintptr_t)(rv[*vi].src + (run->vaddr - rv[*vi].dst));
}

/* Whether the VMA of premapped VMA @vi is filled through the userfaultfd. */
static bool rst_fill_vma_uffd(const struct rst_fill_task *t, size_t vi)
{
	const VmaEntry *v = t->im->mme->vmas[t->vma_idx[vi]];

	if (v->status & (RST_VMA_FILE_PRIVATE | RST_VMA_FILE_SHARED | RST_VMA_ANON_SHARED))
		return false;
	return !(v->has_madv && (v->madv & (1ull << MADV_HUGEPAGE)));
}

/* @len bytes from @src into the missing pages at @dst. 0 or -errno. */
static long rst_fill_uffd_copy(int uffd, uint8_t *dst, const uint8_t *src, uint64_t len)
{
	while (len) {
		struct uffdio_copy cp = {
			.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
			.mode = UFFDIO_COPY_MODE_DONTWAKE,
		};
		long ret = rst_raw(SYS_ioctl, uffd, (long)UFFDIO_COPY, (long)&cp, 0, 0);

		if (ret < 0 && ret != -EAGAIN)
			return ret;
		if (cp.copy <= 0)
			return cp.copy < 0 ? cp.copy : -EIO;
		dst += cp.copy;
		src += cp.copy;
		len -= (uint64_t)cp.copy;
	}
	return 0;
}

/* A PE_PARENT run, read through the chain (verified before the clone)
 * straight into its premapped place. The chain's own messages go to this
 * task's copy of the log, which nobody flushes: the failure is reported
 * through the message. */
static int rst_fill_parent(struct rst_fill_part *p, const struct rst_pages_run *run, uint8_t *dst,
			   bool uffd)
{
	const struct rst_images *im = p->t->im;
	int err = 0;

	if (!uffd)
		err = page_chain_read(im->chain, run->vaddr, run->nr_pages, dst, 0);
	for (uint64_t off = 0; uffd && !err && off < run->nr_pages * RST_PAGE; off += RST_PIECE) {
		uint64_t pl = run->nr_pages * RST_PAGE - off;

		pl = pl < RST_PIECE ? pl : RST_PIECE;
		err = page_chain_read(im->chain, run->vaddr + off, pl / RST_PAGE, p->how->bounce, 0);
		if (!err)
			err = (int)rst_fill_uffd_copy(p->how->uffd, dst + off, p->how->bounce, pl);
	}

	if (err) {
		p->err = err;
		snprintf(p->msg, p->msg_len, "reading %llu pages at %#llx through the parent images: "
			 "%s (the chain changed after it was checked?)",
			 (unsigned long long)run->nr_pages, (unsigned long long)run->vaddr, strerror(-err));
	}
	return err;
}

static int rst_fill_batch(struct rst_fill_part *p, struct iovec *iov, int n, uint64_t off)
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
		long got = rst_raw(SYS_preadv, p->t->im->pages_fd, (long)iov, n, (long)off, 0);

		if (got <= 0) {
			p->err = got < 0 ? got : 1;
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

/* The runs' pieces that start in [p->lo, p->hi) of pages-N.img; the main
 * worker (@parents) also reads the PE_PARENT runs and checks every run. */
static void rst_fill_worker(struct rst_fill_part *p, bool parents)
{
	const struct rst_images *im = p->t->im;
	struct iovec iov[RST_IOV];
	uint64_t batch_off = 0, batch_end = 0;
	size_t vi = 0;
	int n = 0;
	bool uffd;

	for (size_t i = 0; i < im->nr_runs; i++) {
		const struct rst_pages_run *run = &im->runs[i];
		uint64_t len = run->nr_pages * RST_PAGE;
		uint8_t *dst = rst_fill_run_dst(p->t, &vi, run);

		if (!dst) {
			if (parents) {
				p->err = -EINVAL;
				snprintf(p->msg, p->msg_len, "bad image %s: pages at %#llx+%llu are in no "
					 "private VMA", im->pagemap.name, (unsigned long long)run->vaddr,
					 (unsigned long long)len);
			}
			break;
		}
		uffd = p->how->uffd >= 0 && rst_fill_vma_uffd(p->t, vi);
		if (run->in_parent) {
			if (parents && rst_fill_parent(p, run, dst, uffd))
				break;
			continue;
		}
		if (run->file_off + len <= p->lo)
			continue;
		if (run->file_off >= p->hi)
			break;
		for (uint64_t off = 0; off < len; off += RST_PIECE) {
			uint64_t at = run->file_off + off;
			uint64_t pl = len - off < RST_PIECE ? len - off : RST_PIECE;

			if (at < p->lo)
				continue;
			if (at >= p->hi)
				break;
			if (uffd) {
				long err = rst_fill_uffd_copy(p->how->uffd, dst + off, p->how->src + at, pl);

				if (err) {
					p->err = err;
					p->err_off = at;
					return;
				}
				continue;
			}
			if (n && (n == RST_IOV || batch_end - batch_off >= RST_PIECE || at != batch_end)) {
				if (rst_fill_batch(p, iov, n, batch_off))
					return;
				n = 0;
			}
			if (!n)
				batch_off = batch_end = at;
			iov[n].iov_base = dst + off;
			iov[n].iov_len = pl;
			batch_end += pl;
			n++;
		}
	}
	if (n && !p->err)
		rst_fill_batch(p, iov, n, batch_off);
}

static int rst_fill_helper(void *arg)
{
	rst_fill_worker(arg, false);
	return 0;
}

/* 0, or the part's -errno with its message written (unless already). */
static int rst_fill_result(const struct rst_fill_part *p, char *msg, size_t msg_len, bool has_msg)
{
	if (!p->err)
		return 0;
	if (!has_msg)
		snprintf(msg, msg_len, "reading pages-%u.img at %llu: %s", p->t->im->pages_id,
			 (unsigned long long)p->err_off,
			 p->err < 0 ? strerror((int)-p->err) : "short file");
	return p->err < 0 ? (int)p->err : -EIO;
}

/*
 * A userfaultfd with every private anonymous VMA of @t registered for
 * missing pages, pages-N.img mapped and the bounce buffer; or how->uffd -1
 * when any of it is not to be had (the fill then populates and reads).
 */
static void rst_fill_how_open(struct rst_fill_how *how, const struct rst_fill_task *t)
{
	struct uffdio_api api = { .api = UFFD_API };
	bool any = false;
	void *p;

	how->uffd = -1;
	for (size_t i = 0; i < t->nr_vmas && !any; i++)
		any = rst_fill_vma_uffd(t, i);
	if (!any || !t->im->pages_len)
		return;
	how->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (how->uffd < 0 || ioctl(how->uffd, UFFDIO_API, &api))
		goto no;
	for (size_t i = 0; i < t->nr_vmas; i++) {
		struct uffdio_register reg = {
			.range = { .start = t->vmas[i].src, .len = t->vmas[i].len },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (rst_fill_vma_uffd(t, i) && ioctl(how->uffd, UFFDIO_REGISTER, &reg))
			goto no;
	}
	p = mmap(NULL, t->im->pages_len, PROT_READ, MAP_PRIVATE, t->im->pages_fd, 0);
	if (p == MAP_FAILED)
		goto no;
	how->src = p;
	if (!t->im->chain)
		return;
	p = mmap(NULL, RST_PIECE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		how->bounce = p;
		return;
	}
no:
	/* closing it unregisters what was registered */
	if (how->uffd >= 0)
		close(how->uffd);
	if (how->src)
		munmap((void *)how->src, t->im->pages_len);
	how->uffd = -1;
	how->src = NULL;
}

static void rst_fill_how_close(struct rst_fill_how *how, const struct rst_fill_task *t)
{
	if (how->uffd < 0)
		return;
	close(how->uffd);
	munmap((void *)how->src, t->im->pages_len);
	if (how->bounce)
		munmap(how->bounce, RST_PIECE);
}

int rst_fill_task(const struct rst_fill_task *t, char *msg, size_t msg_len)
{
	struct rst_fill_how how = { .t = t };
	uint8_t stack[RST_HELPER_STACK] __attribute__((aligned(16)));
	const struct rst_images *im = t->im;
	uint64_t total = 0, half;
	struct rst_fill_part me = { .how = &how, .t = t, .msg = msg, .msg_len = msg_len }, helper;
	pid_t tid = -1;
	int err;

	msg[0] = '\0';
	rst_fill_how_open(&how, t);
	for (size_t i = 0; i < im->nr_runs; i++)
		if (!im->runs[i].in_parent)
			total = im->runs[i].file_off + im->runs[i].nr_pages * RST_PAGE;
	/* a piece boundary, so that no piece is split between the workers */
	half = total / 2 / RST_PIECE * RST_PIECE;
	me.hi = UINT64_MAX;
	helper = me;
	helper.msg = NULL;
	if (half >= 4 * RST_PIECE) {
		helper.lo = half;
		tid = clone(rst_fill_helper, stack + sizeof(stack),
			    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
			    &helper, &helper.tid, NULL, &helper.tid);
		if (tid > 0)
			me.hi = half;
	}
	rst_fill_worker(&me, true);
	err = rst_fill_result(&me, msg, msg_len, msg[0] != '\0');
	if (tid > 0) {
		pid_t w;

		while ((w = __atomic_load_n(&helper.tid, __ATOMIC_ACQUIRE)) != 0)
			syscall(SYS_futex, &helper.tid, 0 /* FUTEX_WAIT */, w, NULL, NULL, 0);
		/* until its TID is free for the task's own threads */
		while (!syscall(SYS_tgkill, getpid(), tid, 0))
			sched_yield();
		if (!err)
			err = rst_fill_result(&helper, msg, msg_len, false);
	}
	rst_fill_how_close(&how, t);
	return err;
}
