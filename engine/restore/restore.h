/* restore — `crisp restore`: the context shared by the restore stages and
 * their entry points. restore.c calls the stages in order; each stage file
 * owns one concern (images, memory plan, premap in the new task, signal
 * frames, the task's life, stats). Nothing here runs on its own.
 */
#ifndef CRISP_RESTORE_H
#define CRISP_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "files.h"
#include "files.pb-c.h"
#include "fs.pb-c.h"
#include "img.h"
#include "mm.pb-c.h"
#include "pstree.pb-c.h"
#include "opts.h"
#include "restorer.h"

/* A run of saved pages: where it goes and where its bytes are in pages-N,
 * or (in_parent) that they are read through the parent chain. */
struct rst_pages_run {
	uint64_t vaddr, nr_pages;
	uint64_t file_off;		/* in pages-N.img; unused when in_parent */
	bool in_parent;
};

struct page_chain;

struct rst_images {
	struct img_file inventory, pstree, mm, pagemap, files, fs;
	struct img_file guards;		/* guards-PID.img (crisp extension), maybe empty */
	struct img_file *core;		/* one per thread, leader first */
	size_t nr_threads;
	pid_t pid;
	pid_t *tids;
	CoreEntry **cores;		/* core[i]'s entry, leader first */
	MmEntry *mme;
	FsEntry *fse;
	struct rst_pages_run *runs;
	size_t nr_runs;
	unsigned int pages_id;
	int pages_fd;
	uint64_t pages_len;
	/* PE_PARENT runs: the chain, opened and verified before the task is
	 * created (NULL when every page is in this directory) */
	struct page_chain *chain;
	uint64_t parent_pages;
	unsigned int chain_depth;	/* levels, this directory included */
};

/* Our own vdso/vvar areas (from /proc/self/maps). */
struct rst_own_special {
	uint64_t start, end;
	bool vdso;
};

struct rst_stats {
	uint64_t forking_us, restore_us;
	uint64_t pages_restored;	/* parent pages included, as CRIU counts */
};

struct rst_tree;

struct rst_ctx {
	const struct crisp_opts *o;
	/* the task's place in the tree (pstree.img, rst-tree.c) */
	struct rst_tree *tree;
	size_t idx;				/* tree->task[idx] is this one */
	pid_t ppid;				/* 0: the root */
	pid_t creator;				/* forks it: ppid, or a helper */
	pid_t sid, pgid;			/* as dumped (pstree.img) */
	bool helper;				/* a session helper (rst-helpers.c) */
	pid_t want_sid, want_pgid;		/* 0: inherited as is (--shell-job) */
	bool zombie;				/* core says dead: exits with exit_code */
	uint32_t exit_code;			/* a wait status, as /proc/PID/stat's */
	uint64_t clone_flags;			/* CLONE_FS shared with its parent */
	pid_t files_owner;			/* creates the fd table it uses (CLONE_FILES:
						 * an ancestor; else itself) */
	const PstreeEntry *pe;			/* its pstree.img entry */
	struct img_file *ids;			/* ids-PID.img, NULL if absent */
	struct img_dir dir;
	bool dir_open;
	struct rst_images im;
	/* the shared region: blob, args, vma table, threads, stacks, frames */
	uint8_t *region;
	size_t region_len;
	struct rst_args *args;
	uint64_t premap_base, premap_len;	/* chosen before the clone */
	size_t *premap_vma;			/* rst_vma i is mme->vmas[premap_vma[i]] */
	struct rst_own_special own[RST_MAX_SPECIAL];
	size_t nr_own;
	size_t frames_off, frame_size;		/* in the region, per thread */
	int pidfd;
	pid_t pid;				/* the task's PID */
	bool child_ours;			/* we are its parent (no -S) */
	struct rst_stats stats;
	uint64_t t_start;
};

/* A MAP_SHARED anonymous object several VMAs (of one or more tasks) map:
 * created once by the engine, inherited by every task, and mapped by each
 * through /proc/self/map_files. */
struct rst_shm {
	uint64_t shmid;			/* the dumped object's inode */
	uint64_t size;
	void *addr;			/* the engine's mapping of it */
};

/* The whole restore: every task of pstree.img, parents first. */
struct rst_tree {
	const struct crisp_opts *o;
	struct img_dir dir;
	struct img_file pstree;
	struct rst_ctx *task;		/* task[0] is the root */
	size_t nr;
	struct rst_shm *shm;
	size_t nr_shm;
	bool subreaper;			/* we made ourselves one for the restore */
	struct files_rst fr;		/* every task's fds (engine/files) */
	struct rst_stats stats;
	uint64_t t_start;
};

