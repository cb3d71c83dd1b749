/* infect_collect — the per-task state that only the task can tell, asked
 * through remote syscalls (engine/infect), plus the signal state ptrace
 * gives directly (blocked mask, pending siginfo).
 *
 * Fills plain structs; encoding them into images is the dump's business.
 */
#ifndef CRISP_INFECT_COLLECT_H
#define CRISP_INFECT_COLLECT_H

#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "infect.h"
#include "proc_timers.h"

#define COLLECT_NSIG 64

/* The kernel's struct sigaction on x86_64 (what rt_sigaction copies). */
struct collect_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct collect_prctl {
	long dumpable, pdeathsig, no_new_privs, thp_disable, timerslack;
	long child_subreaper, securebits, keepcaps;
	long personality;
	uint64_t brk;			/* current brk (brk(0)) */
};

struct collect_posix_timer {
	int32_t id;
	struct itimerspec spec;		/* remaining and interval */
	int overrun;
};

/* scratch bytes the collectors need from infect_start */
#define COLLECT_SCRATCH_SIZE 4096

/* act[sig - 1] for every signal (SIGKILL and SIGSTOP left zero). */
int collect_sigactions(struct infect_ctx *c, struct collect_sigaction act[COLLECT_NSIG]);

/* The running thread's alternate signal stack. */
int collect_sigaltstack(struct infect_ctx *c, stack_t *ss);

/* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF. */
int collect_itimers(struct infect_ctx *c, struct itimerval it[3]);

/* timer_gettime and timer_getoverrun of every timer in @ids (from
 * /proc/PID/timers); out has ids->nr entries. */
int collect_posix_timers(struct infect_ctx *c, const struct proc_timers *ids,
			 struct collect_posix_timer *out);

/* prctl values, personality and brk. */
int collect_prctl(struct infect_ctx *c, struct collect_prctl *p);

/* Per-thread blocked mask (PTRACE_GETSIGMASK); no remote call needed. */
int collect_sigmask(pid_t tid, uint64_t *mask);

/*
 * Pending signals of thread @tid (@shared false) or of its whole task
 * (@shared true), PTRACE_PEEKSIGINFO without removing them: up to @max
 * entries into @si; *@nr gets the count. 0 or -errno (-E2BIG when more than
 * @max are queued).
 */
int collect_pending(pid_t tid, bool shared, siginfo_t *si, size_t max, size_t *nr);

#endif
