/* Mapping flags a task sets itself come back after restore, as VmFlags in
 * /proc/self/smaps say: MAP_GROWSDOWN, MAP_NORESERVE, mlock, and madvise's
 * DONTFORK, WIPEONFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE, RANDOM, SEQUENTIAL.
 * A child forked at verify time shows DONTFORK and WIPEONFORK at work. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("dontfork region: VmFlags");

#define PAGES 16

enum { R_GROWSDOWN, R_NORESERVE, R_MLOCK, R_DONTFORK, R_WIPEONFORK, R_DONTDUMP,
       R_HUGEPAGE, R_NOHUGEPAGE, R_RANDOM, R_SEQUENTIAL, R_COUNT };

static const struct {
	const char *name;
	const char *flag;	/* VmFlags mnemonic */
	int mmap_flags;		/* besides MAP_PRIVATE | MAP_ANONYMOUS */
	int advice;		/* -1: none */
} regions[R_COUNT] = {
	[R_GROWSDOWN]  = { "growsdown", "gd", MAP_GROWSDOWN, -1 },
	[R_NORESERVE]  = { "noreserve", "nr", MAP_NORESERVE, -1 },
	[R_MLOCK]      = { "mlock", "lo", 0, -1 },
	[R_DONTFORK]   = { "dontfork", "dc", 0, MADV_DONTFORK },
	[R_WIPEONFORK] = { "wipeonfork", "wf", 0, MADV_WIPEONFORK },
	[R_DONTDUMP]   = { "dontdump", "dd", 0, MADV_DONTDUMP },
	[R_HUGEPAGE]   = { "hugepage", "hg", 0, MADV_HUGEPAGE },
	[R_NOHUGEPAGE] = { "nohugepage", "nh", 0, MADV_NOHUGEPAGE },
	[R_RANDOM]     = { "random", "rr", 0, MADV_RANDOM },
	[R_SEQUENTIAL] = { "sequential", "sr", 0, MADV_SEQUENTIAL },
};

/* In a child: 1 when the wipe-on-fork region is not zero, 2 when the
 * dont-fork region is still mapped. */
static int child_view(uint64_t *const *base, size_t page)
{
	struct crt_vma vma;
	int code = 0;

	for (size_t i = 0; i < PAGES * page / 8; i++)
		if (base[R_WIPEONFORK][i]) {
			code |= 1;
			break;
		}
	if (crt_vma_of(base[R_DONTFORK], &vma) != -ENOENT)
		code |= 2;
	return code;
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), words = PAGES * page / 8;
	uint64_t *base[R_COUNT];
	int setup_err[R_COUNT] = { 0 };
	pid_t child;
	int st;

	crt_init(argc, argv);
	for (int r = 0; r < R_COUNT; r++) {
		base[r] = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | regions[r].mmap_flags, -1, 0);
		if (base[r] == MAP_FAILED)
			return 2;
		if (regions[r].advice >= 0 && madvise(base[r], PAGES * page, regions[r].advice))
			setup_err[r] = errno;
		if (r == R_MLOCK && mlock(base[r], PAGES * page))
			setup_err[r] = errno;
		for (size_t i = 0; i < words; i++)
			base[r][i] = crt_pattern((uint64_t)r, i);
	}
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		madvise(base[R_DONTFORK], PAGES * page, MADV_DOFORK);
	for (int r = 0; r < R_COUNT; r++) {
		struct crt_vma vma;

		if (setup_err[r]) {
			crt_fail("%s region: set-up failed: %s (expected success)", regions[r].name,
				 strerror(setup_err[r]));
			continue;
		}
		if (crt_vma_of(base[r], &vma)) {
			crt_fail("%s region: no mapping holds %p", regions[r].name, (void *)base[r]);
			continue;
		}
		if (!crt_vma_has_flag(&vma, regions[r].flag))
			crt_fail("%s region: VmFlags '%s' lack '%s'", regions[r].name, vma.vmflags,
				 regions[r].flag);
		if (r == R_MLOCK && vma.locked_kb * 1024 < PAGES * page)
			crt_fail("mlock region: %lu kB locked, expected %zu kB", vma.locked_kb,
				 PAGES * page / 1024);
		for (size_t i = 0; i < words; i++)
			if (base[r][i] != crt_pattern((uint64_t)r, i)) {
				crt_fail("%s region: word %zu is %#llx, expected %#llx",
					 regions[r].name, i, (unsigned long long)base[r][i],
					 (unsigned long long)crt_pattern((uint64_t)r, i));
				break;
			}
	}

	child = fork();
	if (child == 0)
		_exit(child_view(base, page));
	if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st))
		crt_fail("the forked child did not exit normally (expected it to report its view)");
	else {
		if (WEXITSTATUS(st) & 1)
			crt_fail("wipeonfork region: a forked child sees data, expected zeroes");
		if (WEXITSTATUS(st) & 2)
			crt_fail("dontfork region: a forked child still has it mapped, expected no mapping");
	}
	return crt_finish();
}
