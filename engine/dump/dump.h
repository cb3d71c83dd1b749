/* dump — `crisp dump`: the context shared by the dump stages and their entry
 * points. dump.c calls the stages in order; each stage file owns one concern
 * (refusal checks, tree, core, mm, pages, files, misc images, stats).
 * Nothing here runs on its own: the orchestrator decides what happens when.
 */
#ifndef CRISP_DUMP_H
#define CRISP_DUMP_H

#include <asm/ldt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "core-x86.pb-c.h"
#include "files.h"
#include "freeze.h"
#include "img.h"
#include "infect_collect.h"
#include "mem_scan.h"
#include "opts.h"
#include "proc_limits.h"
#include "proc_maps.h"
#include "proc_mm.h"
#include "proc_stat.h"
#include "proc_status.h"
#include "proc_timers.h"
#include "regs.h"
#include "snap.h"
#include "track.h"

/* CRIU's task states in core images */
#define DUMP_TASK_ALIVE		1
#define DUMP_TASK_DEAD		2
#define DUMP_TASK_STOPPED	3

/* CRIU's vma_entry.status bits (image ABI) */
#define DUMP_VMA_REGULAR	(1u << 0)
#define DUMP_VMA_STACK		(1u << 1)
#define DUMP_VMA_VSYSCALL	(1u << 2)
#define DUMP_VMA_VDSO		(1u << 3)
#define DUMP_VMA_HEAP		(1u << 5)
#define DUMP_VMA_FILE_PRIVATE	(1u << 6)
#define DUMP_VMA_FILE_SHARED	(1u << 7)
#define DUMP_VMA_ANON_SHARED	(1u << 8)
#define DUMP_VMA_ANON_PRIVATE	(1u << 9)
#define DUMP_VMA_VVAR		(1u << 12)

/* pagemap_entry.flags */
#define DUMP_PE_PARENT		(1u << 0)
#define DUMP_PE_PRESENT		(1u << 2)

#define DUMP_TLS_ENTRIES	3	/* GDT TLS slots 12..14 on x86_64 */
#define DUMP_MAX_SIGINFO	1024	/* queued signals per queue we save */

struct dump_thread {
	pid_t tid;
	struct regs_thread regs;
	struct user_desc tls[DUMP_TLS_ENTRIES];	/* PTRACE_GET_THREAD_AREA */
	uint64_t sigmask;
	siginfo_t *pending;
	size_t nr_pending;
	stack_t sas;
	uint64_t clear_tid;
	uint64_t robust_head;
	size_t robust_len;
	bool has_rseq;
	uint64_t rseq_ptr, rseq_cs;
	uint32_t rseq_size, rseq_sig;
	int nice, policy, rt_prio;
	long pdeath;
	struct proc_status st;	/* creds, seccomp */
	char comm[PROC_COMM_MAX];
};

/* One mapping with CRIU's classification. */
struct dump_vma {
	uint32_t status;	/* DUMP_VMA_* */
	uint32_t flags;		/* MAP_* */
	uint64_t madv;		/* 1 << MADV_* */
	uint64_t shmid;		/* file id (file mappings) or inode (shared anon) */
	bool dump_pages;	/* its pages go into pages-N.img */
	bool file_skip;		/* pages still backed by the file are left out */
	bool untracked;		/* pre-dump: not tracked at the freeze */
	bool live;		/* copied by the live snapshot, not frozen */
	bool copied;		/* its frozen pages are read */
};

/* A run of saved pages: pagemap entry and where its bytes sit in staging. */
struct dump_run {
	uint64_t vaddr, nr_pages;
	size_t off;
};

/* A piece of a final walk (dump-walk.c, which says more). */
struct dump_walk_piece {
	size_t vma;			/* index in t->maps */
	uint64_t start, end;
	struct track_vma_scan s;
	struct mem_ranges copy, parent;	/* split: s relative to the parent */
	struct mem_ranges from_pre;	/* ... and to the copy made before the freeze */
	bool split;			/* ... done by the walking thread */
	int err;			/* -EAGAIN: the VMA is walked again whole */
};
struct dump_final_walk {
	struct dump_walk_piece *p;
	size_t nr, cap;
};

