/* proc_stat — /proc/PID/stat (and task/TID/stat) into struct proc_stat.
 *
 * Text in, plain struct out; the mm boundaries (fields 26-28 and 45-51) are
 * zero unless the reader may ptrace the task.
 */
#ifndef CRISP_PROC_STAT_H
#define CRISP_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_MAX 64

struct proc_stat {
	int64_t pid;
	char comm[PROC_COMM_MAX];	/* between the first '(' and the last ')' */
	char state;			/* R S D T t Z X I ... */
	int64_t ppid, pgid, sid, tty_nr, tpgid;
	uint64_t flags;			/* PF_* */
	uint64_t minflt, cminflt, majflt, cmajflt;
	uint64_t utime, stime;
	int64_t cutime, cstime, priority, nice, num_threads;
	uint64_t start_time;		/* clock ticks after boot */
	uint64_t vsize, rss, rsslim;
	uint64_t start_code, end_code, start_stack;
	uint64_t kstkesp, kstkeip;
	uint64_t signal, blocked, sigignore, sigcatch;	/* obsolete masks */
	uint64_t wchan, nswap, cnswap;
	int64_t exit_signal, processor;
	uint64_t rt_priority, policy, delayacct_blkio_ticks;
	uint64_t guest_time;
	int64_t cguest_time;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int64_t exit_code;
};

/*
 * Parses @len bytes of a stat line into @st. Needs all 52 fields (later
 * ones are ignored if numeric). Returns 0 or -EINVAL.
 */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *st);

/* Reads /proc/@pid/stat (or its thread @tid's when @tid > 0) and parses it. */
int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st);

#endif
