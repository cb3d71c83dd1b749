/* Behaviour tests of engine/infect's batches: in a scratch child with two
 * threads, a batch of remote calls (getpid, gettid, the child's SIGUSR1
 * action and its pdeath signal into scratch buffers, access() of a path
 * written into one, calls that fail) runs by the blob in one stop, call by
 * call (forced, or because the child refuses writable+executable memory),
 * and after poked code; a second batch runs in the other thread, then
 * one batch in each thread at once (infect_batch_run_many). The
 * results are right and both threads' registers, the memory map, the signal
 * masks and the pending signals are as before; the child checks from
 * inside that it runs on unchanged. A batch cut short by a stop signal or
 * by the task's exit fails cleanly. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "infect.h"
#include "infect_batch.h"
#include "infect_collect.h"
#include "proc_read.h"
#include "regs.h"
#include "scratch.h"
#include "unit.h"

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

#define MODE_MDWE (1u << 16)	/* the child refuses W+X memory (test-only) */
#define SCRATCH_SIZE (16 << 10)

struct shared {
	volatile int ready, verify, verdict;	/* verdict: 1 ok, -line of failure */
	volatile int mdwe;			/* 1 set, -errno refused */
	volatile int single;			/* no second thread */
	volatile long counter, counter2;
	volatile pid_t tid2;
	stack_t ss2;				/* the second thread's altstack */
	char why[128];
};

#define CHILD_CHECK(cond)                                                     \
	do {                                                                  \
		if (!(cond) && sh->verdict == 0) {                            \
			sh->verdict = -__LINE__;                              \
			snprintf(sh->why, sizeof(sh->why), "%s", #cond);      \
		}                                                             \
	} while (0)

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
}

static void nap(void)
{
	nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

static void *second_thread(void *arg)
{
	struct shared *sh = arg;

	sigaltstack(NULL, &sh->ss2);	/* none, or the sanitizer's */
	sh->tid2 = (pid_t)syscall(SYS_gettid);
	while (!sh->verify) {
		nap();
		sh->counter2++;
	}
	return NULL;
}

static int child_main(void *arg)
{
	struct shared *sh = arg;
	struct sigaction sa = { 0 }, got;
	sigset_t block, now, pend;
	pthread_t th;
	int pdeath = 0;

	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (sh->mdwe)
		sh->mdwe = prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) ? -errno : 1;
	if (sh->single)
		sh->tid2 = -1;
	else if (pthread_create(&th, NULL, second_thread, sh))
		return 3;
	raise(SIGUSR2);		/* pending in this thread while we work */
	while (!sh->tid2)
		nap();
	sh->ready = 1;

	while (!sh->verify) {
		nap();
		sh->counter++;
	}
	if (!sh->single)
		pthread_join(th, NULL);
	sigaction(SIGUSR1, NULL, &got);
	CHILD_CHECK(got.sa_sigaction == on_usr1);
	CHILD_CHECK((got.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART));
	CHILD_CHECK(sigismember(&got.sa_mask, SIGUSR2));
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHILD_CHECK(sigismember(&now, SIGUSR2) && !sigismember(&now, SIGUSR1));
	sigpending(&pend);
	CHILD_CHECK(sigismember(&pend, SIGUSR2));
	CHILD_CHECK(prctl(PR_GET_PDEATHSIG, &pdeath) == 0 && pdeath == SIGKILL);
	if (!sh->verdict)
		sh->verdict = 1;
	return 0;
}

/* A thread's registers and signal state, to compare before and after. */
struct thread_state {
	struct regs_thread regs;
	uint64_t mask;
	siginfo_t pending[4];
	size_t nr_pending;
};

static void thread_state_get(pid_t tid, struct thread_state *s)
{
	memset(s, 0, sizeof(*s));
	CHECK_INT(regs_get(tid, &s->regs), 0);
	CHECK_INT(collect_sigmask(tid, &s->mask), 0);
	CHECK_INT(collect_pending(tid, false, s->pending, 4, &s->nr_pending), 0);
}

