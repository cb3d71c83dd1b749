/* reader — parsing of blog log files (see reader.h and FORMAT.md). Written
 * for hostile input: each length is checked against what remains before it
 * is used. It must not print or exit; callers report the errors. */
#include "reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "blog-wire.h"
#include "render.h"

static long header_error(char *err, size_t errlen, long ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static long header_error(char *err, size_t errlen, long ret, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static int read_entry(const uint8_t *p, size_t avail, struct blog_entry *e, size_t *used)
{
	uint32_t len, fl, il;

	if (avail < BLOG_DE_SIZE)
		return -1;
	len = blog_get32(p + BLOG_DE_LEN);
	e->line = blog_get32(p + BLOG_DE_LINE);
	e->level = p[BLOG_DE_LEVEL];
	e->flags = p[BLOG_DE_FLAGS];
	e->nargs = p[BLOG_DE_NARGS];
	fl = blog_get16(p + BLOG_DE_FMT_LEN);
	il = blog_get16(p + BLOG_DE_FILE_LEN);
	if (e->nargs > BLOG_MAX_ARGS || e->level > BLOG_DEBUG || len > avail ||
	    len != BLOG_DE_SIZE + e->nargs + fl + il)
		return -1;
	memcpy(e->types, p + BLOG_DE_SIZE, e->nargs);
	e->types[e->nargs] = 0;
	for (unsigned int i = 0; i < e->nargs; i++)
		if (!e->types[i] || !strchr("ildDsp", e->types[i]))
			return -1;
	e->fmt = dup_bytes(p + BLOG_DE_SIZE + e->nargs, fl);
	e->file = dup_bytes(p + BLOG_DE_SIZE + e->nargs + fl, il);
	if (!e->fmt || !e->file)
		return -1;
	/* a NUL inside would hide the rest of a format: refuse it */
	if (strlen(e->fmt) != fl || strlen(e->file) != il)
		return -1;
	*used = len;
	return 0;
}

long blog_read_header(const uint8_t *buf, size_t len, struct blog_header *h,
		      char *err, size_t errlen)
{
	size_t off;

	memset(h, 0, sizeof(*h));
	if (!len)
		return 0;
	if (len < BLOG_FH_SIZE)
		return memcmp(buf, BLOG_FILE_MAGIC, len < 8 ? len : 8) ? header_error(err, errlen,
			-EPROTO, "offset 0: not a blog log file (bad magic)") : 0;
	if (memcmp(buf, BLOG_FILE_MAGIC, 8))
		return header_error(err, errlen, -EPROTO, "offset 0: not a blog log file (bad magic)");
	h->version = blog_get32(buf + BLOG_FH_VERSION);
	if (h->version != BLOG_FILE_VERSION)
		return header_error(err, errlen, -ENOTSUP,
				    "offset 8: format version %u, this decoder reads version %u",
				    h->version, BLOG_FILE_VERSION);
	h->hdr_len = blog_get32(buf + BLOG_FH_HDR_LEN);
	if (h->hdr_len < BLOG_FH_SIZE + 4 || h->hdr_len > (64u << 20))
		return header_error(err, errlen, -EPROTO, "offset 12: bad header length %u", h->hdr_len);
	if (len < h->hdr_len)
		return 0;
	if (blog_crc32c(0, buf, h->hdr_len - 4) != blog_get32(buf + h->hdr_len - 4))
		return header_error(err, errlen, -EPROTO, "offset %u: header checksum mismatch",
				    h->hdr_len - 4);
	h->flags = blog_get32(buf + BLOG_FH_FLAGS);
	h->pid = blog_get32(buf + BLOG_FH_PID);
	h->clk0 = blog_get64(buf + BLOG_FH_CLK0);
	h->mono0 = blog_get64(buf + BLOG_FH_MONO0);
	h->real0 = blog_get64(buf + BLOG_FH_REAL0);
	h->build_id_len = blog_get32(buf + BLOG_FH_BUILDID_LEN);
	if (h->build_id_len > 64)
		return header_error(err, errlen, -EPROTO, "offset 48: bad build-id length");
	memcpy(h->build_id, buf + BLOG_FH_BUILDID, h->build_id_len);
	h->ndict = blog_get32(buf + BLOG_FH_NDICT);
	if (h->ndict > (h->hdr_len - BLOG_FH_SIZE) / BLOG_DE_SIZE)
		return header_error(err, errlen, -EPROTO, "offset 116: bad dictionary size %u", h->ndict);
	h->dict = calloc(h->ndict ? h->ndict : 1, sizeof(*h->dict));
	if (!h->dict)
		return header_error(err, errlen, -ENOMEM, "out of memory");
	off = BLOG_FH_SIZE;
	for (uint32_t i = 0; i < h->ndict; i++) {
		size_t used;

		if (read_entry(buf + off, h->hdr_len - 4 - off, &h->dict[i], &used)) {
			blog_header_free(h);
			return header_error(err, errlen, -EPROTO,
					    "offset %zu: bad dictionary entry %u", off, i);
		}
		off += used;
	}
	if (off != h->hdr_len - 4) {
		blog_header_free(h);
		return header_error(err, errlen, -EPROTO, "offset %zu: dictionary length mismatch", off);
	}
	return (long)h->hdr_len;
}

void blog_header_free(struct blog_header *h)
{
	for (uint32_t i = 0; h->dict && i < h->ndict; i++) {
		free(h->dict[i].fmt);
		free(h->dict[i].file);
	}
	free(h->dict);
	h->dict = NULL;
	h->ndict = 0;
}

long blog_read_chunk(const uint8_t *buf, size_t len, struct blog_chunk *c)
{
	uint32_t crc;

	memset(c, 0, sizeof(*c));
	if (len < 4)
		return memcmp(buf, "BLGC", len) ? -EBADMSG : 0;
	if (blog_get32(buf + BLOG_CH_MAGIC) != BLOG_CHUNK_MAGIC)
		return -EBADMSG;
	if (len < BLOG_CH_SIZE)
		return 0;
	c->len = blog_get32(buf + BLOG_CH_LEN);
	c->pid = blog_get32(buf + BLOG_CH_PID);
	c->tid = blog_get32(buf + BLOG_CH_TID);
	c->seq = blog_get32(buf + BLOG_CH_SEQ);
	c->clk = blog_get64(buf + BLOG_CH_CLK);
	c->mono = blog_get64(buf + BLOG_CH_MONO);
	c->recs = buf + BLOG_CH_SIZE;
	if (c->len > BLOG_CHUNK_MAX)
		return -EBADMSG;
	if (len - BLOG_CH_SIZE < c->len)
		return 0;
	crc = blog_crc32c(0, buf + BLOG_CH_PID, BLOG_CH_SIZE - BLOG_CH_PID);
	crc = blog_crc32c(crc, c->recs, c->len);
	if (crc != blog_get32(buf + BLOG_CH_CRC))
		return -EBADMSG;
	return (long)(BLOG_CH_SIZE + c->len);
}

size_t blog_resync(const uint8_t *buf, size_t len, size_t from)
{
	for (size_t i = from; i + 4 <= len; i++)
		if (buf[i] == 'B' && blog_get32(buf + i) == BLOG_CHUNK_MAGIC)
			return i;
	return len;
}

long blog_read_record(const struct blog_header *h, const uint8_t *p, size_t avail,
		      struct blog_record *r)
{
	uint32_t len;

	if (avail < BLOG_RH_SIZE)
		return 0;
	r->id = blog_get32(p + BLOG_RH_ID);
	len = blog_get32(p + BLOG_RH_LEN);
	r->clk = blog_get64(p + BLOG_RH_CLK);
	if (r->id >= h->ndict || len < BLOG_RH_SIZE)
		return -EBADMSG;
	if (len > avail)
		return 0;
	r->e = &h->dict[r->id];
	r->args = p + BLOG_RH_SIZE;
	r->args_len = len - BLOG_RH_SIZE;
	if (blog_args_check(r->e->types, r->e->flags & (BLOG_DF_ERRNO | BLOG_DF_HAS_M),
			    r->args, r->args_len))
		return -EBADMSG;
	return (long)len;
}

uint64_t blog_clk_to_ns(const struct blog_header *h, const struct blog_chunk *c, uint64_t clk)
{
	unsigned __int128 x;
	uint64_t dclk, dns;

	if (clk <= h->clk0)
		return 0;
	if (!(h->flags & BLOG_FF_CLOCK_TSC))
		return clk - h->clk0;
	if (!c || c->clk <= h->clk0 || c->mono <= h->mono0)
		return 0;
	dclk = c->clk - h->clk0;
	dns = c->mono - h->mono0;
	x = (unsigned __int128)(clk - h->clk0) * dns / dclk;
	return x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
}
