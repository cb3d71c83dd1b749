/* A signalfd keeps its mask: after restore SIGUSR1 (blocked) shows up on
 * it, SIGUSR2 too, and SIGHUP (not in its mask) does not. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the signalfd gave no SIGUSR1");

static int next_signal(int fd)
{
	struct signalfd_siginfo si;

	return read(fd, &si, sizeof(si)) == sizeof(si) ? (int)si.ssi_signo : 0;
}

int main(int argc, char **argv)
{
	sigset_t mask, block;
	int fd;

	crt_init(argc, argv);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	block = mask;
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		return 2;
	fd = signalfd(-1, &mask, SFD_NONBLOCK);
	if (fd < 0)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage()) {
		sigset_t none;

		sigemptyset(&none);
		signalfd(fd, &none, 0);
	}
	raise(SIGHUP);
	raise(SIGUSR1);
	if (next_signal(fd) != SIGUSR1)
		crt_fail("the signalfd gave no SIGUSR1");
	raise(SIGUSR2);
	if (next_signal(fd) != SIGUSR2)
		crt_fail("the signalfd gave no SIGUSR2");
	if (next_signal(fd) != 0)
		crt_fail("the signalfd gave a signal outside its mask");
	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
		crt_fail("the signalfd lost O_NONBLOCK");
	return crt_finish();
}
