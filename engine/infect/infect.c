/* infect — running system calls inside a seized thread (see infect.h). */
#include "infect.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "blog.h"
#include "proc_maps.h"
#include "regs.h"
#include "uapi-compat.h"

#define INFECT_SCAN_MAX (64 << 10)	/* bytes of vdso searched for `syscall` */
#define INFECT_SUD_ALLOW 0		/* a dispatch selector's "let syscalls through" */

/* A `syscall` (0f 05) in the task's vdso: running it changes no memory. */
static int infect_find_vdso_syscall(struct infect_ctx *c,
				    const struct proc_maps *m)
{
	for (size_t i = 0; i < m->nr; i++) {
		const struct proc_vma *v = &m->vma[i];
		size_t len = v->end - v->start;
		unsigned char *buf;
		ssize_t n;

		if (strcmp(proc_vma_name(m, v), "[vdso]") || !(v->prot & PROT_EXEC))
			continue;
		if (len > INFECT_SCAN_MAX)
			len = INFECT_SCAN_MAX;
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		n = process_vm_readv(c->pid, &(struct iovec){ buf, len }, 1,
				     &(struct iovec){ (void *)(uintptr_t)v->start, len }, 1, 0);
		for (ssize_t j = 0; j + 1 < n; j++)
			if (buf[j] == 0x0f && buf[j + 1] == 0x05) {
				c->syscall_ip = v->start + (uint64_t)j;
				free(buf);
				return 0;
			}
		free(buf);
	}
	return -ENOENT;
}

/* Writes `syscall; int3` at the start of the first executable VMA. */
static int infect_poke_code(struct infect_ctx *c, const struct proc_maps *m)
{
	static const unsigned char code[3] = { 0x0f, 0x05, 0xcc };
	long word;

	for (size_t i = 0; i < m->nr; i++) {
		const struct proc_vma *v = &m->vma[i];

		if (!(v->prot & PROT_EXEC) || !strcmp(proc_vma_name(m, v), "[vsyscall]"))
			continue;
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, c->tid, (void *)(uintptr_t)v->start, NULL);
		if (errno)
			continue;
		c->poke_orig = word;
		memcpy(&word, code, sizeof(code));
		if (ptrace(PTRACE_POKEDATA, c->tid, (void *)(uintptr_t)v->start, (void *)word)) {
			int err = -errno;

			pr_perror("task %d: PTRACE_POKEDATA at %#llx", c->pid,
				  (unsigned long long)v->start);
			return err;
		}
		c->poked = true;
		c->poke_addr = v->start;
		c->syscall_ip = v->start;
		return 0;
	}
	pr_err("task %d: no executable memory to run system calls from", c->pid);
	return -ENOENT;
}

static int infect_kick(struct infect_ctx *c, int req)
{
	if (ptrace(req, c->tid, NULL, NULL)) {
		int err = -errno;

		pr_perror("task %d: resuming thread %d for a remote call", c->pid, c->tid);
		return err;
	}
	return 0;
}

/* Waits until the thread, resumed with @req (PTRACE_SINGLESTEP or
 * PTRACE_CONT), stops with SIGTRAP; resumes it again past leftover stops. */
static int infect_wait(struct infect_ctx *c, int req)
{
	int status;

	for (;;) {
		for (;;) {
			pid_t r = waitpid(c->tid, &status, __WALL);

			if (r == c->tid)
				break;
			if (r < 0 && errno != EINTR) {
				pr_perror("task %d: waiting for thread %d", c->pid, c->tid);
				return -ECHILD;
			}
		}
		if (!WIFSTOPPED(status)) {
			pr_err("task %d: thread %d died in a remote call (status %#x)", c->pid,
			       c->tid, status);
			return -ESRCH;
		}
		if (status >> 16 == PTRACE_EVENT_STOP) {
			/* a leftover interrupt or group stop: again */
			int err = infect_kick(c, req);

			if (err)
				return err;
			continue;
		}
		if (WSTOPSIG(status) == SIGTRAP)
			return 0;
		pr_err("task %d: thread %d got signal %d in a remote call", c->pid, c->tid,
		       WSTOPSIG(status));
		return -EIO;
	}
}

int infect_launch(struct infect_ctx *c, const struct user_regs_struct *r, bool step)
{
	int err = regs_set_gpr(c->tid, r);

	return err ? err : infect_kick(c, step ? PTRACE_SINGLESTEP : PTRACE_CONT);
}

int infect_wait_trap(struct infect_ctx *c, struct user_regs_struct *r, bool step,
		     uint64_t trap_ip)
{
	int err = infect_wait(c, step ? PTRACE_SINGLESTEP : PTRACE_CONT);

	if (!err)
		err = regs_get_gpr(c->tid, r);
	if (err)
		return err;
	c->nr_stops++;
	if (r->rip != trap_ip) {
		pr_err("task %d: thread %d stopped at %#llx, not at %#llx", c->pid, c->tid,
		       r->rip, (unsigned long long)trap_ip);
		return -EIO;
	}
	return 0;
}

