/* img-read — the checked reader of framed images: the magic, then each
 * entry's length against what remains, each message's decoding, and the
 * raw bytes some kinds carry after an entry. A bad image is reported with
 * its name, entry index and byte offset; nothing is trusted before checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "img.h"

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static int add_entry(struct img_file *f, size_t *cap, const struct img_entry *e)
{
	if (f->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct img_entry *n = realloc(f->ents, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->ents = n;
		*cap = nc;
	}
	f->ents[f->n++] = *e;
	return 0;
}

/* How many raw bytes follow entry @idx (message @m) of @f. */
static int extra_len(const struct img_file *f, size_t idx, const ProtobufCMessage *m,
		     size_t remain, size_t *len, bool *has)
{
	const struct img_kind *k = f->kind;
	uint64_t a = 0, b = 0;

	*len = 0;
	*has = k->extra != IMG_EXTRA_NONE;
	switch (k->extra) {
	case IMG_EXTRA_NONE:
		return 0;
	case IMG_EXTRA_FIELD:
		img_msg_uint(m, k->extra_field, &a);
		break;
	case IMG_EXTRA_TCP:
		img_msg_uint(m, "inq_len", &a);
		img_msg_uint(m, "outq_len", &b);
		a += b;
		break;
	case IMG_EXTRA_GHOST:
		if (idx == 0) {
			if (img_msg_uint(m, "chunks", &b) && b) {
				*has = false;
				return 0;
			}
			a = remain;	/* the whole rest of the file */
		} else {
			img_msg_uint(m, "len", &a);
		}
		break;
	}
	if (a > remain)
		return -EINVAL;
	*len = (size_t)a;
	return 0;
}

int img_parse(struct img_file *f, const char *name, const uint8_t *buf,
	      size_t len, const struct img_kind *expect)
{
	size_t off = 0, cap = 0;
	uint32_t magic;
	int ret;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->data = (uint8_t *)buf;
	f->len = len;
	f->borrowed = true;

	if (expect && expect->hdr == IMG_HDR_RAW) {
		f->kind = expect;
		return 0;
	}
	if (len < 4) {
		pr_err("%s: %zu bytes, too short for a magic", name, len);
		return -EINVAL;
	}
	magic = get_u32(buf);
	off = 4;
	if (magic == IMG_MAGIC_COMMON || magic == IMG_MAGIC_SERVICE) {
		if (len < 8) {
			pr_err("%s: truncated after the common magic", name);
			return -EINVAL;
		}
		f->kind = img_kind_by_magic(get_u32(buf + 4));
		if (f->kind && f->kind->hdr != (magic == IMG_MAGIC_COMMON ?
						IMG_HDR_COMMON : IMG_HDR_SERVICE))
			f->kind = NULL;
		magic = get_u32(buf + 4);
		off = 8;
	} else {
		f->kind = img_kind_by_magic(magic);
		if (f->kind && f->kind->hdr != IMG_HDR_OWN)
			f->kind = NULL;
	}
	if (!f->kind) {
		pr_err("%s: unknown magic 0x%08x at offset %zu", name, magic, off - 4);
		return -EINVAL;
	}
	if (expect && expect->magic != f->kind->magic) {
		pr_err("%s: magic 0x%08x is %s, expected %s", name, magic,
		       f->kind->name, expect->name);
		return -EINVAL;
	}
	if (expect)
		f->kind = expect;

	while (off < len) {
		struct img_entry e = { .offset = off };
		const ProtobufCMessageDescriptor *d = img_kind_desc(f->kind, f->n);
		size_t remain = len - off, n;
		bool has;

		if (remain < 4) {
			pr_err("%s: entry %zu at offset %zu: %zu stray bytes, not a length",
			       name, f->n, off, remain);
			ret = -EINVAL;
			goto err;
		}
		n = get_u32(buf + off);
		if (n > remain - 4) {
			pr_err("%s: entry %zu at offset %zu: length %zu past the end (%zu bytes remain)",
			       name, f->n, off, n, remain - 4);
			ret = -EINVAL;
			goto err;
		}
		e.msg = protobuf_c_message_unpack(d, NULL, n, buf + off + 4);
		if (!e.msg) {
			pr_err("%s: entry %zu at offset %zu: %zu bytes do not decode as %s",
			       name, f->n, off, n, d->name);
			ret = -EINVAL;
			goto err;
		}
		off += 4 + n;
		ret = extra_len(f, f->n, e.msg, len - off, &e.extra_len, &has);
		if (ret) {
			pr_err("%s: entry %zu at offset %zu: its data runs past the end",
			       name, f->n, e.offset);
			protobuf_c_message_free_unpacked(e.msg, NULL);
			goto err;
		}
		if (has)
			e.extra = buf + off;
		off += e.extra_len;
		ret = add_entry(f, &cap, &e);
		if (ret) {
			protobuf_c_message_free_unpacked(e.msg, NULL);
			goto err;
		}
	}
	return 0;
err:
	img_file_free(f);
	return ret;
}

int img_slurp(int dfd, const char *name, uint8_t **bufp, size_t *lenp)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, ret;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_perror("Can't open image %s", name);
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			pr_perror("%s: read at offset %zu failed", name, got);
			free(buf);
			close(fd);
			return ret;
		}
		got += (size_t)r;
	}
	close(fd);
	*bufp = buf;
	*lenp = got;
	return 0;
}

int img_read(struct img_file *f, int dfd, const char *name,
	     const struct img_kind *expect)
{
	uint8_t *buf;
	size_t len;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = img_slurp(dfd, name, &buf, &len);
	if (ret)
		return ret;
	ret = img_parse(f, name, buf, len, expect);
	if (ret) {
		free(buf);
		return ret;
	}
	f->borrowed = false;
	return 0;
}

void img_file_free(struct img_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		protobuf_c_message_free_unpacked(f->ents[i].msg, NULL);
	free(f->ents);
	if (!f->borrowed)
		free(f->data);
	f->ents = NULL;
	f->data = NULL;
	f->n = 0;
}
