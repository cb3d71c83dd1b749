/* infect_collect — signal, timer and prctl state of a seized task (see
 * infect_collect.h). Read-only towards the task: every remote call asks. */
#include "infect_collect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "blog.h"

/* What collect_batch_run does with a call's result. */
enum collect_take {
	COLLECT_TAKE_NONE,
	COLLECT_TAKE_RET,	/* the return value into an int or long (len) */
	COLLECT_TAKE_BUF,	/* the call's buffer, len bytes */
	COLLECT_TAKE_INT,	/* the int the call left in its buffer, into a long */
};

struct collect_req {
	int idx;		/* in the infect_batch */
	const char *what;	/* named in errors */
	enum collect_take take;
	const void *src;	/* the engine's copy of the call's buffer */
	void *dst;
	size_t len;
};

/* calls and buffer bytes of every collector, for collect_scratch_size */
#define CB(type) INFECT_BATCH_BUF_SIZE(sizeof(type))
#define COLLECT_CALLS (COLLECT_NSIG - 2 + 3 + 10 + 3)
#define COLLECT_BUFS ((COLLECT_NSIG - 2) * CB(struct collect_sigaction) + \
		      3 * CB(struct itimerval) + 2 * CB(int) +                 \
		      CB(stack_t) + CB(uint64_t) + CB(int))
#define COLLECT_CALLS_TIMER 2
#define COLLECT_BUFS_TIMER CB(struct itimerspec)

/* what a thread other than the leader is asked (dump-core's per-thread
 * batch: sigaltstack, clear_child_tid, pdeath signal) */
#define COLLECT_CALLS_THREAD 3
#define COLLECT_BUFS_THREAD (CB(stack_t) + CB(uint64_t) + CB(int))

size_t collect_scratch_size(size_t nr_ptimers)
{
	return infect_batch_scratch_size(COLLECT_CALLS + nr_ptimers * COLLECT_CALLS_TIMER,
					 COLLECT_BUFS + nr_ptimers * COLLECT_BUFS_TIMER);
}

size_t collect_area_size(bool leader, size_t nr_ptimers)
{
	if (!leader)
		return infect_batch_area_size(COLLECT_CALLS_THREAD, COLLECT_BUFS_THREAD);
	return infect_batch_area_size(COLLECT_CALLS + nr_ptimers * COLLECT_CALLS_TIMER,
				      COLLECT_BUFS + nr_ptimers * COLLECT_BUFS_TIMER);
}

size_t collect_scratch_size_threads(size_t nr_ptimers, size_t nr_threads)
{
	size_t len = infect_batch_first_area() + collect_area_size(true, nr_ptimers) +
		     (nr_threads > 1 ? nr_threads - 1 : 0) * collect_area_size(false, 0);

	return (len + 4095) & ~(size_t)4095;
}

int collect_batch_init_at(struct collect_batch *cb, struct infect_ctx *c, size_t off,
			  size_t len)
{
	memset(cb, 0, sizeof(*cb));
	return infect_batch_init_at(&cb->b, c, off, len);
}

int collect_batch_init(struct collect_batch *cb, struct infect_ctx *c)
{
	memset(cb, 0, sizeof(*cb));
	return infect_batch_init(&cb->b, c);
}

void collect_batch_free(struct collect_batch *cb)
{
	infect_batch_free(&cb->b);
	free(cb->req);
	memset(cb, 0, sizeof(*cb));
}

static int collect_full(struct collect_batch *cb, const char *what)
{
	pr_err("task %d: no scratch left to queue remote %s", cb->b.c->pid, what);
	return -ENOSPC;
}

