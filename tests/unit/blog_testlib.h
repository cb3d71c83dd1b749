/* blog_testlib — helpers for blog's tests: decode a log file into an array
 * of rendered records. Test code only; it must not hide decoder errors. */
#ifndef CRISP_BLOG_TESTLIB_H
#define CRISP_BLOG_TESTLIB_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "render.h"

struct tl_rec {
	char *msg, *line;
	uint64_t ns, offset;
	size_t size;
	uint32_t pid, tid, level;
};

struct tl_log {
	struct tl_rec *recs;
	size_t n, cap;
	unsigned int errors;
	char last_error[256];
};

static inline void tl_on_record(void *ctx, const struct bd_rec *r)
{
	struct tl_log *l = ctx;
	static char msg[BLOG_MSG_MAX], line[BLOG_MSG_MAX + 4096];
	size_t ml;

	bd_render(r, r->ns, msg, sizeof(msg), &ml, line, sizeof(line));
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->recs = realloc(l->recs, l->cap * sizeof(*l->recs));
	}
	l->recs[l->n++] = (struct tl_rec){ strdup(msg), strdup(line), r->ns, r->offset, r->size,
					   r->pid, r->tid, r->e->level };
}

static inline void tl_on_error(void *ctx, const struct bd_file *f, uint64_t off, const char *msg)
{
	struct tl_log *l = ctx;

	(void)f;
	l->errors++;
	snprintf(l->last_error, sizeof(l->last_error), "@%llu: %s", (unsigned long long)off, msg);
}

/* Decodes @len bytes; returns bd_process's result. */
static inline int tl_decode_buf(const void *buf, size_t len, struct tl_log *l, struct bd_file *keep)
{
	struct bd_file f = { .name = "test" };
	struct bd_ops ops = { tl_on_record, tl_on_error, l };
	int ret;

	memset(l, 0, sizeof(*l));
	if (len && bd_feed(&f, buf, len))
		return -ENOMEM;
	ret = bd_process(&f, true, &ops);
	if (keep)
		*keep = f;
	else
		bd_file_free(&f);
	return ret;
}

static inline void *tl_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t size;
	char *buf;

	if (fd < 0)
		return NULL;
	size = lseek(fd, 0, SEEK_END);
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf && pread(fd, buf, (size_t)size, 0) != size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)size;
	return buf;
}

static inline int tl_decode_file(const char *path, struct tl_log *l)
{
	size_t len;
	void *buf = tl_read_file(path, &len);
	int ret;

	if (!buf)
		return -errno;
	ret = tl_decode_buf(buf, len, l, NULL);
	free(buf);
	return ret;
}

static inline void tl_free(struct tl_log *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->recs[i].msg);
		free(l->recs[i].line);
	}
	free(l->recs);
	memset(l, 0, sizeof(*l));
}

/* The count of a "records dropped" marker record (BLOG_FULL_DROP), or -1
 * if @msg is not one. */
static inline long tl_dropped(const char *msg)
{
	unsigned int n;

	return sscanf(msg, "blog: %u records dropped here", &n) == 1 ? (long)n : -1;
}

/* A fresh temporary file name in $TMPDIR (or the system's). */
static inline void tl_tmpname(char *buf, size_t cap, const char *tag)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	int fd;

	snprintf(buf, cap, "%s/blogtest-%s-XXXXXX", dir, tag);
	fd = mkstemp(buf);
	if (fd >= 0)
		close(fd);
}

#endif
