/* bench_mem — the first half of the memory path on a 1 GiB mapping of a
 * child process: finding pages (PAGEMAP_SCAN vs reading /proc/PID/pagemap,
 * sparse and dense) and copying them with process_vm_readv at several
 * batch sizes. The child lives for one run of a case and is reaped. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mem_read.h"
#include "mem_scan.h"

#define BM_SIZE (1ULL << 30)
#define BM_SPARSE_STRIDE 64	/* sparse: one page in 64 written */

struct bm_child {
	pid_t pid;
	uint64_t addr;
};

/* A child with 1 GiB mapped, every page (dense) or every 64th (sparse)
 * written; it waits to be killed. */
static int bm_child_start(struct bm_child *c, bool dense)
{
	int pfd[2];

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe(pfd))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		char *p = mmap(NULL, BM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uint64_t a = (uint64_t)(uintptr_t)p;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (p == MAP_FAILED)
			_exit(1);
		madvise(p, BM_SIZE, MADV_NOHUGEPAGE);	/* 4 KiB pages: the hard case */
		for (uint64_t off = 0; off < BM_SIZE; off += dense ? 4096 : 4096 * BM_SPARSE_STRIDE)
			p[off] = 1;
		if (write(pfd[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (c->pid < 0 || read(pfd[0], &c->addr, sizeof(c->addr)) != sizeof(c->addr)) {
		close(pfd[0]);
		return -1;
	}
	close(pfd[0]);
	return 0;
}

static void bm_child_stop(struct bm_child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

static void bm_scan(struct bench_state *st, unsigned int flags)
{
	bool dense = bench_arg(st, 0);
	struct bm_child c;
	struct mem_scanner s;
	struct mem_ranges r = { 0 };
	uint64_t pages = 0;

	if (bm_child_start(&c, dense)) {
		bench_fail(st, "cannot start the child");
		return;
	}
	if (mem_scanner_open(&s, c.pid, flags)) {
		bench_fail(st, "mem_scanner_open");
		bm_child_stop(&c);
		return;
	}
	while (bench_keep_running(st)) {
		r.nr = 0;
		r.pages = 0;
		if (mem_scan(&s, c.addr, c.addr + BM_SIZE, 0, &r)) {
			bench_fail(st, "mem_scan");
			break;
		}
		pages = r.pages;
	}
	bench_counter(st, "pages", (double)pages, false);
	bench_counter(st, "ranges", (double)r.nr, false);
	bench_set_bytes(st, bench_iterations(st) * (int64_t)BM_SIZE);
	mem_ranges_free(&r);
	mem_scanner_close(&s);
	bm_child_stop(&c);
}

static void bench_scan_ioctl(struct bench_state *st)
{
	bm_scan(st, 0);
}
BENCH_REGISTER("mem/scan_pagemap_ioctl(0=sparse,1=dense)", bench_scan_ioctl, 0, 1);

static void bench_scan_read(struct bench_state *st)
{
	bm_scan(st, MEM_SCAN_NO_IOCTL);
}
BENCH_REGISTER("mem/scan_pagemap_read(0=sparse,1=dense)", bench_scan_read, 0, 1);

/* process_vm_readv of the dense 1 GiB through a buffer of @arg KiB */
static void bench_readv(struct bench_state *st)
{
	size_t buf_size = (size_t)bench_arg(st, 0) << 10;
	struct bm_child c;
	struct mem_scanner s;
	struct mem_ranges r = { 0 };
	struct mem_reader rd;
	struct mem_batch b;
	uint64_t calls = 0;
	void *buf;

	buf = mmap(NULL, buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || bm_child_start(&c, true)) {
		bench_fail(st, "set-up failed");
		return;
	}
	memset(buf, 0, buf_size);	/* fault the buffer in outside the loop */
	if (mem_scanner_open(&s, c.pid, 0) || mem_scan(&s, c.addr, c.addr + BM_SIZE, 0, &r)) {
		bench_fail(st, "scan failed");
		bm_child_stop(&c);
		return;
	}
	while (bench_keep_running(st)) {
		mem_reader_init(&rd, c.pid, r.r, r.nr, buf, buf_size);
		while (mem_reader_next(&rd, &b) == 1)
			;
		calls = rd.readv_calls;
	}
	bench_counter(st, "readv_calls", (double)calls, false);
	bench_set_bytes(st, bench_iterations(st) * (int64_t)(r.pages * MEM_PAGE_SIZE));
	mem_ranges_free(&r);
	mem_scanner_close(&s);
	bm_child_stop(&c);
	munmap(buf, buf_size);
}
BENCH_REGISTER("mem/readv_batch_KiB", bench_readv, 64, 1024, 4096, 16384, 65536);
