/* restorer.h — the contract between the engine (engine/restore) and the
 * restorer blob (pie/restorer.c): one argument block, filled by the engine
 * in a shared mapping both see at the same address. Fixed-width types only:
 * the blob is freestanding. No code here.
 */
#ifndef CRISP_PIE_RESTORER_H
#define CRISP_PIE_RESTORER_H

#include <stdint.h>

#define RST_MAX_SPECIAL		8	/* vdso + vvar areas */
#define RST_MAX_GROUPS		64
#define RST_THREAD_STACK	(64u << 10)

/* Where the restorer is; written by it, read by the engine (args->stage). */
enum rst_stage {
	RST_STAGE_START = 1,	/* the child runs engine code (premap) */
	RST_STAGE_BLOB,		/* the restorer runs */
	RST_STAGE_PARKED,	/* every thread restored, waiting for go */
	RST_STAGE_FAILED,	/* err/err_step say why; the task exits */
};

/* Restorer steps, named in errors (rst_step_name in the engine). */
enum rst_step {
	RST_STEP_NONE,
	RST_STEP_PREMAP,
	RST_STEP_UNMAP,
	RST_STEP_PARK_SPECIAL,
	RST_STEP_MOVE_VMA,
	RST_STEP_PROT_VMA,
	RST_STEP_MADVISE,
	RST_STEP_GUARD,
	RST_STEP_MLOCK,
	RST_STEP_SPECIAL,
	RST_STEP_MM_MAP,
	RST_STEP_CLONE_THREAD,
	RST_STEP_THREAD_STATE,
	RST_STEP_RSEQ,
	RST_STEP_PENDING,
	RST_STEP_CREDS,
	RST_STEP_TIMERS,
	RST_STEP_PRCTL,
	RST_STEP_COUNT,
};

struct rst_vma {
	uint64_t src;		/* premapped here */
	uint64_t dst, len;	/* goes here */
	uint32_t prot, flags;	/* final protection; MAP_LOCKED etc. */
	uint64_t madv;		/* 1 << MADV_* to apply */
};

struct rst_guard {		/* guard pages to install, inside one rst_vma's dst */
	uint64_t start, len;
};

struct rst_special {		/* a vdso/vvar area of ours, moved into place */
	uint64_t cur, park, dst, len;
};

struct rst_siginfo {
	uint8_t b[128];
};

struct rst_thread {
	int32_t tid;
	int32_t nice;
	uint64_t frame_sp;	/* rsp for rt_sigreturn (the frame is below) */
	uint64_t stack_top;	/* the restorer's stack for this thread */
	uint64_t fs_base, gs_base;
	uint64_t clear_tid;
	uint64_t robust_head, robust_len;
	uint64_t rseq_ptr;
	uint32_t rseq_size, rseq_sig;
	uint32_t uid[4], gid[4];	/* real, effective, saved, fs */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd;
	uint64_t cap_amb;	/* within cap_prm and cap_inh */
	uint32_t secbits;
	uint32_t no_new_privs;	/* set last: it cannot be undone */
	uint32_t nr_groups;
	uint32_t groups[RST_MAX_GROUPS];
	int32_t pdeath;
	char comm[16];
	uint64_t pending;	/* struct rst_siginfo[nr_pending] */
	uint32_t nr_pending;
	uint32_t restore_creds;	/* 0: keep the engine's (root) creds */
	uint32_t restarts;	/* it re-enters an interrupted syscall first */
	int32_t policy, rt_prio;	/* sched_setscheduler */
};

struct rst_mm_map {		/* struct prctl_mm_map */
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

struct rst_args {
	/* progress and failure, shared with the engine */
	volatile int32_t stage;
	volatile int32_t err;		/* -errno of the failed step */
	volatile int32_t err_step;	/* enum rst_step */
	volatile int32_t err_tid;
	volatile int32_t nr_parked;
	volatile int32_t go;		/* the engine lets the threads go */
	char msg[256];			/* premap failures, from engine code */

	uint64_t region, region_len;	/* this shared mapping (blob, args, stacks) */
	uint64_t premap, premap_len;	/* the premap reservation */
	uint64_t vmas;			/* struct rst_vma[nr_vmas] */
	uint32_t nr_vmas;
	uint32_t nr_special;
	struct rst_special special[RST_MAX_SPECIAL];
	struct rst_mm_map mm;
	uint64_t auxv[64];
	int32_t dumpable;
	int32_t pid;
	uint64_t threads;		/* struct rst_thread[nr_threads], leader first */
	uint32_t nr_threads;
	uint32_t nr_guards;
	uint64_t guards;		/* struct rst_guard[nr_guards], in VMA order */
	int32_t fd_close_from;		/* the task's fds are below; the rest goes */
	uint32_t keep_fds;		/* fd table shared with another task: the
					 * engine closes its fds once all are parked */
	uint64_t pages_direct;		/* the fill read these with O_DIRECT */
};

#endif
