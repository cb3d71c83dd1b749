/* rst-child — the first code the new task runs (still the engine's, with
 * libc): premaps every VMA in the reservation and has rst-fill put its saved
 * pages there (pages-N.img and the parent chain); restores
 * what is task-wide and harmless to do early (cwd, umask, personality,
 * rlimits, sigactions, timers, shared pending signals, prctls), installs
 * the task's fds (engine/files; a table shared by CLONE_FILES once, by its
 * creator, when all its tasks are done), opens the exe for PR_SET_MM_MAP
 * above them, and jumps into the restorer.
 * It never returns: a failure is reported in the argument block, then exit.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pie-restorer-blob.h"
#include "restore.h"
#include "rst-fill.h"

#define RST_PAGE		4096ull
#define RST_VMA_FILE_PRIVATE	(1u << 6)
#define RST_VMA_FILE_SHARED	(1u << 7)
#define RST_VMA_ANON_SHARED	(1u << 8)
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS	77
#endif

void rst_child_fail(struct rst_ctx *c, int err, const char *fmt, ...)
{
	struct rst_args *a = c->args;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->err = err;
	a->err_step = RST_STEP_PREMAP;
	a->err_tid = c->im.pid;
	__atomic_store_n(&a->stage, RST_STAGE_FAILED, __ATOMIC_SEQ_CST);
	/* the creator of a table we share waits for us no longer */
	if (c->files_owner && c->files_owner != c->im.pid)
		files_rst_user_failed(&c->tree->fr, c->files_owner);
	syscall(SYS_futex, &a->stage, 1 /* FUTEX_WAKE */, 1 << 30, NULL, NULL, 0);
	_exit(1);
}

static void rst_child_map(struct rst_ctx *c, const VmaEntry *v, const struct rst_vma *r)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_FIXED, fd = -1;
	void *p;

	if (v->status & (RST_VMA_FILE_PRIVATE | RST_VMA_FILE_SHARED)) {
		const char *path = rst_images_file_path(&c->im, (uint32_t)v->shmid);
		int oflags = v->has_fdflags ? (int)(v->fdflags & O_ACCMODE) : O_RDONLY;

		if (!path)
			rst_child_fail(c, -EINVAL, "VMA %#llx: file id %llu is not in files.img",
				       (unsigned long long)v->start, (unsigned long long)v->shmid);
		fd = open(path, oflags | O_CLOEXEC);
		if (fd < 0)
			rst_child_fail(c, -errno, "VMA %#llx: cannot open %s: %s",
				       (unsigned long long)v->start, path, strerror(errno));
		if (v->status & RST_VMA_FILE_SHARED) {
			flags |= MAP_SHARED;
			prot = (int)v->prot;
		} else {
			flags |= MAP_PRIVATE;
		}
	} else if (v->status & RST_VMA_ANON_SHARED) {
		/* one object for every VMA (of every task) that mapped it */
		fd = rst_shm_open(c, v->shmid);
		if (fd < 0)
			rst_child_fail(c, fd, "VMA %#llx: shared anonymous object %llu: %s",
				       (unsigned long long)v->start, (unsigned long long)v->shmid,
				       strerror(-fd));
		flags |= MAP_SHARED;
	} else {
		flags |= MAP_ANONYMOUS | MAP_PRIVATE;
	}
	flags |= (int)(v->flags & (MAP_GROWSDOWN | MAP_NORESERVE));
	p = mmap((void *)(uintptr_t)r->src, r->len, prot, flags, fd, fd >= 0 ? (off_t)v->pgoff : 0);
	if (p == MAP_FAILED)
		rst_child_fail(c, -errno, "VMA %#llx-%#llx: premap: %s", (unsigned long long)v->start,
			       (unsigned long long)v->end, strerror(errno));
	if (fd >= 0)
		close(fd);
	/* huge pages are allocated as the pages are filled in */
	if (v->has_madv && (v->madv & (1ull << MADV_HUGEPAGE)) && !(flags & MAP_SHARED))
		madvise(p, r->len, MADV_HUGEPAGE);
}

struct rst_ksigaction {
	uint64_t handler, flags, restorer, mask;
};

