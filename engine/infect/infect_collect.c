/* infect_collect — signal, timer and prctl state of a seized task (see
 * infect_collect.h). Read-only towards the task: every remote call asks. */
#include "infect_collect.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "blog.h"

/* One remote call whose failure is an error: logs it with @what. */
static int collect_call(struct infect_ctx *c, long nr, const uint64_t a[6],
			const char *what, long *ret)
{
	long r;
	int err = infect_syscall(c, nr, a, &r);

	if (err)
		return err;
	if (r < 0 && r > -4096) {
		pr_err("task %d: remote %s: %s", c->pid, what, strerror((int)-r));
		return (int)r;
	}
	if (ret)
		*ret = r;
	return 0;
}

int collect_sigactions(struct infect_ctx *c, struct collect_sigaction act[COLLECT_NSIG])
{
	int err;

	memset(act, 0, sizeof(act[0]) * COLLECT_NSIG);
	for (int sig = 1; sig <= COLLECT_NSIG; sig++) {
		const uint64_t a[6] = { (uint64_t)sig, 0, c->scratch, 8 };

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		err = collect_call(c, SYS_rt_sigaction, a, "rt_sigaction", NULL);
		if (!err)
			err = infect_scratch_read(c, 0, &act[sig - 1], sizeof(act[0]));
		if (err)
			return err;
	}
	return 0;
}

int collect_sigaltstack(struct infect_ctx *c, stack_t *ss)
{
	const uint64_t a[6] = { 0, c->scratch };
	int err = collect_call(c, SYS_sigaltstack, a, "sigaltstack", NULL);

	return err ? err : infect_scratch_read(c, 0, ss, sizeof(*ss));
}

int collect_itimers(struct infect_ctx *c, struct itimerval it[3])
{
	for (int which = 0; which < 3; which++) {
		const uint64_t a[6] = { (uint64_t)which, c->scratch };
		int err = collect_call(c, SYS_getitimer, a, "getitimer", NULL);

		if (!err)
			err = infect_scratch_read(c, 0, &it[which], sizeof(it[0]));
		if (err)
			return err;
	}
	return 0;
}

int collect_posix_timers(struct infect_ctx *c, const struct proc_timers *ids,
			 struct collect_posix_timer *out)
{
	long r;

	for (size_t i = 0; i < ids->nr; i++) {
		const uint64_t a[6] = { (uint64_t)ids->t[i].id, c->scratch };
		const uint64_t o[6] = { (uint64_t)ids->t[i].id };
		int err;

		out[i].id = ids->t[i].id;
		err = collect_call(c, SYS_timer_gettime, a, "timer_gettime", NULL);
		if (!err)
			err = infect_scratch_read(c, 0, &out[i].spec, sizeof(out[i].spec));
		if (!err)
			err = collect_call(c, SYS_timer_getoverrun, o, "timer_getoverrun", &r);
		if (err)
			return err;
		out[i].overrun = (int)r;
	}
	return 0;
}

/* prctl(@option) returning its value directly. */
static int collect_prctl_ret(struct infect_ctx *c, int option, long *val)
{
	const uint64_t a[6] = { (uint64_t)option };

	return collect_call(c, SYS_prctl, a, "prctl", val);
}

/* prctl(@option, &int) storing its value in scratch. */
static int collect_prctl_ptr(struct infect_ctx *c, int option, long *val)
{
	const uint64_t a[6] = { (uint64_t)option, c->scratch };
	int v = 0, err;

	err = infect_scratch_write(c, 0, &v, sizeof(v));
	if (!err)
		err = collect_call(c, SYS_prctl, a, "prctl", NULL);
	if (!err)
		err = infect_scratch_read(c, 0, &v, sizeof(v));
	*val = v;
	return err;
}

int collect_prctl(struct infect_ctx *c, struct collect_prctl *p)
{
	const uint64_t pers[6] = { 0xffffffffULL };
	const uint64_t brk[6] = { 0 };
	long b;
	int err;

	memset(p, 0, sizeof(*p));
	err = collect_prctl_ret(c, PR_GET_DUMPABLE, &p->dumpable);
	if (!err)
		err = collect_prctl_ptr(c, PR_GET_PDEATHSIG, &p->pdeathsig);
	if (!err)
		err = collect_prctl_ret(c, PR_GET_NO_NEW_PRIVS, &p->no_new_privs);
	if (!err)
		err = collect_prctl_ret(c, PR_GET_THP_DISABLE, &p->thp_disable);
	if (!err)
		err = collect_prctl_ret(c, PR_GET_TIMERSLACK, &p->timerslack);
	if (!err)
		err = collect_prctl_ptr(c, PR_GET_CHILD_SUBREAPER, &p->child_subreaper);
	if (!err)
		err = collect_prctl_ret(c, PR_GET_SECUREBITS, &p->securebits);
	if (!err)
		err = collect_prctl_ret(c, PR_GET_KEEPCAPS, &p->keepcaps);
	if (!err)
		err = collect_call(c, SYS_personality, pers, "personality", &p->personality);
	if (!err)
		err = collect_call(c, SYS_brk, brk, "brk", &b);
	if (!err)
		p->brk = (uint64_t)b;
	return err;
}

int collect_sigmask(pid_t tid, uint64_t *mask)
{
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask)) {
		int err = -errno;

		pr_perror("PTRACE_GETSIGMASK of thread %d", tid);
		return err;
	}
	return 0;
}

int collect_pending(pid_t tid, bool shared, siginfo_t *si, size_t max, size_t *nr)
{
	struct __ptrace_peeksiginfo_args args = {
		.off = 0,
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = 0,
	};
	long n;

	*nr = 0;
	for (;;) {
		args.off = *nr;
		args.nr = max - *nr > 64 ? 64 : (int32_t)(max - *nr);
		if (args.nr == 0) {
			/* full: is there more? */
			siginfo_t extra;

			args.nr = 1;
			n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, &extra);
			return n > 0 ? -E2BIG : 0;
		}
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, si + *nr);
		if (n < 0) {
			int err = -errno;

			pr_perror("PTRACE_PEEKSIGINFO of thread %d", tid);
			return err;
		}
		if (n == 0)
			return 0;
		*nr += (size_t)n;
	}
}
