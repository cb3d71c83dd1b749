/* A job on the caller's terminal (run under crtest-pty, so that the driver,
 * crisp and the job share one): the root, in the caller's session, holds
 * an fd of that terminal (O_NONBLOCK). Without --shell-job the dump
 * refuses; with it the fd is restored on the restoring crisp's terminal
 * (here the same pty): the same device, a terminal of this session, its
 * flags kept, and the job's group in the foreground (crisp was). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=--shell-job; dump --shell-job; images; !restore @says=--shell-job; "
	     "restore --shell-job; verify");
CRT_DAMAGE_FAILS("is not a terminal");

/* The controlling terminal's device (/proc/self/stat tty_nr), 0: none. */
static dev_t ctty_dev(void)
{
	char buf[1024], *p;
	long long nr = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* ") state ppid pgrp session tty_nr" */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %lld", &nr) != 1 || !nr)
		return 0;
	return makedev((unsigned int)((nr >> 8) & 0xfff),
		       (unsigned int)((nr & 0xff) | ((nr >> 12) & 0xfff00)));
}

int main(int argc, char **argv)
{
	dev_t tty = ctty_dev();
	char path[64], link[64], self[64];
	struct stat st;
	ssize_t n;
	int fd, fl;

	crt_init(argc, argv);
	if (getsid(0) == getpid() || setpgid(0, 0))
		return 2;	/* the driver must keep us in its session */
	if (!tty || major(tty) < 136 || major(tty) > 143) {
		fprintf(stderr, "no pty as controlling terminal: run under crtest-pty\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/pts/%u", (major(tty) - 136) * 256 + minor(tty));
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		dup3(open("/dev/null", O_RDWR), fd, O_CLOEXEC);
	if (!isatty(fd))
		crt_fail("fd %d is not a terminal", fd);
	else if (fstat(fd, &st) || st.st_rdev != ctty_dev())
		crt_fail("fd %d is not this session's terminal", fd);
	if (tcgetsid(fd) != getsid(0))
		crt_fail("fd %d: the terminal's session is %d, ours %d", fd, (int)tcgetsid(fd),
			 (int)getsid(0));
	/* crisp ran in the foreground of the terminal: the job has it now */
	if (tcgetpgrp(fd) != getpgrp())
		crt_fail("fd %d: the terminal's foreground group is %d, expected ours %d", fd,
			 (int)tcgetpgrp(fd), (int)getpgrp());
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || !(fl & O_NONBLOCK))
		crt_fail("fd %d: flags %#x, expected O_RDWR|O_NONBLOCK", fd, fl);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = '\0', strncmp(link, "/dev/pts/", 9)))
		crt_fail("fd %d is %s, expected a /dev/pts/ path", fd, n < 0 ? "?" : link);
	return crt_finish();
}
