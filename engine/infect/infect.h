/* infect — system calls executed inside a seized thread (ptrace "compel").
 *
 * Points the thread at a `syscall` instruction it already has (in its vdso)
 * and single-steps it, or, failing that, writes `syscall; int3` over a few
 * bytes of an executable page and restores them. Registers, signal mask and
 * memory are exactly as before once infect_stop() returns. It collects
 * nothing itself (infect_collect does); many calls in one stop are
 * infect_batch's.
 *
 * Every call ends in a trap (the single step, or an int3 after the code),
 * which the kernel sends as a forced SIGTRAP; a forced signal that is
 * blocked or ignored gets its action put back to SIG_DFL (and is unblocked).
 * So every signal but SIGTRAP is blocked during the calls, and a task's own
 * SIGTRAP handler stays (ptrace takes the trap before the handler could
 * run). A SIGTRAP already pending for the thread or the task would merge
 * with a call's trap and be lost, or be taken in the middle of a call:
 * such a thread is refused (-EBUSY, logged) and left as it was. An ignored
 * SIGTRAP comes back as SIG_DFL.
 */
#ifndef CRISP_INFECT_H
#define CRISP_INFECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

enum infect_flags {
	INFECT_FORCE_POKE = 1 << 0,	/* skip the vdso: write the code (tests) */
	INFECT_BATCH = 1 << 1,		/* scratch also runs infect_batch's blob:
					 * mapped executable if the task allows */
	INFECT_BATCH_BY_CALL = 1 << 2,	/* batches run call by call (tests) */
};

struct infect_ctx {
	pid_t pid, tid;			/* the task, and its thread that runs */
	unsigned int flags;		/* INFECT_* */
	struct user_regs_struct saved;	/* registers at infect_start */
	uint64_t saved_sigmask;
	uint64_t syscall_ip;		/* where `syscall` is */
	bool poked;			/* the code at syscall_ip is `syscall; int3` */
	bool sibling;			/* code and scratch belong to another ctx */
	uint64_t poke_addr;
	long poke_orig;			/* the word we replaced */
	uint64_t scratch;		/* remote scratch mapping, or 0 */
	size_t scratch_size;
	bool scratch_exec;		/* scratch is executable (batch blob) */
	unsigned long nr_calls;		/* remote syscalls made */
	unsigned long nr_stops;		/* ptrace round trips they took */
};

/*
 * Prepares thread @tid of task @pid, which must be in a ptrace stop of ours
 * (engine/freeze), for remote calls, and maps @scratch_size bytes of
 * read-write scratch memory in the task (0: none). With INFECT_BATCH (and
 * not INFECT_BATCH_BY_CALL) the scratch is mapped executable too; a task
 * that refuses writable+executable memory (EACCES/EPERM: MDWE, an LSM) gets
 * plain read-write scratch and c->scratch_exec stays false. Returns 0 or
 * -errno; on failure the thread is as it was.
 */
int infect_start(struct infect_ctx *c, pid_t pid, pid_t tid,
		 size_t scratch_size, unsigned int flags);

struct proc_maps;
/* The same, given the task's memory map read while it was stopped (where
 * the vdso is), so that it reads no /proc file. */
int infect_start_maps(struct infect_ctx *c, pid_t pid, pid_t tid, size_t scratch_size,
		      unsigned int flags, const struct proc_maps *maps);

/*
 * Prepares thread @tid of the task @owner runs in, the same way, but
 * sharing @owner's code location and scratch instead of finding or mapping
 * its own: no remote call, no /proc read. @owner must stay started until
 * this ctx is stopped. 0 or -errno; on failure the thread is as it was.
 */
int infect_start_sibling(struct infect_ctx *c, const struct infect_ctx *owner,
			 pid_t tid);

/*
 * Runs syscall @nr with @args inside the thread (all signals blocked while
 * it runs). *@ret gets the raw result (-errno for a failed call). Returns 0
 * when the call ran, or -errno when it could not be run.
 */
int infect_syscall(struct infect_ctx *c, long nr, const uint64_t args[6],
		   long *ret);

/*
 * Runs the thread from registers @r (orig_rax should be -1) until it stops
 * with SIGTRAP, single-stepping when @step, else continuing; leftover
 * interrupt and group stops are passed over. @r gets the registers it
 * stopped with. 0 when it trapped at @trap_ip; -ESRCH when the thread died,
 * -EIO when it stopped with another signal or elsewhere (logged), or the
 * -errno of ptrace. For infect_batch; everyone else calls infect_syscall.
 */
int infect_run_to_trap(struct infect_ctx *c, struct user_regs_struct *r,
		       bool step, uint64_t trap_ip);

/*
 * infect_run_to_trap in two halves, for threads of one task that run at
 * once: infect_launch sets @r and resumes the thread; infect_wait_trap
 * waits for its trap as infect_run_to_trap does. Every launched thread
 * must be waited for, whatever happened to the others. 0 or -errno.
 */
int infect_launch(struct infect_ctx *c, const struct user_regs_struct *r, bool step);
int infect_wait_trap(struct infect_ctx *c, struct user_regs_struct *r, bool step,
		     uint64_t trap_ip);

/* Copies between the engine and the task's scratch memory (offset @off).
 * 0 or -errno (-EFAULT for a short copy, -EINVAL out of range). */
int infect_scratch_read(struct infect_ctx *c, size_t off, void *buf, size_t len);
int infect_scratch_write(struct infect_ctx *c, size_t off, const void *buf,
			 size_t len);

/*
 * Unmaps the scratch memory, restores the code bytes (both left alone by a
 * sibling), the signal mask and the registers. Returns 0 or the first
 * -errno (it still tries every step).
 */
int infect_stop(struct infect_ctx *c);

#endif
