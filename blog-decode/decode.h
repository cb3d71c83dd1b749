/* decode — blog-decode's engine: takes a log file's bytes as they come
 * (whole, or piece by piece for --follow), finds the header, the chunks and
 * the records, and hands each record or error to callbacks. It never trusts
 * the bytes and never stops at a bad chunk: it reports it and resyncs. No
 * output formatting and no I/O here (see main.c). */
#ifndef CRISP_BLOG_DECODE_H
#define CRISP_BLOG_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"

struct bd_file {
	const char *name;
	uint8_t *buf;
	size_t len, cap, pos;	/* bytes held; parse position in them */
	uint64_t base;		/* file offset of buf[0] */
	bool have_hdr, failed, in_bad_region;
	struct blog_header h;
	uint64_t nrec, nbad;
};

struct bd_rec {
	const struct bd_file *f;
	const struct blog_entry *e;
	uint32_t id, pid, tid;
	uint64_t ns;		/* since the log's start */
	uint64_t wall_ns;	/* CLOCK_REALTIME */
	uint64_t offset;	/* in the file */
	size_t size;		/* record bytes */
	const uint8_t *args;
	size_t args_len;
};

struct bd_ops {
	void (*record)(void *ctx, const struct bd_rec *r);
	void (*error)(void *ctx, const struct bd_file *f, uint64_t offset, const char *msg);
	void *ctx;
};

/* Appends @n bytes read from the file. Returns 0 or -ENOMEM. */
int bd_feed(struct bd_file *f, const void *data, size_t n);

/* Decodes every complete chunk held. With @at_eof, also the complete
 * records of a cut last chunk, then reports where the file was cut.
 * Returns 0, or a negative errno when the file cannot be read at all (bad
 * header, unknown version): reported through ops->error. */
int bd_process(struct bd_file *f, bool at_eof, const struct bd_ops *ops);

void bd_file_free(struct bd_file *f);

/* Renders @r: the message into @msg (@msg_cap) and the whole line into
 * @line (@line_cap), shown @ns after the start. Returns the line length. */
size_t bd_render(const struct bd_rec *r, uint64_t ns, char *msg, size_t msg_cap,
		 size_t *msg_len, char *line, size_t line_cap);

#endif