static void rst_child_signals(struct rst_ctx *c, const TaskCoreEntry *tc)
{
	size_t k = 0;

	for (int sig = 1; sig <= 64 && k < tc->n_sigactions; sig++) {
		const SaEntry *sa = tc->sigactions[k];
		struct rst_ksigaction ka = { sa->sigaction, sa->flags, sa->restorer, sa->mask };

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		k++;
		if (syscall(SYS_rt_sigaction, sig, &ka, NULL, 8))
			rst_child_fail(c, -errno, "rt_sigaction(%d): %s", sig, strerror(errno));
	}
	for (size_t i = 0; tc->signals_s && i < tc->signals_s->n_signals; i++) {
		const ProtobufCBinaryData *d = &tc->signals_s->signals[i]->siginfo;
		siginfo_t si;

		if (d->len != sizeof(si))
			rst_child_fail(c, -EINVAL, "a shared siginfo of %zu bytes", d->len);
		memcpy(&si, d->data, sizeof(si));
		if (syscall(SYS_rt_sigqueueinfo, c->im.pid, si.si_signo, &si))
			rst_child_fail(c, -errno, "queueing signal %d: %s", si.si_signo, strerror(errno));
	}
}

static void rst_child_rlimits(struct rst_ctx *c, const TaskRlimitsEntry *rl)
{
	for (size_t i = 0; rl && i < rl->n_rlimits && i < RLIM_NLIMITS; i++) {
		struct rlimit cur, want = { rl->rlimits[i]->cur, rl->rlimits[i]->max };

		if (prlimit(0, (int)i, NULL, &cur))
			continue;
		if (cur.rlim_cur == want.rlim_cur && cur.rlim_max == want.rlim_max)
			continue;
		if (prlimit(0, (int)i, &want, NULL))
			rst_child_fail(c, -errno, "rlimit %zu to %llu/%llu (now %llu/%llu): %s", i,
				       (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max,
				       (unsigned long long)cur.rlim_cur, (unsigned long long)cur.rlim_max,
				       strerror(errno));
	}
}

static void rst_child_timers(struct rst_ctx *c, const TaskTimersEntry *t)
{
	const ItimerEntry *it[3] = { t->real, t->virt, t->prof };

	for (int i = 0; i < 3; i++) {
		struct itimerval v;

		if (!it[i] || (!it[i]->vsec && !it[i]->vusec && !it[i]->isec && !it[i]->iusec))
			continue;
		v.it_interval.tv_sec = (time_t)it[i]->isec;
		v.it_interval.tv_usec = (suseconds_t)it[i]->iusec;
		v.it_value.tv_sec = (time_t)it[i]->vsec;
		v.it_value.tv_usec = (suseconds_t)it[i]->vusec;
		/* caught at the instant it fired: it fires now, then runs on */
		if (!v.it_value.tv_sec && !v.it_value.tv_usec)
			v.it_value.tv_usec = 1;
		if (setitimer(i, &v, NULL))
			rst_child_fail(c, -errno, "setitimer(%d): %s", i, strerror(errno));
	}
	if (!t->n_posix)
		return;
	if (prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0))
		rst_child_fail(c, -errno, "prctl(PR_TIMER_CREATE_RESTORE_IDS): %s", strerror(errno));
	for (size_t i = 0; i < t->n_posix; i++) {
		const PosixTimerEntry *p = t->posix[i];
		struct sigevent sev;
		struct itimerspec spec;
		int id = (int)p->it_id;

		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = (int)p->it_sigev_notify;
		sev.sigev_signo = (int)p->si_signo;
		sev.sigev_value.sival_ptr = (void *)(uintptr_t)p->sival_ptr;
		if (p->has_notify_thread_id) {
			if ((pid_t)p->notify_thread_id != c->im.pid)
				rst_child_fail(c, -EOPNOTSUPP, "POSIX timer %d signals thread %u; "
					       "only the leader is supported", id, p->notify_thread_id);
			sev._sigev_un._tid = (pid_t)p->notify_thread_id;
		}
		if (syscall(SYS_timer_create, (clockid_t)p->clock_id, &sev, &id))
			rst_child_fail(c, -errno, "timer_create(id %u): %s", p->it_id, strerror(errno));
		if (id != (int)p->it_id)
			rst_child_fail(c, -EEXIST, "POSIX timer got id %d, wanted %u", id, p->it_id);
		spec.it_interval.tv_sec = (time_t)p->isec;
		spec.it_interval.tv_nsec = (long)p->insec;
		spec.it_value.tv_sec = (time_t)p->vsec;
		spec.it_value.tv_nsec = (long)p->vnsec;
		if (!p->vsec && !p->vnsec && (p->isec || p->insec))
			spec.it_value.tv_nsec = 1;	/* caught as it fired */
		if ((spec.it_value.tv_sec || spec.it_value.tv_nsec) &&
		    syscall(SYS_timer_settime, id, 0, &spec, NULL))
			rst_child_fail(c, -errno, "timer_settime(%d): %s", id, strerror(errno));
	}
	prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
}

