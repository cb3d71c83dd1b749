/* proc_autogroup — /proc/PID/autogroup: the scheduler group of a session.
 *
 * With autogroup on, the kernel gives each session one group that shares the
 * CPU with the others as a single nice-0 task would; a thread's own nice only
 * orders it within its group. The file names the group and that group's nice.
 * Reads and sets that nice; when to do so is the caller's business.
 */
#ifndef CRISP_PROC_AUTOGROUP_H
#define CRISP_PROC_AUTOGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_autogroup {
	uint64_t id;	/* N of "/autogroup-N" */
	int nice;	/* -20..19 */
};

/* Parses "/autogroup-N nice X\n". 0, or -EINVAL on anything else. */
int proc_parse_autogroup(const char *buf, size_t len, struct proc_autogroup *ag);

/* Reads and parses /proc/@pid/autogroup (0: this process). 0 or -errno:
 * -ENOENT where the kernel has no autogroup, -EINVAL on an unknown format. */
int proc_read_autogroup(pid_t pid, struct proc_autogroup *ag);

/* Sets the nice of this process's session group (everyone in the session
 * shares it). 0 or -errno: -ENOENT without autogroup, -EPERM to go below
 * what RLIMIT_NICE allows, -EAGAIN when, without CAP_SYS_ADMIN, the last
 * change was less than 100 ms ago (the kernel's rate limit). */
int proc_set_autogroup_nice(int nice);

#endif
