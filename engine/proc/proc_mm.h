/* proc_mm — the mm fields of a task: code/data/brk/stack/arg/env bounds
 * (from /proc/PID/stat), the auxiliary vector and the exe link.
 *
 * What PR_SET_MM_MAP will need on restore; brk itself is not in /proc (ask
 * the task: engine/infect). Reading and parsing only.
 */
#ifndef CRISP_PROC_MM_H
#define CRISP_PROC_MM_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_AUXV_MAX 64	/* pairs, terminating AT_NULL included */

struct proc_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv[PROC_AUXV_MAX * 2];
	size_t auxv_len;		/* in u64 words, AT_NULL pair included */
	char exe[PATH_MAX];		/* readlink of /proc/PID/exe */
};

/* Parses binary /proc/PID/auxv: (type, value) u64 pairs ending with AT_NULL.
 * Returns 0 or -EINVAL (odd size, no terminator, too many entries). */
int proc_parse_auxv(const void *buf, size_t len, struct proc_mm *mm);

/* Reads the stat fields, auxv and exe link of @pid into @mm. 0 or -errno;
 * -EPERM when the bounds read as zero (no ptrace access to the task). */
int proc_read_mm(pid_t pid, struct proc_mm *mm);

#endif
