/* A thread with syscall user dispatch on and its selector at BLOCK (it
 * spins without a syscall, as code run under dispatch does): crisp's remote
 * calls in it would go to its SIGSYS handler instead of the kernel. The
 * dump is refused with a clear error; a pre-dump, whose only remote calls
 * run in the leader, works. The task keeps its handler, and dispatch still
 * sends it the thread's next syscall. (With the selector at ALLOW the calls
 * go through, and a dump works.) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump -R @says=dispatch; pre-dump; verify");
CRT_DAMAGE_FAILS("SIGSYS handler ran 0 times");

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#define SUD_ON 1
#define SUD_ALLOW 0
#define SUD_BLOCK 1

static volatile char selector = SUD_ALLOW;
static atomic_int armed, finish, sigsys_runs, setup_err;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	selector = SUD_ALLOW;	/* first: the return from here is a syscall too */
	atomic_fetch_add(&sigsys_runs, 1);
}

static void *dispatched(void *arg)
{
	(void)arg;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, SUD_ON, 0, 0, &selector)) {
		atomic_store(&setup_err, 1);
		atomic_store(&armed, 1);
		return NULL;
	}
	selector = SUD_BLOCK;
	atomic_store(&armed, 1);
	while (!atomic_load(&finish))
		;	/* no syscall while blocked */
	if (atomic_load(&finish) == 2)
		syscall(SYS_getppid);	/* dispatched: the handler runs instead */
	selector = SUD_ALLOW;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t th;

	crt_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) || pthread_create(&th, NULL, dispatched, NULL))
		return 2;
	while (!atomic_load(&armed))
		;
	if (atomic_load(&setup_err))
		return 2;
	crt_ready();
	crt_wait_verify();

	atomic_store(&finish, crt_damage() ? 1 : 2);
	pthread_join(th, NULL);
	if (atomic_load(&sigsys_runs) != 1)
		crt_fail("SIGSYS handler ran %d times, expected 1", atomic_load(&sigsys_runs));
	return crt_finish();
}
