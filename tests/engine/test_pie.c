/* Behaviour test of the pie/ machinery: the selftest blob, copied into fresh
 * anonymous memory at different addresses of a forked child, finds its own
 * data, makes raw system calls and ends the child with exit_group. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pie-selftest-blob.h"
#include "scratch.h"
#include "unit.h"

typedef long (*pie_add_fn)(long);
typedef void (*pie_main_fn)(long, long);

#define EXIT_CODE 7

/* A fresh copy of the blob at @hint (0: anywhere), runnable. */
static char *pie_load(uintptr_t hint)
{
	size_t len = (PIE_SELFTEST_SIZE + 4095) & ~(size_t)4095;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0);
	char *p = mmap((void *)hint, len, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, pie_selftest_blob, PIE_SELFTEST_SIZE);
	if (mprotect(p, len, PROT_READ | PROT_WRITE | PROT_EXEC))
		return NULL;
	return p;
}

struct run {
	uintptr_t hint;
	int fd;
};

static int child_main(void *arg)
{
	struct run *r = arg;
	char *a = pie_load(r->hint), *b = pie_load(0);

	if (!a || !b)
		return 2;
	/* two copies, each with its own data */
	pie_add_fn add_a = (pie_add_fn)(a + PIE_SELFTEST_OFF_pie_selftest_add);
	pie_add_fn add_b = (pie_add_fn)(b + PIE_SELFTEST_OFF_pie_selftest_add);
	if (add_a(1) != 41 || add_a(1) != 42 || add_b(1) != 41)
		return 3;
	((pie_main_fn)(a + PIE_SELFTEST_OFF_pie_selftest_main))(r->fd, EXIT_CODE);
	return 4;	/* not reached: the blob exits */
}

static void run_at(uintptr_t hint)
{
	struct run r = { hint, -1 };
	int pfd[2], status;
	char line[128] = "", want[128];
	ssize_t n;
	pid_t pid;

	CHECK_INT(pipe(pfd), 0);
	r.fd = pfd[1];
	pid = scratch_fork(child_main, &r);
	close(pfd[1]);
	n = read(pfd[0], line, sizeof(line) - 1);
	close(pfd[0]);
	if (n > 0)
		line[n] = '\0';
	CHECK_INT(waitpid(pid, &status, 0), pid);
	UNIT_RECORD(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CODE,
		    "hint %#lx: child status %#x", (unsigned long)hint, status);
	/* add(2) after two calls: 2 + 40 + 2 */
	snprintf(want, sizeof(want), "pie selftest: hello from pid %d 44\n", pid);
	CHECK_STR(line, want);
}

int main(void)
{
	scratch_init();
	CHECK(PIE_SELFTEST_SIZE > 0 && PIE_SELFTEST_OFF_pie_selftest_main == 0);
	CHECK(PIE_SELFTEST_OFF_pie_selftest_add < PIE_SELFTEST_SIZE);
	run_at(0);
	run_at(0x300000000000UL + 0x123000);	/* above ASan's shadow */
	run_at(0x7e0000000000UL + 0x7000);
	scratch_cleanup();
	return unit_summary("pie");
}