static void thread_state_same(pid_t tid, struct thread_state *before)
{
	struct thread_state after;

	thread_state_get(tid, &after);
	CHECK(memcmp(&before->regs.gpr, &after.regs.gpr, sizeof(after.regs.gpr)) == 0);
	CHECK(before->regs.xsave_size == after.regs.xsave_size &&
	      memcmp(before->regs.xsave, after.regs.xsave, after.regs.xsave_size) == 0);
	CHECK(before->mask == after.mask);
	CHECK(before->nr_pending == after.nr_pending &&
	      memcmp(before->pending, after.pending, after.nr_pending * sizeof(siginfo_t)) == 0);
	regs_free(&before->regs);
	regs_free(&after.regs);
}

/* The main batch, in the leader; @blob: expected to run in one stop. */
static void batch_leader(struct infect_ctx *c, pid_t pid, bool blob)
{
	static const char path_ok[] = "/proc/self/status", path_bad[] = "/crisp-no-such-file";
	struct infect_batch b;
	struct collect_sigaction *act, *act_bad;
	char *in_ok, *in_bad;
	int *pdeath;
	uint64_t r_act, r_act_bad, r_pdeath, r_ok, r_bad;
	unsigned long calls = c->nr_calls, stops = c->nr_stops;

	CHECK_INT(infect_batch_init(&b, c), 0);
	act = infect_batch_buf(&b, sizeof(*act), &r_act);
	act_bad = infect_batch_buf(&b, sizeof(*act_bad), &r_act_bad);
	pdeath = infect_batch_buf(&b, sizeof(*pdeath), &r_pdeath);
	in_ok = infect_batch_buf(&b, sizeof(path_ok), &r_ok);
	in_bad = infect_batch_buf(&b, sizeof(path_bad), &r_bad);
	CHECK(act && act_bad && pdeath && in_ok && in_bad);
	if (!act || !act_bad || !pdeath || !in_ok || !in_bad)
		return;
	CHECK(r_act >= c->scratch && r_act + sizeof(*act) <= c->scratch + c->scratch_size);
	memcpy(in_ok, path_ok, sizeof(path_ok));
	memcpy(in_bad, path_bad, sizeof(path_bad));

	int i_pid = infect_batch_add(&b, SYS_getpid, (uint64_t[6]){ 0 });
	int i_tid = infect_batch_add(&b, SYS_gettid, (uint64_t[6]){ 0 });
	int i_act = infect_batch_add(&b, SYS_rt_sigaction, (uint64_t[6]){ SIGUSR1, 0, r_act, 8 });
	int i_pd = infect_batch_add(&b, SYS_prctl, (uint64_t[6]){ PR_GET_PDEATHSIG, r_pdeath });
	/* a bad sigset size: -EINVAL, nothing written */
	int i_einval = infect_batch_add(&b, SYS_rt_sigaction,
					(uint64_t[6]){ SIGUSR1, 0, r_act_bad, 4 });
	int i_ok = infect_batch_add(&b, SYS_access, (uint64_t[6]){ r_ok, F_OK });
	int i_enoent = infect_batch_add(&b, SYS_access, (uint64_t[6]){ r_bad, F_OK });
	int i_last = infect_batch_add(&b, SYS_getppid, (uint64_t[6]){ 0 });

	CHECK_INT(i_last, 7);
	CHECK_INT(infect_batch_run(&b), 0);
	CHECK_INT(infect_batch_run(&b), -EBUSY);
	CHECK_INT(infect_batch_add(&b, SYS_getpid, (uint64_t[6]){ 0 }), -EBUSY);
	CHECK_INT(infect_batch_ret(&b, i_pid), pid);
	CHECK_INT(infect_batch_ret(&b, i_tid), pid);
	CHECK_INT(infect_batch_ret(&b, i_act), 0);
	CHECK(act->handler == (uint64_t)(uintptr_t)on_usr1);
	CHECK((act->flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART));
	CHECK(act->mask == 1ULL << (SIGUSR2 - 1));
	CHECK_INT(infect_batch_ret(&b, i_pd), 0);
	CHECK_INT(*pdeath, SIGKILL);		/* set by scratch_fork */
	CHECK_INT(infect_batch_ret(&b, i_einval), -EINVAL);
	CHECK(act_bad->handler == 0 && act_bad->flags == 0);
	CHECK_INT(infect_batch_ret(&b, i_ok), 0);
	CHECK_INT(infect_batch_ret(&b, i_enoent), -ENOENT);
	CHECK_INT(infect_batch_ret(&b, i_last), getpid());	/* we are its parent */
	CHECK_INT(infect_batch_ret(&b, 8), -EINVAL);
	CHECK_INT(c->nr_calls - calls, 8);
	CHECK_INT(c->nr_stops - stops, blob ? 1 : 8);
	infect_batch_free(&b);
}

