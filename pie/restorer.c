/* restorer — the last stage of `crisp restore`, run inside the new task
 * from the shared region the engine prepared (pie/restorer.h). It removes
 * the engine from the address space, moves the premapped VMAs and the vdso
 * into place, sets the mm fields, creates the other threads, restores each
 * thread's own state and creds, parks every thread until the engine says go,
 * then enters the task through rt_sigreturn. Freestanding: no libc.
 */
#include <stdint.h>

#include "restorer.h"
#include "syscall.h"

#define NR_close		3
#define NR_mprotect		10
#define NR_rt_sigqueueinfo	129
#define NR_madvise		28
#define NR_setpriority		141
#define NR_sched_setscheduler	144
#define NR_mlock		149
#define NR_arch_prctl		158
#define NR_setresuid		117
#define NR_setresgid		119
#define NR_setfsuid		122
#define NR_setfsgid		123
#define NR_setgroups		116
#define NR_capget		125
#define NR_capset		126
#define NR_futex		202
#define NR_set_tid_address	218
#define NR_set_robust_list	273
#define NR_rt_tgsigqueueinfo	297
#define NR_rseq			334
#define NR_clone3		435
#define NR_close_range		436

#define RST_PAGE		4096ull
#define RST_TASK_END		0x7ffffffff000ull
#define RST_MREMAP_MAYMOVE	1
#define RST_MREMAP_FIXED	2
#define RST_MAP_LOCKED		0x2000
#define RST_MADV_GUARD_INSTALL	102	/* Linux 6.13 */
#define RST_ARCH_SET_GS		0x1001
#define RST_ARCH_SET_FS		0x1002
#define RST_PR_SET_PDEATHSIG	1
#define RST_PR_SET_DUMPABLE	4
#define RST_PR_SET_KEEPCAPS	8
#define RST_PR_SET_NAME		15
#define RST_PR_CAPBSET_DROP	24
#define RST_PR_SET_SECUREBITS	28
#define RST_PR_SET_NO_NEW_PRIVS	38
#define RST_PR_CAP_AMBIENT	47
#define RST_PR_CAP_AMBIENT_RAISE	2
#define RST_PR_SET_MM		35
#define RST_PR_SET_MM_MAP	14
#define RST_SECBIT_KEEP_CAPS	(1u << 4)
#define RST_SECBIT_NO_AMBIENT	(3u << 6)	/* NO_CAP_AMBIENT_RAISE and its lock */
#define RST_CAP_VERSION_3	0x20080522
#define RST_FUTEX_WAIT		0
#define RST_FUTEX_WAKE		1
#define RST_CLONE_THREAD_FLAGS	(0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)
	/* VM | FS | FILES | SIGHAND | THREAD | SYSVSEM */

struct rst_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static __attribute__((noreturn)) void rst_fail(struct rst_args *a, int step, long err)
{
	a->err = (int32_t)err;
	a->err_step = step;
	a->err_tid = (int32_t)pie_syscall0(186 /* gettid */);
	__atomic_store_n(&a->stage, RST_STAGE_FAILED, __ATOMIC_SEQ_CST);
	pie_syscall6(NR_futex, (long)&a->stage, RST_FUTEX_WAKE, 1 << 30, 0, 0, 0);
	pie_exit_group(1);
}

#define RST_CHECK(a, step, expr)				\
	do {							\
		long __r = (expr);				\
		if (__r < 0 && __r > -4096)			\
			rst_fail((a), (step), __r);		\
	} while (0)

/* ---- the address space ----------------------------------------------------- */

struct rst_range {
	uint64_t start, end;
};

