/* chain-verify — checks a dump made on top of pre-dumps against the task it
 * came from (test tool, not part of crisp):
 *  1. every PE_PARENT page resolves down the chain (page-chain);
 *  2. with a stopped task (dump -s): every page the images hold equals the
 *     task's memory byte for byte, and every page of the task worth saving
 *     is in the images;
 *  3. from the images alone: the workload region, with each writer's
 *     announced in-flight write completed, is the consistent state after
 *     exactly the writes the control block says were made.
 *
 *   chain-verify DIR PID READY_FILE [--live]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem_scan.h"
#include "page-chain.h"
#include "proc_maps.h"
#include "workload.h"

#define MAX_WRITERS 16

static int compare_live(struct page_chain *pc, pid_t pid)
{
	size_t n;
	const struct page_chain_entry *e = page_chain_entries(pc, &n);
	unsigned char *a = malloc(WL_PAGE), *b = malloc(WL_PAGE);
	char path[64];
	unsigned long long bad = 0, pages = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !a || !b)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (uint64_t k = 0; k < e[i].nr_pages; k++) {
			uint64_t va = e[i].vaddr + k * WL_PAGE;

			pages++;
			if (page_chain_read(pc, va, 1, a, 0) ||
			    pread(fd, b, WL_PAGE, (off_t)va) != WL_PAGE || memcmp(a, b, WL_PAGE)) {
				if (!bad)
					printf("page %#llx differs from the task's memory\n",
					       (unsigned long long)va);
				bad++;
			}
		}
	}
	close(fd);
	free(a);
	free(b);
	printf("compared %llu pages with the stopped task: %llu differ\n", pages, bad);
	return bad ? -1 : 0;
}

static bool covered(const struct page_chain_entry *e, size_t n, uint64_t va)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e[mid].vaddr + e[mid].nr_pages * WL_PAGE <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && e[lo].vaddr <= va;
}

static int check_coverage(struct page_chain *pc, pid_t pid)
{
	size_t n;
	const struct page_chain_entry *e = page_chain_entries(pc, &n);
	struct proc_maps m;
	struct mem_scanner sc;
	unsigned long long missing = 0;

	if (proc_read_maps(pid, false, &m) || mem_scanner_open(&sc, pid, 0))
		return -1;
	for (size_t i = 0; i < m.nr; i++) {
		const struct proc_vma *v = &m.vma[i];
		const char *name = proc_vma_name(&m, v);
		struct mem_ranges r = { 0 };

		if (v->shared || !strcmp(name, "[vdso]") || !strncmp(name, "[vvar", 5) ||
		    !strcmp(name, "[vsyscall]"))
			continue;
		if (mem_scan(&sc, v->start, v->end,
			     v->ino && name[0] == '/' ? MEM_SCAN_SKIP_FILE : 0, &r))
			return -1;
		for (size_t k = 0; k < r.nr; k++)
			for (uint64_t p = 0; p < r.r[k].nr_pages; p++) {
				uint64_t va = r.r[k].start + p * WL_PAGE;

				if (!covered(e, n, va)) {
					if (!missing)
						printf("page %#llx of the task is not in the images\n",
						       (unsigned long long)va);
					missing++;
				}
			}
		mem_ranges_free(&r);
	}
	mem_scanner_close(&sc);
	proc_maps_free(&m);
	printf("pages of the task missing from the images: %llu\n", missing);
	return missing ? -1 : 0;
}

static int check_region(struct page_chain *pc, uint64_t region, size_t pages,
			unsigned int writers, uint64_t ctl_addr)
{
	struct wl_layout l = { .pages = pages, .zero_pct = 10, .text_pct = 50,
			       .random_order = true, .writers = writers };
	uint64_t ctl[2 * MAX_WRITERS + 512], last[MAX_WRITERS];
	unsigned char *buf = malloc(pages * WL_PAGE);
	char why[256];
	int ret = 0;

	if (!buf || writers > MAX_WRITERS)
		return -1;
	if (page_chain_read(pc, region, pages, buf, PAGE_CHAIN_ZERO_HOLES) ||
	    page_chain_read(pc, ctl_addr, 1, ctl, 0)) {
		printf("the region or the control block does not read from the images\n");
		free(buf);
		return -1;
	}
	/* complete what each writer was writing at the freeze */
	for (unsigned int t = 0; t < writers; t++) {
		uint64_t inflight = ctl[t], done = ctl[MAX_WRITERS + t];

		if (inflight != done) {
			size_t p = wl_target(&l, t, inflight);

			wl_fill(&l, buf + p * WL_PAGE, p, inflight);
		}
	}
	if (wl_verify_region(&l, buf, last, why, sizeof(why))) {
		printf("region from the images: %s\n", why);
		ret = -1;
	}
	for (unsigned int t = 0; t < writers && !ret; t++)
		if (last[t] != ctl[t]) {
			printf("writer %u: the images hold its write %llu, it had made %llu\n", t,
			       (unsigned long long)last[t], (unsigned long long)ctl[t]);
			ret = -1;
		}
	if (!ret)
		printf("region from the images is the state after writes");
	for (unsigned int t = 0; t < writers && !ret; t++)
		printf(" %llu", (unsigned long long)last[t]);
	if (!ret)
		printf("\n");
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long region, ctl;
	size_t pages;
	unsigned int writers;
	struct page_chain *pc;
	int pid, dfd, bad = 0;
	FILE *f;

	if (argc < 4)
		return 2;
	pid = atoi(argv[2]);
	f = fopen(argv[3], "r");
	if (!f || fscanf(f, "%*d %lx %zu %u %lx", &region, &pages, &writers, &ctl) != 4) {
		printf("cannot read %s\n", argv[3]);
		return 2;
	}
	fclose(f);
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || page_chain_open(&pc, dfd, argv[1], (unsigned long)pid)) {
		printf("cannot open the page chain of %d in %s\n", pid, argv[1]);
		return 1;
	}
	if (page_chain_verify(pc)) {
		printf("a PE_PARENT page does not resolve\n");
		bad++;
	}
	if (argc > 4 && !strcmp(argv[4], "--live")) {
		bad += compare_live(pc, pid) != 0;
		bad += check_coverage(pc, pid) != 0;
	}
	bad += check_region(pc, region, pages, writers, ctl) != 0;
	printf("chain depth %u\n", page_chain_depth(pc));
	page_chain_close(pc);
	close(dfd);
	printf("%s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
