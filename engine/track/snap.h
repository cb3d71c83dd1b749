/* snap — the memory half of a live snapshot (`dump --leave-running`):
 * userfaultfd write-protection in synchronous mode, armed while the task is
 * frozen, then a copier and a fault handler that take every page's value of
 * the freeze instant while the task runs again (copy-before-write).
 *
 * Protocol (why the copy is the freeze instant): a page's slot in the
 * destination is filled by whoever first claims the page's bit (copier or
 * fault handler), and both read the page into a bounce buffer *before*
 * claiming it. Nothing un-protects a page before its bit is claimed, except
 * the copier's un-protection of a whole chunk it has finished, which first
 * publishes `done_upto`; a fault handler that read a page below it discards
 * its copy. So a kept copy was read while the page was still protected,
 * i.e. unchanged since the freeze. Writes to pages not populated at the
 * freeze fault too (UFFD_FEATURE_WP_UNPOPULATED); their value then was zero.
 *
 * Arming in two steps keeps the freeze short: write-protecting costs about
 * 30 ms per GiB of 4 KiB pages here, so it is done before the freeze while
 * the task runs (snap_preprotect; the fault handler then only lets writes
 * go). Inside the freeze (handler paused: snap_pause), snap_protect protects
 * again just what is not protected any more (found with PAGEMAP_SCAN:
 * PAGE_IS_WRITTEN means "not write-protected" for a synchronous
 * registration); once the task runs, snap_copy turns the handler to
 * copy-before-write.
 *
 * What the task wrote between snap_preprotect and the freeze is what it
 * writes now: protected again, its threads' stacks and hottest pages would
 * fault one after the other the moment it runs (a round trip to the handler
 * each: 0.1-0.3 ms here, on the task's time). So inside the freeze,
 * snap_protect reads the last few pages of each run written since (as many
 * as the buffer of snap_hold_buffer takes), claims them and leaves them
 * unprotected; only the rest is protected again. snap_copy moves the held pages to their
 * slots. A page read while the task is stopped is its value at the freeze.
 *
 * Pages kept as all zeros are not saved (an absent anonymous page restores as
 * zeros): the scan also reports the write-protect markers of pages never
 * populated, which read as zeros.
 *
 * Writes no images and knows nothing of the dump: the caller gives each
 * area a destination buffer and turns the claimed bits into page runs.
 * Pages the task unmaps (munmap, mremap) before they were copied are counted
 * in snap_stats.vanished and make snap_copy fail: their value at the freeze
 * is gone. Pages dropped by MADV_DONTNEED meanwhile read as zeros, unseen.
 */
#ifndef CRISP_SNAP_H
#define CRISP_SNAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "infect.h"
#include "mem_scan.h"

/* One registered VMA and where its pages go. */
struct snap_area {
	uint64_t start, end;
	size_t dst_off;			/* page i lands at base + dst_off + i * 4096 */
	uint64_t *claimed;		/* one bit per page */
	uint64_t *zero;			/* kept by the handler as all zeros: not saved */
	uint64_t done_upto;		/* the copier has un-protected [start, done_upto) */
};

struct snap_stats {
	uint64_t pages_copied;		/* by the copier */
	uint64_t pages_faulted;		/* by the fault handler (kept copies) */
	uint64_t faults;		/* write faults handled */
	uint64_t reprotected;		/* pages protected inside the freeze */
	uint64_t held;			/* pages read inside the freeze, left unprotected */
	uint64_t vanished;		/* present pages gone before the copier read them */
	uint64_t copy_us;		/* the live copy, wall time */
};

struct snap_ctx {
	pid_t pid;
	int uffd;			/* ours, -1 when not armed */
	int pagemap_fd;			/* the task's, for the unprotected-pages scan */
	pthread_mutex_t lock;		/* held by the handler per batch of faults */
	bool copying;			/* handler mode: copy-before-write (else let go) */
	bool paused;			/* we hold lock: the handler waits */
	int stop_fd;			/* eventfd that stops the handler */
	uint8_t *base;			/* the destination, given to snap_copy */
	struct snap_area *area;		/* sorted by address */
	size_t nr_area, cap_area;
	struct mem_ranges prearmed;	/* registered by snap_preprotect: not too sparse */
	uint8_t *held_buf;		/* the caller's (snap_hold_buffer) */
	size_t held_cap, held_len;	/* its size, bytes of it in use */
	struct mem_ranges held;		/* what it holds, in order */
	pthread_t handler;
	bool handler_running;
	bool handler_ready;		/* set by the handler before it first waits */
	int handler_err;		/* first error of the handler, or 0 */
	struct snap_stats st;
};

/* Whether this kernel gives synchronous write-protection with
 * WP_UNPOPULATED, checked on a scratch mapping (engine/check). */
bool snap_supported(void);

/* Zeroes @s for task @pid. */
void snap_init(struct snap_ctx *s, pid_t pid);

/*
 * Creates the userfaultfd inside the task through @ic (remote
 * userfaultfd(), not user-mode-only: writes by the kernel on the task's
 * behalf must wait like the task's own), takes it with pidfd_getfd and
 * closes the task's copy. The task must be stopped. 0 or -errno.
 */
int snap_create(struct snap_ctx *s, struct infect_ctx *ic);

/* Starts the fault handler; until snap_freeze_end it only lets writes go. */
int snap_start_handler(struct snap_ctx *s);

/*
 * Before the freeze, the task running: registers [@start, @end) and
 * write-protects it in steps. Failures leave the range to snap_protect.
 */
void snap_preprotect(struct snap_ctx *s, uint64_t start, uint64_t end);

/*
 * Before the freeze: @len bytes at @buf (the caller's until after
 * snap_close; touched already, so that filling it inside the freeze takes
 * no page fault) for the pages written since snap_preprotect. Without it,
 * every one is protected again.
 */
void snap_hold_buffer(struct snap_ctx *s, uint8_t *buf, size_t len);

/* Inside the freeze, before snap_protect calls: pauses the handler (faults
 * wait) until snap_copy turns it to copy-before-write. Main thread only. */
void snap_pause(struct snap_ctx *s);

/*
 * Registers [@start, @end) (one whole VMA) in write-protect mode (if it is
 * not yet) and protects what is not protected; its pages will land at @dst_off in the destination given to
 * snap_copy (which may move until then). The task must be stopped.
 * -EINVAL: this kind of mapping cannot be registered (copy it frozen),
 * -EBUSY: another userfaultfd has it. Other -errno: failure.
 */
int snap_protect(struct snap_ctx *s, uint64_t start, uint64_t end, size_t dst_off);

/*
 * Once the task runs again: copies every registered area into @base (each
 * at its dst_off; at least as big as what was given) while the fault handler
 * runs in a thread of ours, then closes the userfaultfd, which
 * drops every registration and protection left. 0 or -errno (-ESRCH: the
 * task went away). Never waits on the task: a task killed meanwhile ends it.
 */
int snap_copy(struct snap_ctx *s, uint8_t *base);

/* Calls @fn for each run of claimed pages, in address order: @nr pages at
 * @vaddr are at @src. Stops at and returns @fn's non-zero result. */
int snap_for_each_run(const struct snap_ctx *s,
		      int (*fn)(uint64_t vaddr, uint64_t nr, const uint8_t *src, void *arg),
		      void *arg);

/* Closes the userfaultfd (if still open) and frees what @s holds. */
void snap_close(struct snap_ctx *s);

#endif
