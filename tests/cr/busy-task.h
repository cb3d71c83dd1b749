/* busy-task — the task of the refused-dump scenarios: a counting loop whose
 * counters live in registers, a memory region filled with a pattern, and the
 * check, after dumps that had to fail, that the task is as it was (counters
 * agree, region intact, no tracer attached, no fd added). Header-only: each
 * scenario stays one file and adds only what is its own (the fd crisp must
 * refuse, how to damage the task, that fd's own check).
 */
#ifndef CRISP_TESTS_BUSY_TASK_H
#define CRISP_TESTS_BUSY_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

#define BT_STEP 0x9e3779b97f4a7c15ull
#define BT_SEED 9			/* the region holds crt_pattern(BT_SEED, i) */

struct bt_task {
	uint64_t *region;
	size_t words;
	uint64_t n, mult;		/* iterations; n * BT_STEP if nothing went wrong */
};

/* Maps the region of @words words and fills it. 0, or -1 when mmap fails. */
static inline int bt_map(struct bt_task *t, size_t words)
{
	t->words = words;
	t->n = t->mult = 0;
	t->region = mmap(NULL, words * 8, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->region == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < words; i++)
		t->region[i] = crt_pattern(BT_SEED, i);
	return 0;
}

/* Counts (in locals, so in registers) until the driver asks to verify. */
static inline void bt_count(struct bt_task *t)
{
	uint64_t n = 0, mult = 0;

	do {
		n++;
		mult += BT_STEP;
	} while (!crt_verify_requested());
	t->n = n;
	t->mult = mult;
}

/* The checks every failed dump must pass: the task is as it was. */
static inline void bt_check_unchanged(const struct bt_task *t, int expected_fds)
{
	unsigned long long tracer = 0;
	int fds = crt_fd_count();

	if (t->mult != t->n * BT_STEP)
		crt_fail("multiple counter is %#llx, expected %#llx (count %llu)",
			 (unsigned long long)t->mult, (unsigned long long)(t->n * BT_STEP),
			 (unsigned long long)t->n);
	for (size_t i = 0; i < t->words; i++)
		if (t->region[i] != crt_pattern(BT_SEED, i)) {
			crt_fail("region word %zu is %#llx, expected %#llx", i,
				 (unsigned long long)t->region[i],
				 (unsigned long long)crt_pattern(BT_SEED, i));
			break;
		}
	if (crt_status_field("TracerPid", &tracer) || tracer)
		crt_fail("TracerPid is %llu, expected 0 (no tracer left attached)", tracer);
	if (fds != expected_fds)
		crt_fail("the task has %d open fds, expected %d", fds, expected_fds);
}

/* Fails unless fd @fd is an anonymous inode of kind @kind ("[io_uring]"). */
static inline bool bt_check_fd_kind(int fd, const char *kind)
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

#endif
