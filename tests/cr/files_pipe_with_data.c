/* Pipes with data in them: one with both ends in the task (5000 bytes
 * queued, a 128 KiB buffer, a non-blocking read end), one of which only the
 * read end is left (10 bytes, then end of file), and a 512 KiB one holding
 * 300 KiB. After restore every byte is there once, in order, and both ends
 * still work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("byte 0 of the pipe is");

#define QUEUED 5000
#define PIPE_SZ (128 << 10)
#define BIG_SZ (512 << 10)
#define BIG_DATA (300 << 10)

static char pat(size_t i)
{
	return (char)(crt_pattern(3, i) & 0xff);
}

int main(int argc, char **argv)
{
	static char big[BIG_DATA + 1];
	int p[2], q[2], b[2];
	char buf[8192];
	ssize_t n;

	crt_init(argc, argv);
	if (pipe(p) || pipe(q) || fcntl(p[1], F_SETPIPE_SZ, PIPE_SZ) < PIPE_SZ ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK))
		return 2;
	for (size_t i = 0; i < QUEUED; i++)
		buf[i] = pat(i);
	/* in two writes: two pipe buffers */
	if (write(p[1], buf, 1000) != 1000 || write(p[1], buf + 1000, QUEUED - 1000) != QUEUED - 1000 ||
	    write(q[1], "0123456789", 10) != 10 || close(q[1]))
		return 2;
	for (size_t i = 0; i < BIG_DATA; i++)
		big[i] = pat(i * 7);
	if (pipe(b) || fcntl(b[1], F_SETPIPE_SZ, BIG_SZ) < BIG_SZ || fcntl(b[0], F_SETFL, O_NONBLOCK))
		return 2;
	for (size_t off = 0; off < BIG_DATA; off += 4096)
		if (write(b[1], big + off, 4096) != 4096)
			return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		(void)!read(p[0], buf, 1);

	if (fcntl(p[1], F_GETPIPE_SZ) != PIPE_SZ)
		crt_fail("the pipe holds %d bytes, expected a %d-byte buffer", fcntl(p[1], F_GETPIPE_SZ),
			 PIPE_SZ);
	if (!(fcntl(p[0], F_GETFL) & O_NONBLOCK) || (fcntl(p[1], F_GETFL) & O_NONBLOCK))
		crt_fail("O_NONBLOCK is not on the read end only");
	n = read(p[0], buf, sizeof(buf));
	for (ssize_t i = 0; i < n && i < QUEUED; i++)
		if (buf[i] != pat((size_t)i)) {
			crt_fail("byte %zd of the pipe is %#x, expected %#x", i, buf[i] & 0xff,
				 pat((size_t)i) & 0xff);
			break;
		}
	if (n != QUEUED)
		crt_fail("the pipe gave %zd bytes, expected %d", n, QUEUED);
	if (read(p[0], buf, 1) != -1 || errno != EAGAIN)
		crt_fail("the pipe has more than %d bytes", QUEUED);
	if (write(p[1], "xy", 2) != 2 || read(p[0], buf, 4) != 2 || memcmp(buf, "xy", 2))
		crt_fail("the pipe's ends are not joined after restore");
	n = read(q[0], buf, sizeof(buf));
	if (n != 10 || memcmp(buf, "0123456789", 10))
		crt_fail("the write-closed pipe gave %zd bytes, expected its 10", n);
	if (read(q[0], buf, 1) != 0)
		crt_fail("the write-closed pipe does not end after its data");
	memset(big, 0, sizeof(big));
	n = 0;
	for (ssize_t r; n < (ssize_t)sizeof(big) && (r = read(b[0], big + n, sizeof(big) - (size_t)n)) > 0;)
		n += r;
	if (n != BIG_DATA)
		crt_fail("the big pipe gave %zd bytes, expected %d", n, BIG_DATA);
	for (ssize_t i = 0; i < n; i++)
		if (big[i] != pat((size_t)i * 7)) {
			crt_fail("byte %zd of the big pipe is %#x, expected %#x", i, big[i] & 0xff,
				 pat((size_t)i * 7) & 0xff);
			break;
		}
	if (crt_fd_count() != 5)
		crt_fail("the task has %d open fds, expected 5", crt_fd_count());
	return crt_finish();
}
