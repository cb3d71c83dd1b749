/* blog — text rendering of log records (first version, see blog.h). */
#include "blog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int blog_level_current = BLOG_DEFAULT_LEVEL;
static int blog_fd = STDERR_FILENO;
static struct timespec blog_start;

static const char *const blog_level_names[] = {
	[BLOG_MSG] = "", [BLOG_ERROR] = "Error ", [BLOG_WARN] = "Warn  ",
	[BLOG_INFO] = "", [BLOG_DEBUG] = "",
};

void blog_set_level(int level)
{
	blog_level_current = level;
}

int blog_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (blog_fd != STDERR_FILENO)
		close(blog_fd);
	blog_fd = fd;
	return 0;
}

int blog_flush(void)
{
	return 0;
}

void blog_close(void)
{
	if (blog_fd != STDERR_FILENO)
		close(blog_fd);
	blog_fd = STDERR_FILENO;
}

void blog_emit(int level, bool with_errno, const char *file, int line,
	       const char *fmt, ...)
{
	int saved_errno = errno;
	struct timespec now;
	char buf[4096];
	size_t len = 0;
	int n;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!blog_start.tv_sec && !blog_start.tv_nsec)
		blog_start = now;
	long long ns = (now.tv_sec - blog_start.tv_sec) * 1000000000LL +
		       (now.tv_nsec - blog_start.tv_nsec);
	if (level < BLOG_MSG || level > BLOG_DEBUG)
		level = BLOG_DEBUG;
	if (level != BLOG_MSG) {
		n = snprintf(buf, sizeof(buf), "(%02lld.%06lld) %s(%s:%d): ",
			     ns / 1000000000LL, (ns / 1000) % 1000000,
			     blog_level_names[level], file, line);
		len = n > 0 ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	va_end(ap);
	len += n > 0 ? (size_t)n : 0;
	if (len > sizeof(buf) - 64)
		len = sizeof(buf) - 64;
	if (with_errno)
		len += snprintf(buf + len, sizeof(buf) - len, ": %s",
				strerror(saved_errno));
	if (len && buf[len - 1] != '\n')
		buf[len++] = '\n';
	if (write(blog_fd, buf, len) < 0) {
		/* nowhere left to report it */
	}
	errno = saved_errno;
}