/* Ranges in address order kept as the lists they were built in (taken
 * whole, not copied) until they are joined into one: see
 * dump_final_walk_settle. @seam: a part that may touch the one before it
 * (the same VMA), so their touching ranges are one. */
struct dump_parts {
	struct dump_part {
		struct mem_ranges r;
		bool seam;
	} *p;
	size_t nr, cap;
};

/* dump-precopy.c: the root's pages written since its parent, protected
 * again and copied (into staging) while it still runs, just before the
 * freeze. */
struct dump_precopy {
	bool ran;			/* the copy was made */
	struct mem_ranges protected_;	/* every page protected again: never the parent's */
	struct mem_ranges copied;	/* those copied (a subset), ... */
	struct dump_run *runs;		/* ... and where, in address order */
	size_t nr_runs, cap_runs;
};

struct dump_task {
	pid_t pid, ppid, pgid, sid;
	bool zombie, stopped;
	int exit_code;
	struct dump_thread *th;
	size_t nr_th;
	struct proc_stat stat;
	struct proc_status status;
	struct proc_limits limits;
	struct proc_mm mm;
	struct proc_maps maps;
	struct dump_vma *vmas;		/* parallel to maps.vma */
	struct collect_sigaction act[COLLECT_NSIG];
	struct itimerval itimers[3];
	struct proc_timers ptimer_ids;
	struct collect_posix_timer *ptimers;
	struct collect_prctl prctl;
	siginfo_t *shared_pending;
	size_t nr_shared;
	uint32_t umask;
	int32_t oom_score_adj;
	uint32_t loginuid;
	char cwd[PATH_MAX], root[PATH_MAX];
	uint32_t exe_id, cwd_id, root_id;
	uint32_t vm_id, files_id, fs_id, sighand_id;
	uint32_t ns_id[8];		/* pid net ipc uts mnt user cgroup time */
	struct dump_run *runs;
	size_t nr_runs, cap_runs;
	uint64_t pages_scanned;
	/* dirty tracking (pre-dump, dump with --track-mem) */
	struct track_ctx trk;
	bool trk_open;
	bool relative;			/* written sets are relative to the parent */
	bool uffd_ours;			/* "uw" VmFlags are our registration */
	struct mem_ranges parent;	/* pages left to the parent (PE_PARENT) */
	struct dump_parts parent_parts;	/* ... until dump_final_walk_settle */
	struct mem_ranges parent_has;	/* pages the parent chain holds (relative) */
	struct dump_precopy pre;	/* copied before the freeze (the root) */
	struct mem_ranges from_pre;	/* ... and unchanged since: that copy is saved */
	struct mem_ranges guards;	/* guard-region pages (guards-PID.img) */
	struct mem_ranges untracked;	/* whole VMAs to start tracking (pre-dump) */
	struct mem_ranges written_frozen; /* pre-dump: written, just re-protected */
	/* live snapshot (dump-live.c) */
	struct snap_ctx *snap;		/* NULL: copied frozen */
	struct dump_walk_job *early_walk; /* walking during the remote calls (dump-walk.c) */
	struct dump_final_walk prewalk;	/* the root's final walk before the freeze */
};

/* A regular file the images refer to (exe, cwd, root, mapped files). */
struct dump_file {
	uint32_t id;
	uint64_t dev, ino;
	uint32_t flags;
	uint32_t mode;
	uint64_t size;
	char *path;
};

struct dump_files {
	struct dump_file *f;
	size_t nr, cap;
};

struct dump_stats {
	uint64_t freezing_us, frozen_us, memdump_us, memwrite_us;
	uint64_t pages_scanned, pages_skipped_parent, pages_written;
	uint64_t livecopy_us, live_faults;	/* live snapshot */
};

