/* test_img — the image layer: writer API to reader, the error paths of the
 * reader, img_dir_abort, and the page writer (io_uring and pwrite paths):
 * data lands intact, and ENOSPC is an error naming image and offset, on
 * /dev/full and on a tiny tmpfs mounted in a private mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img.h"
#include "page-writer.h"
#include "pstree.pb-c.h"
#include "unit.h"

static char tmpdir[] = "crisp-test-img.XXXXXX";	/* in the test's cwd */

static void test_write_read(void)
{
	struct img_dir d;
	struct img_writer w;
	struct img_file f;
	uint32_t threads[] = { 7, 8 };
	PstreeEntry e = PSTREE_ENTRY__INIT;

	CHECK_INT(img_dir_open(&d, tmpdir, false), 0);
	CHECK_INT(img_writer_open(&w, &d, img_kind_by_name("PSTREE"), 0), 0);
	for (unsigned int i = 0; i < 1000; i++) {
		e.pid = 7 + i;
		e.ppid = i;
		e.n_threads = 2;
		e.threads = threads;
		CHECK_INT(img_writer_entry(&w, &e.base), 0);
	}
	CHECK_INT(img_writer_close(&w), 0);
	CHECK_INT(img_read(&f, d.dfd, "pstree.img", NULL), 0);
	CHECK_INT(f.n, 1000);
	CHECK_STR(f.kind->name, "PSTREE");
	CHECK_INT(((PstreeEntry *)f.ents[999].msg)->pid, 1006);
	CHECK_INT(((PstreeEntry *)f.ents[5].msg)->n_threads, 2);
	img_file_free(&f);

	/* a missing required field is refused at write time */
	CHECK_INT(img_writer_open(&w, &d, img_kind_by_name("PAGEMAP"), 3), 0);
	{
		PstreeEntry bad = PSTREE_ENTRY__INIT;

		CHECK_INT(img_writer_entry(&w, &bad.base), 0);	/* scalars: set by init */
	}
	img_writer_discard(&w);

	/* abort removes what this session created, inventory first */
	CHECK_INT(img_writer_open(&w, &d, img_kind_by_name("INVENTORY"), 0), 0);
	CHECK_INT(img_writer_close(&w), 0);
	CHECK_INT(faccessat(d.dfd, "inventory.img", F_OK, 0), 0);
	CHECK_INT(img_dir_abort(&d), 0);
	CHECK(faccessat(d.dfd, "inventory.img", F_OK, 0) != 0);
	CHECK(faccessat(d.dfd, "pstree.img", F_OK, 0) != 0);
	CHECK(faccessat(d.dfd, "pagemap-3.img", F_OK, 0) != 0);
	img_dir_close(&d);
}

