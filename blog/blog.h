/* blog — crisp's logging API: compile-time binary logging.
 *
 * Offers printf-style log macros by level (CRIU's levels: -v0 .. -v4), the
 * choice of destination (text on stderr, a text file or a binary log file)
 * and flushing. Each call site becomes one static descriptor in the section
 * "blog_desc"; a call copies the descriptor's id and the raw arguments into
 * a per-thread buffer; a writer thread writes full buffers to the file. It
 * must not parse formats nor do I/O on the logging path: formats are parsed
 * once at start-up (blog/writer.c) and at decode time (blog-decode).
 * The byte layout of the log file is in blog/FORMAT.md.
 */
#ifndef CRISP_BLOG_H
#define CRISP_BLOG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "blog-args.h"

enum blog_level {
	BLOG_MSG   = 0,	/* always shown: results the user asked for */
	BLOG_ERROR = 1,	/* always shown too: -v0 means "errors only" */
	BLOG_WARN  = 2,
	BLOG_INFO  = 3,
	BLOG_DEBUG = 4,
};

#define BLOG_DEFAULT_LEVEL BLOG_WARN

/* Where blog_open_file() sends the log. */
enum blog_mode {
	BLOG_MODE_BINARY = 0,	/* binary records, decoded by blog-decode */
	BLOG_MODE_TEXT   = 1,	/* one text line per call, rendered at the call */
};

/* Longest string argument copied into a record; longer ones are cut and
 * marked as cut. */
#define BLOG_STR_MAX 4000

/* One call site. Placed in section "blog_desc" (stride 64 bytes); its id is
 * its index there. The last fields are filled once at start-up from the
 * format (blog_init), before any record is written. */
struct blog_desc {
	const char *fmt;
	const char *file;
	const char *types;	/* one type code per argument (FORMAT.md) */
	uint32_t line;
	uint8_t level;
	uint8_t flags;		/* BLOG_DF_* */
	uint8_t nargs;
	uint8_t rt_errno;	/* start-up: the format uses %m */
	uint32_t str_ptr_mask;	/* start-up: char * arguments printed with %p */
	char eff_types[BLOG_MAX_ARGS + 1]; /* start-up: the types as recorded */
	uint8_t pad_[64 - 40 - BLOG_MAX_ARGS - 1];
} __attribute__((aligned(64)));

#define BLOG_DF_ERRNO 0x01	/* pr_perror: ": <strerror(errno)>" appended */
#define BLOG_DF_HAS_M 0x02	/* the format uses %m (set at start-up) */

/* The current threshold: calls with a level above it are skipped. */
extern int blog_level_current;
/* True when calls render text at once (stderr, or a --log-text file). */
extern bool blog_text_mode;
/* The calling thread's buffer: next free byte and end (NULL: none yet). */
extern __thread char *blog_tpos __attribute__((tls_model("initial-exec")));
extern __thread char *blog_tend __attribute__((tls_model("initial-exec")));
extern struct blog_desc __start_blog_desc[];

/* Slow path: a buffer with @need free bytes (flushing or allocating one),
 * or NULL if none can be had (the record is then dropped). */
char *blog_reserve_slow(size_t need);
/* Text mode: renders the record at @rec and writes it out. */
void blog_text_emit(char *rec);

static inline char *blog_reserve(size_t need)
{
	char *p = blog_tpos;

	if (__builtin_expect(!p || (size_t)(blog_tend - p) < need, 0))
		return blog_reserve_slow(need);
	return p;
}

static inline uint64_t blog_clock(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	extern uint64_t blog_clock_ns(void);
	return blog_clock_ns();
#endif
}

/* Record header: u32 descriptor id, u32 record length, u64 clock. */
#define BLOG_REC_HDR 16

static inline void blog_commit(const struct blog_desc *d, char *start, char *end)
{
	uint32_t hdr[2] = { (uint32_t)(d - __start_blog_desc), (uint32_t)(end - start) };
	uint64_t ts = blog_clock();

	memcpy(start, hdr, 8);
	memcpy(start + 8, &ts, 8);
	__atomic_store_n(&blog_tpos, end, __ATOMIC_RELEASE);
	if (__builtin_expect(blog_text_mode, 0))
		blog_text_emit(start);
}

/* Argument writers, chosen per argument type by BLOG_PUT_. */
static inline void blog_put_u32(char **p, uint32_t v, int i, const struct blog_desc *d)
{
	(void)i, (void)d;
	memcpy(*p, &v, 4);
	*p += 4;
}

static inline void blog_put_u64(char **p, uint64_t v, int i, const struct blog_desc *d)
{
	(void)i, (void)d;
	memcpy(*p, &v, 8);
	*p += 8;
}

static inline void blog_put_dbl(char **p, double v, int i, const struct blog_desc *d)
{
	(void)i, (void)d;
	memcpy(*p, &v, 8);
	*p += 8;
}