/* A batch fills up: no call and no buffer past the scratch. */
static void batch_full(struct infect_ctx *c)
{
	struct infect_batch b;
	uint64_t remote;
	int n = 0, idx;

	CHECK_INT(infect_batch_init(&b, c), 0);
	CHECK(infect_batch_buf(&b, c->scratch_size, &remote) == NULL);
	while ((idx = infect_batch_add(&b, SYS_getpid, (uint64_t[6]){ 0 })) >= 0)
		n++;
	CHECK_INT(idx, -ENOSPC);
	CHECK(n > 100 && (size_t)n * 64 < c->scratch_size);
	CHECK(infect_batch_buf(&b, 64, &remote) == NULL);	/* < one entry left */
	infect_batch_free(&b);
}

/* The second thread, sharing the leader's scratch and code. */
static void batch_sibling(struct infect_ctx *c, const struct shared *sh, bool blob)
{
	pid_t tid2 = sh->tid2;
	struct infect_ctx s;
	struct infect_batch b;
	stack_t *ss;
	uint64_t r_ss;

	CHECK_INT(infect_start_sibling(&s, c, tid2), 0);
	CHECK(s.scratch == c->scratch && s.sibling);
	CHECK_INT(infect_batch_init(&b, &s), 0);
	ss = infect_batch_buf(&b, sizeof(*ss), &r_ss);
	CHECK(ss != NULL);
	int i_tid = infect_batch_add(&b, SYS_gettid, (uint64_t[6]){ 0 });
	int i_ss = infect_batch_add(&b, SYS_sigaltstack, (uint64_t[6]){ 0, r_ss });
	CHECK_INT(infect_batch_run(&b), 0);
	CHECK_INT(infect_batch_ret(&b, i_tid), tid2);
	CHECK_INT(infect_batch_ret(&b, i_ss), 0);
	CHECK(ss && ss->ss_sp == sh->ss2.ss_sp && ss->ss_size == sh->ss2.ss_size &&
	      ss->ss_flags == sh->ss2.ss_flags);
	CHECK_INT(s.nr_stops, blob ? 1 : 2);
	infect_batch_free(&b);
	CHECK_INT(infect_stop(&s), 0);
}

/* Both threads' batches at once, each in its own area of the scratch:
 * each gets its own results, in one stop each where the blob runs. */
