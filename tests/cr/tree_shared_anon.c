/* A parent and its child share a MAP_SHARED anonymous mapping made before
 * the fork, and the child maps a second view of its pages 16..23 (mremap
 * with old size 0: one object at an offset). After restore both still map
 * one object, its pages saved once (pagemap-shmem-SHMID.img): its pattern is
 * intact, the same inode backs both, and writes of either are seen by the
 * other. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore @says=pagemap-shmem-; verify");
CRT_DAMAGE_FAILS("the child does not see the parent's write");

#define PAGES 256u

static uint64_t *shared;
static size_t page, wpp;

static int object_ino(const void *addr, size_t len, ino_t *ino)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)addr,
		 (unsigned long)addr + len);
	if (stat(path, &st))
		return -1;
	*ino = st.st_ino;
	return 0;
}

static void check_pattern(void)
{
	for (size_t p = 0; p < PAGES; p++)
		for (size_t i = 0; i < wpp; i += 37)
			if (p != 1 && shared[p * wpp + i] != crt_pattern(p, i)) {
				kid_fail("page %zu word %zu lost its pattern", p, i);
				return;
			}
}

static void run_kid(void)
{
	uint64_t *view = mremap(shared + 16 * wpp, 0, 8 * page, MREMAP_MAYMOVE);
	ino_t mine;

	if (view == MAP_FAILED)
		_exit(3);
	/* pages both tasks map: the restore fills them once */
	for (size_t p = 2; p < 10; p++)
		if (shared[p * wpp] != crt_pattern(p, 0))
			_exit(3);
	kid_ready("K");
	kid_wait_go();
	check_pattern();
	if (object_ino(shared, PAGES * page, &mine))
		kid_fail("no map_files entry for the shared mapping");
	else if ((uint64_t)mine != shared[wpp])
		kid_fail("the child maps inode %llu, the parent %llu", (unsigned long long)mine,
			 (unsigned long long)shared[wpp]);
	if (shared[wpp + 1] != 0x5eed)
		kid_fail("the child does not see the parent's write (%#llx)",
			 (unsigned long long)shared[wpp + 1]);
	if (view[wpp] != crt_pattern(17, 0))
		kid_fail("the second view does not show page 17");
	shared[wpp + 2] = 0xcafe;
	view[wpp + 5] = 0xbeef;
	kid_report("K");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K" };
	pid_t kid;
	ino_t ino;

	crt_init(argc, argv);
	page = (size_t)sysconf(_SC_PAGESIZE);
	wpp = page / 8;
	shared = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 2;
	for (size_t p = 0; p < PAGES; p++)
		for (size_t i = 0; i < wpp; i++)
			shared[p * wpp + i] = crt_pattern(p, i);
	kid = fork();
	if (kid == 0) {
		kid_start();
		run_kid();
	}
	if (kid < 0 || kid_wait_ready(names, 1))
		return 2;
	crt_ready();
	crt_wait_verify();

	check_pattern();
	if (object_ino(shared, PAGES * page, &ino))
		crt_fail("no map_files entry for the shared mapping");
	/* page 1 is the mailbox from here on */
	shared[wpp] = (uint64_t)ino;
	shared[wpp + 1] = crt_damage() ? 0 : 0x5eed;
	kid_go_and_check(kid, (const char *const[]){ "K" }, 1);
	if (shared[wpp + 2] != 0xcafe)
		crt_fail("the parent does not see the child's write (%#llx)",
			 (unsigned long long)shared[wpp + 2]);
	if (shared[17 * wpp + 5] != 0xbeef)
		crt_fail("the parent does not see the child's write through its second view");
	return crt_finish();
}
