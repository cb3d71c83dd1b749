// shim — maps bench.h onto google-benchmark. The only C++ in crisp: it
// holds no benchmark logic, only the glue (see bench.h).
#include "bench.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

struct bench_state {
	benchmark::State *s;
	bool has_arg;
};

extern "C" {

bool bench_keep_running(struct bench_state *st)
{
	return st->s->KeepRunning();
}

int64_t bench_arg(struct bench_state *st, int i)
{
	return st->has_arg && i == 0 ? st->s->range(0) : 0;
}

int64_t bench_iterations(struct bench_state *st)
{
	return static_cast<int64_t>(st->s->iterations());
}

void bench_set_items(struct bench_state *st, int64_t items)
{
	st->s->SetItemsProcessed(items);
}

void bench_set_bytes(struct bench_state *st, int64_t bytes)
{
	st->s->SetBytesProcessed(bytes);
}

void bench_counter(struct bench_state *st, const char *name, double value, bool rate)
{
	st->s->counters[name] = benchmark::Counter(
		value, rate ? benchmark::Counter::kIsRate : benchmark::Counter::kDefaults);
}

void bench_pause_timing(struct bench_state *st)
{
	st->s->PauseTiming();
}

void bench_resume_timing(struct bench_state *st)
{
	st->s->ResumeTiming();
}

void bench_fail(struct bench_state *st, const char *why)
{
	st->s->SkipWithError(why);
}

void bench_register(const char *name, bench_fn fn, const int64_t *args, int nargs, int threads)
{
	bool has_arg = nargs > 0;
	auto *b = benchmark::RegisterBenchmark(name, [fn, has_arg](benchmark::State &s) {
		struct bench_state st = { &s, has_arg };
		fn(&st);
	});
	for (int i = 0; i < nargs; i++)
		b->Arg(args[i]);
	if (threads > 1)
		b->Threads(threads);
}

} // extern "C"

BENCHMARK_MAIN();
