/* A task that owns a perf event fd cannot be dumped yet: the dump must
 * refuse, naming perf, and leave the task running and unchanged: its
 * counters agree, memory intact, no tracer attached, and its task-clock event
 * still counts (it advances over work done after the failed dump). */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=perf; !dump -R @says=perf; verify");
CRT_DAMAGE_FAILS("the perf event did not count");

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

static int perf_fd = -1;

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
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_TASK_CLOCK,
	};

	perf_fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (perf_fd < 0)
		return 2;
	crt_ready();
	do {
		n++;
		mult += STEP;
	} while (!crt_verify_requested());
	if (crt_damage())
		ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
	check_unchanged(region, n, mult);
	if (check_fd_kind(perf_fd, "[perf_event]")) {
		uint64_t before = 0, after = 0;
		volatile uint64_t work = 0;

		if (read(perf_fd, &before, 8) != 8)
			crt_fail("reading the perf event failed, expected a count");
		for (int i = 0; i < 10000000; i++)
			work += (uint64_t)i;
		__asm__ volatile("" : : "r"(work));
		if (read(perf_fd, &after, 8) != 8)
			crt_fail("reading the perf event failed, expected a count");
		else if (after <= before)
			crt_fail("the perf event did not count: %llu ns before some work, %llu after, expected more",
				 (unsigned long long)before, (unsigned long long)after);
	}

	return crt_finish();
}
