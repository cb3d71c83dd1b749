/* A pipeline in three tasks, producer | filter | consumer, with both pipes
 * full at the dump: the producer writes the numbers 0..N-1, the filter maps
 * each x to 3x+1, and the root, the consumer, reads nothing until it is
 * asked to verify. After restore it reads every value once, in order, up
 * to the end of the stream: no byte lost or duplicated in either pipe. */
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("value 0 of the stream is");

#define N_VALUES (800u * 256u)	/* 800 KiB: many times what the pipes hold */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly @len bytes; 1 at a clean end of stream, -1 on error. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return got ? -1 : 1;
		got += (size_t)n;
	}
	return 0;
}

static __attribute__((noreturn)) void producer(int out)
{
	uint32_t v[256];

	kid_start_keeping(out);
	for (uint32_t i = 0; i < N_VALUES; i += 256) {
		for (uint32_t k = 0; k < 256; k++)
			v[k] = i + k;
		if (write_all(out, v, sizeof(v)))
			_exit(3);
	}
	_exit(0);
}

static __attribute__((noreturn)) void filter(int in, int out)
{
	uint32_t v;

	/* keeps in and out: both above 2, out the larger (made later) */
	syscall(SYS_close_range, 0, (unsigned int)in - 1, 0);
	syscall(SYS_close_range, (unsigned int)in + 1, (unsigned int)out - 1, 0);
	syscall(SYS_close_range, (unsigned int)out + 1, ~0u, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		int r = read_all(in, &v, sizeof(v));

		if (r == 1)
			_exit(0);
		v = 3 * v + 1;
		if (r || write_all(out, &v, sizeof(v)))
			_exit(3);
	}
}

int main(int argc, char **argv)
{
	int a[2], b[2], queued = 0, st;
	pid_t prod, filt;
	bool broken = false;
	uint32_t v;

	crt_init(argc, argv);
	if (pipe(a) || pipe(b) || b[1] < a[0])
		return 2;
	prod = fork();
	if (prod == 0)
		producer(a[1]);
	filt = fork();
	if (filt == 0)
		filter(a[0], b[1]);
	if (prod < 0 || filt < 0)
		return 2;
	close(a[0]);
	close(a[1]);
	close(b[1]);
	/* both pipes full: the filter blocks on the second one */
	for (int tries = 0; tries < 60000 && queued < 65536; tries++) {
		if (ioctl(b[0], FIONREAD, &queued))
			return 2;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	if (queued < 65536)
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage() && read_all(b[0], &v, sizeof(v)))
		crt_fail("cannot read the stream");
	for (uint32_t i = 0; i < N_VALUES; i++) {
		int r = read_all(b[0], &v, sizeof(v));

		if (r) {
			crt_fail("the stream ends after %u of %u values", i, N_VALUES);
			broken = true;
			break;
		}
		if (v != 3 * i + 1) {
			crt_fail("value %u of the stream is %u, expected %u", i, v, 3 * i + 1);
			broken = true;
			break;
		}
	}
	int end = broken ? 1 : read_all(b[0], &v, sizeof(v));

	if (end != 1)
		crt_fail("the stream goes on after %u values (%s %u)", N_VALUES,
			 end ? "a broken value" : "next:", end ? 0 : v);
	if (broken) {
		/* the rest of the stream stays unread: the writers would block */
		kill(prod, SIGKILL);
		kill(filt, SIGKILL);
	}
	if (waitpid(prod, &st, 0) != prod || !WIFEXITED(st) || WEXITSTATUS(st))
		crt_fail("the producer did not finish cleanly (status %#x)", st);
	if (waitpid(filt, &st, 0) != filt || !WIFEXITED(st) || WEXITSTATUS(st))
		crt_fail("the filter did not finish cleanly (status %#x)", st);
	return crt_finish();
}
