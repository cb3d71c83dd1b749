/* bench_img — the image layer: throughput of the raw page stream writer
 * (io_uring against plain pwrite(), on the build's disk and on /dev/shm,
 * through the page cache, no fsync) and decode speed of a large pagemap.
 * CRISP_BENCH_DISK_DIR picks the disk directory (default: the cwd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "img.h"
#include "page-writer.h"
#include "pagemap.pb-c.h"

#define STREAM_BYTES (128ull << 20)

static void page_stream(struct bench_state *st, const char *dir, bool no_uring)
{
	struct page_writer_opts o = { .buf_size = 1 << 20, .nr_bufs = 8, .no_uring = no_uring };
	size_t chunk = 256 << 10;
	uint8_t *src = malloc(chunk);
	struct img_dir d;
	struct timespec t0, t1;
	double wall;
	char name[32];

	if (!src || img_dir_open(&d, dir, false)) {
		bench_fail(st, "can't open the bench directory");
		free(src);
		return;
	}
	memset(src, 0x5a, chunk);
	snprintf(name, sizeof(name), "pages-%d.img", (int)getpid() & 0xffff);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (bench_keep_running(st)) {
		struct page_writer *pw;
		int ret;

		if (page_writer_open(&pw, &d, (unsigned int)getpid() & 0xffff, &o)) {
			bench_fail(st, "can't create the page file");
			break;
		}
		for (uint64_t off = 0; off < STREAM_BYTES; off += chunk)
			if (page_writer_write(pw, src, chunk))
				break;
		ret = page_writer_close(pw);
		bench_pause_timing(st);
		unlinkat(d.dfd, name, 0);
		bench_resume_timing(st);
		if (ret) {
			bench_fail(st, "page stream failed");
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bench_set_bytes(st, bench_iterations(st) * (int64_t)STREAM_BYTES);
	/* io_uring's copies run in kernel workers, outside this thread's CPU
	 * time: the fair figure is bytes over wall-clock time (unlinks included) */
	wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (wall > 0)
		bench_counter(st, "wall_MB/s", (double)bench_iterations(st) *
			      (double)STREAM_BYTES / wall / 1e6, false);
	img_dir_close(&d);
	free(src);
}

static const char *disk_dir(void)
{
	const char *d = getenv("CRISP_BENCH_DISK_DIR");

	return d ? d : ".";
}

static void bench_disk_uring(struct bench_state *st) { page_stream(st, disk_dir(), false); }
static void bench_disk_pwrite(struct bench_state *st) { page_stream(st, disk_dir(), true); }
static void bench_shm_uring(struct bench_state *st) { page_stream(st, "/dev/shm", false); }
static void bench_shm_pwrite(struct bench_state *st) { page_stream(st, "/dev/shm", true); }
BENCH_REGISTER("img/page-stream/disk/io_uring", bench_disk_uring);
BENCH_REGISTER("img/page-stream/disk/write", bench_disk_pwrite);
BENCH_REGISTER("img/page-stream/shm/io_uring", bench_shm_uring);
BENCH_REGISTER("img/page-stream/shm/write", bench_shm_pwrite);

/* A pagemap image of @n entries, built in memory through a pipe-less fd. */
static uint8_t *make_pagemap(size_t n, size_t *len)
{
	const struct img_kind *k = img_kind_by_name("PAGEMAP");
	PagemapHead head = PAGEMAP_HEAD__INIT;
	struct img_writer w;
	uint8_t *buf = NULL;
	int fd = memfd_create("pagemap", 0);

	if (fd < 0 || img_writer_open_fd(&w, fd, k, "pagemap-bench.img"))
		goto out;
	head.pages_id = 1;
	img_writer_entry(&w, &head.base);
	for (size_t i = 0; i < n; i++) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;

		e.vaddr = 0x7f0000000000ull + i * 0x10000;
		e.nr_pages = 1 + (uint32_t)(i % 16);
		e.has_flags = 1;
		e.flags = 4;
		img_writer_entry(&w, &e.base);
	}
	if (img_writer_close(&w))
		goto out;
	*len = (size_t)lseek(fd, 0, SEEK_END);
	buf = malloc(*len);
	if (buf && pread(fd, buf, *len, 0) != (ssize_t)*len) {
		free(buf);
		buf = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

static void bench_pagemap_decode(struct bench_state *st)
{
	size_t n = (size_t)bench_arg(st, 0), len = 0;
	uint8_t *buf = make_pagemap(n, &len);

	if (!buf) {
		bench_fail(st, "can't build the pagemap");
		return;
	}
	while (bench_keep_running(st)) {
		struct img_file f;

		if (img_parse(&f, "pagemap-bench.img", buf, len, NULL)) {
			bench_fail(st, "pagemap does not parse");
			break;
		}
		img_file_free(&f);
	}
	bench_set_items(st, bench_iterations(st) * (int64_t)n);
	bench_set_bytes(st, bench_iterations(st) * (int64_t)len);
	free(buf);
}
BENCH_REGISTER("img/pagemap-decode", bench_pagemap_decode, 1 << 20);
