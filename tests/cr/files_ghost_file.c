/* An unlinked file kept open ("ghost"): 200 KiB with a hole, open twice
 * (read-write at offset 123, and read-only). A dump with a ghost limit below
 * its size must refuse and leave the task as it was; with the default limit
 * the contents come back intact, the file still unlinked under its old name,
 * both fds on the same file. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump --ghost-limit 64K @says=ghost-limit; dump; restore; verify");
CRT_DAMAGE_FAILS("ghost byte 0 is");

#define GSIZE (200 << 10)
#define HOLE_START (64 << 10)
#define HOLE_END (128 << 10)

static char want(size_t i)
{
	return i >= HOLE_START && i < HOLE_END ? 0 : (char)(crt_pattern(33, i) & 0xff);
}

int main(int argc, char **argv)
{
	static char buf[GSIZE];
	char path[512], link[600], proc[64];
	int rw, ro;
	struct stat st;
	ssize_t n;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/ghost", crt_dir());
	rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (rw < 0 || ro < 0)
		return 2;
	for (size_t i = 0; i < GSIZE; i++)
		buf[i] = want(i);
	if (pwrite(rw, buf, HOLE_START, 0) != HOLE_START ||
	    pwrite(rw, buf + HOLE_END, GSIZE - HOLE_END, HOLE_END) != GSIZE - HOLE_END ||
	    unlink(path) || lseek(rw, 123, SEEK_SET) != 123)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		pwrite(rw, "Z", 1, 0);

	n = pread(ro, buf, GSIZE, 0);
	if (n != GSIZE)
		crt_fail("the ghost reads %zd bytes, expected %d", n, GSIZE);
	for (size_t i = 0; i < (size_t)(n > 0 ? n : 0); i++)
		if (buf[i] != want(i)) {
			crt_fail("ghost byte %zu is %#x, expected %#x", i, buf[i] & 0xff, want(i) & 0xff);
			break;
		}
	if (fstat(rw, &st) || st.st_nlink != 0 || (st.st_mode & 07777) != 0640)
		crt_fail("the ghost has %lu links and mode %o, expected 0 and 640",
			 (unsigned long)st.st_nlink, st.st_mode & 07777);
	if (lseek(rw, 0, SEEK_CUR) != 123)
		crt_fail("the ghost's offset is %lld, expected 123", (long long)lseek(rw, 0, SEEK_CUR));
	if (pwrite(rw, "hey", 3, 5) != 3 || pread(ro, buf, 3, 5) != 3 || memcmp(buf, "hey", 3))
		crt_fail("the two fds are not on the same file any more");
	if ((fcntl(ro, F_GETFL) & O_ACCMODE) != O_RDONLY)
		crt_fail("the read-only fd is not read-only");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rw);
	n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (!strstr(link, "(deleted)"))
		crt_fail("the ghost is '%s', not an unlinked file", link);
	return crt_finish();
}
