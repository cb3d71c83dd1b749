/* blog — crisp's logging API.
 *
 * Offers printf-style log macros by level (CRIU's levels: -v0 .. -v4), the
 * choice of destination (text on stderr, or a log file) and flushing.
 * This first version renders text at the call; the binary writer replaces
 * the implementation behind the same macros.
 */
#ifndef CRISP_BLOG_H
#define CRISP_BLOG_H

#include <stdbool.h>

enum blog_level {
	BLOG_MSG   = 0,	/* always shown: results the user asked for */
	BLOG_ERROR = 1,
	BLOG_WARN  = 2,
	BLOG_INFO  = 3,
	BLOG_DEBUG = 4,
};

#define BLOG_DEFAULT_LEVEL BLOG_WARN

void blog_emit(int level, bool with_errno, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

extern int blog_level_current;

#define blog_call(lvl, err, fmt, ...)                                         \
	do {                                                                  \
		if (__builtin_expect((lvl) <= blog_level_current, 0))         \
			blog_emit((lvl), (err), __FILE__, __LINE__, fmt,      \
				  ##__VA_ARGS__);                             \
	} while (0)

#define pr_msg(fmt, ...)    blog_call(BLOG_MSG, false, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)    blog_call(BLOG_ERROR, false, fmt, ##__VA_ARGS__)
#define pr_perror(fmt, ...) blog_call(BLOG_ERROR, true, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)   blog_call(BLOG_WARN, false, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)   blog_call(BLOG_INFO, false, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)  blog_call(BLOG_DEBUG, false, fmt, ##__VA_ARGS__)

/* Sets the verbosity: records above @level are dropped at the call site. */
void blog_set_level(int level);

/* Sends the log to @path (created or truncated). Returns 0 or -errno. */
int blog_open_file(const char *path);

/* Writes out everything buffered so far. Returns 0 or -errno. */
int blog_flush(void);

/* Flushes and closes the log file, going back to stderr. */
void blog_close(void);

#endif
