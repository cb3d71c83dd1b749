/* A task with a SIGTRAP blocked and pending, process-wide and for the
 * thread. crisp's remote calls end in traps, and such a trap would merge
 * with the pending SIGTRAP (and lose it) or take it in the middle of a
 * call: the dump is refused with a clear error, and the task runs on with
 * both SIGTRAPs still pending. */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump -R @says=SIGTRAP; !pre-dump @says=SIGTRAP; verify");
CRT_DAMAGE_FAILS("SIGTRAP is not pending");

int main(int argc, char **argv)
{
	unsigned long long shd = 0, own = 0;
	sigset_t block;

	crt_init(argc, argv);
	sigemptyset(&block);
	sigaddset(&block, SIGTRAP);
	if (sigprocmask(SIG_BLOCK, &block, NULL) || kill(getpid(), SIGTRAP) ||
	    syscall(SYS_tgkill, getpid(), gettid(), SIGTRAP))
		return 2;
	crt_ready();
	while (!crt_verify_requested())	/* not crt_wait_verify: its sigsuspend unblocks */
		usleep(1000);

	if (crt_damage()) {
		signal(SIGTRAP, SIG_IGN);	/* discards both */
		signal(SIGTRAP, SIG_DFL);
	}
	if (crt_status_mask("ShdPnd", &shd) || crt_status_mask("SigPnd", &own)) {
		crt_fail("cannot read the pending masks");
		return crt_finish();
	}
	if (!(shd & (1ULL << (SIGTRAP - 1))))
		crt_fail("SIGTRAP is not pending for the process (ShdPnd %#llx)", shd);
	if (!(own & (1ULL << (SIGTRAP - 1))))
		crt_fail("SIGTRAP is not pending for the thread (SigPnd %#llx)", own);
	return crt_finish();
}
