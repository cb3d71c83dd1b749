/* img — crisp's image layer: the kinds of image files, the image directory,
 * framed-entry writers and checked readers (CRIU's wire format).
 *
 * Offers: the table of image kinds (file name, magic, protobuf schema), an
 * image directory opened once as a dirfd, a buffered writer of framed
 * entries and a reader that validates every length before use. It must not
 * know what the entries mean: dump and restore give them meaning.
 */
#ifndef CRISP_IMG_H
#define CRISP_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The first u32 of every image but inventory.img and the raw page files. */
#define IMG_MAGIC_COMMON	0x54564319u
#define IMG_MAGIC_SERVICE	0x55105940u	/* stats-*, irmap-cache */

enum img_header {
	IMG_HDR_COMMON,		/* common magic, then the kind's own */
	IMG_HDR_SERVICE,	/* service magic, then the kind's own */
	IMG_HDR_OWN,		/* only the kind's own magic (inventory.img) */
	IMG_HDR_RAW,		/* no magic, no entries (pages-N.img) */
};

/* What follows an entry, beyond the message itself. */
enum img_extra {
	IMG_EXTRA_NONE,
	IMG_EXTRA_FIELD,	/* as many raw bytes as the field extra_field says */
	IMG_EXTRA_TCP,		/* inq_len + outq_len bytes */
	IMG_EXTRA_GHOST,	/* ghost file: contents, whole or in chunks */
};

struct img_kind {
	const char *name;	/* crit's name of the magic: "CORE" */
	const char *pattern;	/* file name, with at most one %u/%x: "core-%u.img" */
	uint32_t magic;
	enum img_header hdr;
	const ProtobufCMessageDescriptor *desc;		/* every entry */
	const ProtobufCMessageDescriptor *first_desc;	/* the first entry, if it differs */
	enum img_extra extra;
	const char *extra_field;
};

/* Lookups; NULL when there is no such kind. */
const struct img_kind *img_kind_by_name(const char *name);
const struct img_kind *img_kind_by_magic(uint32_t magic);
/* By file name: "core-12.img" gives CORE and *id = 12 (id may be NULL). */
const struct img_kind *img_kind_by_file(const char *file, unsigned long *id);
size_t img_kind_count(void);
const struct img_kind *img_kind_at(size_t i);
/* The file name of @k with @id, into @buf. Returns 0 or -ENAMETOOLONG. */
int img_kind_file(const struct img_kind *k, unsigned long id, char *buf, size_t len);
/* Descriptor of entry @index of an image of kind @k. */
const ProtobufCMessageDescriptor *img_kind_desc(const struct img_kind *k, size_t index);

/* ---- the image directory ------------------------------------------------ */

struct img_dir {
	int dfd;
	char *path;
	char **created;		/* files this session created, for img_dir_abort */
	size_t n_created, cap_created;
};

/* Opens (and with @create, makes) the directory @path. Returns 0 or -errno. */
int img_dir_open(struct img_dir *d, const char *path, bool create);
/* Records that @name was created in @d (img_dir_abort removes it). */
int img_dir_note_created(struct img_dir *d, const char *name);
/* Removes every file this session created: a failed dump must not leave a
 * directory that looks complete. Returns 0 or the first -errno. */
int img_dir_abort(struct img_dir *d);
void img_dir_close(struct img_dir *d);

/* ---- writing ------------------------------------------------------------- */

struct img_writer {
	const struct img_kind *kind;
	char name[256];		/* for messages: the file name */
	int fd;
	bool own_fd;
	uint8_t *buf;
	size_t len, cap;
	uint64_t off;		/* bytes already written to fd */
	size_t entries;
	int err;		/* first error; later calls fail with it */
};

/*
 * Creates the image @k (with @id) in @d: O_CREAT|O_TRUNC, the magic written
 * first. Images of a dump are written in any order but inventory.img, which
 * goes last: its presence marks a complete image set. Returns 0 or -errno.
 */
int img_writer_open(struct img_writer *w, struct img_dir *d,
		    const struct img_kind *k, unsigned long id);
/* Same, onto an open @fd (not closed by img_writer_close); @label names it. */
int img_writer_open_fd(struct img_writer *w, int fd, const struct img_kind *k,
		       const char *label);
/* Appends one framed entry (u32 length, packed message). Returns 0 or -errno. */
int img_writer_entry(struct img_writer *w, const ProtobufCMessage *m);
/* Appends raw bytes after an entry (pipe data, queued packets). */
int img_writer_raw(struct img_writer *w, const void *p, size_t n);
/* Writes out what is buffered and closes. Every short write, ENOSPC or EIO
 * is reported with the image name and offset. Returns 0 or -errno. */
int img_writer_close(struct img_writer *w);
/* Closes without caring for errors (the image is being abandoned). */
void img_writer_discard(struct img_writer *w);

/* ---- reading ------------------------------------------------------------- */

struct img_entry {
	ProtobufCMessage *msg;
	size_t offset;		/* of the entry's length word */
	const uint8_t *extra;	/* raw bytes after the message, or NULL */
	size_t extra_len;
};

struct img_file {
	char name[256];
	const struct img_kind *kind;
	uint8_t *data;		/* the whole file (owned unless borrowed) */
	size_t len;
	bool borrowed;
	struct img_entry *ents;
	size_t n;
};

/*
 * Parses the image in @buf (@len bytes, borrowed: it must outlive @f), named
 * @name in messages. @expect: the kind wanted, or NULL to go by the magic.
 * Checks the magic, each length against what remains and that each message
 * decodes; a bad image is reported with name, entry index and byte offset.
 * Returns 0 or -EINVAL (bad image), -ENOMEM.
 */
int img_parse(struct img_file *f, const char *name, const uint8_t *buf,
	      size_t len, const struct img_kind *expect);
/* Reads @name (relative to @dfd) whole and parses it. Returns 0 or -errno. */
int img_read(struct img_file *f, int dfd, const char *name,
	     const struct img_kind *expect);
void img_file_free(struct img_file *f);

/* Reads a whole file into a malloc'ed buffer. Returns 0 or -errno. */
int img_slurp(int dfd, const char *name, uint8_t **buf, size_t *len);

/* An unsigned integer field of @m by name; false if absent or not integer. */
bool img_msg_uint(const ProtobufCMessage *m, const char *field, uint64_t *val);

#endif
