/* decode — record extraction for blog-decode (see decode.h). Hostile input
 * is the normal case here: every error names the file offset, and decoding
 * goes on after it. It must not print anything itself. */
#include "decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog-wire.h"
#include "render.h"

int bd_feed(struct bd_file *f, const void *data, size_t n)
{
	if (f->pos && f->pos == f->len) {
		f->base += f->pos;
		f->len = f->pos = 0;
	}
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 65536;
		uint8_t *nb;

		while (cap < f->len + n)
			cap *= 2;
		nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return 0;
}

static void bd_error(const struct bd_ops *ops, struct bd_file *f, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static void bd_error(const struct bd_ops *ops, struct bd_file *f, uint64_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->nbad++;
	if (ops->error)
		ops->error(ops->ctx, f, off, msg);
}

/* The records of one chunk; @avail may be short of c->len (a cut chunk). */
static void bd_records(struct bd_file *f, const struct blog_chunk *c, size_t avail,
		       uint64_t off, const struct bd_ops *ops)
{
	size_t p = 0;

	while (p < avail) {
		struct blog_record r;
		long n = blog_read_record(&f->h, c->recs + p, avail - p, &r);

		if (n == 0 && avail < c->len)
			return;		/* the cut: reported by the caller */
		if (n <= 0) {
			bd_error(ops, f, off + p, "corrupt record (id %u), rest of its chunk skipped",
				 avail - p >= 4 ? blog_get32(c->recs + p) : 0);
			return;
		}
		f->nrec++;
		if (ops->record) {
			struct bd_rec br = {
				.f = f, .e = r.e, .id = r.id, .pid = c->pid, .tid = c->tid,
				.ns = blog_clk_to_ns(&f->h, c, r.clk),
				.offset = off + p, .size = (size_t)n,
				.args = r.args, .args_len = r.args_len,
			};

			br.wall_ns = f->h.real0 + br.ns;
			ops->record(ops->ctx, &br);
		}
		p += (size_t)n;
	}
}

static int bd_header(struct bd_file *f, bool at_eof, const struct bd_ops *ops)
{
	char err[200];
	long n = blog_read_header(f->buf, f->len, &f->h, err, sizeof(err));

	if (n < 0 || (n == 0 && at_eof)) {
		if (n == 0)
			snprintf(err, sizeof(err), "offset %zu: file cut inside its header", f->len);
		f->failed = true;
		bd_error(ops, f, 0, "%s", err);
		return n ? (int)n : -EPROTO;
	}
	if (n == 0)
		return 0;
	f->have_hdr = true;
	f->pos = (size_t)n;
	return 0;
}

int bd_process(struct bd_file *f, bool at_eof, const struct bd_ops *ops)
{
	if (f->failed)
		return -EPROTO;
	if (!f->have_hdr) {
		int err = bd_header(f, at_eof, ops);

		if (err || !f->have_hdr)
			return err;
	}
	while (f->pos < f->len) {
		struct blog_chunk c;
		size_t left = f->len - f->pos;
		uint64_t off = f->base + f->pos;
		long n = blog_read_chunk(f->buf + f->pos, left, &c);

		if (n > 0) {
			f->in_bad_region = false;
			bd_records(f, &c, c.len, off + BLOG_CH_SIZE, ops);
			f->pos += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (!at_eof)
				break;
			if (left >= BLOG_CH_SIZE)
				bd_records(f, &c, left - BLOG_CH_SIZE, off + BLOG_CH_SIZE, ops);
			bd_error(ops, f, off, "file cut here: a chunk of %zu bytes has only %zu",
				 left >= BLOG_CH_SIZE ? (size_t)c.len + BLOG_CH_SIZE : (size_t)BLOG_CH_SIZE,
				 left);
			f->pos = f->len;
			break;
		}
		/* not a valid chunk: report it once, then look for the next one */
		if (!f->in_bad_region)
			bd_error(ops, f, off, "corrupt chunk (bad magic, length or checksum), skipped");
		f->in_bad_region = true;
		f->pos = blog_resync(f->buf, f->len, f->pos + 1);
		if (f->pos == f->len && !at_eof) {
			/* keep the last 3 bytes: a magic may start there */
			f->pos = f->len > 3 ? f->len - 3 : 0;
			break;
		}
	}
	/* drop what is done, so --follow does not grow without end */
	if (f->pos > (1u << 20) || f->pos == f->len) {
		memmove(f->buf, f->buf + f->pos, f->len - f->pos);
		f->base += f->pos;
		f->len -= f->pos;
		f->pos = 0;
	}
	return 0;
}

void bd_file_free(struct bd_file *f)
{
	blog_header_free(&f->h);
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = f->pos = 0;
}

size_t bd_render(const struct bd_rec *r, uint64_t ns, char *msg, size_t msg_cap,
		 size_t *msg_len, char *line, size_t line_cap)
{
	*msg_len = blog_render_msg(msg, msg_cap, r->e->fmt, r->e->types, r->e->flags,
				   r->args, r->args_len);
	return blog_render_line(line, line_cap, ns, r->e->level, r->e->file, r->e->line,
				msg, *msg_len);
}