static void rst_child_task(struct rst_ctx *c)
{
	const CoreEntry *ce = c->im.cores[0];
	const TaskCoreEntry *tc = ce->tc;
	const char *exe = rst_images_file_path(&c->im, c->im.mme->exe_file_id);

	if (c->im.fse) {
		const char *cwd = rst_images_file_path(&c->im, c->im.fse->cwd_id);
		const char *root = rst_images_file_path(&c->im, c->im.fse->root_id);

		if (root && strcmp(root, "/") && chroot(root))
			rst_child_fail(c, -errno, "chroot(%s): %s", root, strerror(errno));
		if (cwd && chdir(cwd))
			rst_child_fail(c, -errno, "chdir(%s): %s", cwd, strerror(errno));
		if (c->im.fse->has_umask)
			umask((mode_t)c->im.fse->umask);
	}
	if (personality(tc->personality) < 0)
		rst_child_fail(c, -errno, "personality(%#x): %s", tc->personality, strerror(errno));
	rst_child_rlimits(c, tc->rlimits);
	rst_child_signals(c, tc);
	if (tc->timers)
		rst_child_timers(c, tc->timers);
	if (tc->has_child_subreaper && tc->child_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (c->im.mme->has_thp_disabled && c->im.mme->thp_disabled)
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (exe) {
		int fd = open(exe, O_RDONLY | O_CLOEXEC), hi;

		if (fd < 0)
			rst_child_fail(c, -errno, "cannot open the executable %s: %s", exe, strerror(errno));
		/* above the task's own fds: the restorer closes it with the rest */
		hi = fcntl(fd, F_DUPFD_CLOEXEC, c->args->fd_close_from);
		if (hi < 0)
			rst_child_fail(c, -errno, "moving the executable's fd: %s", strerror(errno));
		close(fd);
		c->args->mm.exe_fd = (uint32_t)hi;
	}
}

static void rst_child_install(struct rst_ctx *c)
{
	char why[200] = "";
	int err;

	if (!c->tree->fr.nr_t)
		return;
	err = files_rst_install_shared(&c->tree->fr, c->files_owner, c->im.pid, why, sizeof(why));
	if (!err)
		return;
	/* the engine hears of the first task that failed: the reason is the
	 * task of the table that failed first */
	for (size_t i = 0; err == -ECANCELED && i < c->tree->nr; i++) {
		const struct rst_ctx *k = &c->tree->task[i];

		if (k != c && k->args && k->files_owner == c->im.pid &&
		    __atomic_load_n(&k->args->stage, __ATOMIC_SEQ_CST) == RST_STAGE_FAILED)
			rst_child_fail(c, k->args->err, "task %d, which shares the fd table, "
				       "failed: %s", (int)k->pid, k->args->msg);
	}
	rst_child_fail(c, err, "installing the task's fds: %s", why);
}

/* glibc registered rseq for the engine's thread: its area goes away with
 * the engine, so the registration must go first. */
static void rst_child_drop_rseq(void)
{
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	unsigned int sizes[] = { __rseq_size, 32, 20 };

	if (!__rseq_size)
		return;
	for (size_t i = 0; i < 3; i++)
		if (!syscall(SYS_rseq, rs, sizes[i], 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG))
			return;
}

void rst_child_main(struct rst_ctx *c)
{
	struct rst_args *a = c->args;
	struct rst_vma *rv = (struct rst_vma *)(uintptr_t)a->vmas;
	const struct rst_thread *lead = (const struct rst_thread *)(uintptr_t)a->threads;
	void (*entry)(struct rst_args *) = (void (*)(struct rst_args *))(void *)c->region;
	struct rst_fill_task fill = { &c->im, rv, c->premap_vma, a->nr_vmas };
	char msg[sizeof(a->msg)];
	uint64_t direct;
	int err;

	rst_fork_children(c);
	for (size_t i = 0; i < a->nr_vmas; i++)
		rst_child_map(c, c->im.mme->vmas[c->premap_vma[i]], &rv[i]);
	err = rst_fill_task(&fill, &direct, msg, sizeof(msg));
	if (err)
		rst_child_fail(c, err, "%s", msg);
	a->pages_direct = direct;
	/* A table it creates: installed once every other task of the table is
	 * done with the engine's fds. A table it shares: done once its exe is
	 * open too (rst_child_task); the table's creator installs it. */
	if (c->files_owner == c->im.pid)
		rst_child_install(c);
	rst_child_task(c);
	if (c->files_owner != c->im.pid)
		rst_child_install(c);
	rst_child_drop_rseq();
	(void)PIE_RESTORER_OFF_rst_main;
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "call *%1\n\t"
			 "ud2"
			 : : "r"(lead->stack_top - 128), "r"(entry), "D"(a) : "memory");
	__builtin_unreachable();
}
