/* /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom open in the
 * task are the same devices after restore, with their access modes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("/dev/zero gave byte 0x41");

static const struct { const char *path; int flags; unsigned int minor; } devs[] = {
	{ "/dev/null", O_WRONLY, 3 }, { "/dev/zero", O_RDONLY, 5 }, { "/dev/full", O_RDWR, 7 },
	{ "/dev/random", O_RDONLY, 8 }, { "/dev/urandom", O_RDONLY | O_NONBLOCK, 9 },
};
#define NDEVS (sizeof(devs) / sizeof(devs[0]))

int main(int argc, char **argv)
{
	int fd[NDEVS];
	char buf[64];

	crt_init(argc, argv);
	for (size_t i = 0; i < NDEVS; i++)
		if ((fd[i] = open(devs[i].path, devs[i].flags)) < 0)
			return 2;
	crt_ready();
	crt_wait_verify();
	for (size_t i = 0; i < NDEVS; i++) {
		struct stat st;

		if (fstat(fd[i], &st) || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
		    minor(st.st_rdev) != devs[i].minor)
			crt_fail("fd %d is not %s any more", fd[i], devs[i].path);
		if ((fcntl(fd[i], F_GETFL) & (O_ACCMODE | O_NONBLOCK)) != devs[i].flags)
			crt_fail("%s: flags %#x, expected %#x", devs[i].path, fcntl(fd[i], F_GETFL),
				 devs[i].flags);
	}
	memset(buf, 'A', sizeof(buf));
	if (!crt_damage() && read(fd[1], buf, sizeof(buf)) != sizeof(buf))
		crt_fail("/dev/zero cannot be read");
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i]) {
			crt_fail("/dev/zero gave byte %#x", buf[i]);
			break;
		}
	if (write(fd[0], buf, 8) != 8)
		crt_fail("/dev/null takes no writes");
	if (write(fd[2], buf, 1) != -1 || errno != ENOSPC)
		crt_fail("/dev/full does not say ENOSPC");
	if (read(fd[4], buf, 16) != 16)
		crt_fail("/dev/urandom cannot be read");
	return crt_finish();
}
