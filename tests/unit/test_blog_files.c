/* test_blog_files — the decoder on damaged files: cut at every length (all
 * complete records print, then where it was cut), a corrupt chunk (reported
 * with its offset and skipped, the rest decodes), an unknown version and a
 * foreign file (clear errors). Never a crash (this also runs under ASan). */
#include <stdio.h>

#include "blog.h"
#include "blog-wire.h"
#include "blog_testlib.h"
#include "unit.h"

#define GROUPS 4
#define PER_GROUP 50

static void make_log(const char *path)
{
	blog_open_file(path, BLOG_MODE_BINARY);
	for (int g = 0; g < GROUPS; g++) {
		for (int i = 0; i < PER_GROUP; i++)
			pr_info("group %d record %d: %s %f", g, i, i % 3 ? "short" : "", i * 0.5);
		blog_flush();	/* one chunk per group */
	}
	blog_close();
}

static void test_cuts(const uint8_t *buf, size_t len, const struct tl_log *full)
{
	unsigned int wrong = 0, quiet_cuts = 0;
	struct blog_header h;
	char err[128];
	long hdr = blog_read_header(buf, len, &h, err, sizeof(err));

	CHECK(hdr > 0);
	blog_header_free(&h);
	for (size_t cut = 0; cut < len; cut++) {
		struct tl_log l;
		size_t want = 0;

		tl_decode_buf(buf, cut, &l, NULL);
		for (size_t i = 0; i < full->n; i++)
			want += full->recs[i].offset + full->recs[i].size <= cut;
		if (l.n != want)
			wrong++;
		for (size_t i = 0; i < l.n && i < full->n; i++)
			wrong += strcmp(l.recs[i].msg, full->recs[i].msg) != 0;
		/* every cut file says it is cut, but for cuts between chunks */
		bool boundary = (long)cut == hdr;

		for (int g = 0; g < GROUPS; g++) {
			const struct tl_rec *last = &full->recs[g * PER_GROUP + PER_GROUP - 1];

			boundary |= cut == last->offset + last->size;
		}
		if (!l.errors && !boundary)
			quiet_cuts++;
		if (l.errors && boundary)
			wrong++;
		tl_free(&l);
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(quiet_cuts, 0);
}

static void test_corrupt_chunk(uint8_t *buf, size_t len, const struct tl_log *full)
{
	struct tl_log l;
	/* a byte in the middle of the second group's records */
	uint64_t off = full->recs[PER_GROUP + PER_GROUP / 2].offset + 10;
	char want[64];

	CHECK(off < len);
	buf[off] ^= 0x5a;
	CHECK_INT(tl_decode_buf(buf, len, &l, NULL), 0);
	CHECK_INT(l.n, (GROUPS - 1) * PER_GROUP);
	CHECK_INT(l.errors, 1);
	/* the error names the chunk's offset: its header is before the records */
	snprintf(want, sizeof(want), "@%llu: corrupt chunk",
		 (unsigned long long)(full->recs[PER_GROUP].offset - BLOG_CH_SIZE));
	CHECK_CONTAINS(l.last_error, want);
	if (l.n == (GROUPS - 1) * PER_GROUP) {
		CHECK_STR(l.recs[PER_GROUP - 1].msg, full->recs[PER_GROUP - 1].msg);
		CHECK_STR(l.recs[PER_GROUP].msg, full->recs[2 * PER_GROUP].msg);
	}
	tl_free(&l);
	buf[off] ^= 0x5a;

	/* garbage between chunks: skipped, reported once */
	{
		size_t at = (size_t)(full->recs[2 * PER_GROUP].offset - BLOG_CH_SIZE);
		uint8_t *b2 = malloc(len + 100);

		memcpy(b2, buf, at);
		memset(b2 + at, 'B', 100);	/* 'B' as in the chunk magic */
		memcpy(b2 + at + 100, buf + at, len - at);
		CHECK_INT(tl_decode_buf(b2, len + 100, &l, NULL), 0);
		CHECK_INT(l.n, GROUPS * PER_GROUP);
		CHECK_INT(l.errors, 1);
		tl_free(&l);
		free(b2);
	}
}

static void test_version_and_magic(uint8_t *buf, size_t len)
{
	struct tl_log l;

	blog_set32(buf + BLOG_FH_VERSION, 99);
	CHECK_INT(tl_decode_buf(buf, len, &l, NULL), -ENOTSUP);
	CHECK_INT(l.n, 0);
	CHECK_CONTAINS(l.last_error, "format version 99");
	tl_free(&l);
	blog_set32(buf + BLOG_FH_VERSION, BLOG_FILE_VERSION);

	buf[0] = 'X';
	CHECK_INT(tl_decode_buf(buf, len, &l, NULL), -EPROTO);
	CHECK_CONTAINS(l.last_error, "not a blog log file");
	tl_free(&l);
	buf[0] = BLOG_FILE_MAGIC[0];

	/* a corrupt dictionary is caught by the header checksum */
	buf[BLOG_FH_SIZE + 20] ^= 1;
	CHECK_INT(tl_decode_buf(buf, len, &l, NULL), -EPROTO);
	CHECK_CONTAINS(l.last_error, "checksum");
	tl_free(&l);
	buf[BLOG_FH_SIZE + 20] ^= 1;
}

int main(void)
{
	char path[4096];
	struct tl_log full;
	size_t len;
	uint8_t *buf;

	blog_set_level(BLOG_DEBUG);
	tl_tmpname(path, sizeof(path), "files");
	make_log(path);
	buf = tl_read_file(path, &len);
	CHECK(buf != NULL);
	if (!buf)
		return unit_summary("blog-files");
	CHECK_INT(tl_decode_buf(buf, len, &full, NULL), 0);
	CHECK_INT(full.n, GROUPS * PER_GROUP);
	CHECK_INT(full.errors, 0);
	if (full.n == GROUPS * PER_GROUP) {
		CHECK_STR(full.recs[PER_GROUP + 1].msg, "group 1 record 1: short 0.500000");
		test_cuts(buf, len, &full);
		test_corrupt_chunk(buf, len, &full);
		test_version_and_magic(buf, len);
	}
	tl_free(&full);
	free(buf);
	unlink(path);
	return unit_summary("blog-files");
}
