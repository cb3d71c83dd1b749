/* proc_tasks — the threads of a task and the children of a thread.
 *
 * Lists /proc/PID/task and parses /proc/PID/task/TID/children; both give a
 * sorted, duplicate-free array of ids. No ptrace, no signals.
 */
#ifndef CRISP_PROC_TASKS_H
#define CRISP_PROC_TASKS_H

#include <stddef.h>
#include <sys/types.h>

struct proc_pids {
	pid_t *pid;
	size_t nr, cap;
};

/* Parses a space-separated list of pids ("12 34 \n") into @out (cleared
 * first; free with proc_pids_free). Returns 0, -EINVAL or -ENOMEM. */
int proc_parse_pid_list(const char *buf, size_t len, struct proc_pids *out);

/* The thread ids of @pid (from /proc/@pid/task). 0 or -errno. */
int proc_list_threads(pid_t pid, struct proc_pids *out);

/* The children of thread @tid of @pid (task/@tid/children). 0 or -errno. */
int proc_read_children(pid_t pid, pid_t tid, struct proc_pids *out);

/* Adds @p unless it is there already, keeping the array sorted. */
int proc_pids_add(struct proc_pids *s, pid_t p);

/* True when @p is in @s. */
int proc_pids_has(const struct proc_pids *s, pid_t p);

void proc_pids_free(struct proc_pids *s);

#endif