struct dump_ctx {
	const struct crisp_opts *o;
	struct img_dir dir;
	bool dir_open;
	struct freeze_tree tree;
	bool frozen;
	struct dump_task *tasks;	/* parallel to tree.task */
	size_t nr_tasks;
	struct dump_files files;
	struct files_dump fds;		/* open fds of every task (engine/files) */
	struct dump_stats stats;
	uint8_t *staging;		/* every saved page, in pagemap order */
	size_t staging_len, staging_used;
	size_t staging_resv;		/* address space reserved at staging (>= staging_len) */
	size_t live_used;		/* live snapshot slots, past DUMP_STAGING_LIVE */
	bool stream_pages;		/* no staging: pages-N.img written as pages are read */
	uint64_t t_start, t_frozen, t_memdump_end, t_released;
	bool predump;			/* `crisp pre-dump` */
	enum track_mode track_mode;
	bool have_parent;		/* --prev-images-dir with a usable inventory */
	struct track_stamp parent_stamp;
	uint64_t dump_uptime;		/* written into inventory.img */
	struct track_ctx root_trk;	/* the root's tracking, opened before the freeze */
	bool root_trk_open;
	bool root_relative;		/* ... relative to the parent, which holds: */
	struct mem_ranges root_parent_has;
	struct dump_precopy root_pre;	/* until dump_track_open_task takes it over */
	struct dump_final_walk root_prewalk; /* ... as this (dump_prewalk) */
	bool live;			/* this dump -R takes a live snapshot */
	bool live_copied;		/* ... and its copy is over */
	struct snap_ctx *root_snap;	/* armed before the freeze, until adopted */
	struct proc_maps pre_smaps;	/* the root's smaps, read before the freeze */
	bool have_pre_smaps;
	long faults_frozen;		/* crisp's own page faults at the freeze */
	bool awake;			/* dump-awake.c's request is held: */
	int awake_fd;			/* ... open on this fd */
	bool yield_group_lowered;	/* crisp's session group is at nice 19 */
	int yield_group_was;		/* ... and goes back to this nice */
	struct dump_yield_watch *yield_watch; /* dump-yield.c's, once crisp yields */
};

/* dump.c */
int dump_main(const struct crisp_opts *o);
/* Fails (-errno, logged) when nothing can be written into the images dir. */
int dump_probe_dir(struct dump_ctx *c);
/* The start dump and pre-dump share: -t and -D given (@cmd names the
 * command in the error), the images dir open in c->dir. 0 or -errno, logged. */
int dump_begin(struct dump_ctx *c, const char *cmd);
/* The end they share: after a failed run (@err) the tree is let go as it
 * was, tracking dropped and the images removed; the outcome is logged as
 * "@doing FAILED." or "@doing finished successfully"; c->dir is closed. */
void dump_end(struct dump_ctx *c, int err, const char *doing);

/* dump-refuse.c: resources crisp cannot dump yet. -EOPNOTSUPP, logged. */
int dump_refuse_task(const struct crisp_opts *o, pid_t pid);
int dump_refuse_vmas(const struct dump_task *t);

/* dump-tree.c */
/* Refuses the root, freezes its tree and lists the tasks in @c (the part
 * dump and pre-dump share); dump_tree_freeze then refuses every task. */
int dump_tree_freeze_list(struct dump_ctx *c);
int dump_tree_freeze(struct dump_ctx *c);
int dump_tree_collect(struct dump_ctx *c);
int dump_tree_release(struct dump_ctx *c, enum freeze_release_mode mode);
void dump_ctx_free(struct dump_ctx *c);

