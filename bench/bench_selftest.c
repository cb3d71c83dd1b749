/* The shim's own cases: the cost of an empty loop and of a memcpy, so a
 * broken shim or a noisy machine shows up next to the real figures. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void bench_empty_loop(struct bench_state *st)
{
	while (bench_keep_running(st))
		__asm__ volatile("" ::: "memory");
	bench_set_items(st, bench_iterations(st));
}
BENCH_REGISTER("shim/empty_loop", bench_empty_loop);

static void bench_memcpy(struct bench_state *st)
{
	size_t n = (size_t)bench_arg(st, 0);
	char *src = malloc(n), *dst = malloc(n);

	if (!src || !dst) {
		bench_fail(st, "out of memory");
		free(src);
		free(dst);
		return;
	}
	memset(src, 0x5a, n);
	while (bench_keep_running(st)) {
		memcpy(dst, src, n);
		__asm__ volatile("" : : "r"(dst) : "memory");
	}
	bench_set_bytes(st, bench_iterations(st) * (int64_t)n);
	free(src);
	free(dst);
}
BENCH_REGISTER("shim/memcpy", bench_memcpy, 4096, 1 << 20);
