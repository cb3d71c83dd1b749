/* A task's own SIGTRAP handler survives a dump. crisp's remote calls end
 * in a trap (an int3, or a single step over a syscall), and a trap taken
 * while SIGTRAP is blocked makes the kernel put the action back to
 * SIG_DFL. After dump -R the original still has its handler, with its
 * flags and mask, and the handler runs; so does the copy restored from the
 * images. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump -R; verify; restore; verify");
CRT_DAMAGE_FAILS("SIGTRAP handler is");

/* The kernel's view of a sigaction. */
struct ksigaction {
	uintptr_t handler;
	unsigned long flags;
	uintptr_t restorer;
	uint64_t mask;
};

static volatile int traps;

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	traps++;
}

static int read_action(int sig, struct ksigaction *out)
{
	return (int)syscall(SYS_rt_sigaction, sig, NULL, out, sizeof(out->mask));
}

int main(int argc, char **argv)
{
	struct ksigaction before, now;
	struct sigaction sa;

	crt_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(SIGTRAP, &sa, NULL) || read_action(SIGTRAP, &before))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		signal(SIGTRAP, SIG_DFL);
	if (read_action(SIGTRAP, &now)) {
		crt_fail("cannot read the SIGTRAP action");
		return crt_finish();
	}
	if (now.handler != before.handler)
		crt_fail("the SIGTRAP handler is %#lx, expected %#lx", (unsigned long)now.handler,
			 (unsigned long)before.handler);
	if (now.flags != before.flags || now.mask != before.mask)
		crt_fail("SIGTRAP flags %#lx mask %#llx, expected %#lx and %#llx", now.flags,
			 (unsigned long long)now.mask, before.flags,
			 (unsigned long long)before.mask);
	if (now.handler == before.handler) {
		raise(SIGTRAP);
		if (traps != 1)
			crt_fail("the SIGTRAP handler ran %d times, expected 1", traps);
	}
	return crt_finish();
}
