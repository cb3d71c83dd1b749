/* bench — the C side of crisp's google-benchmark shim.
 *
 * Benchmark bodies are C. Each body file registers its cases with
 * BENCH_REGISTER() and uses these calls; the only C++ in crisp is shim.cc,
 * which maps them onto google-benchmark. A body looks like:
 *
 *	static void bench_memcpy(struct bench_state *st)
 *	{
 *		size_t n = (size_t)bench_arg(st, 0);
 *		...
 *		while (bench_keep_running(st))
 *			memcpy(dst, src, n);
 *		bench_set_bytes(st, bench_iterations(st) * n);
 *	}
 *	BENCH_REGISTER("mem/memcpy", bench_memcpy, 4096, 1 << 20);
 */
#ifndef CRISP_BENCH_H
#define CRISP_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_state;
typedef void (*bench_fn)(struct bench_state *st);

/* True while google-benchmark wants more iterations; times the loop. */
bool bench_keep_running(struct bench_state *st);

/* The case's argument (i = 0; each variant has one), 0 when it has none. */
int64_t bench_arg(struct bench_state *st, int i);

/* Iterations run so far (use after the loop). */
int64_t bench_iterations(struct bench_state *st);

/* Throughput: items and bytes processed in total (shown per second). */
void bench_set_items(struct bench_state *st, int64_t items);
void bench_set_bytes(struct bench_state *st, int64_t bytes);

/* A named figure. rate: divided by the run's time (a per-second value). */
void bench_counter(struct bench_state *st, const char *name, double value,
		   bool rate);

/* Stops or restarts the clock, for set-up inside the loop. */
void bench_pause_timing(struct bench_state *st);
void bench_resume_timing(struct bench_state *st);

/* Marks the case as failed with @why (e.g. a syscall that is not there). */
void bench_fail(struct bench_state *st, const char *why);

/*
 * Registers a case; each of the @nargs values in @args makes one variant
 * (none: one variant without arguments). @threads > 1 runs the body in that
 * many threads at once. Called from constructors (BENCH_REGISTER).
 */
void bench_register(const char *name, bench_fn fn, const int64_t *args,
		    int nargs, int threads);

#define BENCH_CAT2(a, b) a##b
#define BENCH_CAT(a, b) BENCH_CAT2(a, b)

/* BENCH_REGISTER(name, fn, args...): one variant per argument given. */
#define BENCH_REGISTER(name, fn, ...)                                         \
	__attribute__((constructor)) static void BENCH_CAT(bench_reg_, __LINE__)(void) \
	{                                                                     \
		static const int64_t args_[] = { 0, ##__VA_ARGS__ };          \
		bench_register(name, fn, args_ + 1,                           \
			       (int)(sizeof(args_) / sizeof(args_[0])) - 1, 1); \
	}

/* Same, run by @threads threads at once. */
#define BENCH_REGISTER_THREADS(name, fn, threads, ...)                        \
	__attribute__((constructor)) static void BENCH_CAT(bench_reg_, __LINE__)(void) \
	{                                                                     \
		static const int64_t args_[] = { 0, ##__VA_ARGS__ };          \
		bench_register(name, fn, args_ + 1,                           \
			       (int)(sizeof(args_) / sizeof(args_[0])) - 1, threads); \
	}

#ifdef __cplusplus
}
#endif

#endif