/* dump-walk.c: the final dump's walk of a task's tracked VMAs
 * (those dump_track_final_covers), cut into pieces that two threads walk
 * at once where there is enough memory and a second CPU. _run walks every
 * piece (0, or the first piece's error: then nothing is usable), and for a
 * task relative to its parent also splits each piece's pages into those
 * left to the parent and those to copy; _join then gives, VMA by VMA from
 * piece *@i on, what track_collect_final gives for the whole VMA (into
 * @out, which the caller frees with dump_walk_vma_free), or appends that
 * split to the lists of @into, and moves *@i to the next VMA's first piece.
 * _reserve, before the first _join, makes room in @into for every split
 * piece at once. The pages left to the parent are kept as parts: at 4 GiB
 * their list holds some 90,000 ranges, and copying them into one list took
 * 0.22 ms of the freeze, where only the writing of the images, after the
 * release, reads it. dump_final_walk_settle joins the parts there into
 * t->parent (and counts its pages in the stats). */
struct dump_walk_vma {
	struct track_vma_scan s;
	bool split;		/* appended to @into: s holds nothing */
};
/* What a split VMA is appended to: what dump_track_relative_into gives
 * (pages to copy, left to the parent, taken from the copy before the
 * freeze) and its guards. */
struct dump_walk_into {
	struct mem_ranges *copy, *from_pre, *guards;
	struct dump_parts *parent;
};
int dump_final_walk_run(struct dump_task *t, struct dump_final_walk *w);
/* The root's final walk while it still runs, just before the freeze, on
 * its private anonymous VMAs (c->pre_smaps), into c->root_prewalk: only
 * after a copy before the freeze (dump_precopy), which protected again
 * every page written since the parent. The final walk then walks again
 * only what changed since (see dump-walk.c). Failing here costs only that:
 * nothing is kept and the freeze walks everything. */
void dump_prewalk(struct dump_ctx *c);
int dump_final_walk_reserve(const struct dump_final_walk *w, const struct dump_walk_into *into);
int dump_final_walk_join(struct dump_task *t, struct dump_final_walk *w, size_t *i,
			 const struct dump_walk_into *into, struct dump_walk_vma *out);
void dump_walk_vma_free(struct dump_walk_vma *v);
void dump_final_walk_free(struct dump_final_walk *w);
int dump_final_walk_settle(struct dump_ctx *c, struct dump_task *t);
/* Takes @r's ranges into @ps as one part (@r emptied). 0 or -ENOMEM (@r
 * then as it was). */
int dump_parts_take(struct dump_parts *ps, struct mem_ranges *r, bool seam);
void dump_parts_free(struct dump_parts *ps);
/* The guard scan of the VMAs the final walk does not cover (all but the
 * kernel's own areas when there is none), the same way; appends to
 * t->guards in address order. 0 or -errno, logged. */
int dump_guards_walk(struct dump_task *t);
/* Starts the task's page-table walk of the freeze (the final walk when it
 * is relative to its parent, the guard scan otherwise) on a helper thread,
 * to go on while the caller reads what /proc tells (after the remote calls:
 * a task thread woken on the helper's CPU would wait for it); then
 * dump_final_walk_run or dump_guards_walk finishes it with the caller. Does nothing
 * where it would not pay (little memory, one CPU) or cannot start. _drop
 * stops and forgets an early walk never finished (a failed dump). */
void dump_walk_start_early(struct dump_task *t);
void dump_walk_early_drop(struct dump_task *t);
/* True when this process may run on more than one CPU. */
bool dump_two_cpus(void);

/* dump-heap.c: dump_heap_warm (before the freeze) leaves malloc with
 * touched memory for what the freeze builds; the other two count crisp's
 * own page faults while frozen (logged at the release). */
void dump_heap_warm(struct dump_ctx *c);
void dump_heap_frozen(struct dump_ctx *c);
void dump_heap_released(struct dump_ctx *c);

/* dump-awake.c: _begin, just before the freeze, asks the kernel to keep
 * idle CPUs polling (a CPU-latency request of 0 us) where crisp may;
 * _end, once the tree runs again (or will not), drops the request. Both
 * are silent where nothing is held; dump_end calls _end too. */
void dump_awake_begin(struct dump_ctx *c);
void dump_awake_end(struct dump_ctx *c);