/* Unmaps everything but the ranges we keep: the engine leaves with it. */
static void rst_unmap_engine(struct rst_args *a)
{
	struct rst_range keep[2 + RST_MAX_SPECIAL];
	uint32_t n = 0;
	uint64_t at = RST_PAGE;

	keep[n++] = (struct rst_range){ a->region, a->region + a->region_len };
	keep[n++] = (struct rst_range){ a->premap, a->premap + a->premap_len };
	for (uint32_t i = 0; i < a->nr_special; i++)
		keep[n++] = (struct rst_range){ a->special[i].cur,
						a->special[i].cur + a->special[i].len };
	for (uint32_t i = 1; i < n; i++)	/* insertion sort by start */
		for (uint32_t j = i; j > 0 && keep[j].start < keep[j - 1].start; j--) {
			struct rst_range t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (uint32_t i = 0; i <= n; i++) {
		uint64_t end = i < n ? keep[i].start : RST_TASK_END;

		if (end > at)
			RST_CHECK(a, RST_STEP_UNMAP, pie_syscall2(PIE_NR_munmap, (long)at, (long)(end - at)));
		if (i < n && keep[i].end > at)
			at = keep[i].end;
	}
}

static long rst_move(uint64_t from, uint64_t len, uint64_t to)
{
	if (from == to)
		return 0;
	return pie_syscall5(PIE_NR_mremap, (long)from, (long)len, (long)len,
			    RST_MREMAP_MAYMOVE | RST_MREMAP_FIXED, (long)to);
}

static void rst_place_vmas(struct rst_args *a)
{
	struct rst_vma *v = (struct rst_vma *)a->vmas;
	const struct rst_guard *g = (const struct rst_guard *)a->guards;
	uint32_t gi = 0;

	for (uint32_t i = 0; i < a->nr_special; i++)
		RST_CHECK(a, RST_STEP_PARK_SPECIAL,
			  rst_move(a->special[i].cur, a->special[i].len, a->special[i].park));
	for (uint32_t i = 0; i < a->nr_vmas; i++) {
		long r = rst_move(v[i].src, v[i].len, v[i].dst);

		if (r < 0 && r > -4096)
			rst_fail(a, RST_STEP_MOVE_VMA, r);
		RST_CHECK(a, RST_STEP_PROT_VMA,
			  pie_syscall3(NR_mprotect, (long)v[i].dst, (long)v[i].len, v[i].prot));
		for (int adv = 0; adv < 64; adv++)
			if (v[i].madv & (1ull << adv))
				RST_CHECK(a, RST_STEP_MADVISE,
					  pie_syscall3(NR_madvise, (long)v[i].dst, (long)v[i].len, adv));
		/* guard markers live in the page tables: at the final address,
		 * and before mlock (the kernel refuses them in locked VMAs) */
		for (; gi < a->nr_guards && g[gi].start < v[i].dst + v[i].len; gi++)
			RST_CHECK(a, RST_STEP_GUARD,
				  pie_syscall3(NR_madvise, (long)g[gi].start, (long)g[gi].len,
					       RST_MADV_GUARD_INSTALL));
		if (v[i].flags & RST_MAP_LOCKED)
			RST_CHECK(a, RST_STEP_MLOCK,
				  pie_syscall2(NR_mlock, (long)v[i].dst, (long)v[i].len));
	}
	for (uint32_t i = 0; i < a->nr_special; i++)
		RST_CHECK(a, RST_STEP_SPECIAL,
			  rst_move(a->special[i].park, a->special[i].len, a->special[i].dst));
	/* what is left of the reservation */
	RST_CHECK(a, RST_STEP_UNMAP, pie_syscall2(PIE_NR_munmap, (long)a->premap, (long)a->premap_len));
}

/* ---- threads ------------------------------------------------------------------ */

struct rst_cap_hdr {
	uint32_t version;
	int32_t pid;
};

struct rst_cap_data {
	uint32_t eff, prm, inh;
};

/* Raising an ambient capability needs it in both permitted and inheritable
 * and the NO_CAP_AMBIENT_RAISE securebit clear. So, still holding the
 * engine's permitted set, make it effective, take the task's inheritable
 * set, raise, and only then add the securebits held back (CAP_SETPCAP is
 * still effective). The final capset keeps the ambient set, which lies
 * within the task's permitted and inheritable sets. */
static void rst_ambient(struct rst_args *a, const struct rst_thread *t)
{
	struct rst_cap_hdr hdr = { RST_CAP_VERSION_3, 0 };
	struct rst_cap_data d[2];

	RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(NR_capget, (long)&hdr, (long)d));
	for (int i = 0; i < 2; i++) {
		d[i].eff = d[i].prm;
		d[i].inh = (uint32_t)(t->cap_inh >> (32 * i));
	}
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(NR_capset, (long)&hdr, (long)d));
	for (int cap = 0; cap < 64; cap++)
		if (t->cap_amb & (1ull << cap))
			RST_CHECK(a, RST_STEP_CREDS, pie_syscall5(PIE_NR_prctl, RST_PR_CAP_AMBIENT,
								  RST_PR_CAP_AMBIENT_RAISE, cap, 0, 0));
	if (t->secbits & RST_SECBIT_NO_AMBIENT)
		RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(PIE_NR_prctl, RST_PR_SET_SECUREBITS,
							  t->secbits | RST_SECBIT_KEEP_CAPS));
}

