/* freeze — seize a process tree with ptrace and let it go again.
 *
 * Every thread of every task in the tree gets PTRACE_SEIZE + PTRACE_INTERRUPT;
 * then the tree is resumed, left stopped or killed. A failed freeze leaves
 * every task as it found it. Reads no state of the tasks beyond the tree.
 */
#ifndef CRISP_FREEZE_H
#define CRISP_FREEZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc_tasks.h"

struct freeze_task {
	pid_t pid;
	pid_t parent;			/* 0 for the root */
	bool zombie;			/* not seized: nothing to stop */
	bool was_stopped;		/* in group stop (SIGSTOP) before seizing */
	struct proc_pids threads;	/* seized and stopped */
};

struct freeze_tree {
	struct freeze_task *task;	/* task[0] is the root; parents first */
	size_t nr, cap;
	unsigned int timeout_ms;	/* 0: no limit */
	uint64_t freeze_start_ns;	/* CLOCK_MONOTONIC */
	uint64_t freeze_end_ns;		/* everything stopped */
	uint64_t release_ns;		/* freeze_release() let go */
};

enum freeze_release_mode {
	FREEZE_RESUME,		/* detach: running tasks run, stopped stay stopped */
	FREEZE_LEAVE_STOPPED,	/* detach into group stop (SIGSTOP) */
	FREEZE_KILL,		/* SIGKILL every task */
};

/*
 * Seizes the tree rooted at @root (threads from /proc/PID/task, children
 * from task/TID/children), re-listing threads until no new one appears.
 * Zombies are recorded but not seized. Refuses with -EBUSY a task that is
 * already traced; -ESRCH when @root does not exist; -ETIMEDOUT after
 * @timeout_ms (0: none). On failure everything seized is released with
 * FREEZE_RESUME and @t is empty. Free with freeze_tree_free.
 */
int freeze_tree(struct freeze_tree *t, pid_t root, unsigned int timeout_ms);

/* Releases every seized thread as @mode says. Returns 0 or the first -errno
 * (the other tasks are still released). @t keeps its task list. */
int freeze_release(struct freeze_tree *t, enum freeze_release_mode mode);

/*
 * Seizes and stops thread @tid of task @pid alone, for remote calls made
 * before a freeze; the rest of the tree runs on. Detach it with
 * PTRACE_DETACH. Returns 0 once it is stopped; -ESRCH when it is gone,
 * -EBUSY when already traced, -ETIMEDOUT after @timeout_ms (0: none), and
 * on any failure the thread is left as it was.
 */
int freeze_stop_one(pid_t pid, pid_t tid, unsigned int timeout_ms);

/* The task with @pid, or NULL. */
struct freeze_task *freeze_find(struct freeze_tree *t, pid_t pid);

void freeze_tree_free(struct freeze_tree *t);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t freeze_now_ns(void);

#endif
