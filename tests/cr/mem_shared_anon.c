/* Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) keeps its pattern and
 * stays shared after restore: a child forked at verify time writes into it
 * and the task sees the write, while a write of the child into a private
 * mapping stays the child's. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("shared page 3 word 0 is");

#define SHARED_PAGES 1024u

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	uint64_t *shared, *private;
	struct crt_vma vma;
	pid_t child;
	int st;

	crt_init(argc, argv);
	shared = mmap(NULL, SHARED_PAGES * page, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	private = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED)
		return 2;
	/* three pages of four hold a pattern; every fourth is never touched */
	for (size_t p = 0; p < SHARED_PAGES; p++)
		if (p % 4 != 1)
			for (size_t i = 0; i < wpp; i++)
				shared[p * wpp + i] = crt_pattern(p, i);
	private[0] = 42;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		shared[3 * wpp] = 0;
	for (size_t p = 0; p < SHARED_PAGES; p++) {
		for (size_t i = 0; i < wpp; i++) {
			uint64_t want = p % 4 != 1 ? crt_pattern(p, i) : 0;

			if (shared[p * wpp + i] != want) {
				crt_fail("shared page %zu word %zu is %#llx, expected %#llx", p, i,
					 (unsigned long long)shared[p * wpp + i],
					 (unsigned long long)want);
				break;
			}
		}
	}
	if (crt_vma_of(shared, &vma))
		crt_fail("no mapping holds the shared region %p", (void *)shared);
	else {
		if (strcmp(vma.perms, "rw-s"))
			crt_fail("the shared region's perms are %s, expected rw-s", vma.perms);
		if (strncmp(vma.path, "/dev/zero", 9))
			crt_fail("the shared region is backed by '%s', expected /dev/zero (deleted)",
				 vma.path);
		if (vma.end - vma.start != SHARED_PAGES * page)
			crt_fail("the shared region is %lu bytes, expected %zu",
				 vma.end - vma.start, SHARED_PAGES * page);
	}

	/* the mapping is still shared with children, and the private one is not */
	child = fork();
	if (child == 0) {
		shared[wpp + 1] = 0xc0ffee;
		private[0] = 0xbad;
		_exit(0);
	}
	if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st))
		crt_fail("the child that writes into the shared region did not run");
	else {
		if (shared[wpp + 1] != 0xc0ffee)
			crt_fail("the child's write into shared memory reads %#llx, expected 0xc0ffee",
				 (unsigned long long)shared[wpp + 1]);
		if (private[0] != 42)
			crt_fail("private memory reads %llu after a child's write, expected 42",
				 (unsigned long long)private[0]);
	}
	return crt_finish();
}
