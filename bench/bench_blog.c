/* bench_blog — blog measured against CRIU's way of logging (vsnprintf of a
 * prefixed line, then one write() per line), side by side in one run: per-
 * call latency of NanoLog's benchmark messages with the level enabled and
 * disabled, logged without pause or in bursts (as a checkpoint logs: 2048
 * calls, then 1 ms of other work), under both full-buffer policies
 * (dropped_pct: records dropped; waits: calls that waited for the writer
 * thread), writer throughput with 1 and 2 threads, and the decoder's
 * throughput. Bodies only; it must not judge the numbers.
 *
 * Latency method: the TSC is read before and after a batch of 16 calls (with
 * a compiler barrier between calls, so nothing is hoisted out of the loop);
 * each batch gives one sample, divided by 16. The samples are sorted (an
 * exact histogram) for p50, p99, p99.9, p99.99 and the maximum; the mean is
 * over all batches. They are converted to ns with a TSC rate calibrated
 * against CLOCK_MONOTONIC. The two TSC reads add about 0.6 ns to each
 * per-call figure (reported as timer_ns). Both blog and the baseline write
 * to an unlinked file in $TMPDIR, so both pay for real writes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "blog.h"
#include "decode.h"
#include "render.h"

#define BATCH 16
#define MAX_SAMPLES (1 << 21)

static pthread_mutex_t bb_lock = PTHREAD_MUTEX_INITIALIZER;
static bool bb_log_open;
static double bb_ns_per_tick;

static int bb_tmpfile(const char *tag)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/crisp-bench-%s-XXXXXX", dir, tag);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* The blog log of the benchmarks: a binary file, unlinked at once. */
static int bb_open_log(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char path[4096];
	int fd, err = 0;

	pthread_mutex_lock(&bb_lock);
	if (!bb_log_open) {
		snprintf(path, sizeof(path), "%s/crisp-bench-blog-XXXXXX", dir);
		fd = mkstemp(path);
		if (fd < 0) {
			err = -errno;
		} else {
			close(fd);
			err = blog_open_file(path, BLOG_MODE_BINARY);
			unlink(path);
			bb_log_open = !err;
		}
	}
	pthread_mutex_unlock(&bb_lock);
	return err;
}

static uint64_t bb_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double bb_calibrate(void)
{
	if (!bb_ns_per_tick) {
		uint64_t n0 = bb_mono_ns(), t0 = blog_clock(), n1, t1;

		do
			n1 = bb_mono_ns();
		while (n1 - n0 < 50000000u);
		t1 = blog_clock();
		bb_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
	}
	return bb_ns_per_tick;
}

/* --- the baseline: what CRIU does for each log line ----------------------- */

static int bb_base_fd = -1;
static uint64_t bb_base_start;

static void __attribute__((format(printf, 4, 5)))
baseline_log(int level, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	uint64_t ns = bb_mono_ns() - bb_base_start;
	size_t n;
	int k;
	va_list ap;

	k = snprintf(buf, sizeof(buf), "(%02llu.%06llu) %s(%s:%d): ",
		     (unsigned long long)(ns / 1000000000u), (unsigned long long)(ns / 1000 % 1000000),
		     level == BLOG_ERROR ? "Error " : "", file, line);
	n = k > 0 ? (size_t)k : 0;
	va_start(ap, fmt);
	k = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	n += k > 0 ? (size_t)k : 0;
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(bb_base_fd, buf, n) < 0)
		bb_base_fd = -1;
}

#define base_debug(fmt, ...) baseline_log(BLOG_DEBUG, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

/* --- NanoLog's benchmark messages, through blog and through the baseline -- */

#define BARRIER() __asm__ volatile("" ::: "memory")

#define MESSAGES(X)                                                          \
	X(static_string, LOG("Starting backup replica garbage collector thread")) \
	X(two_ints, LOG("Backup storage speeds (min): %d MB/s read, %d MB/s write", i, i + 7)) \
	X(int_string, LOG("Opened session %d with coordinator at %s", i, "basic+udp:host=192.168.1.140")) \
	X(one_double, LOG("Using tombstone ratio balancer with ratio = %0.6lf", 0.4 + i)) \
	X(five_mixed, LOG("Initialized InfUdDriver buffers: %lu receive buffers (%u MB), " \
			  "%u transmit buffers (%u MB), took %0.1lf ms", 50000UL + (unsigned long)i, \
			  97u, 50u, 0u, 26.2))

#define DEF_BATCH(name, call)                                                 \
	static void batch_blog_##name(int base)                               \
	{                                                                     \
		for (int i = base; i < base + BATCH; i++) {                   \
			call;                                                 \
			BARRIER();                                            \
		}                                                             \
	}
#define LOG pr_debug
MESSAGES(DEF_BATCH)
#undef DEF_BATCH
#undef LOG

#define DEF_BATCH(name, call)                                                 \
	static void batch_base_##name(int base)                               \
	{                                                                     \
		for (int i = base; i < base + BATCH; i++) {                   \
			call;                                                 \
			BARRIER();                                            \
		}                                                             \
	}
