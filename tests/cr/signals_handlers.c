/* Custom signal dispositions — SA_SIGINFO, SA_RESTART, SA_NODEFER,
 * SA_RESETHAND, SA_ONSTACK, SA_NOCLDSTOP, handler masks, SIG_IGN — and a
 * sigaltstack: after restore every sigaction reads back as it was, the
 * alternate stack is the same, and the handlers run as set up (a queued
 * value arrives on the alternate stack, the handler mask is applied,
 * SA_RESETHAND resets, an ignored signal does nothing). */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("signal 10: sa_flags are");

#define ALTSTACK_SIZE (64 * 1024)
#define KERNEL_NSIG 64

/* The kernel's view of a sigaction (glibc hides signals 32 and 33). */
struct ksigaction {
	uintptr_t handler;
	unsigned long flags;
	uintptr_t restorer;
	uint64_t mask;
};

static char altstack[ALTSTACK_SIZE];
static struct ksigaction saved[KERNEL_NSIG + 1];
static volatile int info_signo, info_code, info_value, plain_runs;
static volatile uintptr_t info_stack_addr;
static volatile int usr2_blocked_in_handler, rt3_blocked_in_handler;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	volatile char here;
	sigset_t cur;

	(void)uc;
	info_signo = sig;
	info_code = si->si_code;
	info_value = si->si_value.sival_int;
	info_stack_addr = (uintptr_t)&here;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
	rt3_blocked_in_handler = sigismember(&cur, SIGRTMIN + 3);
}

static void on_plain(int sig)
{
	(void)sig;
	plain_runs++;
}

static int set(int sig, void (*h)(int), void (*hi)(int, siginfo_t *, void *), int flags,
	       const int *mask_sigs)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (hi)
		sa.sa_sigaction = hi;
	else
		sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	for (; mask_sigs && *mask_sigs; mask_sigs++)
		sigaddset(&sa.sa_mask, *mask_sigs);
	return sigaction(sig, &sa, NULL);
}

static int read_action(int sig, struct ksigaction *out)
{
	return (int)syscall(SYS_rt_sigaction, sig, NULL, out, sizeof(out->mask));
}

static void compare_action(int sig)
{
	struct ksigaction now;

	if (read_action(sig, &now)) {
		crt_fail("signal %d: cannot read its sigaction", sig);
		return;
	}
	if (now.handler != saved[sig].handler)
		crt_fail("signal %d: handler is %#lx, expected %#lx", sig, (unsigned long)now.handler,
			 (unsigned long)saved[sig].handler);
	if (now.flags != saved[sig].flags)
		crt_fail("signal %d: sa_flags are %#lx, expected %#lx", sig, now.flags,
			 saved[sig].flags);
	if (now.restorer != saved[sig].restorer)
		crt_fail("signal %d: sa_restorer is %#lx, expected %#lx", sig,
			 (unsigned long)now.restorer, (unsigned long)saved[sig].restorer);
	if (now.mask != saved[sig].mask)
		crt_fail("signal %d: sa_mask is %#llx, expected %#llx", sig,
			 (unsigned long long)now.mask, (unsigned long long)saved[sig].mask);
}

int main(int argc, char **argv)
{
	const int usr1_mask[] = { SIGUSR2, SIGRTMIN + 3, 0 };
	stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_SIZE }, now_ss;
	union sigval v = { .sival_int = 4242 };

	crt_init(argc, argv);
	if (set(SIGUSR1, NULL, on_info, SA_SIGINFO | SA_RESTART, usr1_mask) ||
	    set(SIGUSR2, on_plain, NULL, SA_NODEFER | SA_RESETHAND, NULL) ||
	    set(SIGHUP, SIG_IGN, NULL, 0, NULL) ||
	    set(SIGRTMIN + 4, NULL, on_info, SA_SIGINFO | SA_ONSTACK, NULL) ||
	    set(SIGCHLD, on_plain, NULL, SA_NOCLDSTOP | SA_RESTART, NULL) ||
	    set(SIGRTMIN + 7, on_plain, NULL, 0, usr1_mask) ||
	    sigaltstack(&ss, NULL))
		return 2;
	for (int s = 1; s <= KERNEL_NSIG; s++)
		if (read_action(s, &saved[s]))
			return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		set(SIGUSR1, NULL, on_info, SA_SIGINFO, usr1_mask);
	for (int s = 1; s <= KERNEL_NSIG; s++)
		compare_action(s);
	if (sigaltstack(NULL, &now_ss))
		crt_fail("cannot read the alternate signal stack");
	else if (now_ss.ss_sp != altstack || now_ss.ss_size != ALTSTACK_SIZE || now_ss.ss_flags)
		crt_fail("the alternate stack is %p size %zu flags %#x, expected %p size %d flags 0",
			 now_ss.ss_sp, now_ss.ss_size, now_ss.ss_flags, (void *)altstack, ALTSTACK_SIZE);

	/* the dispositions at work */
	sigqueue(getpid(), SIGRTMIN + 4, v);
	if (info_signo != SIGRTMIN + 4 || info_code != SI_QUEUE || info_value != 4242)
		crt_fail("SIGRTMIN+4 handler saw signal %d code %d value %d, expected %d, %d (SI_QUEUE), 4242",
			 info_signo, info_code, info_value, SIGRTMIN + 4, SI_QUEUE);
	if (info_stack_addr < (uintptr_t)altstack || info_stack_addr >= (uintptr_t)altstack + ALTSTACK_SIZE)
		crt_fail("the SA_ONSTACK handler ran at %#lx, expected on the alternate stack %p-%p",
			 (unsigned long)info_stack_addr, (void *)altstack,
			 (void *)(altstack + ALTSTACK_SIZE));
	kill(getpid(), SIGUSR1);
	if (info_signo != SIGUSR1 || info_code != SI_USER)
		crt_fail("SIGUSR1 handler saw signal %d code %d, expected %d, %d (SI_USER)", info_signo,
			 info_code, SIGUSR1, SI_USER);
	if (!usr2_blocked_in_handler || !rt3_blocked_in_handler)
		crt_fail("in the SIGUSR1 handler SIGUSR2 is %s and SIGRTMIN+3 %s, expected both blocked",
			 usr2_blocked_in_handler ? "blocked" : "not blocked",
			 rt3_blocked_in_handler ? "blocked" : "not blocked");
	if (info_stack_addr >= (uintptr_t)altstack && info_stack_addr < (uintptr_t)altstack + ALTSTACK_SIZE)
		crt_fail("the SIGUSR1 handler (no SA_ONSTACK) ran on the alternate stack");
	raise(SIGHUP);	/* ignored: nothing happens */
	raise(SIGUSR2);
	if (plain_runs != 1)
		crt_fail("SIGUSR2 handler ran %d times, expected 1", plain_runs);
	struct sigaction after;

	sigaction(SIGUSR2, NULL, &after);
	if (after.sa_handler != SIG_DFL)
		crt_fail("SIGUSR2 disposition after one delivery is %p, expected SIG_DFL (SA_RESETHAND)",
			 (void *)after.sa_handler);
	return crt_finish();
}