/* Queues @nr with @a; collect_batch_run takes its result as @take says. */
static int collect_queue(struct collect_batch *cb, long nr, const uint64_t a[6],
			 const char *what, enum collect_take take, const void *src,
			 void *dst, size_t len)
{
	int idx;

	if (cb->nr == cb->cap) {
		size_t cap = cb->cap ? 2 * cb->cap : 32;
		struct collect_req *r = realloc(cb->req, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		cb->req = r;
		cb->cap = cap;
	}
	idx = infect_batch_add(&cb->b, nr, a);
	if (idx < 0)
		return idx == -ENOSPC ? collect_full(cb, what) : idx;
	cb->req[cb->nr++] = (struct collect_req){ idx, what, take, src, dst, len };
	return 0;
}

/* Queues @nr with @a, argument @arg pointing to a fresh @len-byte buffer
 * (zeroed) whose contents are taken as @take says. */
static int collect_queue_out(struct collect_batch *cb, long nr, uint64_t a[6], int arg,
			     size_t len, const char *what, enum collect_take take, void *dst)
{
	uint64_t remote;
	const void *buf = infect_batch_buf(&cb->b, len, &remote);

	if (!buf)
		return collect_full(cb, what);
	a[arg] = remote;
	return collect_queue(cb, nr, a, what, take, buf, dst, len);
}

static void collect_take(const struct collect_req *r, long ret)
{
	long v;

	switch (r->take) {
	case COLLECT_TAKE_NONE:
		break;
	case COLLECT_TAKE_RET:
		if (r->len == sizeof(int)) {
			int i = (int)ret;

			memcpy(r->dst, &i, sizeof(i));
		} else {
			memcpy(r->dst, &ret, sizeof(ret));
		}
		break;
	case COLLECT_TAKE_BUF:
		memcpy(r->dst, r->src, r->len);
		break;
	case COLLECT_TAKE_INT:
		v = *(const int *)r->src;
		memcpy(r->dst, &v, sizeof(v));
		break;
	}
}

/* Every result of a batch that ran, where its collector wants it. */
static int collect_take_all(struct collect_batch *cb)
{
	for (size_t i = 0; i < cb->nr; i++) {
		const struct collect_req *r = &cb->req[i];
		long ret = infect_batch_ret(&cb->b, r->idx);

		if (ret < 0 && ret > -4096) {
			pr_err("task %d: remote %s: %s", cb->b.c->pid, r->what, strerror((int)-ret));
			return (int)ret;
		}
		collect_take(r, ret);
	}
	return 0;
}

int collect_batch_run(struct collect_batch *cb)
{
	int err = infect_batch_run(&cb->b);

	return err ? err : collect_take_all(cb);
}

int collect_batches_run(struct collect_batch *const *cbs, size_t n)
{
	struct infect_batch **bs = calloc(n ? n : 1, sizeof(*bs));
	int err;

	if (!bs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		bs[i] = &cbs[i]->b;
	err = infect_batch_run_many(bs, n);
	free(bs);
	for (size_t i = 0; i < n && !err; i++)
		err = collect_take_all(cbs[i]);
	return err;
}

int collect_sigactions_add(struct collect_batch *cb, struct collect_sigaction act[COLLECT_NSIG])
{
	memset(act, 0, sizeof(act[0]) * COLLECT_NSIG);
	for (int sig = 1; sig <= COLLECT_NSIG; sig++) {
		uint64_t a[6] = { (uint64_t)sig, 0, 0, 8 };
		int err;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		err = collect_queue_out(cb, SYS_rt_sigaction, a, 2, sizeof(act[0]), "rt_sigaction",
					COLLECT_TAKE_BUF, &act[sig - 1]);
		if (err)
			return err;
	}
	return 0;
}

int collect_sigaltstack_add(struct collect_batch *cb, stack_t *ss)
{
	uint64_t a[6] = { 0 };

	return collect_queue_out(cb, SYS_sigaltstack, a, 1, sizeof(*ss), "sigaltstack",
				 COLLECT_TAKE_BUF, ss);
}

int collect_tid_address_add(struct collect_batch *cb, uint64_t *addr)
{
	uint64_t a[6] = { PR_GET_TID_ADDRESS };

	return collect_queue_out(cb, SYS_prctl, a, 1, sizeof(*addr), "prctl(PR_GET_TID_ADDRESS)",
				 COLLECT_TAKE_BUF, addr);
}

int collect_pdeathsig_add(struct collect_batch *cb, long *sig)
{
	uint64_t a[6] = { PR_GET_PDEATHSIG };

	return collect_queue_out(cb, SYS_prctl, a, 1, sizeof(int), "prctl(PR_GET_PDEATHSIG)",
				 COLLECT_TAKE_INT, sig);
}

int collect_itimers_add(struct collect_batch *cb, struct itimerval it[3])
{
	for (int which = 0; which < 3; which++) {
		uint64_t a[6] = { (uint64_t)which };
		int err = collect_queue_out(cb, SYS_getitimer, a, 1, sizeof(it[0]), "getitimer",
					    COLLECT_TAKE_BUF, &it[which]);

		if (err)
			return err;
	}
	return 0;
}

int collect_posix_timers_add(struct collect_batch *cb, const struct proc_timers *ids,
			     struct collect_posix_timer *out)
{
	for (size_t i = 0; i < ids->nr; i++) {
		uint64_t a[6] = { (uint64_t)ids->t[i].id };
		const uint64_t o[6] = { (uint64_t)ids->t[i].id };
		int err;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = ids->t[i].id;
		err = collect_queue_out(cb, SYS_timer_gettime, a, 1, sizeof(out[i].spec),
					"timer_gettime", COLLECT_TAKE_BUF, &out[i].spec);
		if (!err)
			err = collect_queue(cb, SYS_timer_getoverrun, o, "timer_getoverrun",
					    COLLECT_TAKE_RET, NULL, &out[i].overrun,
					    sizeof(out[i].overrun));
		if (err)
			return err;
	}
	return 0;
}

/* prctl(@option) returning its value directly. */
static int collect_prctl_ret(struct collect_batch *cb, int option, const char *what, long *val)
{
	const uint64_t a[6] = { (uint64_t)option };

	return collect_queue(cb, SYS_prctl, a, what, COLLECT_TAKE_RET, NULL, val, sizeof(*val));
}

/* prctl(@option, &int) storing its value in a buffer. */
static int collect_prctl_ptr(struct collect_batch *cb, int option, const char *what, long *val)
{
	uint64_t a[6] = { (uint64_t)option };

	return collect_queue_out(cb, SYS_prctl, a, 1, sizeof(int), what, COLLECT_TAKE_INT, val);
}

int collect_prctl_add(struct collect_batch *cb, struct collect_prctl *p)
{
	const uint64_t pers[6] = { 0xffffffffULL };
	const uint64_t brk[6] = { 0 };
	int err;

	memset(p, 0, sizeof(*p));
	err = collect_prctl_ret(cb, PR_GET_DUMPABLE, "prctl(PR_GET_DUMPABLE)", &p->dumpable);
	if (!err)
		err = collect_prctl_ptr(cb, PR_GET_PDEATHSIG, "prctl(PR_GET_PDEATHSIG)", &p->pdeathsig);
	if (!err)
		err = collect_prctl_ret(cb, PR_GET_NO_NEW_PRIVS, "prctl(PR_GET_NO_NEW_PRIVS)",
					&p->no_new_privs);
	if (!err)
		err = collect_prctl_ret(cb, PR_GET_THP_DISABLE, "prctl(PR_GET_THP_DISABLE)",
					&p->thp_disable);
	if (!err)
		err = collect_prctl_ret(cb, PR_GET_TIMERSLACK, "prctl(PR_GET_TIMERSLACK)",
					&p->timerslack);
	if (!err)
		err = collect_prctl_ptr(cb, PR_GET_CHILD_SUBREAPER, "prctl(PR_GET_CHILD_SUBREAPER)",
					&p->child_subreaper);
	if (!err)
		err = collect_prctl_ret(cb, PR_GET_SECUREBITS, "prctl(PR_GET_SECUREBITS)",
					&p->securebits);
	if (!err)
		err = collect_prctl_ret(cb, PR_GET_KEEPCAPS, "prctl(PR_GET_KEEPCAPS)", &p->keepcaps);
	if (!err)
		err = collect_queue(cb, SYS_personality, pers, "personality", COLLECT_TAKE_RET, NULL,
				    &p->personality, sizeof(p->personality));
	if (!err)
		err = collect_queue(cb, SYS_brk, brk, "brk", COLLECT_TAKE_RET, NULL, &p->brk,
				    sizeof(p->brk));
	return err;
}

/* ---- one-shot forms ------------------------------------------------------- */

/* Runs a batch one collector queued (unless @err says it failed) and
 * frees it. */
static int collect_once(struct collect_batch *cb, int err)
{
	if (!err)
		err = collect_batch_run(cb);
	collect_batch_free(cb);
	return err;
}

int collect_sigactions(struct infect_ctx *c, struct collect_sigaction act[COLLECT_NSIG])
{
	struct collect_batch cb;
	int err = collect_batch_init(&cb, c);

	return err ? err : collect_once(&cb, collect_sigactions_add(&cb, act));
}

int collect_sigaltstack(struct infect_ctx *c, stack_t *ss)
{
	struct collect_batch cb;
	int err = collect_batch_init(&cb, c);

	return err ? err : collect_once(&cb, collect_sigaltstack_add(&cb, ss));
}

int collect_itimers(struct infect_ctx *c, struct itimerval it[3])
{
	struct collect_batch cb;
	int err = collect_batch_init(&cb, c);

	return err ? err : collect_once(&cb, collect_itimers_add(&cb, it));
}

int collect_posix_timers(struct infect_ctx *c, const struct proc_timers *ids,
			 struct collect_posix_timer *out)
{
	struct collect_batch cb;
	int err = collect_batch_init(&cb, c);

	return err ? err : collect_once(&cb, collect_posix_timers_add(&cb, ids, out));
}

int collect_prctl(struct infect_ctx *c, struct collect_prctl *p)
{
	struct collect_batch cb;
	int err = collect_batch_init(&cb, c);

	return err ? err : collect_once(&cb, collect_prctl_add(&cb, p));
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