#define LOG base_debug
MESSAGES(DEF_BATCH)
#undef DEF_BATCH
#undef LOG

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define BURST_BATCHES 128	/* 2048 calls */
#define BURST_PAUSE_NS 1000000

/* Runs @batch while google-benchmark wants, one sample per batch; with
 * @burst, pauses BURST_PAUSE_NS after every BURST_BATCHES batches. */
static void latency(struct bench_state *st, void (*batch)(int), int level, bool burst,
		    enum blog_full_policy policy)
{
	struct blog_stats st0, st1;
	uint64_t *s = malloc(MAX_SAMPLES * sizeof(*s)), n = 0, timer, sum = 0;
	double k = bb_calibrate();
	int i = 0;

	if (!s || bb_open_log()) {
		bench_fail(st, "no memory or no log file");
		free(s);
		return;
	}
	blog_set_level(level);
	blog_set_full_policy(policy);
	blog_get_stats(&st0);
	{	/* the cost of the two clock reads themselves */
		uint64_t t0 = blog_clock(), t1 = blog_clock();

		timer = t1 - t0;
	}
	while (bench_keep_running(st)) {
		uint64_t t0 = blog_clock(), dt;

		batch(i);
		dt = blog_clock() - t0;
		s[n < MAX_SAMPLES ? n : n % MAX_SAMPLES] = dt;
		sum += dt;
		n++;
		i += BATCH;
		if (burst && n % BURST_BATCHES == 0) {
			struct timespec ts = { 0, BURST_PAUSE_NS };

			nanosleep(&ts, NULL);
		}
	}
	blog_set_level(BLOG_DEFAULT_LEVEL);
	blog_get_stats(&st1);
	blog_set_full_policy(BLOG_FULL_DROP);
	if (n) {
		bench_counter(st, "mean_ns", (double)sum / (double)n * k / BATCH, false);
		bench_counter(st, "dropped_pct", 100.0 * (double)(st1.dropped - st0.dropped) /
			      (double)(n * BATCH), false);
		bench_counter(st, "waits", (double)(st1.waits - st0.waits), false);
	}
	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	if (n) {
		qsort(s, n, sizeof(*s), cmp_u64);
		bench_counter(st, "p50_ns", (double)s[n / 2] * k / BATCH, false);
		bench_counter(st, "p99_ns", (double)s[n * 99 / 100] * k / BATCH, false);
		bench_counter(st, "p99.9_ns", (double)s[n * 999 / 1000] * k / BATCH, false);
		bench_counter(st, "p99.99_ns", (double)s[n * 9999 / 10000] * k / BATCH, false);
		bench_counter(st, "max_ns", (double)s[n - 1] * k / BATCH, false);
		bench_counter(st, "timer_ns", (double)timer * k / BATCH, false);
	}
	bench_set_items(st, bench_iterations(st) * BATCH);
	free(s);
}

