/* infect — system calls executed inside a seized thread (ptrace "compel").
 *
 * Points the thread at a `syscall` instruction it already has (in its vdso)
 * and single-steps it, or, failing that, writes `syscall; int3` over a few
 * bytes of an executable page and restores them. Registers, signal mask and
 * memory are exactly as before once infect_stop() returns. It collects
 * nothing itself (infect_collect does).
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
};

struct infect_ctx {
	pid_t pid, tid;			/* the task, and its thread that runs */
	struct user_regs_struct saved;	/* registers at infect_start */
	uint64_t saved_sigmask;
	uint64_t syscall_ip;		/* where `syscall` is */
	bool poked;			/* we wrote code at poke_addr */
	uint64_t poke_addr;
	long poke_orig;			/* the word we replaced */
	uint64_t scratch;		/* remote scratch mapping, or 0 */
	size_t scratch_size;
	unsigned long nr_calls;		/* remote syscalls made */
};

/*
 * Prepares thread @tid of task @pid, which must be in a ptrace stop of ours
 * (engine/freeze), for remote calls, and maps @scratch_size bytes of
 * read-write scratch memory in the task (0: none). Returns 0 or -errno;
 * on failure the thread is as it was.
 */
int infect_start(struct infect_ctx *c, pid_t pid, pid_t tid,
		 size_t scratch_size, unsigned int flags);

/*
 * Runs syscall @nr with @args inside the thread (all signals blocked while
 * it runs). *@ret gets the raw result (-errno for a failed call). Returns 0
 * when the call ran, or -errno when it could not be run.
 */
int infect_syscall(struct infect_ctx *c, long nr, const uint64_t args[6],
		   long *ret);

/* Copies between the engine and the task's scratch memory (offset @off).
 * 0 or -errno (-EFAULT for a short copy, -EINVAL out of range). */
int infect_scratch_read(struct infect_ctx *c, size_t off, void *buf, size_t len);
int infect_scratch_write(struct infect_ctx *c, size_t off, const void *buf,
			 size_t len);

/*
 * Unmaps the scratch memory, restores the code bytes, the signal mask and
 * the registers. Returns 0 or the first -errno (it still tries every step).
 */
int infect_stop(struct infect_ctx *c);

#endif
