/* dump-core — core-TID.img: per thread its registers and thread core
 * (signal mask and queue, sigaltstack, robust list, rseq, scheduling, creds,
 * seccomp mode, comm); for the leader also the task core (sigactions,
 * timers, rlimits, shared queue, personality, flags). Collects while the
 * tree is frozen (ptrace and remote syscalls first, then /proc), encodes
 * afterwards.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blog.h"
#include "core.pb-c.h"
#include "dump.h"
#include "infect.h"
#include "proc_read.h"

#define DUMP_GDT_TLS_MIN 12

/* The signals queued for @tid (@shared: for its task), read into @scratch
 * (DUMP_MAX_SIGINFO entries, shared by every thread) and kept in an array
 * of their own, NULL when none is: a task of many threads with nothing
 * queued costs no allocation and no clearing inside the freeze. */
static int dump_core_pending(pid_t tid, bool shared, siginfo_t *scratch, siginfo_t **out,
			     size_t *nr)
{
	int err = collect_pending(tid, shared, scratch, DUMP_MAX_SIGINFO, nr);

	*out = NULL;
	if (err) {
		pr_err("thread %d: cannot read its %s pending signals: %s", (int)tid,
		       shared ? "shared" : "private", strerror(-err));
		return err;
	}
	if (!*nr)
		return 0;
	*out = malloc(*nr * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, scratch, *nr * sizeof(**out));
	return 0;
}

/* Queues in @cb what thread @th itself must tell (sigaltstack,
 * clear_child_tid, pdeath signal; for the leader also the task-wide
 * state). */
static int dump_core_ask(struct dump_task *t, struct dump_thread *th, struct collect_batch *cb,
			 bool leader)
{
	int err = collect_sigaltstack_add(cb, &th->sas);

	if (!err)
		err = collect_tid_address_add(cb, &th->clear_tid);
	if (!err && leader) {
		err = collect_sigactions_add(cb, t->act);
		if (!err)
			err = collect_itimers_add(cb, t->itimers);
		if (!err)
			err = collect_prctl_add(cb, &t->prctl);
		if (!err && t->ptimer_ids.nr) {
			t->ptimers = calloc(t->ptimer_ids.nr, sizeof(*t->ptimers));
			err = t->ptimers ? collect_posix_timers_add(cb, &t->ptimer_ids, t->ptimers)
					 : -ENOMEM;
		}
	} else if (!err) {
		err = collect_pdeathsig_add(cb, &th->pdeath);
	}
	if (err)
		pr_err("thread %d: cannot queue its remote calls: %s", (int)th->tid,
		       strerror(-err));
	return err;
}

/* Every thread's remote calls: one scratch mapping for the task, mapped
 * and unmapped by the leader, an area of it per thread, and all threads'
 * batches run at once (each a single ptrace stop where the scratch can be
 * executable; their stops overlap). */