/* Order: bounding set and securebits while root, ids, ambient set, the
 * task's capability sets, keepcaps, and no_new_privs last (one-way; it
 * would also come before any seccomp filter, which crisp does not restore). */
static void rst_creds(struct rst_args *a, const struct rst_thread *t)
{
	struct rst_cap_hdr hdr = { RST_CAP_VERSION_3, 0 };
	struct rst_cap_data data[2] = {
		{ (uint32_t)t->cap_eff, (uint32_t)t->cap_prm, (uint32_t)t->cap_inh },
		{ (uint32_t)(t->cap_eff >> 32), (uint32_t)(t->cap_prm >> 32),
		  (uint32_t)(t->cap_inh >> 32) },
	};
	uint32_t secbits = t->secbits | RST_SECBIT_KEEP_CAPS;

	if (t->cap_amb)
		secbits &= ~RST_SECBIT_NO_AMBIENT;
	for (int cap = 0; cap < 64; cap++) {
		if (t->cap_bnd & (1ull << cap))
			continue;
		long r = pie_syscall2(PIE_NR_prctl, RST_PR_CAPBSET_DROP, cap);

		if (r == -22)	/* past the kernel's last capability */
			break;
		RST_CHECK(a, RST_STEP_CREDS, r);
	}
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(PIE_NR_prctl, RST_PR_SET_SECUREBITS, secbits));
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(NR_setgroups, t->nr_groups, (long)t->groups));
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall3(NR_setresgid, t->gid[0], t->gid[1], t->gid[2]));
	pie_syscall1(NR_setfsgid, t->gid[3]);
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall3(NR_setresuid, t->uid[0], t->uid[1], t->uid[2]));
	pie_syscall1(NR_setfsuid, t->uid[3]);
	if (t->cap_amb)
		rst_ambient(a, t);
	RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(NR_capset, (long)&hdr, (long)data));
	if (!(t->secbits & RST_SECBIT_KEEP_CAPS))
		RST_CHECK(a, RST_STEP_CREDS, pie_syscall2(PIE_NR_prctl, RST_PR_SET_KEEPCAPS, 0));
	if (t->no_new_privs)
		RST_CHECK(a, RST_STEP_CREDS, pie_syscall5(PIE_NR_prctl, RST_PR_SET_NO_NEW_PRIVS,
							  1, 0, 0, 0));
}

/* Everything a thread restores itself, then it waits for the engine and
 * enters the task. */
static __attribute__((noreturn)) void rst_thread_finish(struct rst_args *a, struct rst_thread *t)
{
	const struct rst_siginfo *si = (const struct rst_siginfo *)t->pending;

	RST_CHECK(a, RST_STEP_THREAD_STATE, pie_syscall2(NR_arch_prctl, RST_ARCH_SET_FS, (long)t->fs_base));
	RST_CHECK(a, RST_STEP_THREAD_STATE, pie_syscall2(NR_arch_prctl, RST_ARCH_SET_GS, (long)t->gs_base));
	pie_syscall1(NR_set_tid_address, (long)t->clear_tid);
	if (t->robust_head)
		RST_CHECK(a, RST_STEP_THREAD_STATE,
			  pie_syscall2(NR_set_robust_list, (long)t->robust_head, (long)t->robust_len));
	RST_CHECK(a, RST_STEP_THREAD_STATE, pie_syscall2(PIE_NR_prctl, RST_PR_SET_NAME, (long)t->comm));
	{
		int32_t prio = t->rt_prio;

		RST_CHECK(a, RST_STEP_THREAD_STATE,
			  pie_syscall3(NR_sched_setscheduler, t->tid, t->policy, (long)&prio));
	}
	RST_CHECK(a, RST_STEP_THREAD_STATE, pie_syscall3(NR_setpriority, 0, t->tid, t->nice));
	if (t->rseq_ptr)
		RST_CHECK(a, RST_STEP_RSEQ, pie_syscall4(NR_rseq, (long)t->rseq_ptr,
							 t->rseq_size, 0, t->rseq_sig));
	for (uint32_t i = 0; i < t->nr_pending; i++) {
		int32_t signo = *(const int32_t *)si[i].b;

		RST_CHECK(a, RST_STEP_PENDING, pie_syscall4(NR_rt_tgsigqueueinfo, a->pid, t->tid,
							    signo, (long)si[i].b));
	}
	if (t->restore_creds)
		rst_creds(a, t);
	if (t->pdeath)
		RST_CHECK(a, RST_STEP_PRCTL, pie_syscall2(PIE_NR_prctl, RST_PR_SET_PDEATHSIG, t->pdeath));

	/* park; the last one in sets dumpable (creds changes reset it) and
	 * tells the engine */
	if (__atomic_add_fetch(&a->nr_parked, 1, __ATOMIC_SEQ_CST) == (int32_t)a->nr_threads) {
		RST_CHECK(a, RST_STEP_PRCTL, pie_syscall2(PIE_NR_prctl, RST_PR_SET_DUMPABLE, a->dumpable));
		__atomic_store_n(&a->stage, RST_STAGE_PARKED, __ATOMIC_SEQ_CST);
		pie_syscall6(NR_futex, (long)&a->stage, RST_FUTEX_WAKE, 1 << 30, 0, 0, 0);
	}
	while (!__atomic_load_n(&a->go, __ATOMIC_SEQ_CST))
		pie_syscall6(NR_futex, (long)&a->go, RST_FUTEX_WAIT, 0, 0, 0, 0);

	/* the frame sits right above frame_sp: nothing of ours is used after this */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"
			 "syscall\n\t"
			 "ud2"
			 : : "r"(t->frame_sp) : "memory");
	__builtin_unreachable();
}

