/* A memfd keeps its name, size, contents (with a hole), seals and offset;
 * a second, read-only description of the same memfd (opened through /proc)
 * stays the same file: writes through one show through the other. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("memfd byte 12288 is");

#define PG 4096
#define SIZE (4 * PG + 100)	/* pages 0, 3 and the tail hold data; 1 and 2 are a hole */
#define SEALS (F_SEAL_GROW | F_SEAL_SHRINK)

static char pat(size_t i)
{
	return (char)(crt_pattern(21, i) & 0xff);
}

int main(int argc, char **argv)
{
	static char buf[SIZE];
	char path[64], link[128];
	int fd, ro, seals;
	struct stat st;
	ssize_t n;

	crt_init(argc, argv);
	fd = memfd_create("crisp-test", MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, SIZE))
		return 2;
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = (i >= PG && i < 3 * PG) ? 0 : pat(i);
	if (pwrite(fd, buf, PG, 0) != PG || pwrite(fd, buf + 3 * PG, SIZE - 3 * PG, 3 * PG) != SIZE - 3 * PG ||
	    fcntl(fd, F_ADD_SEALS, SEALS) || lseek(fd, 100, SEEK_SET) != 100)
		return 2;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	if (ro < 0)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		pwrite(fd, "X", 1, 3 * PG);

	if (fstat(fd, &st) || st.st_size != SIZE)
		crt_fail("the memfd is %lld bytes, expected %d", (long long)st.st_size, SIZE);
	n = pread(ro, buf, SIZE, 0);
	if (n != SIZE)
		crt_fail("the memfd reads %zd bytes, expected %d", n, SIZE);
	for (size_t i = 0; i < (size_t)(n > 0 ? n : 0); i++) {
		char want = (i >= PG && i < 3 * PG) ? 0 : pat(i);

		if (buf[i] != want) {
			crt_fail("memfd byte %zu is %#x, expected %#x", i, buf[i] & 0xff, want & 0xff);
			break;
		}
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals != SEALS)
		crt_fail("the memfd's seals are %#x, expected %#x", seals, SEALS);
	if (ftruncate(fd, SIZE + PG) == 0 || errno != EPERM)
		crt_fail("the memfd could grow despite F_SEAL_GROW");
	if (lseek(fd, 0, SEEK_CUR) != 100 || lseek(ro, 0, SEEK_CUR) != 0)
		crt_fail("offsets are %lld and %lld, expected 100 and 0",
			 (long long)lseek(fd, 0, SEEK_CUR), (long long)lseek(ro, 0, SEEK_CUR));
	if ((fcntl(ro, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
		crt_fail("access modes changed");
	if (pwrite(fd, "hello", 5, 10) != 5 || pread(ro, buf, 5, 10) != 5 || memcmp(buf, "hello", 5))
		crt_fail("the two descriptions are not the same memfd any more");
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, "/memfd:crisp-test (deleted)"))
		crt_fail("the memfd is '%s', expected '/memfd:crisp-test (deleted)'", link);
	return crt_finish();
}