static void test_reader_errors(void)
{
	static const uint8_t wrong_magic[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t past_end[] = { 0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50,
					    0x10, 0, 0, 0, 8, 1 };
	static const uint8_t garbage[] = { 0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50,
					   3, 0, 0, 0, 0xff, 0xff, 0xff };
	static const uint8_t stray[] = { 0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50, 1, 0 };
	static const uint8_t empty_ok[] = { 0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50 };
	struct img_file f;

	CHECK_INT(img_parse(&f, "t", wrong_magic, sizeof(wrong_magic), NULL), -EINVAL);
	CHECK_INT(img_parse(&f, "t", past_end, sizeof(past_end), NULL), -EINVAL);
	CHECK_INT(img_parse(&f, "t", garbage, sizeof(garbage), NULL), -EINVAL);
	CHECK_INT(img_parse(&f, "t", stray, sizeof(stray), NULL), -EINVAL);
	CHECK_INT(img_parse(&f, "t", empty_ok, 2, NULL), -EINVAL);
	CHECK_INT(img_parse(&f, "t", empty_ok, sizeof(empty_ok), NULL), 0);
	CHECK_INT(f.n, 0);
	img_file_free(&f);
	CHECK_INT(img_parse(&f, "t", empty_ok, sizeof(empty_ok), img_kind_by_name("CORE")),
		  -EINVAL);
}

static void fill(uint8_t *p, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((off + i) * 131 >> 3);
}

/* Writes @total bytes through a page writer; reads back and compares. */
static void test_page_stream(bool no_uring, bool direct, size_t chunk)
{
	struct page_writer_opts o = { .buf_size = 64 << 10, .nr_bufs = 4,
				      .no_uring = no_uring, .direct = direct };
	size_t total = (3 << 20) + 4096 * 3;
	struct page_writer *pw;
	struct img_dir d;
	uint8_t *src = malloc(total), *back;
	size_t len;

	fill(src, total, 0);
	CHECK_INT(img_dir_open(&d, tmpdir, false), 0);
	CHECK_INT(page_writer_open(&pw, &d, 5, &o), 0);
	CHECK_STR(page_writer_mode(pw), no_uring ? "pwrite" : "io_uring");
	for (size_t off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? total - off : chunk;

		if (page_writer_write(pw, src + off, n))
			break;
	}
	CHECK_INT(page_writer_bytes(pw), total);
	CHECK_INT(page_writer_close(pw), 0);
	CHECK_INT(img_slurp(d.dfd, "pages-5.img", &back, &len), 0);
	CHECK_INT(len, total);
	CHECK(len == total && !memcmp(src, back, total));
	free(back);
	free(src);
	img_dir_close(&d);
}

/* The three ways in, mixed (a copy, the caller's memory, a reserved
 * buffer filled in place), with @async io_uring writes or without io_uring:
 * the file holds every byte in order. */
static void test_page_stream_mixed(bool no_uring, bool direct, bool async)
{
	struct page_writer_opts o = { .buf_size = 64 << 10, .nr_bufs = 4, .no_uring = no_uring,
				      .direct = direct, .async = async, .prefault = async };
	size_t total = (4 << 20) + 4096 * 7, off = 0;
	struct page_writer *pw;
	struct img_dir d;
	uint8_t *src = NULL, *back;
	size_t len;

	CHECK_INT(posix_memalign((void **)&src, 4096, total), 0);
	/* every word names its offset: fill()'s pattern repeats every 2 KiB */
	for (size_t i = 0; i + 8 <= total; i += 8)
		memcpy(src + i, &(uint64_t){ i * 0x9e3779b97f4a7c15ull }, 8);
	CHECK_INT(img_dir_open(&d, tmpdir, false), 0);
	CHECK_INT(page_writer_open(&pw, &d, 6, &o), 0);
	for (int step = 0; off < total; step++) {
		size_t n = (size_t)(step % 5 + 1) * 4096 * 9, room;
		uint8_t *dst;

		n = total - off < n ? total - off : n;
		if (step % 3 == 0) {
			CHECK_INT(page_writer_write(pw, src + off, n), 0);
		} else if (step % 3 == 1) {
			CHECK_INT(page_writer_write_stable(pw, src + off, n), 0);
		} else {
			dst = page_writer_reserve_room(pw, &room);
			CHECK(dst != NULL && room >= 4096 && room % 4096 == 0);
			if (!dst)
				break;
			n = n < room ? n : room;
			memcpy(dst, src + off, n);
			CHECK_INT(page_writer_commit(pw, n), 0);
		}
		off += n;
	}
	CHECK_INT(page_writer_bytes(pw), total);
	CHECK_INT(page_writer_close(pw), 0);
	CHECK_INT(img_slurp(d.dfd, "pages-6.img", &back, &len), 0);
	CHECK_INT(len, total);
	CHECK(len == total && !memcmp(src, back, total));
	free(back);
	free(src);
	img_dir_close(&d);
}

/* ENOSPC on @fd must fail the stream, naming the offset. */
static int stream_until_error(int fd, bool no_uring, size_t bytes)
{
	struct page_writer_opts o = { .buf_size = 64 << 10, .nr_bufs = 4, .no_uring = no_uring };
	struct page_writer *pw;
	uint8_t page[4096];
	int ret = 0;

	memset(page, 0xa5, sizeof(page));
	if (page_writer_open_fd(&pw, fd, "pages-enospc.img", &o))
		return -1;
	for (size_t off = 0; off < bytes && !ret; off += sizeof(page))
		ret = off % (2 * sizeof(page)) ? page_writer_write(pw, page, sizeof(page)) :
						 page_writer_write_stable(pw, page, sizeof(page));
	return page_writer_close(pw) ?: ret;
}

static void test_enospc(void)
{
	char mnt[sizeof(tmpdir) + 8];
	int fd;

	for (int uring = 0; uring < 2; uring++) {
		fd = open("/dev/full", O_WRONLY);
		CHECK(fd >= 0);
		CHECK_INT(stream_until_error(fd, !uring, 1 << 20), -ENOSPC);
		close(fd);
	}
	/* a real filesystem that fills up: 256 KiB tmpfs, private mount ns */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		printf("SKIP tmpfs ENOSPC: no private mount namespace (%s)\n", strerror(errno));
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	CHECK_INT(mkdir(mnt, 0700), 0);
	CHECK_INT(mount("tmpfs", mnt, "tmpfs", 0, "size=256k"), 0);
	for (int uring = 0; uring < 2; uring++) {
		struct img_dir d;
		struct img_writer w;
		uint8_t blob[8192] = { 0 };
		int ret = 0;

		fd = openat(AT_FDCWD, mnt, O_RDONLY | O_DIRECTORY);
		CHECK(fd >= 0);
		{
			int pfd = openat(fd, "pages-1.img", O_WRONLY | O_CREAT | O_TRUNC, 0644);

			CHECK_INT(stream_until_error(pfd, !uring, 4 << 20), -ENOSPC);
			close(pfd);
			unlinkat(fd, "pages-1.img", 0);
		}
		close(fd);
		/* the framed writer too */
		CHECK_INT(img_dir_open(&d, mnt, false), 0);
		CHECK_INT(img_writer_open(&w, &d, img_kind_by_name("PIPES_DATA"), 0), 0);
		for (int i = 0; i < 64 && !ret; i++)
			ret = img_writer_raw(&w, blob, sizeof(blob));
		ret = img_writer_close(&w) ?: ret;
		CHECK_INT(ret, -ENOSPC);
		CHECK_INT(img_dir_abort(&d), 0);
		img_dir_close(&d);
	}
	umount(mnt);
	rmdir(mnt);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_write_read();
	test_reader_errors();
	test_page_stream(false, false, 4096);
	test_page_stream(true, false, 4096);
	test_page_stream(false, false, 100000);	/* unaligned chunks */
	test_page_stream(false, true, 4096 * 16);	/* O_DIRECT where /tmp allows */
	test_page_stream(true, true, 4096 * 5);
	test_page_stream_mixed(false, false, false);
	test_page_stream_mixed(false, false, true);
	test_page_stream_mixed(true, false, false);
	test_page_stream_mixed(false, true, true);
	test_enospc();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_summary("img");
}
