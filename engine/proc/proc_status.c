/* proc_status — /proc/PID/status parser (see proc_status.h). */
#include "proc_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc_lex.h"
#include "proc_read.h"

enum proc_status_kind {
	PSK_NAME, PSK_STATE, PSK_U64_OCT, PSK_S64, PSK_IDS4, PSK_GROUPS,
	PSK_NSLIST, PSK_SIGQ, PSK_HEX, PSK_BOOL, PSK_INT,
};

struct proc_status_key {
	const char *key;
	enum proc_status_kind kind;
	size_t off;		/* of the field in struct proc_status */
	bool required;
};

#define PSF(f) offsetof(struct proc_status, f)

static const struct proc_status_key proc_status_keys[] = {
	{ "Name", PSK_NAME, PSF(name), true },
	{ "Umask", PSK_U64_OCT, PSF(umask), false },
	{ "State", PSK_STATE, PSF(state), true },
	{ "Tgid", PSK_S64, PSF(tgid), true },
	{ "Pid", PSK_S64, PSF(pid), true },
	{ "PPid", PSK_S64, PSF(ppid), true },
	{ "TracerPid", PSK_S64, PSF(tracer_pid), true },
	{ "Uid", PSK_IDS4, PSF(uid), true },
	{ "Gid", PSK_IDS4, PSF(gid), true },
	{ "Groups", PSK_GROUPS, 0, true },
	{ "NStgid", PSK_NSLIST, PSF(nstgid), false },
	{ "NSpid", PSK_NSLIST, PSF(nspid), true },
	{ "NSpgid", PSK_NSLIST, PSF(nspgid), false },
	{ "NSsid", PSK_NSLIST, PSF(nssid), false },
	{ "Threads", PSK_S64, PSF(threads), true },
	{ "SigQ", PSK_SIGQ, 0, false },
	{ "SigPnd", PSK_HEX, PSF(sig_pending), true },
	{ "ShdPnd", PSK_HEX, PSF(shd_pending), true },
	{ "SigBlk", PSK_HEX, PSF(sig_blocked), true },
	{ "SigIgn", PSK_HEX, PSF(sig_ignored), true },
	{ "SigCgt", PSK_HEX, PSF(sig_caught), true },
	{ "CapInh", PSK_HEX, PSF(cap_inh), true },
	{ "CapPrm", PSK_HEX, PSF(cap_prm), true },
	{ "CapEff", PSK_HEX, PSF(cap_eff), true },
	{ "CapBnd", PSK_HEX, PSF(cap_bnd), true },
	{ "CapAmb", PSK_HEX, PSF(cap_amb), false },
	{ "NoNewPrivs", PSK_BOOL, PSF(no_new_privs), false },
	{ "Seccomp", PSK_INT, PSF(seccomp), true },
	{ "Seccomp_filters", PSK_S64, PSF(seccomp_filters), false },
};

#define PROC_STATUS_NKEYS (sizeof(proc_status_keys) / sizeof(proc_status_keys[0]))

static int proc_status_list(const char **p, const char *end, int64_t *dst,
			    size_t max, size_t *count)
{
	size_t n = 0;
	uint64_t v;

	while (*p < end) {
		if (n == max || proc_lex_u64(p, end, 10, &v) || v > INT32_MAX)
			return -EINVAL;
		dst[n++] = (int64_t)v;
		if (proc_lex_blanks(p, end) == 0)
			break;
	}
	*count = n;
	return *p == end && n ? 0 : -EINVAL;
}

static int proc_status_groups(const char *p, const char *end,
			      struct proc_status *st)
{
	uint64_t v;
	uint32_t *ng;

