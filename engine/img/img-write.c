/* img-write — writers of framed images: the magic, then per entry a u32
 * length and the packed message (and raw bytes some kinds carry after it),
 * gathered in a buffer and written out with every error named by image and
 * offset. The raw page stream has its own writer (page-writer.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "img.h"

#define IMG_WRITER_FLUSH (256u << 10)

/* Writes @n bytes at the writer's offset, looping over short writes. */
static int writer_out(struct img_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(w->fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			pr_perror("%s: write of %zu bytes at offset %llu failed",
				  w->name, n, (unsigned long long)w->off);
			return (int)r;
		}
		if (r == 0) {
			pr_err("%s: write at offset %llu wrote nothing (%zu bytes left)",
			       w->name, (unsigned long long)w->off, n);
			return -EIO;
		}
		p += r;
		n -= (size_t)r;
		w->off += (uint64_t)r;
	}
	return 0;
}

static int writer_flush(struct img_writer *w)
{
	int ret;

	if (w->err)
		return w->err;
	ret = writer_out(w, w->buf, w->len);
	w->len = 0;
	if (ret)
		w->err = ret;
	return ret;
}

static int writer_reserve(struct img_writer *w, size_t n)
{
	if (w->err)
		return w->err;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *b;

		while (cap < w->len + n)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b)
			return w->err = -ENOMEM;
		w->buf = b;
		w->cap = cap;
	}
	return 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* little-endian hosts only, as CRIU's images */
}

static int writer_start(struct img_writer *w, const struct img_kind *k)
{
	int ret;

	w->kind = k;
	if (k->hdr == IMG_HDR_RAW)
		return 0;
	ret = writer_reserve(w, 8);
	if (ret)
		return ret;
	if (k->hdr != IMG_HDR_OWN) {
		put_u32(w->buf + w->len, k->hdr == IMG_HDR_SERVICE ?
			IMG_MAGIC_SERVICE : IMG_MAGIC_COMMON);
		w->len += 4;
	}
	put_u32(w->buf + w->len, k->magic);
	w->len += 4;
	return 0;
}

int img_writer_open_fd(struct img_writer *w, int fd, const struct img_kind *k,
		       const char *label)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	snprintf(w->name, sizeof(w->name), "%s", label);
	return writer_start(w, k);
}

int img_writer_open(struct img_writer *w, struct img_dir *d,
		    const struct img_kind *k, unsigned long id)
{
	char name[256];
	int ret, fd;

	ret = img_kind_file(k, id, name, sizeof(name));
	if (ret)
		return ret;
	fd = openat(d->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		pr_perror("Can't create image %s/%s", d->path, name);
		return ret;
	}
	ret = img_dir_note_created(d, name);
	if (!ret)
		ret = img_writer_open_fd(w, fd, k, name);
	w->own_fd = true;
	if (ret)
		img_writer_discard(w);
	return ret;
}

int img_writer_entry(struct img_writer *w, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	int ret;

	if (!protobuf_c_message_check(m)) {
		pr_err("%s: entry %zu lacks a required field", w->name, w->entries);
		return w->err = -EINVAL;
	}
	if (n > UINT32_MAX)
		return w->err = -E2BIG;
	ret = writer_reserve(w, 4 + n);
	if (ret)
		return ret;
	put_u32(w->buf + w->len, (uint32_t)n);
	protobuf_c_message_pack(m, w->buf + w->len + 4);
	w->len += 4 + n;
	w->entries++;
	if (w->len >= IMG_WRITER_FLUSH)
		return writer_flush(w);
	return 0;
}

int img_writer_raw(struct img_writer *w, const void *p, size_t n)
{
	int ret;

	if (n >= IMG_WRITER_FLUSH) {
		ret = writer_flush(w);
		if (!ret)
			ret = writer_out(w, p, n);
		if (ret)
			w->err = ret;
		return ret;
	}
	ret = writer_reserve(w, n);
	if (ret)
		return ret;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	if (w->len >= IMG_WRITER_FLUSH)
		return writer_flush(w);
	return 0;
}

int img_writer_close(struct img_writer *w)
{
	int ret = writer_flush(w);

	if (w->own_fd && w->fd >= 0 && close(w->fd) && !ret) {
		ret = -errno;
		pr_perror("%s: close failed", w->name);
	}
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
	return ret;
}

void img_writer_discard(struct img_writer *w)
{
	if (w->own_fd && w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
}