static void batch_together(struct infect_ctx *c, pid_t pid, const struct shared *sh, bool blob)
{
	size_t first = infect_batch_first_area(), len = infect_batch_area_size(2, 64);
	unsigned long lead_stops = c->nr_stops;
	struct infect_batch b[2], *bs[2] = { &b[0], &b[1] };
	struct infect_ctx s;
	stack_t *ss;
	uint64_t r_ss;

	CHECK_INT(infect_start_sibling(&s, c, sh->tid2), 0);
	CHECK(first + 2 * len <= c->scratch_size);
	CHECK_INT(infect_batch_init_at(&b[1], &s, first + 1, len), -EINVAL);	/* unaligned */
	CHECK_INT(infect_batch_init_at(&b[1], &s, 0, len), -EINVAL);		/* on the blob */
	CHECK_INT(infect_batch_init_at(&b[0], c, first, len), 0);
	CHECK_INT(infect_batch_init_at(&b[1], &s, first + len, len), 0);
	ss = infect_batch_buf(&b[1], sizeof(*ss), &r_ss);
	CHECK(ss != NULL && r_ss >= c->scratch + first + len && r_ss < c->scratch + first + 2 * len);
	int i_pid = infect_batch_add(&b[0], SYS_gettid, (uint64_t[6]){ 0 });
	int i_tid = infect_batch_add(&b[1], SYS_gettid, (uint64_t[6]){ 0 });
	int i_ss = infect_batch_add(&b[1], SYS_sigaltstack, (uint64_t[6]){ 0, r_ss });

	/* an earlier batch left the blob in the scratch: run_many must write it */
	static const unsigned char wipe[4096];

	CHECK(first <= sizeof(wipe));
	CHECK_INT(infect_scratch_write(c, 0, wipe, first), 0);
	CHECK_INT(infect_batch_run_many(bs, 2), 0);
	CHECK_INT(infect_batch_ret(&b[0], i_pid), pid);
	CHECK_INT(infect_batch_ret(&b[1], i_tid), sh->tid2);
	CHECK_INT(infect_batch_ret(&b[1], i_ss), 0);
	CHECK(ss && ss->ss_sp == sh->ss2.ss_sp && ss->ss_size == sh->ss2.ss_size);
	CHECK_INT(c->nr_stops - lead_stops, 1);
	CHECK_INT(s.nr_stops, blob ? 1 : 2);
	CHECK_INT(infect_batch_run_many(bs, 2), -EBUSY);
	infect_batch_free(&b[0]);
	infect_batch_free(&b[1]);
	CHECK_INT(infect_stop(&s), 0);
}

static void test_batch(unsigned int mode)
{
	unsigned int flags = mode & ~MODE_MDWE;
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	struct thread_state lead, second;
	struct infect_ctx c;
	char *maps_before, *maps_after;
	unsigned long code_before = 0, code_now = 0;
	bool blob;
	pid_t pid;
	int status;

	printf("mode: %s%s%s\n", flags & INFECT_FORCE_POKE ? "poke " : "vdso ",
	       flags & INFECT_BATCH_BY_CALL ? "by-call" : "blob",
	       mode & MODE_MDWE ? " (child refuses W+X)" : "");
	sh->mdwe = !!(mode & MODE_MDWE);
	pid = scratch_fork(child_main, sh);
	while (!sh->ready)
		nap();
	if (sh->mdwe < 0) {
		printf("  PR_SET_MDWE refused (%s): skipped\n", strerror(-sh->mdwe));
		goto out;
	}
	CHECK(scratch_moves(&sh->counter) && scratch_moves(&sh->counter2));
	CHECK_INT(freeze_tree(&t, pid, 5000), 0);
	thread_state_get(pid, &lead);
	thread_state_get(sh->tid2, &second);
	CHECK_INT(lead.nr_pending, 1);
	maps_before = scratch_maps_text(pid);

	CHECK_INT(infect_start(&c, pid, pid, SCRATCH_SIZE, INFECT_BATCH | flags), 0);
	blob = !(flags & INFECT_BATCH_BY_CALL) && !(mode & MODE_MDWE);
	CHECK(c.scratch != 0 && c.scratch_exec == blob);
	CHECK(c.poked == !!(flags & INFECT_FORCE_POKE));
	if (c.poked)
		memcpy(&code_before, &c.poke_orig, sizeof(code_before));
	/* the sibling first: the leader's batch needs the scratch it shares */
	batch_sibling(&c, sh, blob);
	batch_leader(&c, pid, blob);
	batch_together(&c, pid, sh, blob);
	if (!mode)
		batch_full(&c);
	CHECK_INT(infect_stop(&c), 0);

	/* exactly as before */
	thread_state_same(pid, &lead);
	thread_state_same(sh->tid2, &second);
	maps_after = scratch_maps_text(pid);
	CHECK(maps_before && maps_after && strcmp(maps_before, maps_after) == 0);
	if (flags & INFECT_FORCE_POKE) {
		ssize_t n = process_vm_readv(pid, &(struct iovec){ &code_now, 8 }, 1,
					     &(struct iovec){ (void *)(uintptr_t)c.poke_addr, 8 }, 1, 0);
		CHECK(n == 8 && code_now == code_before);
	}
	free(maps_before);
	free(maps_after);
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	freeze_tree_free(&t);
	CHECK(scratch_moves(&sh->counter) && scratch_moves(&sh->counter2));
out:
	sh->verify = 1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (sh->mdwe >= 0)
		UNIT_RECORD(sh->verdict == 1, "child verdict %d: %s", sh->verdict, sh->why);
	munmap(sh, sizeof(*sh));
}

