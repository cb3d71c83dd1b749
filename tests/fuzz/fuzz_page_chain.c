/* fuzz_page_chain — page-chain on an arbitrary pagemap: the input is the
 * pagemap of a level whose parent is the level itself (a loop) and whose
 * pages file holds 16 pages. Opening, verifying, reading and resolving
 * every named page must fail cleanly or succeed, never crash or leak (and
 * resolved pieces lie inside the pages file).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "page-chain.h"

static char fuzz_path[4096];
static int fuzz_dfd = -1;

/* The scratch directory goes when the run ends. */
static void fuzz_cleanup(void)
{
	unlinkat(fuzz_dfd, "pagemap-1.img", 0);
	unlinkat(fuzz_dfd, "pages-1.img", 0);
	unlinkat(fuzz_dfd, "parent", 0);
	close(fuzz_dfd);
	rmdir(fuzz_path);
}

static int fuzz_dir(void)
{
	int dfd;
	char *path = fuzz_path;
	const char *tmp = getenv("TMPDIR");
	char *pages;
	int fd;

	if (fuzz_dfd >= 0)
		return fuzz_dfd;
	snprintf(path, sizeof(fuzz_path), "%s/crisp-fuzz-page-chain-XXXXXX", tmp ? tmp : ".");
	if (!mkdtemp(path))
		abort();
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || symlinkat(".", dfd, "parent"))
		abort();
	fd = openat(dfd, "pages-1.img", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pages = calloc(16, 4096);
	if (fd < 0 || !pages || write(fd, pages, 16 * 4096) != 16 * 4096)
		abort();
	free(pages);
	close(fd);
	fuzz_dfd = dfd;
	atexit(fuzz_cleanup);
	return dfd;
}

/* page_chain_resolve's pieces must lie inside the 16-page pages file. */
static int fuzz_piece(void *arg, int fd, uint64_t off, uint64_t vaddr, uint64_t nr_pages)
{
	(void)arg;
	(void)vaddr;
	if (fd < 0 || nr_pages == 0 || off % 4096 || off / 4096 + nr_pages > 16)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int dfd = fuzz_dir();
	struct page_chain *pc;
	unsigned char page[4096];
	const struct page_chain_entry *e;
	size_t n;
	int fd;

	blog_set_level(BLOG_MSG);	/* bad input is the normal case here */
	fd = openat(dfd, "pagemap-1.img", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (page_chain_open(&pc, dfd, "fuzz", 1))
		return 0;
	page_chain_verify(pc);
	e = page_chain_entries(pc, &n);
	for (size_t i = 0; i < n && i < 64; i++) {
		page_chain_read(pc, e[i].vaddr, 1, page, PAGE_CHAIN_ZERO_HOLES);
		page_chain_resolve(pc, e[i].vaddr, e[i].nr_pages < 16 ? e[i].nr_pages : 16,
				   fuzz_piece, NULL);
	}
	page_chain_close(pc);
	return 0;
}