/* dump-yield.c: crisp's threads (and, when the tree is in another session,
 * crisp's session group, after a live snapshot's copy) go to nice 19 once
 * the tree runs again, and a step back up each time a watch thread finds
 * crisp starved of the CPU; dump_yield_end stops the watch and gives the
 * group its nice back (dump_end calls it). */
void dump_yield_cpu(struct dump_ctx *c);
void dump_yield_end(struct dump_ctx *c);

/* dump-core.c: a task's core, collected in two parts while it is frozen:
 * _remote, what ptrace and the remote calls tell (timers, registers,
 * masks, signals, signal actions, itimers, prctl values); then _proc, what
 * /proc and the scheduler tell (status, limits, each thread's nice, policy
 * and comm), which needs no task thread to run. */
int dump_core_collect_remote(struct dump_ctx *c, struct dump_task *t);
int dump_core_collect_proc(struct dump_ctx *c, struct dump_task *t);
int dump_core_write(struct dump_ctx *c, const struct dump_task *t);

/* dump-regs.c: thread_info from a thread's registers */
int dump_regs_encode(const struct dump_thread *th, ThreadInfoX86 **out);
void dump_regs_encoded_free(ThreadInfoX86 *ti);

/* dump-mm.c; dump_vma_kernels: a VMA named @name is the kernel's own
 * ([vdso], [vvar*], [vsyscall]): never saved, put back by restore */
bool dump_vma_kernels(const char *name);
void dump_mm_preread(struct dump_ctx *c);
int dump_mm_collect(struct dump_ctx *c, struct dump_task *t);
int dump_mm_write(struct dump_ctx *c, const struct dump_task *t);

/* dump-guards.c: guard regions (MADV_GUARD_INSTALL), the guards-PID.img
 * extension. Collect while the task is frozen (the scan may have been
 * started early: dump_walk_start_early); write only if there are any. */
int dump_guards_collect(struct dump_task *t);
int dump_guards_write(struct dump_ctx *c, const struct dump_task *t);

/* dump-pages.c */
int dump_pages_prepare(struct dump_ctx *c);
/* Makes the staging area at least @want bytes; it moves only when its
 * address-space reserve could not be had. 0 or -errno. */
int dump_pages_grow(struct dump_ctx *c, size_t want);
/* Where the live snapshot's next slot goes in staging (live_next), and
 * taking @len bytes there (live_take): far past the pages read frozen, so
 * that those land in the part populated before the freeze, or right after
 * them without a reserve. Grow to dump_pages_live_end() before the copy. */
size_t dump_pages_live_next(const struct dump_ctx *c);
void dump_pages_live_take(struct dump_ctx *c, size_t len);
size_t dump_pages_live_end(const struct dump_ctx *c);
int dump_pages_read(struct dump_ctx *c, struct dump_task *t);
int dump_pages_write(struct dump_ctx *c, const struct dump_task *t, unsigned int pages_id);

/* dump-shmem.c: shared anonymous pages once per object, in
 * pagemap-shmem-SHMID.img (a dump without a parent only). split takes them
 * out of the tasks' runs (before their pagemaps are written); write puts
 * each object's pages into pages-(@first_pages_id + k).img. */
struct dump_shms;
/* Whether this dump saves shared anonymous memory per object (no parent,
 * and some task maps such memory): its pages must then be staged. */
bool dump_shmem_wanted(const struct dump_ctx *c);
int dump_shmem_split(struct dump_ctx *c, struct dump_shms **out);
int dump_shmem_write(struct dump_ctx *c, const struct dump_shms *s, unsigned int first_pages_id);
void dump_shmem_free(struct dump_shms *s);

/* dump-files.c */
int dump_files_add(struct dump_files *fs, const char *path, uint32_t flags, uint32_t *id);
int dump_files_write(struct dump_ctx *c);
void dump_files_free(struct dump_files *fs);

