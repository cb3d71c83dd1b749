/* Behaviour tests of engine/infect: remote syscalls in a scratch child read
 * its sigactions, sigaltstack, itimers, POSIX timers, prctl values and
 * pending signals; afterwards its registers, maps and code bytes are exactly
 * as before and it checks from inside that nothing of its state changed. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "infect.h"
#include "infect_collect.h"
#include "proc_read.h"
#include "proc_timers.h"
#include "regs.h"
#include "scratch.h"
#include "unit.h"

#define ALT_SIZE (64 << 10)
#define TIMER_SIG (SIGRTMIN + 1)
#define QUEUED_SIG (SIGRTMIN + 2)

struct shared {
	volatile int ready, verify, verdict;	/* verdict: 1 ok, -line of failure */
	volatile long counter;
	volatile uint64_t altstack;
	char why[128];
};

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
}

static void on_alarm(int sig)
{
	(void)sig;
}

#define CHILD_CHECK(cond)                                                     \
	do {                                                                  \
		if (!(cond) && sh->verdict == 0) {                            \
			sh->verdict = -__LINE__;                              \
			snprintf(sh->why, sizeof(sh->why), "%s", #cond);      \
		}                                                             \
	} while (0)

static int child_main(void *arg)
{
	struct shared *sh = arg;
	struct sigaction sa = { 0 }, got;
	stack_t ss = { 0 }, gss;
	struct itimerval it = { { 50, 0 }, { 100, 0 } };
	struct sigevent se = { 0 };
	struct itimerspec ts = { { 30, 0 }, { 200, 0 } }, gts;
	timer_t timer;
	sigset_t block, now, pend;

	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGALRM, on_alarm);
	ss.ss_sp = malloc(ALT_SIZE);
	ss.ss_size = ALT_SIZE;
	sigaltstack(&ss, NULL);
	sh->altstack = (uint64_t)(uintptr_t)ss.ss_sp;
	setitimer(ITIMER_REAL, &it, NULL);
	se.sigev_notify = SIGEV_SIGNAL;
	se.sigev_signo = TIMER_SIG;
	se.sigev_value.sival_ptr = (void *)0x77;
	timer_create(CLOCK_MONOTONIC, &se, &timer);
	timer_settime(timer, 0, &ts, NULL);
	prctl(PR_SET_TIMERSLACK, 12345);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, QUEUED_SIG);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR2);					/* thread-pending */
	sigqueue(getpid(), QUEUED_SIG, (union sigval){ .sival_int = 42 }); /* shared */
	sh->ready = 1;

	while (!sh->verify) {
		if (nanosleep(&(struct timespec){ 0, 1000000 }, NULL) && errno != EINTR)
			CHILD_CHECK(!"nanosleep failed");
		sh->counter++;
	}
	sigaction(SIGUSR1, NULL, &got);
	CHILD_CHECK(got.sa_sigaction == on_usr1);
	CHILD_CHECK((got.sa_flags & (SA_SIGINFO | SA_RESTART | SA_ONSTACK)) ==
		    (SA_SIGINFO | SA_RESTART | SA_ONSTACK));
	CHILD_CHECK(sigismember(&got.sa_mask, SIGUSR2));
	sigaltstack(NULL, &gss);
	CHILD_CHECK(gss.ss_sp == ss.ss_sp && gss.ss_size == ALT_SIZE);
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHILD_CHECK(sigismember(&now, SIGUSR2) && sigismember(&now, QUEUED_SIG));
	CHILD_CHECK(!sigismember(&now, SIGUSR1));
	sigpending(&pend);
	CHILD_CHECK(sigismember(&pend, SIGUSR2) && sigismember(&pend, QUEUED_SIG));
	timer_gettime(timer, &gts);
	CHILD_CHECK(gts.it_value.tv_sec > 100 && gts.it_interval.tv_sec == 30);
	CHILD_CHECK(prctl(PR_GET_TIMERSLACK) == 12345);
	if (!sh->verdict)
		sh->verdict = 1;
	return 0;
}