#define DEF_BENCH(name, call)                                                 \
	static void bench_blog_##name(struct bench_state *st)                 \
	{                                                                     \
		latency(st, batch_blog_##name, BLOG_DEBUG, false, BLOG_FULL_DROP); \
	}                                                                     \
	static void bench_blog_block_##name(struct bench_state *st)           \
	{                                                                     \
		latency(st, batch_blog_##name, BLOG_DEBUG, false, BLOG_FULL_BLOCK); \
	}                                                                     \
	static void bench_blog_burst_##name(struct bench_state *st)           \
	{                                                                     \
		latency(st, batch_blog_##name, BLOG_DEBUG, true, BLOG_FULL_DROP); \
	}                                                                     \
	static void bench_blog_off_##name(struct bench_state *st)             \
	{                                                                     \
		latency(st, batch_blog_##name, BLOG_WARN, false, BLOG_FULL_DROP); \
	}                                                                     \
	static void bench_base_##name(struct bench_state *st)                 \
	{                                                                     \
		if (bb_base_fd < 0) {                                         \
			bb_base_fd = bb_tmpfile("baseline");                  \
			bb_base_start = bb_mono_ns();                         \
		}                                                             \
		latency(st, batch_base_##name, BLOG_DEBUG, false, BLOG_FULL_DROP); \
	}                                                                     \
	__attribute__((constructor)) static void bench_reg_##name(void)       \
	{                                                                     \
		bench_register("blog/enabled/" #name, bench_blog_##name, NULL, 0, 1); \
		bench_register("blog/enabled_block/" #name, bench_blog_block_##name, NULL, 0, 1); \
		bench_register("blog/burst/" #name, bench_blog_burst_##name, NULL, 0, 1); \
		bench_register("blog/disabled/" #name, bench_blog_off_##name, NULL, 0, 1); \
		bench_register("baseline_vsnprintf_write/" #name, bench_base_##name, NULL, 0, 1); \
	}
MESSAGES(DEF_BENCH)

/* --- writer throughput: records/s with 1 and 2 threads -------------------- */

/* BLOG_FULL_BLOCK: every record counted reaches the file. The drop variant
 * shows how many calls a second return, and how many of them were kept. */
static void writer_loop(struct bench_state *st, enum blog_full_policy policy)
{
	struct blog_stats st0, st1;
	uint64_t t0;
	int i = 0;

	if (bb_open_log()) {
		bench_fail(st, "no log file");
		return;
	}
	blog_set_level(BLOG_DEBUG);
	blog_set_full_policy(policy);
	blog_get_stats(&st0);
	t0 = bb_mono_ns();
	while (bench_keep_running(st)) {
		pr_debug("Backup storage speeds (min): %d MB/s read, %d MB/s write", i, i + 7);
		i++;
	}
	blog_flush();
	/* by the clock on the wall: the writing may be on another thread */
	bench_counter(st, "wall_items_per_s", (double)bench_iterations(st) * 1e9 /
		      (double)(bb_mono_ns() - t0), false);
	blog_get_stats(&st1);
	bench_set_items(st, bench_iterations(st));
	blog_set_full_policy(BLOG_FULL_DROP);
	if (policy == BLOG_FULL_DROP)
		bench_counter(st, "wall_kept_per_s", ((double)bench_iterations(st) -
			      (double)(st1.dropped - st0.dropped)) * 1e9 / (double)(bb_mono_ns() - t0),
			      false);
}

static void bench_writer(struct bench_state *st)
{
	writer_loop(st, BLOG_FULL_BLOCK);
}

static void bench_writer_drop(struct bench_state *st)
{
	writer_loop(st, BLOG_FULL_DROP);
}
BENCH_REGISTER("blog/writer_throughput", bench_writer);
BENCH_REGISTER_THREADS("blog/writer_throughput", bench_writer, 2);
BENCH_REGISTER("blog/writer_throughput_drop", bench_writer_drop);

/* --- decoder throughput: records/s and MB/s of text ----------------------- */

#define DEC_RECORDS 100000

static uint8_t *bb_dec_buf;
static size_t bb_dec_len;

struct dec_ctx {
	char msg[BLOG_MSG_MAX], line[BLOG_MSG_MAX + 4096];
	uint64_t records, bytes;
};

static void dec_record(void *ctx, const struct bd_rec *r)
{
	struct dec_ctx *c = ctx;
	size_t ml;

	c->bytes += bd_render(r, r->ns, c->msg, sizeof(c->msg), &ml, c->line, sizeof(c->line));
	c->records++;
}

/* A log of the five messages, made once with the real writer. */
static int bb_make_decoder_input(void)
{
	int fd, err;
	off_t size;

	if (bb_dec_buf)
		return 0;
	fd = bb_tmpfile("decode");
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&bb_lock);
	blog_close();
	bb_log_open = false;
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		err = blog_open_file(path, BLOG_MODE_BINARY);
	}
	if (!err) {
		blog_set_level(BLOG_DEBUG);
		for (int i = 0; i < DEC_RECORDS / 5; i++) {
			pr_info("Starting backup replica garbage collector thread");
			pr_info("Backup storage speeds (min): %d MB/s read, %d MB/s write", i, i + 7);
			pr_info("Opened session %d with coordinator at %s", i, "basic+udp:host=192.168.1.140");
			pr_info("Using tombstone ratio balancer with ratio = %0.6lf", 0.4 + i);
			pr_info("Initialized InfUdDriver buffers: %lu receive buffers (%u MB), "
				"%u transmit buffers (%u MB), took %0.1lf ms", 50000UL + (unsigned long)i,
				97u, 50u, 0u, 26.2);
		}
		blog_set_level(BLOG_DEFAULT_LEVEL);
		blog_close();
	}
	pthread_mutex_unlock(&bb_lock);
	size = lseek(fd, 0, SEEK_END);
	if (!err && size > 0 && (bb_dec_buf = malloc((size_t)size)) &&
	    pread(fd, bb_dec_buf, (size_t)size, 0) == size)
		bb_dec_len = (size_t)size;
	else
		err = err ? err : -EIO;
	close(fd);
	return err;
}

static void bench_decoder(struct bench_state *st)
{
	struct dec_ctx *c = calloc(1, sizeof(*c));
	struct bd_ops ops = { dec_record, NULL, c };

	if (!c || bb_make_decoder_input()) {
		bench_fail(st, "cannot make the input log");
		free(c);
		return;
	}
	while (bench_keep_running(st)) {
		struct bd_file f = { .name = "bench" };

		if (bd_feed(&f, bb_dec_buf, bb_dec_len) == 0)
			bd_process(&f, true, &ops);
		bd_file_free(&f);
	}
	bench_set_items(st, (int64_t)c->records);
	bench_set_bytes(st, (int64_t)c->bytes);
	bench_counter(st, "records_per_pass", (double)c->records / (double)bench_iterations(st), false);
	free(c);
}
BENCH_REGISTER("blog/decoder", bench_decoder);