static int dump_core_remote(struct dump_task *t)
{
	size_t n = t->nr_th, started = 1, off = infect_batch_first_area();
	size_t scratch = collect_scratch_size_threads(t->ptimer_ids.nr, n);
	struct infect_ctx *ic = calloc(n, sizeof(*ic));
	struct collect_batch *cb = calloc(n, sizeof(*cb));
	struct collect_batch **cbp = calloc(n, sizeof(*cbp));
	unsigned long calls = 0, stops = 0;
	int err, err2;

	err = ic && cb && cbp ? 0 : -ENOMEM;
	if (!err)
		err = infect_start_maps(&ic[0], t->pid, t->th[0].tid, scratch, INFECT_BATCH,
					&t->maps);
	if (err) {
		pr_err("thread %d: cannot run remote calls in it: %s", (int)t->th[0].tid,
		       strerror(-err));
		goto out;
	}
	for (; started < n && !err; started++) {
		err = infect_start_sibling(&ic[started], &ic[0], t->th[started].tid);
		if (err) {
			pr_err("thread %d: cannot run remote calls in it: %s",
			       (int)t->th[started].tid, strerror(-err));
			break;
		}
	}
	for (size_t i = 0; i < n && !err; i++) {
		size_t len = collect_area_size(i == 0, t->ptimer_ids.nr);

		cbp[i] = &cb[i];
		err = collect_batch_init_at(&cb[i], &ic[i], off, len);
		if (err)
			pr_err("thread %d: no batch of remote calls: %s", (int)t->th[i].tid,
			       strerror(-err));
		else
			err = dump_core_ask(t, &t->th[i], &cb[i], i == 0);
		off += len;
	}
	if (!err)
		err = collect_batches_run(cbp, n);
	if (!err)
		t->th[0].pdeath = t->prctl.pdeathsig;
	else
		pr_err("task %d: remote calls failed: %s", (int)t->pid, strerror(-err));
	/* siblings first: the leader unmaps the scratch they share */
	for (size_t i = started; i-- > 0;) {
		err2 = infect_stop(&ic[i]);
		if (err2)
			pr_err("thread %d: restoring it after remote calls: %s", (int)t->th[i].tid,
			       strerror(-err2));
		calls += ic[i].nr_calls;
		stops += ic[i].nr_stops;
		if (!err)
			err = err2;
	}
	pr_debug("task %d: %lu remote syscalls in %lu ptrace stops (%zu threads)",
		 (int)t->pid, calls, stops, n);
out:
	for (size_t i = 0; cb && i < n; i++)
		collect_batch_free(&cb[i]);
	free(cbp);
	free(cb);
	free(ic);
	return err;
}

static void dump_core_rseq(pid_t pid, struct dump_thread *th)
{
	struct __ptrace_rseq_configuration rc;
	long n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, th->tid, sizeof(rc), &rc);

	if (n != (long)sizeof(rc) || !rc.rseq_abi_pointer)
		return;
	th->has_rseq = true;
	th->rseq_ptr = rc.rseq_abi_pointer;
	th->rseq_size = rc.rseq_abi_size;
	th->rseq_sig = rc.signature;
	/* struct rseq's rseq_cs at offset 8: non-zero inside a critical section */
	struct iovec l = { &th->rseq_cs, sizeof(th->rseq_cs) };
	struct iovec r = { (void *)(uintptr_t)(rc.rseq_abi_pointer + 8), sizeof(th->rseq_cs) };
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(th->rseq_cs))
		th->rseq_cs = 0;
}

/* What ptrace tells of thread @th: what the remote calls change for a
 * while (registers, mask) or run past (a pending signal), read first. */
static int dump_core_thread(struct dump_task *t, struct dump_thread *th, siginfo_t *scratch)
{
	int err;

	err = regs_get(th->tid, &th->regs);
	if (err) {
		pr_err("thread %d: cannot read its registers: %s", (int)th->tid, strerror(-err));
		return err;
	}
	for (int i = 0; i < DUMP_TLS_ENTRIES; i++) {
		th->tls[i].entry_number = (unsigned int)(DUMP_GDT_TLS_MIN + i);
		if (ptrace(PTRACE_GET_THREAD_AREA, th->tid, DUMP_GDT_TLS_MIN + i, &th->tls[i])) {
			err = -errno;
			pr_perror("thread %d: PTRACE_GET_THREAD_AREA", (int)th->tid);
			return err;
		}
	}
	err = collect_sigmask(th->tid, &th->sigmask);
	if (!err)
		err = dump_core_pending(th->tid, false, scratch, &th->pending, &th->nr_pending);
	if (err)
		return err;
	if (syscall(SYS_get_robust_list, th->tid, &th->robust_head, &th->robust_len)) {
		err = -errno;
		pr_perror("thread %d: get_robust_list", (int)th->tid);
		return err;
	}
	dump_core_rseq(t->pid, th);
	return 0;
}

/* What the scheduler and /proc tell of thread @th; nothing a remote call
 * changes. */