static void collect_all(struct infect_ctx *c, struct shared *sh, pid_t pid)
{
	struct collect_sigaction act[COLLECT_NSIG];
	struct itimerval it[3];
	struct collect_prctl pr;
	struct proc_timers timers;
	struct collect_posix_timer pt[4];
	stack_t ss;

	CHECK_INT(collect_sigactions(c, act), 0);
	CHECK(act[SIGUSR1 - 1].handler == (uint64_t)(uintptr_t)on_usr1);
	CHECK(act[SIGUSR1 - 1].flags & SA_SIGINFO && act[SIGUSR1 - 1].flags & SA_ONSTACK);
	CHECK(act[SIGUSR1 - 1].mask == 1ULL << (SIGUSR2 - 1));
	CHECK(act[SIGINT - 1].handler == (uint64_t)(uintptr_t)SIG_IGN);
	CHECK(act[SIGALRM - 1].handler == (uint64_t)(uintptr_t)on_alarm);
	CHECK(act[SIGTERM - 1].handler == (uint64_t)(uintptr_t)SIG_DFL);

	CHECK_INT(collect_sigaltstack(c, &ss), 0);
	CHECK((uint64_t)(uintptr_t)ss.ss_sp == sh->altstack && ss.ss_size == ALT_SIZE);

	CHECK_INT(collect_itimers(c, it), 0);
	CHECK(it[ITIMER_REAL].it_interval.tv_sec == 50);
	CHECK(it[ITIMER_REAL].it_value.tv_sec > 0 && it[ITIMER_REAL].it_value.tv_sec <= 100);
	CHECK(it[ITIMER_PROF].it_value.tv_sec == 0 && it[ITIMER_PROF].it_value.tv_usec == 0);

	CHECK_INT(proc_read_timers(pid, &timers), 0);
	CHECK_INT(timers.nr, 1);
	if (timers.nr == 1) {
		CHECK(timers.t[0].signo == TIMER_SIG && timers.t[0].sigval == 0x77);
		CHECK_INT(collect_posix_timers(c, &timers, pt), 0);
		CHECK(pt[0].spec.it_interval.tv_sec == 30);
		CHECK(pt[0].spec.it_value.tv_sec > 100 && pt[0].spec.it_value.tv_sec <= 200);
		CHECK_INT(pt[0].overrun, 0);
	}
	proc_timers_free(&timers);

	CHECK_INT(collect_prctl(c, &pr), 0);
	CHECK_INT(pr.timerslack, 12345);
	CHECK_INT(pr.thp_disable, 1);
	CHECK_INT(pr.pdeathsig, SIGKILL);	/* set by scratch_fork */
	CHECK_INT(pr.dumpable, 1);
	CHECK_INT(pr.personality, 0);
	CHECK(pr.brk > 0);
}

static void test_infect(unsigned int flags)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	pid_t pid = scratch_fork(child_main, sh);
	struct freeze_tree t;
	struct regs_thread before, after;
	struct infect_ctx c;
	char *maps_before, *maps_after;
	uint64_t mask;
	siginfo_t si[8];
	size_t nr;

	while (!sh->ready)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK(scratch_moves(&sh->counter));
	CHECK_INT(freeze_tree(&t, pid, 5000), 0);
	CHECK_INT(regs_get(pid, &before), 0);
	maps_before = scratch_maps_text(pid);

	CHECK_INT(infect_start(&c, pid, pid, collect_scratch_size(4), flags), 0);
	CHECK(c.scratch != 0 && c.poked == !!(flags & INFECT_FORCE_POKE));
	unsigned long code_before = 0, code_now = 0;
	if (c.poked) {
		/* the original bytes, as the task will see them again */
		memcpy(&code_before, &c.poke_orig, sizeof(code_before));
	}
	collect_all(&c, sh, pid);
	CHECK(c.nr_calls > 70);
	CHECK_INT(infect_stop(&c), 0);

	/* exactly as before: registers, FPU state, mappings, code bytes */
	CHECK_INT(regs_get(pid, &after), 0);
	CHECK(memcmp(&before.gpr, &after.gpr, sizeof(before.gpr)) == 0);
	CHECK(before.xsave_size == after.xsave_size &&
	      memcmp(before.xsave, after.xsave, before.xsave_size) == 0);
	maps_after = scratch_maps_text(pid);
	CHECK(maps_before && maps_after && strcmp(maps_before, maps_after) == 0);
	if (flags & INFECT_FORCE_POKE) {
		ssize_t n = process_vm_readv(pid, &(struct iovec){ &code_now, 8 }, 1,
					     &(struct iovec){ (void *)(uintptr_t)c.poke_addr, 8 }, 1, 0);
		CHECK(n == 8 && code_now == code_before);
	}

	/* signal state through ptrace */
	CHECK_INT(collect_sigmask(pid, &mask), 0);
	CHECK(mask == ((1ULL << (SIGUSR2 - 1)) | (1ULL << (QUEUED_SIG - 1))));
	CHECK_INT(collect_pending(pid, false, si, 8, &nr), 0);
	CHECK(nr == 1 && si[0].si_signo == SIGUSR2);
	CHECK_INT(collect_pending(pid, true, si, 8, &nr), 0);
	CHECK(nr == 1 && si[0].si_signo == QUEUED_SIG && si[0].si_value.sival_int == 42);
	CHECK_INT(collect_pending(pid, true, si, 0, &nr), -E2BIG);

	regs_free(&before);
	regs_free(&after);
	free(maps_before);
	free(maps_after);
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	freeze_tree_free(&t);
	CHECK(scratch_moves(&sh->counter));
	sh->verify = 1;
	int status;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	UNIT_RECORD(sh->verdict == 1, "child verdict %d: %s", sh->verdict, sh->why);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	scratch_init();
	test_infect(0);
	test_infect(INFECT_FORCE_POKE);
	scratch_cleanup();
	return unit_summary("infect");
}
