/* syscall — raw x86_64 system calls for freestanding pie/ code.
 *
 * No libc, no errno: each returns the kernel's value (-errno on failure).
 * Only for code built by pie/meson.build; the engine uses libc.
 */
#ifndef CRISP_PIE_SYSCALL_H
#define CRISP_PIE_SYSCALL_H

#define PIE_NR_write		1
#define PIE_NR_mmap		9
#define PIE_NR_munmap		11
#define PIE_NR_rt_sigreturn	15
#define PIE_NR_mremap		25
#define PIE_NR_getpid		39
#define PIE_NR_exit		60
#define PIE_NR_prctl		157
#define PIE_NR_exit_group	231

static inline long pie_syscall0(long nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall1(long nr, long a1)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1) : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall2(long nr, long a1, long a2)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall3(long nr, long a1, long a2, long a3)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall4(long nr, long a1, long a2, long a3, long a4)
{
	register long r10 __asm__("r10") = a4;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall5(long nr, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
				long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long pie_write(int fd, const void *buf, unsigned long len)
{
	return pie_syscall3(PIE_NR_write, fd, (long)buf, (long)len);
}

static inline long pie_getpid(void)
{
	return pie_syscall0(PIE_NR_getpid);
}

static inline __attribute__((noreturn)) void pie_exit_group(int code)
{
	for (;;)
		pie_syscall1(PIE_NR_exit_group, code);
}

#endif