int infect_run_to_trap(struct infect_ctx *c, struct user_regs_struct *r,
		       bool step, uint64_t trap_ip)
{
	int err = infect_launch(c, r, step);

	return err ? err : infect_wait_trap(c, r, step, trap_ip);
}

int infect_syscall(struct infect_ctx *c, long nr, const uint64_t args[6],
		   long *ret)
{
	struct user_regs_struct r = c->saved;
	int err;

	r.rax = (unsigned long long)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	r.rip = c->syscall_ip;
	/* not in a syscall: the kernel must not restart the interrupted one */
	r.orig_rax = (unsigned long long)-1;
	err = infect_run_to_trap(c, &r, !c->poked, c->syscall_ip + (c->poked ? 3 : 2));
	if (err) {
		pr_err("task %d: remote syscall %ld did not complete", c->pid, nr);
		return err;
	}
	*ret = (long)r.rax;
	c->nr_calls++;
	pr_debug("task %d: remote syscall %ld = %ld", c->pid, nr, *ret);
	return 0;
}

/* A thread with syscall user dispatch on, and its selector not at ALLOW
 * (or no selector), would have our calls sent to its SIGSYS handler (and,
 * with SIGSYS blocked, lose that handler): it is refused. The selector is
 * the task's byte, read while the thread is stopped. A kernel that cannot
 * tell (before 6.4) is taken at its word. */
static int infect_refuse_dispatch(struct infect_ctx *c)
{
	struct ptrace_sud_config sud;
	unsigned char sel = 1;

	memset(&sud, 0, sizeof(sud));
	if (ptrace(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, c->tid, (void *)sizeof(sud), &sud) ||
	    !sud.mode)
		return 0;
	if (sud.selector &&
	    process_vm_readv(c->pid, &(struct iovec){ &sel, 1 }, 1,
			     &(struct iovec){ (void *)(uintptr_t)sud.selector, 1 }, 1, 0) == 1 &&
	    sel == INFECT_SUD_ALLOW)
		return 0;	/* its syscalls go to the kernel now: so do ours */
	pr_err("task %d: thread %d uses syscall user dispatch, its syscalls sent to its SIGSYS "
	       "handler; remote calls would be too: refusing", c->pid, c->tid);
	return -EOPNOTSUPP;
}

/* Saves the thread's registers and mask (infect_block_signals blocks the
 * signals afterwards); refuses a thread with syscall user dispatch. */
static int infect_grab_thread(struct infect_ctx *c)
{
	int err = regs_get_gpr(c->tid, &c->saved);

	if (err)
		return err;
	if (ptrace(PTRACE_GETSIGMASK, c->tid, (void *)sizeof(uint64_t), &c->saved_sigmask)) {
		err = -errno;
		pr_perror("task %d: PTRACE_GETSIGMASK of thread %d", c->pid, c->tid);
		return err;
	}
	return infect_refuse_dispatch(c);
}

#define INFECT_PEEK_BATCH 16

/* Whether a SIGTRAP waits for the thread (@shared false) or its task: 1,
 * 0, or -errno when the queue cannot be read. */
static int infect_trap_queued(const struct infect_ctx *c, bool shared)
{
	siginfo_t si[INFECT_PEEK_BATCH];
	struct __ptrace_peeksiginfo_args a = {
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = INFECT_PEEK_BATCH,
	};

	for (;;) {
		long n = ptrace(PTRACE_PEEKSIGINFO, c->tid, &a, si);

		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++)
			if (si[i].si_signo == SIGTRAP)
				return 1;
		if (n < INFECT_PEEK_BATCH)
			return 0;
		a.off += (uint64_t)n;
	}
}

static int infect_block_signals(struct infect_ctx *c)
{
	/* every signal but SIGTRAP: a trap taken with it blocked resets its
	 * action (infect.h) */
	uint64_t all = ~(1ULL << (SIGTRAP - 1));
	int q = infect_trap_queued(c, false);

	if (!q)
		q = infect_trap_queued(c, true);
	if (q < 0) {
		pr_err("task %d: cannot read the pending signals of thread %d: %s", c->pid, c->tid,
		       strerror(-q));
		return q;
	}
	if (q) {
		pr_err("task %d: thread %d has a SIGTRAP pending; the traps of remote calls would "
		       "take its place: refusing", c->pid, c->tid);
		return -EBUSY;
	}
	if (ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof(all), &all)) {
		int err = -errno;

		pr_perror("task %d: PTRACE_SETSIGMASK of thread %d", c->pid, c->tid);
		return err;
	}
	return 0;
}

/* mmap of @prot scratch in the task: the address, or -errno. */
static long infect_map_scratch(struct infect_ctx *c, size_t size, int prot)
{
	const uint64_t a[6] = { 0, size, (uint64_t)prot, MAP_PRIVATE | MAP_ANONYMOUS,
				(uint64_t)-1, 0 };
	long ret;
	int err = infect_syscall(c, SYS_mmap, a, &ret);

	if (err)
		return err;
	return ret;
}

