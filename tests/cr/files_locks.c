/* File locks held through the task's fds: a flock (exclusive), a POSIX
 * write lock on bytes 10..29 and an OFD read lock on a whole file. Without
 * --file-locks the dump refuses and the task runs on; with it, after
 * restore another process finds each lock held by the task. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=--file-locks; dump --file-locks; restore; verify");
CRT_DAMAGE_FAILS("the flock on file a is not held");

static char pa[512], pb[512], pc[512];

/* In a child: what another process sees. Bit 0: flock held, bit 1: POSIX
 * range held by @owner, bit 2: OFD read lock held. */
static int probe(pid_t owner)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int a = open(pa, O_RDWR), b = open(pb, O_RDWR), c = open(pc, O_RDWR), r = 0;
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1 };
		struct flock of = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (flock(a, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK)
			r |= 1;
		if (!fcntl(b, F_GETLK, &fl) && fl.l_type == F_WRLCK && fl.l_pid == owner &&
		    fl.l_start == 10 && fl.l_len == 20)
			r |= 2;
		if (!fcntl(c, F_OFD_GETLK, &of) && of.l_type == F_RDLCK)
			r |= 4;
		_exit(r);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	struct flock of = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int a, b, c, r;

	crt_init(argc, argv);
	snprintf(pa, sizeof(pa), "%s/a", crt_dir());
	snprintf(pb, sizeof(pb), "%s/b", crt_dir());
	snprintf(pc, sizeof(pc), "%s/c", crt_dir());
	a = open(pa, O_RDWR | O_CREAT, 0600);
	b = open(pb, O_RDWR | O_CREAT, 0600);
	c = open(pc, O_RDWR | O_CREAT, 0600);
	if (a < 0 || b < 0 || c < 0 || flock(a, LOCK_EX) || fcntl(b, F_SETLK, &fl) ||
	    fcntl(c, F_OFD_SETLK, &of))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		flock(a, LOCK_UN);
	r = probe(getpid());
	if (r < 0)
		crt_fail("the probe process failed");
	if (r >= 0 && !(r & 1))
		crt_fail("the flock on file a is not held");
	if (r >= 0 && !(r & 2))
		crt_fail("the POSIX lock on bytes 10..29 of file b is not held by the task");
	if (r >= 0 && !(r & 4))
		crt_fail("the OFD read lock on file c is not held");
	return crt_finish();
}