static int dump_core_thread_proc(struct dump_task *t, struct dump_thread *th)
{
	struct sched_param sp;
	struct proc_stat st;
	int err;

	errno = 0;
	th->nice = getpriority(PRIO_PROCESS, (id_t)th->tid);
	if (errno) {
		err = -errno;
		pr_perror("thread %d: getpriority", (int)th->tid);
		return err;
	}
	th->policy = sched_getscheduler(th->tid);
	if (th->policy < 0 || sched_getparam(th->tid, &sp)) {
		err = -errno;
		pr_perror("thread %d: sched_getscheduler/param", (int)th->tid);
		return err;
	}
	th->rt_prio = sp.sched_priority;
	err = proc_read_status(t->pid, th->tid, &th->st);
	if (!err)
		err = proc_read_stat(t->pid, th->tid, &st);
	if (err) {
		pr_err("thread %d: cannot read its status: %s", (int)th->tid, strerror(-err));
		return err;
	}
	snprintf(th->comm, sizeof(th->comm), "%s", st.comm);
	return 0;
}

static int dump_core_read_int(pid_t pid, const char *name, long long *val)
{
	char *buf;
	size_t len;
	int err = proc_read_file(pid, 0, name, &buf, &len);

	if (err)
		return err;
	*val = strtoll(buf, NULL, 10);
	free(buf);
	return 0;
}

int dump_core_collect_remote(struct dump_ctx *c, struct dump_task *t)
{
	struct freeze_task *ft = freeze_find(&c->tree, t->pid);
	siginfo_t *scratch;
	int err;

	if (!ft)
		return -ESRCH;
	/* the timers first: the scratch of the remote calls holds theirs */
	err = proc_read_timers(t->pid, &t->ptimer_ids);
	if (err) {
		pr_err("task %d: cannot read its timers: %s", (int)t->pid, strerror(-err));
		return err;
	}
	/* leader first: the task-wide remote collectors run in it */
	t->th = calloc(ft->threads.nr, sizeof(*t->th));
	if (!t->th)
		return -ENOMEM;
	t->th[0].tid = t->pid;
	t->nr_th = 1;
	for (size_t i = 0; i < ft->threads.nr; i++)
		if (ft->threads.pid[i] != t->pid)
			t->th[t->nr_th++].tid = ft->threads.pid[i];
	scratch = malloc(DUMP_MAX_SIGINFO * sizeof(*scratch));
	if (!scratch)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr_th && !err; i++)
		err = dump_core_thread(t, &t->th[i], scratch);
	if (!err)
		err = dump_core_pending(t->pid, true, scratch, &t->shared_pending, &t->nr_shared);
	free(scratch);
	return err ? err : dump_core_remote(t);
}

