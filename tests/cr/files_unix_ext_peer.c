/* A stream socket connected to an echo server outside the dumped task (a
 * daemon the scenario starts before it is ready, no longer its child).
 * Without --ext-unix-sk the dump refuses; with it, the restored socket is
 * connected to the server's path again and the echo answers. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=--ext-unix-sk; dump --ext-unix-sk; restore; verify");
CRT_DAMAGE_FAILS("the external echo server does not answer");

#define SAFETY_MS 30000	/* not a timing check: a lost connection must not hang */

/* The echo daemon: one connection at a time, each echoed until it ends. */
static void echo_daemon(int lfd)
{
	char buf[256];

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			continue;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				break;
		close(c);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	char buf[16];
	int lfd, c, ready[2];
	pid_t mid;

	crt_init(argc, argv);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/echo.sock", crt_dir());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);
	if (pipe(ready))
		return 2;
	mid = fork();
	if (mid == 0) {
		/* the daemon's parent leaves at once: the driver (subreaper) adopts
		 * it and kills it at the end. Its own session: as a member of the
		 * task's group it would keep the task's PID in use (as a pgid). */
		if (fork() == 0) {
			setsid();
			signal(CRT_VERIFY_SIGNAL, SIG_IGN);
			lfd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, len) || listen(lfd, 4))
				_exit(1);
			(void)!write(ready[1], "r", 1);
			close(ready[0]);
			close(ready[1]);
			echo_daemon(lfd);
		}
		_exit(0);
	}
	close(ready[1]);
	if (mid < 0 || waitpid(mid, NULL, 0) != mid || read(ready[0], buf, 1) != 1)
		return 2;
	close(ready[0]);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, len) || write(c, "hi", 2) != 2 ||
	    read(c, buf, 2) != 2)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		shutdown(c, SHUT_RDWR);

	struct pollfd p = { c, POLLIN, 0 };
	ssize_t n = -1;

	if (send(c, "ping", 4, MSG_NOSIGNAL) == 4 && poll(&p, 1, SAFETY_MS) == 1)
		n = read(c, buf, sizeof(buf));
	if (n != 4 || memcmp(buf, "ping", 4))
		crt_fail("the external echo server does not answer (%zd bytes)", n);
	return crt_finish();
}
