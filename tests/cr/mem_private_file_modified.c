/* A private file mapping (at a non-zero file offset) whose task changed some
 * pages entirely, one page by a single word, and only read the others: after
 * restore each page holds what the task saw, the file itself is unchanged,
 * and the mapping is still that file's, private, writable. The fd used to
 * map it is closed before the dump. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("page 4 word 9 is");

#define FILE_PAGES 40u
#define MAP_OFFSET_PAGES 8u
#define MAP_PAGES (FILE_PAGES - MAP_OFFSET_PAGES)
#define ONE_WORD_PAGE 5u

/* What the task sees in word @i of mapped page @p. */
static uint64_t expected_word(size_t p, size_t i, size_t wpp)
{
	if (p % 3 == 0)
		return crt_pattern(2000 + p, i);		/* rewritten */
	if (p == ONE_WORD_PAGE && i == 17)
		return 0x5151515151515151ull;		/* one word changed */
	return crt_pattern(1, (p + MAP_OFFSET_PAGES) * wpp + i);	/* the file's */
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	size_t nwords = FILE_PAGES * wpp;
	char path[600];
	uint64_t *buf, *map, *disk;
	volatile uint64_t sink = 0;
	int fd;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/private-file.dat", crt_dir());
	buf = malloc(nwords * 8);
	disk = malloc(nwords * 8);
	if (!buf || !disk)
		return 2;
	for (size_t i = 0; i < nwords; i++)
		buf[i] = crt_pattern(1, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, nwords * 8) != (ssize_t)(nwords * 8))
		return 2;
	map = mmap(NULL, MAP_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		   (off_t)(MAP_OFFSET_PAGES * page));
	close(fd);
	if (map == MAP_FAILED)
		return 2;
	for (size_t p = 0; p < MAP_PAGES; p++) {
		uint64_t *w = map + p * wpp;

		if (p % 3 == 0)
			for (size_t i = 0; i < wpp; i++)
				w[i] = crt_pattern(2000 + p, i);
		else if (p == ONE_WORD_PAGE)
			w[17] = 0x5151515151515151ull;
		else if (p % 3 == 1)
			sink += w[0];	/* read: the page is in, but the file's */
	}
	__asm__ volatile("" : : "r"(sink));
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		map[4 * wpp + 9] ^= 1;
	for (size_t p = 0; p < MAP_PAGES; p++) {
		for (size_t i = 0; i < wpp; i++) {
			uint64_t want = expected_word(p, i, wpp), got = map[p * wpp + i];

			if (got != want) {
				crt_fail("page %zu word %zu is %#llx, expected %#llx", p, i,
					 (unsigned long long)got, (unsigned long long)want);
				break;
			}
		}
	}

	struct crt_vma vma;
	int err = crt_vma_of(map, &vma);

	if (err)
		crt_fail("no mapping holds %p: %s", (void *)map, strerror(-err));
	else {
		if (strcmp(vma.path, path))
			crt_fail("the mapping's file is '%s', expected '%s'", vma.path, path);
		if (strcmp(vma.perms, "rw-p"))
			crt_fail("the mapping's perms are %s, expected rw-p", vma.perms);
		if (vma.start != (unsigned long)map || vma.end != (unsigned long)map + MAP_PAGES * page)
			crt_fail("the mapping is %#lx-%#lx, expected %p-%p", vma.start, vma.end,
				 (void *)map, (void *)((char *)map + MAP_PAGES * page));
	}

	/* the private changes never reached the file */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, disk, nwords * 8, 0) != (ssize_t)(nwords * 8))
		crt_fail("cannot read %s back: %s", path, strerror(errno));
	else
		for (size_t i = 0; i < nwords; i++)
			if (disk[i] != crt_pattern(1, i)) {
				crt_fail("the file's word %zu is %#llx, expected %#llx", i,
					 (unsigned long long)disk[i],
					 (unsigned long long)crt_pattern(1, i));
				break;
			}
	if (fd >= 0)
		close(fd);
	return crt_finish();
}
