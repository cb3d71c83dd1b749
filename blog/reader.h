/* reader — parses blog log files held in memory: the header and dictionary,
 * CRC-framed chunks and the records inside them (layout in FORMAT.md).
 * Every length and offset is checked before use; it never reads past the
 * bytes it is given and allocates only for the dictionary. No I/O here. */
#ifndef CRISP_BLOG_READER_H
#define CRISP_BLOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blog_entry {
	char *fmt, *file;	/* NUL-terminated copies */
	char types[17];
	uint32_t line;
	uint8_t level, flags, nargs;
};

struct blog_header {
	uint32_t version, flags, pid, hdr_len;
	uint64_t clk0, mono0, real0;
	uint8_t build_id[64];
	uint32_t build_id_len;
	struct blog_entry *dict;
	uint32_t ndict;
};

/* Parses the header at @buf (@len bytes available). Returns its length
 * (> 0), 0 if more bytes are needed, or -EPROTO (not a blog file, or a
 * corrupt header) / -ENOTSUP (unknown version) / -ENOMEM, with a reason in
 * @err. Free with blog_header_free(). */
long blog_read_header(const uint8_t *buf, size_t len, struct blog_header *h,
		      char *err, size_t errlen);
void blog_header_free(struct blog_header *h);

struct blog_chunk {
	uint32_t len, pid, tid, seq;
	uint64_t clk, mono;
	const uint8_t *recs;	/* @len bytes of records */
};

/* The chunk at @buf. Returns its total size (> 0); 0 if it is not all
 * there yet (@c is filled as far as its header, if present); -EBADMSG if it
 * is not a valid chunk (bad magic, length or CRC). */
long blog_read_chunk(const uint8_t *buf, size_t len, struct blog_chunk *c);

/* The offset of the next chunk magic after @from, or @len if none. */
size_t blog_resync(const uint8_t *buf, size_t len, size_t from);

struct blog_record {
	uint32_t id;
	uint64_t clk;
	const struct blog_entry *e;
	const uint8_t *args;
	size_t args_len;
};

/* The record at @p (@avail bytes). Returns its size (> 0), 0 if it is cut
 * short (fewer than its length bytes remain), or -EBADMSG if it does not
 * match the dictionary. */
long blog_read_record(const struct blog_header *h, const uint8_t *p, size_t avail,
		      struct blog_record *r);

/* Nanoseconds since the log's start for clock value @clk of a record in
 * chunk @c (NULL: no chunk calibration known). */
uint64_t blog_clk_to_ns(const struct blog_header *h, const struct blog_chunk *c, uint64_t clk);

#endif