static inline void blog_put_ldbl(char **p, long double v, int i, const struct blog_desc *d)
{
	(void)i, (void)d;
	memset(*p, 0, 16);
	memcpy(*p, &v, sizeof(v) < 10 ? sizeof(v) : 10);
	*p += 16;
}

static inline void blog_put_ptr(char **p, const volatile void *v, int i, const struct blog_desc *d)
{
	uint64_t u = (uintptr_t)v;

	(void)i, (void)d;
	memcpy(*p, &u, 8);
	*p += 8;
}

/* u16 length (0xffff: NULL; bit 15: cut at BLOG_STR_MAX), then the bytes. */
static inline void blog_put_str(char **p, const char *s, int i, const struct blog_desc *d)
{
	uint16_t n;
	size_t len, max = BLOG_STR_MAX + 1;

	if (__builtin_expect(d->str_ptr_mask >> i & 1, 0)) {
		blog_put_ptr(p, s, i, d);
		return;
	}
	if (!s) {
		n = 0xffff;
		memcpy(*p, &n, 2);
		*p += 2;
		return;
	}
	/* hide the bound: the compiler would compare it with array sizes */
	__asm__("" : "+r"(max));
	len = strnlen(s, max);
	n = len > BLOG_STR_MAX ? (uint16_t)(BLOG_STR_MAX | 0x8000) : (uint16_t)len;
	if (len > BLOG_STR_MAX)
		len = BLOG_STR_MAX;
	memcpy(*p, &n, 2);
	memcpy(*p + 2, s, len);
	*p += 2 + len;
}

static inline void blog_put_sstr(char **p, const signed char *s, int i, const struct blog_desc *d)
{
	blog_put_str(p, (const char *)s, i, d);
}

static inline void blog_put_ustr(char **p, const unsigned char *s, int i, const struct blog_desc *d)
{
	blog_put_str(p, (const char *)s, i, d);
}

#define BLOG_INT_TYPES(x)                                                    \
	_Bool: x, char: x, signed char: x, unsigned char: x, short: x,       \
	unsigned short: x, int: x, unsigned int: x
#define BLOG_LONG_TYPES(x)                                                   \
	long: x, unsigned long: x, long long: x, unsigned long long: x
#define BLOG_STR_TYPES(x, sx, ux)                                            \
	char *: x, const char *: x, signed char *: sx,                       \
	const signed char *: sx, unsigned char *: ux, const unsigned char *: ux

/* Type code of an argument (FORMAT.md); not evaluated. */
#define BLOG_TC_(i, a) _Generic((a), BLOG_INT_TYPES('i'), BLOG_LONG_TYPES('l'), \
	float: 'd', double: 'd', long double: 'D',                           \
	BLOG_STR_TYPES('s', 's', 's'), default: 'p'),
/* Most bytes an argument can take in a record; not evaluated. */
#define BLOG_SZ_(i, a) + _Generic((a), BLOG_INT_TYPES(4), BLOG_LONG_TYPES(8), \
	float: 8, double: 8, long double: 16,                                \
	BLOG_STR_TYPES(2 + BLOG_STR_MAX, 2 + BLOG_STR_MAX, 2 + BLOG_STR_MAX), \
	default: 8)
/* Writes an argument (evaluated once). */
#define BLOG_PUT_(i, a) _Generic((a), BLOG_INT_TYPES(blog_put_u32),          \
	BLOG_LONG_TYPES(blog_put_u64), float: blog_put_dbl,                  \
	double: blog_put_dbl, long double: blog_put_ldbl,                    \
	BLOG_STR_TYPES(blog_put_str, blog_put_sstr, blog_put_ustr),          \
	default: blog_put_ptr)(&blog_p_, (a), i, &blog_d_);

/* Never called: lets the compiler type-check format and arguments. */
static inline __attribute__((format(printf, 1, 2))) void blog_fmt_check(const char *fmt, ...)
{
	(void)fmt;
}

/* %n is refused at build time (the check folds away for good formats). */
extern void blog_no_percent_n(void)
	__attribute__((error("%n is not allowed in a log format")));
#define BLOG_HAS_N(f) (__builtin_strstr(f, "%n") || __builtin_strstr(f, "%hn") || \
	__builtin_strstr(f, "%hhn") || __builtin_strstr(f, "%ln") ||           \
	__builtin_strstr(f, "%lln") || __builtin_strstr(f, "%jn") ||           \
	__builtin_strstr(f, "%zn") || __builtin_strstr(f, "%tn"))
#if defined(BLOG_NO_FORMAT_N_CHECK)	/* fuzz builds: coverage hooks keep strstr from folding */
#define BLOG_REJECT_N(f) do { } while (0)
#elif defined(__clang__) && defined(__OPTIMIZE__)
#define BLOG_REJECT_N(f) do { if (BLOG_HAS_N(f)) blog_no_percent_n(); } while (0)
#elif !defined(__clang__)
#define BLOG_REJECT_N(f) do { if (__builtin_constant_p(BLOG_HAS_N(f)) && BLOG_HAS_N(f)) \
	blog_no_percent_n(); } while (0)
