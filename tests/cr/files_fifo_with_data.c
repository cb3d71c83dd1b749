/* A named FIFO open at both ends (read end non-blocking) with 3000 bytes
 * in it: after restore the same FIFO (by path) holds every byte once, in
 * order, and its ends still talk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the FIFO gave 2999 bytes, expected 3000");

#define QUEUED 3000

static char pat(size_t i)
{
	return (char)(crt_pattern(77, i) & 0xff);
}

int main(int argc, char **argv)
{
	char path[512], buf[8192];
	struct stat a, b;
	int r, w;
	ssize_t n;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/fifo", crt_dir());
	if (mkfifo(path, 0600))
		return 2;
	r = open(path, O_RDONLY | O_NONBLOCK);
	w = open(path, O_WRONLY | O_CLOEXEC);
	for (size_t i = 0; i < QUEUED; i++)
		buf[i] = pat(i);
	if (r < 0 || w < 0 || write(w, buf, QUEUED) != QUEUED)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		(void)!read(r, buf, 1);

	n = read(r, buf, sizeof(buf));
	if (n != QUEUED)
		crt_fail("the FIFO gave %zd bytes, expected %d", n, QUEUED);
	for (ssize_t i = 0; i < n && i < QUEUED; i++)
		if (buf[i] != pat((size_t)i)) {
			crt_fail("FIFO byte %zd is %#x, expected %#x", i, buf[i] & 0xff, pat((size_t)i) & 0xff);
			break;
		}
	if (read(r, buf, 1) != -1 || errno != EAGAIN)
		crt_fail("the FIFO holds more than was queued, or its read end blocks");
	if (write(w, "xyz", 3) != 3 || read(r, buf, 8) != 3 || memcmp(buf, "xyz", 3))
		crt_fail("the FIFO's ends do not talk after restore");
	if (fstat(r, &a) || stat(path, &b) || a.st_ino != b.st_ino || !S_ISFIFO(a.st_mode))
		crt_fail("the read end is not the FIFO at %s", path);
	if ((fcntl(w, F_GETFL) & O_ACCMODE) != O_WRONLY || !(fcntl(w, F_GETFD) & FD_CLOEXEC))
		crt_fail("the write end's flags changed");
	return crt_finish();
}