/* Maps the scratch; executable for batches when the task allows. */
static int infect_start_scratch(struct infect_ctx *c, size_t size)
{
	int rw = PROT_READ | PROT_WRITE;
	bool exec = (c->flags & INFECT_BATCH) && !(c->flags & INFECT_BATCH_BY_CALL);
	long ret = infect_map_scratch(c, size, exec ? rw | PROT_EXEC : rw);

	if (exec && (ret == -EACCES || ret == -EPERM)) {
		pr_info("task %d: no writable+executable scratch (%s): remote calls run one by one",
			c->pid, strerror((int)-ret));
		exec = false;
		ret = infect_map_scratch(c, size, rw);
	}
	if (ret < 0 && ret > -4096) {
		pr_err("task %d: remote mmap of %zu bytes: %s", c->pid, size, strerror((int)-ret));
		return (int)ret;
	}
	c->scratch = (uint64_t)ret;
	c->scratch_size = size;
	c->scratch_exec = exec;
	return 0;
}

int infect_start_maps(struct infect_ctx *c, pid_t pid, pid_t tid, size_t scratch_size,
		      unsigned int flags, const struct proc_maps *maps)
{
	struct proc_maps own;
	int err;

	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->tid = tid;
	c->flags = flags;
	err = infect_grab_thread(c);
	if (err)
		return err;
	if (!maps) {
		err = proc_read_maps(pid, false, &own);
		if (err) {
			pr_err("task %d: cannot read its maps: %s", pid, strerror(-err));
			return err;
		}
	}
	err = -ENOENT;
	if (!(flags & INFECT_FORCE_POKE))
		err = infect_find_vdso_syscall(c, maps ? maps : &own);
	if (err == -ENOENT)
		err = infect_poke_code(c, maps ? maps : &own);
	if (!maps)
		proc_maps_free(&own);
	if (err)
		return err;
	err = infect_block_signals(c);
	if (!err && scratch_size)
		err = infect_start_scratch(c, scratch_size);
	if (err)
		infect_stop(c);
	return err;
}

int infect_start(struct infect_ctx *c, pid_t pid, pid_t tid,
		 size_t scratch_size, unsigned int flags)
{
	return infect_start_maps(c, pid, tid, scratch_size, flags, NULL);
}

int infect_start_sibling(struct infect_ctx *c, const struct infect_ctx *owner,
			 pid_t tid)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->pid = owner->pid;
	c->tid = tid;
	c->flags = owner->flags;
	c->syscall_ip = owner->syscall_ip;
	c->poked = owner->poked;
	c->sibling = true;
	c->scratch = owner->scratch;
	c->scratch_size = owner->scratch_size;
	c->scratch_exec = owner->scratch_exec;
	err = infect_grab_thread(c);
	if (err)
		return err;
	err = infect_block_signals(c);
	if (err)
		infect_stop(c);
	return err;
}

static int infect_scratch_check(struct infect_ctx *c, size_t off, size_t len)
{
	if (!c->scratch || off > c->scratch_size || len > c->scratch_size - off)
		return -EINVAL;
	return 0;
}

int infect_scratch_read(struct infect_ctx *c, size_t off, void *buf, size_t len)
{
	ssize_t n;

	if (infect_scratch_check(c, off, len))
		return -EINVAL;
	n = process_vm_readv(c->pid, &(struct iovec){ buf, len }, 1,
			     &(struct iovec){ (void *)(uintptr_t)(c->scratch + off), len }, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int infect_scratch_write(struct infect_ctx *c, size_t off, const void *buf,
			 size_t len)
{
	ssize_t n;

	if (infect_scratch_check(c, off, len))
		return -EINVAL;
	n = process_vm_writev(c->pid, &(struct iovec){ (void *)buf, len }, 1,
			      &(struct iovec){ (void *)(uintptr_t)(c->scratch + off), len }, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int infect_stop(struct infect_ctx *c)
{
	int ret = 0, err;
	long r;

	if (c->scratch && !c->sibling) {
		const uint64_t a[6] = { c->scratch, c->scratch_size };

		err = infect_syscall(c, SYS_munmap, a, &r);
		if (!err && r)
			err = (int)r;
		if (err) {
			pr_err("task %d: remote munmap: %s", c->pid, strerror(-err));
			ret = err;
		}
	}
	c->scratch = 0;
	if (c->poked && !c->sibling) {
		if (ptrace(PTRACE_POKEDATA, c->tid, (void *)(uintptr_t)c->poke_addr,
			   (void *)c->poke_orig)) {
			pr_perror("task %d: restoring code at %#llx", c->pid,
				  (unsigned long long)c->poke_addr);
			if (!ret)
				ret = -errno;
		}
		c->poked = false;
	}
	if (ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof(c->saved_sigmask),
		   &c->saved_sigmask)) {
		pr_perror("task %d: restoring the signal mask of thread %d", c->pid, c->tid);
		if (!ret)
			ret = -errno;
	}
	err = regs_set_gpr(c->tid, &c->saved);
	if (err && !ret)
		ret = err;
	return ret;
}
