/* A task that owns a userfaultfd (with a registered range) cannot be dumped
 * yet: the dump must refuse, naming userfaultfd, and leave the task running
 * and unchanged: its counters agree, memory intact, no tracer attached, and the
 * range still registered (VmFlags "um"). */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=userfaultfd; !dump -R @says=userfaultfd; verify");
CRT_DAMAGE_FAILS("lack 'um'");

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

static int uffd = -1;
static uint64_t *watched;
#define WATCHED_BYTES (16 * 4096)

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
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	watched = mmap(NULL, WATCHED_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uffd < 0 || watched == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api))
		return 2;
	/* every page is present: no access can ever wait for a handler */
	for (size_t i = 0; i < WATCHED_BYTES / 8; i++)
		watched[i] = pattern(10, i);
	reg.range.start = (unsigned long)watched;
	reg.range.len = WATCHED_BYTES;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return 2;
	crt_ready();
	do {
		n++;
		mult += STEP;
	} while (!crt_verify_requested());
	if (crt_damage()) {
		struct uffdio_range range = { (unsigned long)watched, WATCHED_BYTES };

		ioctl(uffd, UFFDIO_UNREGISTER, &range);
	}
	check_unchanged(region, n, mult);
	if (check_fd_kind(uffd, "[userfaultfd]")) {
		struct crt_vma vma;

		if (crt_vma_of(watched, &vma))
			crt_fail("no mapping holds the registered range %p", (void *)watched);
		else if (!crt_vma_has_flag(&vma, "um"))
			crt_fail("the registered range's VmFlags '%s' lack 'um'", vma.vmflags);
		for (size_t i = 0; i < WATCHED_BYTES / 8; i++)
			if (watched[i] != pattern(10, i)) {
				crt_fail("registered range word %zu is %#llx, expected %#llx", i,
					 (unsigned long long)watched[i], (unsigned long long)pattern(10, i));
				break;
			}
	}

	return crt_finish();
}