int dump_core_collect_proc(struct dump_ctx *c, struct dump_task *t)
{
	long long v;
	int err;

	(void)c;
	err = proc_read_status(t->pid, 0, &t->status);
	if (!err)
		err = proc_read_limits(t->pid, &t->limits);
	if (err) {
		pr_err("task %d: cannot read its status or limits: %s", (int)t->pid, strerror(-err));
		return err;
	}
	t->umask = t->status.umask == PROC_STATUS_NO_UMASK ? 022 : (uint32_t)t->status.umask;
	if (!dump_core_read_int(t->pid, "oom_score_adj", &v))
		t->oom_score_adj = (int32_t)v;
	t->loginuid = dump_core_read_int(t->pid, "loginuid", &v) ? UINT32_MAX : (uint32_t)v;
	for (size_t i = 0; i < t->nr_th; i++) {
		err = dump_core_thread_proc(t, &t->th[i]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- encoding ------------------------------------------------------------ */

static SignalQueueEntry *dump_core_queue(const siginfo_t *si, size_t n)
{
	SignalQueueEntry *q = calloc(1, sizeof(*q) + n * (sizeof(SiginfoEntry) + sizeof(void *)));
	SiginfoEntry *e;

	if (!q)
		return NULL;
	signal_queue_entry__init(q);
	q->signals = (SiginfoEntry **)(q + 1);
	e = (SiginfoEntry *)(q->signals + n);
	for (size_t i = 0; i < n; i++) {
		siginfo_entry__init(&e[i]);
		e[i].siginfo.data = (uint8_t *)&si[i];
		e[i].siginfo.len = sizeof(si[i]);
		q->signals[i] = &e[i];
	}
	q->n_signals = n;
	return q;
}

static void dump_core_caps(uint32_t w[2], uint64_t caps)
{
	w[0] = (uint32_t)caps;
	w[1] = (uint32_t)(caps >> 32);
}

struct dump_core_thread_box {
	ThreadCoreEntry tc;
	ThreadSasEntry sas;
	CredsEntry cr;
	RseqEntry rseq;
	uint32_t caps[5][2];
};

static void dump_core_fill_thread(struct dump_core_thread_box *b, const struct dump_task *t,
				  const struct dump_thread *th)
{
	const struct proc_status *s = &th->st;

	thread_core_entry__init(&b->tc);
	b->tc.futex_rla = th->robust_head;
	b->tc.futex_rla_len = (uint32_t)th->robust_len;
	b->tc.has_sched_nice = true;
	b->tc.sched_nice = th->nice;
	b->tc.has_sched_policy = true;
	b->tc.sched_policy = (uint32_t)th->policy;
	b->tc.has_sched_prio = true;
	b->tc.sched_prio = (uint32_t)th->rt_prio;
	b->tc.has_blk_sigset = true;
	b->tc.blk_sigset = th->sigmask;
	thread_sas_entry__init(&b->sas);
	b->sas.ss_sp = (uint64_t)(uintptr_t)th->sas.ss_sp;
	b->sas.ss_size = th->sas.ss_size;
	b->sas.ss_flags = (uint32_t)th->sas.ss_flags;
	b->tc.sas = &b->sas;
	b->tc.has_pdeath_sig = true;
	b->tc.pdeath_sig = (uint32_t)th->pdeath;
	b->tc.has_seccomp_mode = true;
	b->tc.seccomp_mode = (SeccompMode)s->seccomp;
	b->tc.comm = (char *)th->comm;

	creds_entry__init(&b->cr);
	b->cr.uid = s->uid[0];
	b->cr.euid = s->uid[1];
	b->cr.suid = s->uid[2];
	b->cr.fsuid = s->uid[3];
	b->cr.gid = s->gid[0];
	b->cr.egid = s->gid[1];
	b->cr.sgid = s->gid[2];
	b->cr.fsgid = s->gid[3];
	dump_core_caps(b->caps[0], s->cap_inh);
	dump_core_caps(b->caps[1], s->cap_prm);
	dump_core_caps(b->caps[2], s->cap_eff);
	dump_core_caps(b->caps[3], s->cap_bnd);
	dump_core_caps(b->caps[4], s->cap_amb);
	b->cr.n_cap_inh = b->cr.n_cap_prm = b->cr.n_cap_eff = b->cr.n_cap_bnd = 2;
	b->cr.cap_inh = b->caps[0];
	b->cr.cap_prm = b->caps[1];
	b->cr.cap_eff = b->caps[2];
	b->cr.cap_bnd = b->caps[3];
	/* written only when set: absent reads as empty/0, and crit releases
	 * older than these fields then print the same text as crisp-img */
	b->cr.n_cap_amb = s->cap_amb ? 2 : 0;
	b->cr.cap_amb = b->caps[4];
	b->cr.has_no_new_privs = s->no_new_privs;
	b->cr.no_new_privs = s->no_new_privs;
	b->cr.secbits = (uint32_t)t->prctl.securebits;
	b->cr.n_groups = s->nr_groups;
	b->cr.groups = s->groups;
	b->tc.creds = &b->cr;
	if (th->has_rseq) {
		rseq_entry__init(&b->rseq);
		b->rseq.rseq_abi_pointer = th->rseq_ptr;
		b->rseq.rseq_abi_size = th->rseq_size;
		b->rseq.signature = th->rseq_sig;
		b->rseq.has_rseq_cs_pointer = th->rseq_cs != 0;
		b->rseq.rseq_cs_pointer = th->rseq_cs;
		b->tc.rseq_entry = &b->rseq;
	}
}

static void dump_core_itimer(ItimerEntry *e, const struct itimerval *it)
{
	itimer_entry__init(e);
	e->isec = (uint64_t)it->it_interval.tv_sec;
	e->iusec = (uint64_t)it->it_interval.tv_usec;
	e->vsec = (uint64_t)it->it_value.tv_sec;
	e->vusec = (uint64_t)it->it_value.tv_usec;
}

struct dump_core_task_box {
	TaskCoreEntry tc;
	TaskTimersEntry timers;
	ItimerEntry it[3];
	TaskRlimitsEntry rl;
	RlimitEntry rle[PROC_RLIM_NLIMITS];
	RlimitEntry *rlp[PROC_RLIM_NLIMITS];
	SaEntry sa[COLLECT_NSIG];
	SaEntry *sap[COLLECT_NSIG];
	PosixTimerEntry *pt;
	PosixTimerEntry **ptp;
};

static int dump_core_fill_task(struct dump_core_task_box *b, const struct dump_task *t)
{
	size_t n = 0;

	task_core_entry__init(&b->tc);
	b->tc.task_state = t->stopped ? DUMP_TASK_STOPPED : DUMP_TASK_ALIVE;
	b->tc.personality = (uint32_t)t->prctl.personality;
	b->tc.flags = (uint32_t)t->stat.flags;
	b->tc.blk_sigset = t->th[0].sigmask;
	b->tc.comm = (char *)t->th[0].comm;

	task_timers_entry__init(&b->timers);
	dump_core_itimer(&b->it[0], &t->itimers[0]);
	dump_core_itimer(&b->it[1], &t->itimers[1]);
	dump_core_itimer(&b->it[2], &t->itimers[2]);
	b->timers.real = &b->it[0];
	b->timers.virt = &b->it[1];
	b->timers.prof = &b->it[2];
	if (t->ptimer_ids.nr) {
		b->pt = calloc(t->ptimer_ids.nr, sizeof(*b->pt));
		b->ptp = calloc(t->ptimer_ids.nr, sizeof(*b->ptp));
		if (!b->pt || !b->ptp)
			return -ENOMEM;
		for (size_t i = 0; i < t->ptimer_ids.nr; i++) {
			const struct proc_timer *p = &t->ptimer_ids.t[i];
			const struct collect_posix_timer *v = &t->ptimers[i];
			PosixTimerEntry *e = &b->pt[i];

			posix_timer_entry__init(e);
			e->it_id = (uint32_t)p->id;
			e->clock_id = (uint32_t)p->clock_id;
			e->si_signo = (uint32_t)p->signo;
			e->it_sigev_notify = p->notify == PROC_TIMER_SIGNAL ? SIGEV_SIGNAL :
					     p->notify == PROC_TIMER_NONE ? SIGEV_NONE : SIGEV_THREAD;
			if (p->thread_id) {
				e->it_sigev_notify |= SIGEV_THREAD_ID;
				e->has_notify_thread_id = true;
				e->notify_thread_id = p->notify_pid;
			}
			e->sival_ptr = p->sigval;
			e->overrun = (uint32_t)v->overrun;
			e->isec = (uint64_t)v->spec.it_interval.tv_sec;
			e->insec = (uint64_t)v->spec.it_interval.tv_nsec;
			e->vsec = (uint64_t)v->spec.it_value.tv_sec;
			e->vnsec = (uint64_t)v->spec.it_value.tv_nsec;
			b->ptp[i] = e;
		}
		b->timers.n_posix = t->ptimer_ids.nr;
		b->timers.posix = b->ptp;
	}
	b->tc.timers = &b->timers;

	task_rlimits_entry__init(&b->rl);
	for (int i = 0; i < PROC_RLIM_NLIMITS; i++) {
		rlimit_entry__init(&b->rle[i]);
		b->rle[i].cur = t->limits.cur[i];
		b->rle[i].max = t->limits.max[i];
		b->rlp[i] = &b->rle[i];
	}
	b->rl.n_rlimits = PROC_RLIM_NLIMITS;
	b->rl.rlimits = b->rlp;
	b->tc.rlimits = &b->rl;

	for (int sig = 1; sig <= COLLECT_NSIG; sig++) {
		const struct collect_sigaction *a = &t->act[sig - 1];

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa_entry__init(&b->sa[n]);
		b->sa[n].sigaction = a->handler;
		b->sa[n].flags = a->flags;
		b->sa[n].restorer = a->restorer;
		b->sa[n].mask = a->mask;
		b->sa[n].has_compat_sigaction = true;
		b->sa[n].compat_sigaction = false;
		b->sap[n] = &b->sa[n];
		n++;
	}
	b->tc.n_sigactions = n;
	b->tc.sigactions = b->sap;
	b->tc.has_loginuid = true;
	b->tc.loginuid = t->loginuid;
	b->tc.has_oom_score_adj = true;
	b->tc.oom_score_adj = t->oom_score_adj;
	b->tc.has_child_subreaper = true;
	b->tc.child_subreaper = t->prctl.child_subreaper != 0;
	return 0;
}

static int dump_core_write_one(struct dump_ctx *c, const struct dump_task *t, size_t i)
{
	const struct dump_thread *th = &t->th[i];
	struct dump_core_thread_box tb;
	struct dump_core_task_box kb;
	CoreEntry ce = CORE_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	SignalQueueEntry *qp = NULL, *qs = NULL;
	struct img_writer w;
	int err;

	memset(&kb, 0, sizeof(kb));
	dump_misc_fill_ids(&ids, t);
	ce.mtype = CORE_ENTRY__MARCH__X86_64;
	err = dump_regs_encode(th, &ce.thread_info);
	if (err)
		return err;
	dump_core_fill_thread(&tb, t, th);
	qp = dump_core_queue(th->pending, th->nr_pending);
	err = qp ? 0 : -ENOMEM;
	tb.tc.signals_p = qp;
	ce.thread_core = &tb.tc;
	if (!err && i == 0) {
		err = dump_core_fill_task(&kb, t);
		qs = dump_core_queue(t->shared_pending, t->nr_shared);
		if (!qs)
			err = -ENOMEM;
		kb.tc.signals_s = qs;
		ce.tc = &kb.tc;
		ce.ids = &ids;
	}
	if (!err)
		err = img_writer_open(&w, &c->dir, img_kind_by_name("CORE"), (unsigned long)th->tid);
	if (!err) {
		err = img_writer_entry(&w, &ce.base);
		int err2 = img_writer_close(&w);

		if (!err)
			err = err2;
	}
	free(kb.pt);
	free(kb.ptp);
	free(qp);
	free(qs);
	dump_regs_encoded_free(ce.thread_info);
	return err;
}

int dump_core_write(struct dump_ctx *c, const struct dump_task *t)
{
	if (t->zombie) {
		TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
		CoreEntry ce = CORE_ENTRY__INIT;
		struct img_writer w;
		int err, err2;

		ce.mtype = CORE_ENTRY__MARCH__X86_64;
		tc.task_state = DUMP_TASK_DEAD;
		tc.exit_code = (uint32_t)t->exit_code;
		tc.comm = (char *)t->stat.comm;
		ce.tc = &tc;
		err = img_writer_open(&w, &c->dir, img_kind_by_name("CORE"), (unsigned long)t->pid);
		if (err)
			return err;
		err = img_writer_entry(&w, &ce.base);
		err2 = img_writer_close(&w);
		return err ? err : err2;
	}
	for (size_t i = 0; i < t->nr_th; i++) {
		int err = dump_core_write_one(c, t, i);

		if (err)
			return err;
	}
	return 0;
}
