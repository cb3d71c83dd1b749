/* proc_limits — /proc/PID/limits parser (see proc_limits.h). */
#include "proc_limits.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proc_lex.h"
#include "proc_read.h"

/* The kernel's names, indexed by RLIMIT_* number. */
static const char *const proc_rlimit_names[PROC_RLIM_NLIMITS] = {
	[RLIMIT_CPU] = "Max cpu time",
	[RLIMIT_FSIZE] = "Max file size",
	[RLIMIT_DATA] = "Max data size",
	[RLIMIT_STACK] = "Max stack size",
	[RLIMIT_CORE] = "Max core file size",
	[RLIMIT_RSS] = "Max resident set",
	[RLIMIT_NPROC] = "Max processes",
	[RLIMIT_NOFILE] = "Max open files",
	[RLIMIT_MEMLOCK] = "Max locked memory",
	[RLIMIT_AS] = "Max address space",
	[RLIMIT_LOCKS] = "Max file locks",
	[RLIMIT_SIGPENDING] = "Max pending signals",
	[RLIMIT_MSGQUEUE] = "Max msgqueue size",
	[RLIMIT_NICE] = "Max nice priority",
	[RLIMIT_RTPRIO] = "Max realtime priority",
	[RLIMIT_RTTIME] = "Max realtime timeout",
};

static int proc_limit_value(const char **p, const char *end, uint64_t *v)
{
	if (proc_lex_starts(*p, end, "unlimited")) {
		*p += 9;
		*v = PROC_RLIM_INFINITY;
		return 0;
	}
	return proc_lex_u64(p, end, 10, v);
}

int proc_parse_limits(const char *buf, size_t len, struct proc_limits *out)
{
	const char *p = buf, *end = buf + len, *eol;
	bool seen[PROC_RLIM_NLIMITS] = { false };
	int i;

	memset(out, 0, sizeof(*out));
	eol = proc_lex_eol(p, end);
	if (!proc_lex_starts(p, eol, "Limit "))
		return -EINVAL;
	p = eol < end ? eol + 1 : end;
	while (p < end) {
		eol = proc_lex_eol(p, end);
		for (i = 0; i < PROC_RLIM_NLIMITS; i++)
			if (proc_lex_starts(p, eol, proc_rlimit_names[i]))
				break;
		if (i == PROC_RLIM_NLIMITS || seen[i])
			return -EINVAL;
		seen[i] = true;
		p += strlen(proc_rlimit_names[i]);
		if (proc_lex_blanks(&p, eol) == 0 || proc_limit_value(&p, eol, &out->cur[i]) ||
		    proc_lex_blanks(&p, eol) == 0 || proc_limit_value(&p, eol, &out->max[i]))
			return -EINVAL;
		if (out->cur[i] > out->max[i])
			return -EINVAL;
		/* then the units word, or nothing */
		proc_lex_blanks(&p, eol);
		while (p < eol && *p >= 'a' && *p <= 'z')
			p++;
		proc_lex_blanks(&p, eol);
		if (p != eol)
			return -EINVAL;
		p = eol < end ? eol + 1 : end;
	}
	for (i = 0; i < PROC_RLIM_NLIMITS; i++)
		if (!seen[i])
			return -EINVAL;
	return 0;
}

int proc_read_limits(pid_t pid, struct proc_limits *out)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, 0, "limits", &buf, &len);
	if (err)
		return err;
	err = proc_parse_limits(buf, len, out);
	free(buf);
	return err;
}
