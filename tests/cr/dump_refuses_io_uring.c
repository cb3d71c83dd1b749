/* A task that owns an io_uring instance cannot be dumped yet: the dump must
 * refuse, naming io_uring, and leave the task running and unchanged: its
 * counters agree, memory intact, no tracer attached, and its ring still works
 * (a NOP submitted after the failed dump completes). */
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=io_uring; !dump -R @says=io_uring; verify");
CRT_DAMAGE_FAILS("the task has 0 open fds, expected 1");

#define STEP 0x9e3779b97f4a7c15ull
#define REGION_WORDS (1u << 20)	/* 8 MiB */
#define EXPECTED_FDS 1

static uint64_t pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull ^ (i + 1) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 29);
}

static struct io_uring ring;

/* Fails unless fd @fd is an anonymous inode of kind @kind ("[io_uring]"). */
static bool check_fd_kind(int fd, const char *kind)
{
	char path[64], link[128] = "", want[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "anon_inode:%s", kind);
	n = readlink(path, link, sizeof(link) - 1);
	if (n >= 0)
		link[n] = '\0';
	if (n < 0 || strcmp(link, want)) {
		crt_fail("fd %d is '%s', expected '%s'", fd, n < 0 ? "not open" : link, want);
		return false;
	}
	return true;
}

/* The checks every failed dump must pass: the task is as it was. */
static void check_unchanged(const uint64_t *region, uint64_t n, uint64_t mult)
{
	unsigned long long tracer = 0;
	int fds = crt_fd_count();

	if (mult != n * STEP)
		crt_fail("multiple counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)mult, (unsigned long long)(n * STEP),
			 (unsigned long long)n);
	for (size_t i = 0; i < REGION_WORDS; i++)
		if (region[i] != pattern(9, i)) {
			crt_fail("region word %zu is %#llx, expected %#llx", i,
				 (unsigned long long)region[i], (unsigned long long)pattern(9, i));
			break;
		}
	if (crt_status_field("TracerPid", &tracer) || tracer)
		crt_fail("TracerPid is %llu, expected 0 (no tracer left attached)", tracer);
	if (fds != EXPECTED_FDS)
		crt_fail("the task has %d open fds, expected %d", fds, EXPECTED_FDS);
}

int main(int argc, char **argv)
{
	uint64_t n = 0, mult = 0, *region;

	crt_init(argc, argv);
	region = mmap(NULL, REGION_WORDS * 8, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < REGION_WORDS; i++)
		region[i] = pattern(9, i);
	if (io_uring_queue_init(4, &ring, 0))
		return 2;
	crt_ready();
	do {
		n++;
		mult += STEP;
	} while (!crt_verify_requested());
	if (crt_damage())
		io_uring_queue_exit(&ring);
	check_unchanged(region, n, mult);
	if (check_fd_kind(ring.ring_fd, "[io_uring]")) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe = NULL;
		int err;

		if (!sqe) {
			crt_fail("the ring has no free submission entry, expected 4 free");
		} else {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, 0x5eed);
			err = io_uring_submit(&ring);
			if (err != 1 || io_uring_wait_cqe(&ring, &cqe) || !cqe)
				crt_fail("a NOP on the ring did not complete (submit gave %d), expected it to", err);
			else if (cqe->user_data != 0x5eed || cqe->res != 0)
				crt_fail("the NOP completed with data %#llx res %d, expected 0x5eed and 0",
					 (unsigned long long)cqe->user_data, cqe->res);
		}
	}

	return crt_finish();
}
