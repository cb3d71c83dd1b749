/* bench_fill — the two ways restore fills fresh private anonymous memory
 * from a pages file (engine/restore/rst-fill.c), on one core: prefault with
 * MADV_POPULATE_WRITE then preadv, or UFFDIO_COPY from a read-only mapping
 * of the file. Runs of 1, 8 and 64 pages with a one-page hole after each,
 * as a sparse dump leaves them; 64 MiB of data in the page cache.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"

#define BF_PAGE 4096ull
#define BF_DATA (64ull << 20)

struct bf_setup {
	int fd;			/* the pages file, unlinked */
	const uint8_t *src;	/* mapped read-only */
	uint8_t *dst;		/* the fresh mapping: data and holes */
	uint64_t run, dst_len;
};

static int bf_open(struct bf_setup *s, uint64_t run_pages)
{
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	uint8_t *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/crisp-bench-fill-XXXXXX", tmp ? tmp : ".");
	s->fd = mkstemp(path);
	if (s->fd < 0 || !buf)
		return -1;
	unlink(path);
	for (uint64_t off = 0; off < BF_DATA; off += 1 << 20) {
		for (size_t i = 0; i < (1 << 20); i += 8)
			memcpy(buf + i, &(uint64_t){ off + i }, 8);
		if (pwrite(s->fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			return -1;
	}
	free(buf);
	s->src = mmap(NULL, BF_DATA, PROT_READ, MAP_PRIVATE, s->fd, 0);
	s->run = run_pages * BF_PAGE;
	s->dst_len = BF_DATA / s->run * (s->run + BF_PAGE);
	return s->src == MAP_FAILED ? -1 : 0;
}

static void bf_close(struct bf_setup *s)
{
	munmap((void *)s->src, BF_DATA);
	close(s->fd);
}

static int bf_map_dst(struct bf_setup *s)
{
	s->dst = mmap(NULL, s->dst_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->dst == MAP_FAILED)
		return -1;
	madvise(s->dst, s->dst_len, MADV_NOHUGEPAGE);	/* the workload's 4 KiB pages */
	return 0;
}

static void bench_fill_populate_preadv(struct bench_state *st)
{
	struct bf_setup s;

	if (bf_open(&s, (uint64_t)bench_arg(st, 0))) {
		bench_fail(st, "cannot set up the pages file");
		return;
	}
	while (bench_keep_running(st)) {
		bench_pause_timing(st);
		if (bf_map_dst(&s))
			break;
		bench_resume_timing(st);
		for (uint64_t off = 0, at = 0; off < BF_DATA; off += s.run, at += s.run + BF_PAGE) {
			madvise(s.dst + at, s.run, MADV_POPULATE_WRITE);
			if (pread(s.fd, s.dst + at, s.run, (off_t)off) != (ssize_t)s.run)
				bench_fail(st, "short read");
		}
		bench_pause_timing(st);
		munmap(s.dst, s.dst_len);
		bench_resume_timing(st);
	}
	bench_set_bytes(st, bench_iterations(st) * (int64_t)BF_DATA);
	bf_close(&s);
}

static void bench_fill_uffdio_copy(struct bench_state *st)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct bf_setup s;
	int uffd = -1;

	if (bf_open(&s, (uint64_t)bench_arg(st, 0))) {
		bench_fail(st, "cannot set up the pages file");
		return;
	}
	while (bench_keep_running(st)) {
		struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

		bench_pause_timing(st);
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
		if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || bf_map_dst(&s)) {
			bench_fail(st, "no userfaultfd");
			break;
		}
		reg.range.start = (uintptr_t)s.dst;
		reg.range.len = s.dst_len;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
			bench_fail(st, "UFFDIO_REGISTER failed");
			break;
		}
		bench_resume_timing(st);
		for (uint64_t off = 0, at = 0; off < BF_DATA; off += s.run, at += s.run + BF_PAGE) {
			struct uffdio_copy cp = {
				.dst = (uintptr_t)(s.dst + at), .src = (uintptr_t)(s.src + off),
				.len = s.run, .mode = UFFDIO_COPY_MODE_DONTWAKE,
			};

			if (ioctl(uffd, UFFDIO_COPY, &cp))
				bench_fail(st, "UFFDIO_COPY failed");
		}
		close(uffd);
		/* the source's page tables are restore's to drop too */
		madvise((void *)s.src, BF_DATA, MADV_DONTNEED);
		bench_pause_timing(st);
		munmap(s.dst, s.dst_len);
		bench_resume_timing(st);
	}
	bench_set_bytes(st, bench_iterations(st) * (int64_t)BF_DATA);
	bf_close(&s);
}

BENCH_REGISTER("fill/populate_preadv", bench_fill_populate_preadv, 1, 8, 64);
BENCH_REGISTER("fill/uffdio_copy", bench_fill_uffdio_copy, 1, 8, 64);
