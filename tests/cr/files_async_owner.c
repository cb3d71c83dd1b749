/* Signal-driven I/O survives: a pipe's read end with O_ASYNC, the task as
 * its owner (F_SETOWN) and SIGUSR2 as its signal (F_SETSIG). After restore
 * a write into the pipe queues SIGUSR2 for the task, naming the fd. */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the pipe's owner is");

int main(int argc, char **argv)
{
	struct timespec safety = { 30, 0 };	/* not a timing check: a lost signal must not hang */
	siginfo_t si = { .si_signo = 0 };
	sigset_t set;
	int p[2];

	crt_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || pipe(p) || fcntl(p[0], F_SETOWN, getpid()) ||
	    fcntl(p[0], F_SETSIG, SIGUSR2) || fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		fcntl(p[0], F_SETOWN, 0);

	if (fcntl(p[0], F_GETOWN) != getpid())
		crt_fail("the pipe's owner is %d, expected the task (%d)", fcntl(p[0], F_GETOWN),
			 (int)getpid());
	if (fcntl(p[0], F_GETSIG) != SIGUSR2)
		crt_fail("the pipe's signal is %d, expected SIGUSR2", fcntl(p[0], F_GETSIG));
	if ((fcntl(p[0], F_GETFL) & (O_ASYNC | O_NONBLOCK)) != (O_ASYNC | O_NONBLOCK))
		crt_fail("the read end lost O_ASYNC or O_NONBLOCK");
	if (write(p[1], "x", 1) != 1)
		crt_fail("cannot write into the pipe");
	else if (sigtimedwait(&set, &si, &safety) != SIGUSR2 || si.si_fd != p[0])
		crt_fail("no SIGUSR2 for fd %d after a write (got signal %d for fd %d)", p[0],
			 si.si_signo, si.si_fd);
	return crt_finish();
}
