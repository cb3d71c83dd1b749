/* Patterns in private anonymous memory of every origin — heap, mmap (some
 * pages never touched), bss and data — read back equal after restore, and
 * the untouched pages of the mapping are still zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("mmap region: word");

#define HEAP_BYTES (3u << 20)
#define MMAP_PAGES 1280u
#define BSS_WORDS 16384u

static uint64_t bss_words[BSS_WORDS];
static uint64_t data_words[64] = { 1, 2, 3 };	/* in .data, not .bss */

static void fill(uint64_t *w, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		w[i] = crt_pattern(seed, i);
}

/* Reports the first word of @w that is not crt_pattern(@seed, i). */
static void check(const char *what, const uint64_t *w, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] != crt_pattern(seed, i)) {
			crt_fail("%s: word %zu is %#llx, expected %#llx", what, i,
				 (unsigned long long)w[i], (unsigned long long)crt_pattern(seed, i));
			return;
		}
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), wpp = page / 8;
	uint64_t *heap, *map;

	crt_init(argc, argv);
	heap = malloc(HEAP_BYTES);
	map = mmap(NULL, MMAP_PAGES * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heap || map == MAP_FAILED)
		return 2;
	fill(heap, HEAP_BYTES / 8, 1);
	/* two pages of every three hold a pattern, the third is never touched */
	for (size_t p = 0; p < MMAP_PAGES; p++)
		if (p % 3 != 2)
			fill(map + p * wpp, wpp, 100 + p);
	fill(bss_words, BSS_WORDS, 2);
	fill(data_words, 64, 3);
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		map[7 * wpp + 5] ^= 0x100;
	check("heap", heap, HEAP_BYTES / 8, 1);
	check("bss", bss_words, BSS_WORDS, 2);
	check("data", data_words, 64, 3);
	for (size_t p = 0; p < MMAP_PAGES; p++) {
		const uint64_t *w = map + p * wpp;

		if (p % 3 != 2) {
			for (size_t i = 0; i < wpp; i++)
				if (w[i] != crt_pattern(100 + p, i)) {
					crt_fail("mmap region: word %zu of page %zu is %#llx, expected %#llx",
						 i, p, (unsigned long long)w[i],
						 (unsigned long long)crt_pattern(100 + p, i));
					break;
				}
		} else {
			for (size_t i = 0; i < wpp; i++)
				if (w[i]) {
					crt_fail("mmap region: word %zu of untouched page %zu is %#llx, expected 0",
						 i, p, (unsigned long long)w[i]);
					break;
				}
		}
	}
	return crt_finish();
}