/* dump-misc.c */
int dump_misc_collect(struct dump_ctx *c);
struct TaskKobjIdsEntry;
void dump_misc_fill_ids(struct TaskKobjIdsEntry *ids, const struct dump_task *t);
int dump_misc_write_task(struct dump_ctx *c, const struct dump_task *t);
int dump_misc_write_pstree(struct dump_ctx *c);
int dump_misc_write_inventory(struct dump_ctx *c);
int dump_misc_write_predump_inventory(struct dump_ctx *c);

/* dump-track.c: dirty tracking and parent images for pre-dump and dump */
int dump_track_parent(struct dump_ctx *c);
int dump_track_open_root(struct dump_ctx *c);
int dump_track_open_task(struct dump_ctx *c, struct dump_task *t);
void dump_track_classify(struct dump_task *t);
int dump_track_collect(struct dump_ctx *c, struct dump_task *t, bool reprotect,
		       struct mem_ranges *copy);
int dump_track_reprotect(struct dump_ctx *c, struct dump_task *t);
/* The final dump of a task relative to its parent: VMA @i is collected by
 * dump_track_collect_final, guard pages included. */
bool dump_track_final_covers(const struct dump_task *t, size_t i);
int dump_track_collect_final(struct dump_task *t, struct mem_ranges *copy);
/* A tracked walk @s relative to the parent's pages @parent_has: appends to
 * @parent the pages left to the parent, to @copy the rest of s->present.
 * With @pre (may be NULL), written since then rather than since the parent:
 * a page @pre protected again never goes to the parent, and one it copied
 * and not written since goes to @from_pre instead of @copy.
 * Reads only its inputs: threads may call it at once on other outputs. */
int dump_track_relative_into(const struct mem_ranges *parent_has, const struct dump_precopy *pre,
			     struct mem_ranges *from_pre, const struct track_vma_scan *s,
			     struct mem_ranges *parent, struct mem_ranges *copy);
int dump_track_plan(struct dump_ctx *c, struct dump_task *t, struct mem_ranges *copy);
int dump_track_finish(struct dump_ctx *c, bool ok);

/* dump-pages.c, also used by pre-dump */
int dump_pages_write_pagemap(struct dump_ctx *c, const struct dump_task *t, unsigned int pages_id);
int dump_pages_add_run(struct dump_task *t, uint64_t vaddr, uint64_t nr, size_t off);
/* Appends a run (merged with the last one where addresses and offsets
 * follow on); sorts a task's runs by address. */
int dump_runs_add(struct dump_run **runs, size_t *nr_runs, size_t *cap_runs, uint64_t vaddr,
		  uint64_t nr, size_t off);
void dump_pages_sort_runs(struct dump_task *t);

/* dump-precopy.c: before the freeze of a final dump that stages its pages
 * (uffd-wp tracking, relative to the parent), the root's pages written since
 * the parent are protected again and copied while it runs, so that the
 * freeze copies only what is written after (c->root_pre; a failure here
 * fails the dump, and the tracking is not trusted again: track_begin_round).
 * _adopt, after the release (dump_collect_settle in dump.c): t->from_pre's
 * pages join t->runs from that copy. _free: both. */
int dump_precopy(struct dump_ctx *c);
int dump_precopy_adopt(struct dump_task *t);
void dump_precopy_free(struct dump_precopy *p);

/* dump-live.c: the live snapshot of dump --leave-running */
int dump_live_decide(struct dump_ctx *c);
void dump_live_prearm(struct dump_ctx *c);
void dump_live_adopt(struct dump_ctx *c);
int dump_live_arm(struct dump_ctx *c, size_t i);
int dump_live_copy(struct dump_ctx *c);
void dump_live_close(struct dump_ctx *c);

/* predump.c / predump-copy.c: `crisp pre-dump` */
int predump_main(const struct crisp_opts *o);
int predump_copy(struct dump_ctx *c, struct dump_task *t, const struct mem_ranges *copy,
		 unsigned int pages_id);

/* dump-stats.c */
int dump_stats_write(struct dump_ctx *c);
void dump_stats_print(const struct dump_ctx *c);

#endif
