/* eventfd counters hold across checkpoint/restore: a plain non-blocking
 * one at 12345 and a semaphore-mode one at 3 (three reads of 1, then
 * EAGAIN). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the eventfd counter is 12346, expected 12345");

int main(int argc, char **argv)
{
	uint64_t v = 0;
	int efd, sem;

	crt_init(argc, argv);
	efd = eventfd(12345, EFD_NONBLOCK);
	sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || sem < 0)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		eventfd_write(efd, 1);
	if (eventfd_read(efd, &v) || v != 12345)
		crt_fail("the eventfd counter is %llu, expected 12345", (unsigned long long)v);
	if (eventfd_read(efd, &v) == 0 || errno != EAGAIN)
		crt_fail("the eventfd is not non-blocking or not empty after a read");
	for (int i = 0; i < 3; i++)
		if (eventfd_read(sem, &v) || v != 1)
			crt_fail("semaphore read %d gave %llu, expected 1", i, (unsigned long long)v);
	if (eventfd_read(sem, &v) == 0)
		crt_fail("the semaphore eventfd had more than 3");
	if (!(fcntl(sem, F_GETFD) & FD_CLOEXEC) || (fcntl(efd, F_GETFD) & FD_CLOEXEC))
		crt_fail("close-on-exec flags differ from the dumped ones");
	return crt_finish();
}
