/* proc_status — /proc/PID/status (and task/TID/status) into a plain struct.
 *
 * Signal masks, capabilities, ids, namespace pids, seccomp, thread count.
 * Text in, struct out; nothing is written anywhere.
 */
#ifndef CRISP_PROC_STATUS_H
#define CRISP_PROC_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_NS_LEVELS_MAX 33	/* MAX_PID_NS_LEVEL + 1 */
#define PROC_GROUPS_MAX 65536	/* NGROUPS_MAX */

struct proc_status {
	char name[64];
	char state;
	uint64_t umask;			/* PROC_STATUS_NO_UMASK when absent */
	int64_t tgid, pid, ppid, tracer_pid;
	uint32_t uid[4], gid[4];	/* real, effective, saved, fs */
	uint32_t *groups;		/* malloc'ed; free with proc_status_free */
	size_t nr_groups;
	int64_t nstgid[PROC_NS_LEVELS_MAX], nspid[PROC_NS_LEVELS_MAX];
	int64_t nspgid[PROC_NS_LEVELS_MAX], nssid[PROC_NS_LEVELS_MAX];
	size_t ns_levels;		/* entries in nspid (all four agree) */
	int64_t threads;
	uint64_t sigq_queued, sigq_limit;
	uint64_t sig_pending, shd_pending, sig_blocked, sig_ignored, sig_caught;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	bool no_new_privs;
	int seccomp;			/* 0 off, 1 strict, 2 filter */
	int64_t seccomp_filters;	/* -1 when the kernel does not say */
};

#define PROC_STATUS_NO_UMASK UINT64_MAX

/*
 * Parses @len bytes of status text into @st (free with proc_status_free).
 * Every line must be "Key:<blanks>value"; known keys are checked fully and
 * must appear once; Name, State, Tgid, Pid, PPid, TracerPid, Uid, Gid,
 * Groups, NSpid, Threads, the Sig and Cap masks and Seccomp are required.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int proc_parse_status(const char *buf, size_t len, struct proc_status *st);

/* Reads /proc/@pid/status (or task @tid's when @tid > 0) and parses it. */
int proc_read_status(pid_t pid, pid_t tid, struct proc_status *st);

void proc_status_free(struct proc_status *st);

#endif