/* A batch stopped short: the thread gets a SIGSTOP in the middle (-EIO),
 * or the task exits (-ESRCH). */
static void test_batch_fails(unsigned int flags, bool die)
{
	struct shared *sh = scratch_shared(sizeof(*sh));
	struct freeze_tree t;
	struct thread_state lead;
	struct infect_batch b;
	struct infect_ctx c;
	char *maps_before = NULL, *maps_after;
	pid_t pid;
	int status;

	printf("mode: %s, %s\n", flags & INFECT_BATCH_BY_CALL ? "by-call" : "blob",
	       die ? "the task exits in the batch" : "a SIGSTOP in the batch");
	sh->single = die;
	pid = scratch_fork(child_main, sh);
	while (!sh->ready)
		nap();
	CHECK_INT(freeze_tree(&t, pid, 5000), 0);
	if (!die) {
		thread_state_get(pid, &lead);
		maps_before = scratch_maps_text(pid);
	}
	CHECK_INT(infect_start(&c, pid, pid, SCRATCH_SIZE, INFECT_BATCH | flags), 0);
	CHECK_INT(infect_batch_init(&b, &c), 0);
	infect_batch_add(&b, SYS_getpid, (uint64_t[6]){ 0 });
	if (die)
		infect_batch_add(&b, SYS_exit_group, (uint64_t[6]){ 7 });
	else
		infect_batch_add(&b, SYS_tgkill, (uint64_t[6]){ (uint64_t)pid, (uint64_t)pid, SIGSTOP });
	infect_batch_add(&b, SYS_getppid, (uint64_t[6]){ 0 });
	CHECK_INT(infect_batch_run(&b), die ? -ESRCH : -EIO);
	infect_batch_free(&b);
	if (die) {
		/* gone, and reaped by the wait that saw it go */
		CHECK(infect_stop(&c) < 0);
		CHECK(kill(pid, 0) < 0 && errno == ESRCH);
		freeze_tree_free(&t);
		munmap(sh, sizeof(*sh));
		return;
	}
	/* the SIGSTOP is dropped; the thread is put back as it was */
	CHECK_INT(infect_stop(&c), 0);
	thread_state_same(pid, &lead);
	maps_after = scratch_maps_text(pid);
	CHECK(maps_before && maps_after && strcmp(maps_before, maps_after) == 0);
	free(maps_before);
	free(maps_after);
	CHECK_INT(freeze_release(&t, FREEZE_RESUME), 0);
	freeze_tree_free(&t);
	CHECK(scratch_moves(&sh->counter) && scratch_moves(&sh->counter2));
	sh->verify = 1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	UNIT_RECORD(sh->verdict == 1, "child verdict %d: %s", sh->verdict, sh->why);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	scratch_init();
	test_batch(0);
	test_batch(INFECT_BATCH_BY_CALL);
	test_batch(INFECT_FORCE_POKE);
	test_batch(INFECT_FORCE_POKE | INFECT_BATCH_BY_CALL);
	test_batch(MODE_MDWE);
	test_batch_fails(0, false);
	test_batch_fails(INFECT_BATCH_BY_CALL, false);
	test_batch_fails(0, true);
	test_batch_fails(INFECT_BATCH_BY_CALL, true);
	scratch_cleanup();
	return unit_summary("infect-batch");
}