struct rst_thread_start {
	struct rst_args *a;
	struct rst_thread *t;
};

static __attribute__((noreturn, used)) void rst_thread_entry(struct rst_thread_start *s)
{
	rst_thread_finish(s->a, s->t);
}

/* clone3 onto the thread's own restorer stack; the child calls
 * rst_thread_entry(@s) and never comes back here. */
static long rst_clone_thread(struct rst_clone_args *ca, struct rst_thread_start *s)
{
	register long r12 __asm__("r12") = (long)rst_thread_entry;
	register long r13 __asm__("r13") = (long)s;
	long ret;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(NR_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r12), "r"(r13)
			 : "rcx", "r11", "memory");
	return ret;
}

static void rst_create_threads(struct rst_args *a, struct rst_thread *th)
{
	for (uint32_t i = 1; i < a->nr_threads; i++) {
		/* on the thread's own stack, which it reads first thing */
		struct rst_thread_start *s = (struct rst_thread_start *)(th[i].stack_top - 64);
		struct rst_clone_args ca;
		uint64_t tid = (uint64_t)th[i].tid;

		s->a = a;
		s->t = &th[i];
		for (unsigned int k = 0; k < sizeof(ca) / 8; k++)
			((uint64_t *)&ca)[k] = 0;
		ca.flags = RST_CLONE_THREAD_FLAGS;
		ca.stack = th[i].stack_top - RST_THREAD_STACK;
		ca.stack_size = RST_THREAD_STACK - 64;
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
		long r = rst_clone_thread(&ca, s);

		if (r < 0)
			rst_fail(a, RST_STEP_CLONE_THREAD, r);
	}
}

/* The entry (offset 0), on the leader's restorer stack, all signals blocked. */
__attribute__((section(".text.pie_entry"), noreturn))
void rst_main(struct rst_args *a);
void rst_main(struct rst_args *a)
{
	struct rst_thread *th = (struct rst_thread *)a->threads;

	a->stage = RST_STAGE_BLOB;
	rst_unmap_engine(a);
	rst_place_vmas(a);
	a->mm.auxv = (uint64_t)a->auxv;
	RST_CHECK(a, RST_STEP_MM_MAP, pie_syscall5(PIE_NR_prctl, RST_PR_SET_MM, RST_PR_SET_MM_MAP,
						   (long)&a->mm, sizeof(a->mm), 0));
	/* the task's fds are installed below fd_close_from (rst-child did); the
	 * engine's copies and the exe fd above it go (in a table shared with
	 * another task, the engine closes them once every task is parked) */
	if (!a->keep_fds)
		pie_syscall3(NR_close_range, (unsigned int)a->fd_close_from, ~0u, 0);
	rst_create_threads(a, th);
	rst_thread_finish(a, &th[0]);
}
