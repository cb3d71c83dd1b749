/* infect_batch — many remote system calls for the price of one ptrace stop.
 *
 * Calls are queued in a table, with the buffers they read or fill, and run
 * together inside a started thread (infect.h): by the batch blob
 * (pie/batch.c) from executable scratch in one PTRACE_CONT, or, where the
 * scratch is not executable or INFECT_BATCH_BY_CALL was asked for, one by
 * one through infect_syscall with the same results. It runs what it is
 * given and judges no result; the callers decode them (infect_collect).
 *
 * Scratch layout: the blob, then the table growing up, the buffers growing
 * down from the blob's stack at the top.
 */
#ifndef CRISP_INFECT_BATCH_H
#define CRISP_INFECT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "infect.h"

struct infect_batch {
	struct infect_ctx *c;
	unsigned char *img;	/* local copy of the table and the buffers */
	size_t img_len;		/* from the table's start to the stack */
	size_t buf_low;		/* buffers: img[buf_low, img_len) */
	size_t off;		/* the area's (the table's) offset in the scratch */
	uint64_t stack_top;	/* the blob's stack, in the task */
	uint32_t nr;		/* calls queued */
	bool ran;
};

/* What a buffer of @len bytes takes from the scratch. */
#define INFECT_BATCH_BUF_SIZE(len) (((size_t)(len) + 15) & ~(size_t)15)

/* Scratch bytes (for infect_start) that hold a batch of @calls calls whose
 * buffers take @buf_bytes (the sum of their INFECT_BATCH_BUF_SIZEs). */
size_t infect_batch_scratch_size(size_t calls, size_t buf_bytes);

/* An empty batch over @c's scratch. 0, -EINVAL when @c has none (or too
 * little for the blob and its stack), or -ENOMEM. */
int infect_batch_init(struct infect_batch *b, struct infect_ctx *c);

/*
 * Batches of several threads of one task at once (infect_batch_run_many)
 * share one scratch: the blob, then one area per thread for its table,
 * buffers and stack. infect_batch_area_size is what an area of @calls
 * calls and @buf_bytes of buffers takes (a multiple of 64), the first
 * area starts at infect_batch_first_area() and each next one right after.
 * infect_batch_init_at makes an empty batch in the area at @off, @len
 * bytes, of @c's scratch (@c may be a sibling sharing it). 0, -EINVAL
 * (no scratch, or the area is not in it), or -ENOMEM.
 */
size_t infect_batch_area_size(size_t calls, size_t buf_bytes);
size_t infect_batch_first_area(void);
int infect_batch_init_at(struct infect_batch *b, struct infect_ctx *c, size_t off, size_t len);

/*
 * Reserves @len bytes of scratch, zeroed, for a call to read or fill.
 * Returns the engine's copy (input may be written into it before the run;
 * after infect_batch_run it holds what the task left there) and sets
 * *@remote to the task's address of it; NULL when the scratch is full.
 */
void *infect_batch_buf(struct infect_batch *b, size_t len, uint64_t *remote);

/* Queues syscall @nr with @args. The call's index (for infect_batch_ret),
 * or -ENOSPC when the scratch is full, -EBUSY once the batch has run. */
int infect_batch_add(struct infect_batch *b, long nr, const uint64_t args[6]);

/*
 * Runs every queued call, in order, each whatever the earlier ones
 * returned, with all signals blocked, and brings the buffers back. 0 when
 * every call ran; else -errno (the thread died: -ESRCH, stopped elsewhere
 * or with a signal: -EIO; all logged), the results undefined. The thread's
 * registers and mask are restored by infect_stop as always.
 */
int infect_batch_run(struct infect_batch *b);

/*
 * infect_batch_run for the batches of @n threads of one task, each on its
 * own area of the same scratch: every thread is started before any is
 * waited for, so their stops overlap. Call by call (one thread after the
 * other) when the scratch is not executable. 0 when every batch ran, else
 * the first -errno; every thread started has stopped again either way.
 */
int infect_batch_run_many(struct infect_batch *const *bs, size_t n);

/* The raw result of call @idx (-errno for a failed call) after the run. */
long infect_batch_ret(const struct infect_batch *b, int idx);

void infect_batch_free(struct infect_batch *b);

#endif
