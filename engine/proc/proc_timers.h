/* proc_timers — a task's POSIX timers as /proc/PID/timers lists them.
 *
 * Gives ids, signal, sigval and notification; the times themselves need
 * timer_gettime inside the task (engine/infect). Parsing only.
 */
#ifndef CRISP_PROC_TIMERS_H
#define CRISP_PROC_TIMERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum proc_timer_notify {
	PROC_TIMER_SIGNAL,	/* SIGEV_SIGNAL */
	PROC_TIMER_NONE,	/* SIGEV_NONE */
	PROC_TIMER_THREAD,	/* SIGEV_THREAD (libc's thread notification) */
};

struct proc_timer {
	int32_t id;
	int32_t signo;
	uint64_t sigval;		/* sival_ptr */
	enum proc_timer_notify notify;
	int thread_id;			/* SIGEV_THREAD_ID: notify_pid is a tid */
	int32_t notify_pid;
	int32_t clock_id;
};

struct proc_timers {
	struct proc_timer *t;
	size_t nr;
};

/* Parses @len bytes of /proc/PID/timers (4 lines per timer) into @out
 * (free with proc_timers_free). Returns 0, -EINVAL or -ENOMEM. */
int proc_parse_timers(const char *buf, size_t len, struct proc_timers *out);

int proc_read_timers(pid_t pid, struct proc_timers *out);

void proc_timers_free(struct proc_timers *t);

#endif
