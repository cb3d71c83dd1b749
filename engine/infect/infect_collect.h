/* infect_collect — the per-task state that only the task can tell, asked
 * through remote syscalls (engine/infect), plus the signal state ptrace
 * gives directly (blocked mask, pending siginfo).
 *
 * Each collector queues its calls in a collect_batch (infect_batch: one
 * ptrace stop for all of them where the scratch is executable); the batch's
 * run stores every result. The one-shot forms run one collector alone.
 * Fills plain structs; encoding them into images is the dump's business.
 */
#ifndef CRISP_INFECT_COLLECT_H
#define CRISP_INFECT_COLLECT_H

#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "infect.h"
#include "infect_batch.h"
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

struct collect_req;

/* Collector calls queued on one started thread, and where each result goes. */
struct collect_batch {
	struct infect_batch b;
	struct collect_req *req;
	size_t nr, cap;
};

/* Scratch bytes (for infect_start) that hold a batch of every collector
 * below at once, for a task with @nr_ptimers POSIX timers. */
size_t collect_scratch_size(size_t nr_ptimers);

/* An empty batch over @c's scratch. 0 or -errno (-EINVAL: no scratch). */
int collect_batch_init(struct collect_batch *cb, struct infect_ctx *c);

/*
 * Every thread of a task at once (collect_batches_run): the leader's area
 * holds every collector (@nr_ptimers POSIX timers), another thread's only
 * sigaltstack, tid address and pdeath signal. collect_area_size is one
 * area's bytes, collect_scratch_size_threads the scratch for a leader and
 * @nr_threads - 1 others, areas in that order from infect_batch_first_area();
 * collect_batch_init_at an empty batch in the area at @off (infect_batch.h).
 */
size_t collect_area_size(bool leader, size_t nr_ptimers);
size_t collect_scratch_size_threads(size_t nr_ptimers, size_t nr_threads);
int collect_batch_init_at(struct collect_batch *cb, struct infect_ctx *c, size_t off,
			  size_t len);

/*
 * Runs the queued calls and stores each result where its collector said.
 * 0, or -errno: the batch could not run, or a call failed (its -errno;
 * logged with the call's name, the outputs then incomplete).
 */
int collect_batch_run(struct collect_batch *cb);

/* collect_batch_run for batches on @n threads of one task, run at once
 * (infect_batch_run_many). 0, or the first -errno. */
int collect_batches_run(struct collect_batch *const *cbs, size_t n);

void collect_batch_free(struct collect_batch *cb);

/*
 * Queue forms: each queues its calls in @cb and fills its outputs during
 * collect_batch_run. 0, -ENOSPC when the scratch is too small (logged), or
 * -ENOMEM. The outputs must stay valid until the run.
 */
/* act[sig - 1] for every signal (SIGKILL and SIGSTOP left zero). */
int collect_sigactions_add(struct collect_batch *cb, struct collect_sigaction act[COLLECT_NSIG]);
/* The running thread's alternate signal stack. */
int collect_sigaltstack_add(struct collect_batch *cb, stack_t *ss);
/* The running thread's clear_child_tid address (PR_GET_TID_ADDRESS). */
int collect_tid_address_add(struct collect_batch *cb, uint64_t *addr);
/* The running thread's parent-death signal. */
int collect_pdeathsig_add(struct collect_batch *cb, long *sig);
/* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF. */
int collect_itimers_add(struct collect_batch *cb, struct itimerval it[3]);
/* timer_gettime and timer_getoverrun of every timer in @ids (from
 * /proc/PID/timers); out has ids->nr entries. */
int collect_posix_timers_add(struct collect_batch *cb, const struct proc_timers *ids,
			     struct collect_posix_timer *out);
/* prctl values (the running thread's pdeath signal among them),
 * personality and brk. */
int collect_prctl_add(struct collect_batch *cb, struct collect_prctl *p);

/* One-shot forms of the above: queued and run at once. 0 or -errno. */
int collect_sigactions(struct infect_ctx *c, struct collect_sigaction act[COLLECT_NSIG]);
int collect_sigaltstack(struct infect_ctx *c, stack_t *ss);
int collect_itimers(struct infect_ctx *c, struct itimerval it[3]);
int collect_posix_timers(struct infect_ctx *c, const struct proc_timers *ids,
			 struct collect_posix_timer *out);
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