/* restore.c */
int restore_main(const struct crisp_opts *o);

/* rst-tree.c: pstree.img into tasks, sessions and groups checked; every
 * task's images and plan; creating the root,
 * waiting until every task is parked, letting all go, or killing all. */
int rst_tree_prepare(struct rst_tree *t);
int rst_tree_create(struct rst_tree *t);
int rst_tree_wait_parked(struct rst_tree *t);
int rst_tree_release(struct rst_tree *t);
void rst_tree_abort(struct rst_tree *t);
void rst_tree_free(struct rst_tree *t);

/* rst-shm.c: one engine mapping per MAP_SHARED anonymous object of the
 * tree, and runs dropped from later tasks' fills where an earlier task fills
 * the same object pages. 0 or -errno, logged. */
int rst_shm_prepare(struct rst_tree *t);
void rst_shm_free(struct rst_tree *t);
/* The fd of shared anonymous object @shmid for a task's mapping of it, or
 * -errno (-ENOENT: none was prepared). Runs in the new task. */
int rst_shm_open(const struct rst_ctx *c, uint64_t shmid);

/* rst-helpers.c: a session whose leader has exited is rebuilt with a
 * helper task that takes the leader's PID, calls setsid, forks the tasks
 * of the session that were reparented and exits; they go to their dumped
 * parent, which must be a child subreaper. A group whose leader has exited
 * gets a helper that holds it until its members joined. Adds the helpers
 * to @t (whose task array has room for them). 0 or -errno, logged. */
int rst_helpers_add(struct rst_tree *t);
__attribute__((noreturn)) void rst_helper_main(struct rst_ctx *h);

/* rst-fork.c: in the new task, before anything else: the session and group
 * it leads, its children (clone3 with set_tid; zombies exit at once with
 * their status), the group it joins. A task forks its children before it
 * maps memory or installs files of its own. Fails through rst_child_fail. */
void rst_fork_children(struct rst_ctx *c);
/* Creates task @k (clone3 with set_tid) as a child of the calling task @c,
 * a task or a helper. Returns 0 in the parent, -errno if the clone failed;
 * never returns in the child. */
int rst_fork_one(const struct rst_ctx *c, struct rst_ctx *k);

/* rst-images.c: every image the restore needs, checked. 0 or -errno. */
int rst_images_read(struct rst_ctx *c);
void rst_images_free(struct rst_images *im);
/* The path of reg file @id from files.img, or NULL. */
const char *rst_images_file_path(const struct rst_images *im, uint32_t id);

/* rst-files.c: opens every task's files in the engine (after the plans and
 * clone flags, before the root is created); each task installs its own.
 * 0 or -errno, logged. */
int rst_files_prepare(struct rst_tree *t);

/* rst-plan.c: the shared region at a spot no target VMA uses, the premap
 * reservation and the restorer's argument block. 0 or -errno. */
int rst_plan(struct rst_ctx *c);
void rst_plan_free(struct rst_ctx *c);

/* rst-frame.c: each thread's rt_sigframe (registers, FPU/XSAVE, mask,
 * sigaltstack) in the region; sets rst_thread.frame_sp. 0 or -errno. */
int rst_frames_build(struct rst_ctx *c);

/* rst-child.c: runs in the new task (engine code still): premaps and fills
 * memory, task-wide state, then jumps into the restorer. Never returns;
 * failures are reported through args->stage/err/msg. */
__attribute__((noreturn)) void rst_child_main(struct rst_ctx *c);

/* rst-child.c: reports a failure of the task (still engine code) to the
 * engine through the argument block, then exits. */
__attribute__((noreturn, format(printf, 3, 4)))
void rst_child_fail(struct rst_ctx *c, int err, const char *fmt, ...);

/* rst-task.c: the task's life. */
int rst_task_create(struct rst_ctx *c);
int rst_task_wait_parked(struct rst_ctx *c);
/* Release in steps, each done for every task before the next: seize its
 * threads, let them go, run them past rt_sigreturn and unmap the restorer
 * region, detach. */
int rst_task_seize(struct rst_ctx *c);
void rst_task_go(struct rst_ctx *c);
int rst_task_finish(struct rst_ctx *c);
int rst_task_detach(struct rst_ctx *c);
void rst_task_abort(struct rst_ctx *c);
const char *rst_step_name(int step);

/* rst-stats.c */
int rst_stats_write(struct img_dir *dir, const struct rst_ctx *c);
void rst_stats_print(const struct rst_ctx *c);

#endif
