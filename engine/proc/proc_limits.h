/* proc_limits — a task's rlimits from /proc/PID/limits text.
 *
 * The text is what any reader may see; prlimit on a task of another uid
 * needs CAP_SYS_RESOURCE, which crisp may not have. Parsing only.
 */
#ifndef CRISP_PROC_LIMITS_H
#define CRISP_PROC_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define PROC_RLIM_NLIMITS 16	/* RLIMIT_CPU .. RLIMIT_RTTIME */
#define PROC_RLIM_INFINITY UINT64_MAX

struct proc_limits {
	uint64_t cur[PROC_RLIM_NLIMITS], max[PROC_RLIM_NLIMITS];	/* by RLIMIT_* */
};

/*
 * Parses @len bytes of /proc/PID/limits. The header line and all 16 limits
 * must be there, each once, with soft <= hard. Returns 0 or -EINVAL.
 */
int proc_parse_limits(const char *buf, size_t len, struct proc_limits *out);

/* Reads /proc/@pid/limits and parses it. */
int proc_read_limits(pid_t pid, struct proc_limits *out);

#endif