	while (p < end) {
		if (proc_lex_u64(&p, end, 10, &v) || v > UINT32_MAX)
			return -EINVAL;
		if (st->nr_groups == PROC_GROUPS_MAX)
			return -EINVAL;
		ng = realloc(st->groups, (st->nr_groups + 1) * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		st->groups = ng;
		st->groups[st->nr_groups++] = (uint32_t)v;
		if (proc_lex_blanks(&p, end) == 0 && p < end)
			return -EINVAL;
	}
	return 0;
}

static int proc_status_value(const struct proc_status_key *k, const char *p,
			     const char *end, struct proc_status *st)
{
	char *field = (char *)st + k->off;
	uint64_t v, v2;
	int64_t s;
	size_t n, i;

	switch (k->kind) {
	case PSK_NAME:
		n = (size_t)(end - p);
		if (n >= sizeof(st->name) || memchr(p, '\0', n))
			return -EINVAL;
		memcpy(st->name, p, n);
		st->name[n] = '\0';
		return 0;
	case PSK_STATE:	/* "S (sleeping)" */
		if (p >= end || *p < 'A' || *p > 'z')
			return -EINVAL;
		st->state = *p;
		return 0;
	case PSK_U64_OCT:
		if (proc_lex_u64(&p, end, 8, &v) || p != end)
			return -EINVAL;
		memcpy(field, &v, sizeof(v));
		return 0;
	case PSK_S64:
		if (proc_lex_s64(&p, end, &s) || p != end)
			return -EINVAL;
		memcpy(field, &s, sizeof(s));
		return 0;
	case PSK_INT:
		if (proc_lex_u64(&p, end, 10, &v) || p != end || v > 1000)
			return -EINVAL;
		*(int *)field = (int)v;
		return 0;
	case PSK_BOOL:
		if (proc_lex_u64(&p, end, 10, &v) || p != end || v > 1)
			return -EINVAL;
		*(bool *)field = v;
		return 0;
	case PSK_HEX:
		if (proc_lex_u64(&p, end, 16, &v) || p != end)
			return -EINVAL;
		memcpy(field, &v, sizeof(v));
		return 0;
	case PSK_IDS4:
		for (i = 0; i < 4; i++) {
			if (i && proc_lex_blanks(&p, end) == 0)
				return -EINVAL;
			if (proc_lex_u64(&p, end, 10, &v) || v > UINT32_MAX)
				return -EINVAL;
			((uint32_t *)field)[i] = (uint32_t)v;
		}
		proc_lex_blanks(&p, end);
		return p == end ? 0 : -EINVAL;
	case PSK_GROUPS:
		return proc_status_groups(p, end, st);
	case PSK_NSLIST:
		if (proc_status_list(&p, end, (int64_t *)field, PROC_NS_LEVELS_MAX, &n))
			return -EINVAL;
		if (st->ns_levels && st->ns_levels != n)
			return -EINVAL;
		st->ns_levels = n;
		return 0;
	case PSK_SIGQ:	/* "queued/limit" */
		if (proc_lex_u64(&p, end, 10, &v) || proc_lex_char(&p, end, '/') ||
		    proc_lex_u64(&p, end, 10, &v2) || p != end)
			return -EINVAL;
		st->sigq_queued = v;
		st->sigq_limit = v2;
		return 0;
	}
	return -EINVAL;
}

int proc_parse_status(const char *buf, size_t len, struct proc_status *st)
{
	const char *p = buf, *end = buf + len, *eol, *key, *val, *vend;
	bool seen[PROC_STATUS_NKEYS] = { false };
	size_t i, klen;
	int err = 0;

	memset(st, 0, sizeof(*st));
	st->umask = PROC_STATUS_NO_UMASK;
	st->seccomp_filters = -1;
	while (p < end && !err) {
		eol = proc_lex_eol(p, end);
		key = p;
		while (p < eol && *p != ':')
			p++;
		klen = (size_t)(p - key);
		if (p == eol || klen == 0) {
			err = -EINVAL;
			break;
		}
		val = p + 1;
		proc_lex_blanks(&val, eol);
		vend = eol;
		while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		for (i = 0; i < PROC_STATUS_NKEYS; i++)
			if (strlen(proc_status_keys[i].key) == klen &&
			    !memcmp(proc_status_keys[i].key, key, klen))
				break;
		if (i < PROC_STATUS_NKEYS) {
			if (seen[i])
				err = -EINVAL;
			else
				err = proc_status_value(&proc_status_keys[i], val, vend, st);
			seen[i] = true;
		}
		p = eol < end ? eol + 1 : end;
	}
	for (i = 0; i < PROC_STATUS_NKEYS && !err; i++)
		if (proc_status_keys[i].required && !seen[i])
			err = -EINVAL;
	if (err)
		proc_status_free(st);
	return err;
}

int proc_read_status(pid_t pid, pid_t tid, struct proc_status *st)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, tid, "status", &buf, &len);
	if (err)
		return err;
	err = proc_parse_status(buf, len, st);
	free(buf);
	return err;
}

void proc_status_free(struct proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->nr_groups = 0;
}
