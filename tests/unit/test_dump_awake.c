/* Unit test of dump-awake: while a dump holds its request the kernel's
 * CPU-latency target (read back from /dev/cpu_dma_latency) is 0 us, a
 * second _begin opens no second request, and _end closes it, after which
 * the target leaves 0. Other crisps of the suite may hold a request of
 * their own for the few milliseconds of a freeze, so the target is given a
 * while to leave 0. Needs root, as the suite does. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "unit.h"

#define AWAKE_DEV "/dev/cpu_dma_latency"

/* The kernel's current target in us, or -1 when it cannot be read. */
static long target_us(void)
{
	int32_t v = -1;
	int fd = open(AWAKE_DEV, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, AWAKE_DEV ": %s (the suite runs as root)\n", strerror(errno));
		return -1;
	}
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = -1;
	close(fd);
	return v;
}

/* Whether @fd is open on the device. */
static int fd_is_awake(int fd)
{
	char link[64], path[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strcmp(path, AWAKE_DEV) == 0;
}

int main(void)
{
	static struct dump_ctx c;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	long after = 0;
	int fd;

	dump_awake_begin(&c);
	CHECK(c.awake);
	fd = c.awake_fd;
	CHECK(fd_is_awake(fd));
	CHECK_INT(target_us(), 0);
	dump_awake_begin(&c);	/* held already: nothing more */
	CHECK_INT(c.awake_fd, fd);
	dump_awake_end(&c);
	CHECK(!c.awake);
	CHECK(!fd_is_awake(fd));
	for (int i = 0; i < 500 && after == 0; i++) {
		after = target_us();
		if (after == 0)
			nanosleep(&pause, NULL);
	}
	CHECK(after > 0);
	dump_awake_end(&c);	/* nothing held: nothing done */
	CHECK(!c.awake);
	return unit_summary("dump-awake");
}