#else
#define BLOG_REJECT_N(f) do { } while (0)
#endif

#define BLOG_DESC_ATTRS \
	__attribute__((section("blog_desc"), used, retain, aligned(64)))

#define blog_call(lvl, err, fmt_, ...)                                         \
	do {                                                                  \
		BLOG_REJECT_N(fmt_);                                          \
		if (0)                                                        \
			blog_fmt_check(fmt_, ##__VA_ARGS__);                  \
		if (__builtin_expect((lvl) <= blog_level_current, 1)) {      \
			static const char blog_t_[] = {                       \
				BLOG_FOREACH(BLOG_TC_, ##__VA_ARGS__) 0 };    \
			static struct blog_desc blog_d_ BLOG_DESC_ATTRS = {   \
				.fmt = fmt_, .file = __FILE__,                \
				.types = blog_t_, .line = __LINE__,           \
				.level = (lvl), .flags = (err) ? BLOG_DF_ERRNO : 0, \
				.nargs = BLOG_NARGS(__VA_ARGS__),             \
			};                                                    \
			bool blog_se_ = (err) || blog_d_.rt_errno;            \
			int blog_e_ = blog_se_ ? errno : 0;                   \
			char *blog_p_ = blog_reserve(BLOG_REC_HDR + 4         \
				BLOG_FOREACH(BLOG_SZ_, ##__VA_ARGS__));       \
			if (blog_p_) {                                        \
				char *blog_s_ = blog_p_;                      \
				blog_p_ += BLOG_REC_HDR;                      \
				BLOG_FOREACH(BLOG_PUT_, ##__VA_ARGS__)        \
				if (blog_se_) {                               \
					memcpy(blog_p_, &blog_e_, 4);         \
					blog_p_ += 4;                         \
				}                                             \
				blog_commit(&blog_d_, blog_s_, blog_p_);      \
			}                                                     \
			if (blog_se_)                                         \
				errno = blog_e_;                              \
		}                                                             \
	} while (0)

#define pr_msg(fmt, ...)    blog_call(BLOG_MSG, false, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)    blog_call(BLOG_ERROR, false, fmt, ##__VA_ARGS__)
#define pr_perror(fmt, ...) blog_call(BLOG_ERROR, true, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)   blog_call(BLOG_WARN, false, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)   blog_call(BLOG_INFO, false, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)  blog_call(BLOG_DEBUG, false, fmt, ##__VA_ARGS__)

/* Sets the verbosity (-vN): records above @level are dropped at the call
 * site. Errors (and pr_msg) are always kept, so 0 and 1 both mean "errors
 * only". */
void blog_set_level(int level);

/* Sends the log to @path (created or truncated): binary records, or text
 * lines with BLOG_MODE_TEXT. Returns 0 or -errno (the log then stays where
 * it was). Binary mode also installs the handlers that write out the
 * buffers before the process dies of SIGSEGV, SIGBUS, SIGABRT, SIGILL,
 * SIGFPE, or of SIGINT, SIGTERM, SIGHUP, SIGQUIT (each then goes back to
 * the action it had, which runs; one that was ignored is left alone). */
int blog_open_file(const char *path, enum blog_mode mode);

/* Writes out every thread's buffered records. Returns 0 or -errno. */
int blog_flush(void);

/* Flushes and closes the log file, going back to text on stderr. */
void blog_close(void);

/* For a child made with a raw clone()/clone3() (fork() is handled): drops
 * the records inherited from the parent, which the parent writes itself. */
void blog_child_reset(void);

/* What a log call does when its thread's buffers are all full because the
 * writer thread falls behind (binary mode). */
enum blog_full_policy {
	/* the default: the record is dropped and counted; the thread's next
	 * records start with a "N records dropped" marker record */
	BLOG_FULL_DROP = 0,
	/* the call waits for the writer thread to free a buffer */
	BLOG_FULL_BLOCK = 1,
};

void blog_set_full_policy(enum blog_full_policy policy);

/* Counters of the log since start (this process and its parent before a
 * fork: they are inherited). */
struct blog_stats {
	uint64_t chunks;	/* chunks written */
	uint64_t bytes;		/* bytes of chunks written, headers included */
	uint64_t dropped;	/* records dropped (BLOG_FULL_DROP) */
	uint64_t waits;		/* calls that waited (or wait) for the writer (BLOG_FULL_BLOCK) */
	uint64_t wait_ns_total;
	uint64_t wait_ns_max;	/* the longest such wait */
};

void blog_get_stats(struct blog_stats *st);

/* Binary mode writes full buffers from a writer thread of the process that
 * opened the log. A forked child has none (it writes its buffers itself,
 * as they fill): a child that will unshare or setns namespaces, or be
 * replaced by a restorer, must stay single-threaded. A long-lived child may
 * start its own with blog_writer_start() (0 or -errno). blog_writer_stop()
 * writes everything out and ends the thread, e.g. before a call that needs
 * a single-threaded process; log calls then write full buffers themselves. */
int blog_writer_start(void);
void blog_writer_stop(void);

#endif
