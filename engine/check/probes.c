/* probes — one function per kernel feature crisp relies on (see check.h).
 *
 * Each probe exercises the real interface on something the checking process
 * owns (a forked child, a scratch mapping, its own /proc files) and cleans up
 * after itself. Probes only report; they never log errors of their own.
 */
#include "probes.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <liburing.h>

#include "check.h"
#include "uapi-compat.h"

static void probe_set(struct probe_result *r, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void probe_set(struct probe_result *r, bool ok, const char *fmt, ...)
{
	va_list ap;

	r->ok = ok;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* --- a scratch child for ptrace and process_vm_readv --------------------- */

static volatile uint64_t probe_cookie;

struct probe_child {
	pid_t pid;
};

/* Forks a child that sets probe_cookie to @cookie, says so, and sleeps. */
static int probe_child_start(struct probe_child *c, uint64_t cookie)
{
	int pfd[2];
	char b;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		int err = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		probe_cookie = cookie;
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &b, 1) != 1) {
		close(pfd[0]);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		return -ECHILD;
	}
	close(pfd[0]);
	return 0;
}

static void probe_child_stop(struct probe_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	c->pid = 0;
}

void probe_ptrace(struct probe_result *r)
{
	struct probe_child c;
	struct iovec iov;
	char xsave[16384];
	int st, err;

	err = probe_child_start(&c, 1);
	if (err) {
		probe_set(r, false, "cannot fork a scratch child: %s", strerror(-err));
		return;
	}
	if (ptrace(PTRACE_SEIZE, c.pid, 0, 0)) {
		probe_set(r, false, "PTRACE_SEIZE: %s", strerror(errno));
		goto out;
	}
	if (ptrace(PTRACE_INTERRUPT, c.pid, 0, 0)) {
		probe_set(r, false, "PTRACE_INTERRUPT: %s", strerror(errno));
		goto out;
	}
	if (waitpid(c.pid, &st, __WALL) != c.pid || !WIFSTOPPED(st) ||
	    (st >> 16) != PTRACE_EVENT_STOP) {
		probe_set(r, false, "the child did not stop in PTRACE_EVENT_STOP");
		goto out;
	}
	iov.iov_base = xsave;
	iov.iov_len = sizeof(xsave);
	if (ptrace(PTRACE_GETREGSET, c.pid, NT_X86_XSTATE, &iov)) {
		probe_set(r, true, "seize and interrupt work; no XSAVE regset (%s)",
			  strerror(errno));
		goto out;
	}
	probe_set(r, true, "seize, interrupt and the XSAVE regset (%zu bytes) work",
		  iov.iov_len);
out:
	probe_child_stop(&c);
}

void probe_process_vm_readv(struct probe_result *r)
{
	const uint64_t want = 0x6372697370ULL ^ (uint64_t)getpid();
	struct probe_child c;
	uint64_t got = 0;
	struct iovec local = { &got, sizeof(got) };
	struct iovec remote = { (void *)&probe_cookie, sizeof(got) };
	ssize_t n;
	int err;

	err = probe_child_start(&c, want);
	if (err) {
		probe_set(r, false, "cannot fork a scratch child: %s", strerror(-err));
		return;
	}
	n = process_vm_readv(c.pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)sizeof(got))
		probe_set(r, false, "process_vm_readv: %s", n < 0 ? strerror(errno) : "short read");
	else if (got != want)
		probe_set(r, false, "read %#llx, the child holds %#llx",
			  (unsigned long long)got, (unsigned long long)want);
	else
		probe_set(r, true, "reads another task's memory");
	probe_child_stop(&c);
}

void probe_io_uring(struct probe_result *r)
{
	static const struct { int op; const char *name; } ops[] = {
		{ IORING_OP_WRITE, "write" },
		{ IORING_OP_WRITEV, "writev" },
		{ IORING_OP_WRITE_FIXED, "write_fixed" },
		{ IORING_OP_READ, "read" },
		{ IORING_OP_FSYNC, "fsync" },
		{ IORING_OP_SPLICE, "splice" },
		{ IORING_OP_SEND, "send" },
	};
	struct io_uring_probe *p;
	struct io_uring ring;
	char list[160] = "";
	size_t len = 0;
	int err;

	err = io_uring_queue_init(4, &ring, 0);
	if (err) {
		probe_set(r, false, "io_uring_setup: %s", strerror(-err));
		return;
	}
	p = io_uring_get_probe_ring(&ring);
	if (!p) {
		probe_set(r, true, "rings work; the opcode probe is not available");
		io_uring_queue_exit(&ring);
		return;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!io_uring_opcode_supported(p, ops[i].op))
			continue;
		int n = snprintf(list + len, sizeof(list) - len, "%s%s",
				 len ? " " : "", ops[i].name);
		if (n > 0 && (size_t)n < sizeof(list) - len)
			len += (size_t)n;
	}
	probe_set(r, io_uring_opcode_supported(p, IORING_OP_WRITE),
		  "opcodes: %s", len ? list : "(none of crisp's)");
	io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
}

/* Maps @pages scratch pages; returns MAP_FAILED on error. */
static char *probe_map(size_t pages)
{
	return mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

void probe_pagemap_scan(struct probe_result *r)
{
	const long ps = page_size();
	struct page_region regs[4];
	struct pm_scan_arg arg;
	char *m = probe_map(4);
	int fd, n;

	if (m == MAP_FAILED) {
		probe_set(r, false, "mmap: %s", strerror(errno));
		return;
	}
	m[ps] = 1;	/* only the second page is present */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		probe_set(r, false, "open /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)m;
	arg.end = (uintptr_t)m + 4 * ps;
	arg.vec = (uintptr_t)regs;
	arg.vec_len = 4;
	arg.category_mask = PAGE_IS_PRESENT;
	arg.return_mask = PAGE_IS_PRESENT;
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (n < 0)
		probe_set(r, false, "ioctl PAGEMAP_SCAN: %s", strerror(errno));
	else if (n != 1 || regs[0].start != (uintptr_t)m + ps ||
		 regs[0].end != (uintptr_t)m + 2 * ps)
		probe_set(r, false, "PAGEMAP_SCAN reported %d ranges, not the one present page", n);
	else
		probe_set(r, true, "finds present pages by range");
	close(fd);
out:
	munmap(m, 4 * ps);
}

/* Guard regions (MADV_GUARD_INSTALL, 6.13) and whether a dump can see them:
 * PAGEMAP_SCAN's PAGE_IS_GUARD or the pagemap bit (both 6.15). */
void probe_guard_regions(struct probe_result *r)
{
	const long ps = page_size();
	struct page_region regs[4];
	struct pm_scan_arg arg = { .size = sizeof(arg) };
	uint64_t e = 0;
	char *m = probe_map(3);
	int fd, n;

	if (m == MAP_FAILED) {
		probe_set(r, false, "mmap: %s", strerror(errno));
		return;
	}
	if (madvise(m + ps, (size_t)ps, MADV_GUARD_INSTALL)) {
		probe_set(r, false, "madvise MADV_GUARD_INSTALL: %s", strerror(errno));
		goto out;
	}
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		probe_set(r, false, "open /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	arg.start = (uintptr_t)m;
	arg.end = (uintptr_t)m + 3 * ps;
	arg.vec = (uintptr_t)regs;
	arg.vec_len = 4;
	arg.category_mask = PAGE_IS_GUARD;
	arg.return_mask = PAGE_IS_GUARD;
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (n == 1 && regs[0].start == (uintptr_t)m + ps && regs[0].end == (uintptr_t)m + 2 * ps)
		probe_set(r, true, "guard pages are found by PAGEMAP_SCAN (PAGE_IS_GUARD)");
	else if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)(m + ps) / (uintptr_t)ps * 8)) ==
		 sizeof(e) && (e & PM_ENTRY_GUARD))
		probe_set(r, true, "guard pages are found by the pagemap bit (no PAGE_IS_GUARD)");
	else
		probe_set(r, false, "guard pages are installed but neither PAGEMAP_SCAN nor the "
			  "pagemap shows them: a dump would lose them");
	close(fd);
out:
	munmap(m, 3 * ps);
}

static int probe_uffd_open(uint64_t features, uint64_t *avail)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (avail)
		*avail = api.features;
	return fd;
}

void probe_uffd(struct probe_result *r)
{
	uint64_t f = 0;
	int fd = probe_uffd_open(0, &f);

	if (fd < 0) {
		probe_set(r, false, "userfaultfd: %s", strerror(-fd));
		return;
	}
	close(fd);
	probe_set(r, true, "features %#llx: wp %s, wp-async %s, wp-unpopulated %s, fork events %s",
		  (unsigned long long)f,
		  f & UFFD_FEATURE_PAGEFAULT_FLAG_WP ? "yes" : "no",
		  f & UFFD_FEATURE_WP_ASYNC ? "yes" : "no",
		  f & UFFD_FEATURE_WP_UNPOPULATED ? "yes" : "no",
		  f & UFFD_FEATURE_EVENT_FORK ? "yes" : "no");
}

void probe_uffd_noncoop(struct probe_result *r)
{
	const uint64_t want = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
			      UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
	uint64_t f = 0;
	int fd = probe_uffd_open(0, &f);

	if (fd < 0) {
		probe_set(r, false, "userfaultfd: %s", strerror(-fd));
		return;
	}
	close(fd);
	probe_set(r, (f & want) == want, "fork/remap/remove/unmap events %s",
		  (f & want) == want ? "available" : "missing");
}

/*
 * Write-protects a scratch mapping in async mode, writes one page, and asks
 * PAGEMAP_SCAN which pages were written: the whole dirty-tracking path.
 */
void probe_uffd_wp_async(struct probe_result *r)
{
	const uint64_t feat = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	const long ps = page_size();
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	struct page_region regs[4];
	struct pm_scan_arg arg;
	char *m = probe_map(4);
	int ufd, pfd = -1, n;

	if (m == MAP_FAILED) {
		probe_set(r, false, "mmap: %s", strerror(errno));
		return;
	}
	ufd = probe_uffd_open(feat, NULL);
	if (ufd < 0) {
		probe_set(r, false, "UFFDIO_API with WP_ASYNC|WP_UNPOPULATED: %s", strerror(-ufd));
		goto out_unmap;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)m;
	reg.range.len = 4 * ps;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(ufd, UFFDIO_REGISTER, &reg)) {
		probe_set(r, false, "UFFDIO_REGISTER (wp): %s", strerror(errno));
		goto out_close;
	}
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(ufd, UFFDIO_WRITEPROTECT, &wp)) {
		probe_set(r, false, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
		goto out_close;
	}
	m[2 * ps] = 1;	/* resolved by the kernel itself in async mode */
	pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pfd < 0) {
		probe_set(r, false, "open /proc/self/pagemap: %s", strerror(errno));
		goto out_close;
	}
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	arg.start = (uintptr_t)m;
	arg.end = (uintptr_t)m + 4 * ps;
	arg.vec = (uintptr_t)regs;
	arg.vec_len = 4;
	arg.category_mask = PAGE_IS_WRITTEN;
	arg.return_mask = PAGE_IS_WRITTEN;
	n = ioctl(pfd, PAGEMAP_SCAN, &arg);
	if (n < 0)
		probe_set(r, false, "PAGEMAP_SCAN with PM_SCAN_WP_MATCHING: %s", strerror(errno));
	else if (n != 1 || regs[0].start != (uintptr_t)m + 2 * ps ||
		 regs[0].end != (uintptr_t)m + 3 * ps)
		probe_set(r, false, "expected one written page, the scan reported %d ranges", n);
	else
		probe_set(r, true, "written pages are found and re-protected by PAGEMAP_SCAN");
	close(pfd);
out_close:
	close(ufd);
out_unmap:
	munmap(m, 4 * ps);
}

/* The writer of probe_uffd_wp_sync: a user write to a populated page, one
 * to an unpopulated page, and a write by the kernel (read() into page 3). */
struct probe_wp_writer {
	char *m;
	long ps;
	int pipe[2];
	ssize_t kernel_read;
};

static void *probe_wp_writer(void *arg)
{
	struct probe_wp_writer *w = arg;
	char c = 'k';

	w->m[0] = 1;
	w->m[2 * w->ps] = 2;
	if (write(w->pipe[1], &c, 1) == 1)
		w->kernel_read = read(w->pipe[0], w->m + 3 * w->ps, 1);
	return NULL;
}

/*
 * Live snapshots: synchronous write-protection (no WP_ASYNC) with
 * WP_UNPOPULATED on a uffd that also catches the kernel's writes. Three
 * writes must each stop at a write-protect fault until un-protected.
 */
void probe_uffd_wp_sync(struct probe_result *r)
{
	const long ps = page_size();
	struct probe_wp_writer w = { .ps = ps, .pipe = { -1, -1 }, .kernel_read = -1 };
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	const uint64_t want[3] = { 0, 2, 3 };
	pthread_t th;
	int ufd, got = 0;
	bool ok = true;

	w.m = probe_map(4);
	if (w.m == MAP_FAILED) {
		probe_set(r, false, "mmap: %s", strerror(errno));
		return;
	}
	w.m[0] = 9;
	ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (ufd < 0) {
		probe_set(r, false, "userfaultfd (kernel faults too): %s", strerror(errno));
		goto out_unmap;
	}
	if (ioctl(ufd, UFFDIO_API, &api)) {
		probe_set(r, false, "UFFDIO_API with WP_UNPOPULATED: %s", strerror(errno));
		goto out_close;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)w.m;
	reg.range.len = 4 * ps;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(ufd, UFFDIO_REGISTER, &reg) || ioctl(ufd, UFFDIO_WRITEPROTECT, &wp)) {
		probe_set(r, false, "UFFDIO_REGISTER/WRITEPROTECT (sync wp): %s", strerror(errno));
		goto out_close;
	}
	if (pipe2(w.pipe, O_CLOEXEC) || pthread_create(&th, NULL, probe_wp_writer, &w)) {
		probe_set(r, false, "pipe or thread: %s", strerror(errno));
		goto out_close;
	}
	for (; got < 3 && ok; got++) {
		struct pollfd p = { ufd, POLLIN, 0 };
		struct uffd_msg msg;
		uint64_t page;

		if (poll(&p, 1, 2000) != 1 || read(ufd, &msg, sizeof(msg)) != sizeof(msg)) {
			ok = false;
			break;
		}
		page = (msg.arg.pagefault.address - (uintptr_t)w.m) / (uint64_t)ps;
		if (msg.event != UFFD_EVENT_PAGEFAULT || page != want[got] ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			ok = false;
		wp.range.start = (uintptr_t)w.m + page * (uint64_t)ps;
		wp.range.len = (uint64_t)ps;
		wp.mode = 0;
		if (ioctl(ufd, UFFDIO_WRITEPROTECT, &wp))
			ok = false;
	}
	close(ufd);	/* releases the writer whatever happened */
	ufd = -1;
	pthread_join(th, NULL);
	if (ok && w.kernel_read == 1 && w.m[3 * ps] == 'k')
		probe_set(r, true, "writes (populated, unpopulated, by the kernel) wait for "
			  "the handler: live snapshots work");
	else
		probe_set(r, false, "sync write-protect faults: %d of 3 as expected, kernel write %s",
			  got, w.kernel_read == 1 ? "ok" : "failed");
out_close:
	if (ufd >= 0)
		close(ufd);
	if (w.pipe[0] >= 0) {
		close(w.pipe[0]);
		close(w.pipe[1]);
	}
out_unmap:
	munmap(w.m, 4 * ps);
}

static int probe_read_pagemap(int fd, void *addr, unsigned char entry[8])
{
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)page_size()) * 8;

	return pread(fd, entry, 8, off) == 8 ? 0 : -EIO;
}

void probe_soft_dirty(struct probe_result *r)
{
	unsigned char e[8];
	volatile char *m = probe_map(1);
	int cfd = -1, pfd = -1;

	if (m == MAP_FAILED) {
		probe_set(r, false, "mmap: %s", strerror(errno));
		return;
	}
	m[0] = 1;
	cfd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (cfd < 0 || pfd < 0) {
		probe_set(r, false, "open /proc/self/clear_refs or pagemap: %s", strerror(errno));
		goto out;
	}
	if (write(cfd, "4", 1) != 1) {
		probe_set(r, false, "clear_refs 4: %s", strerror(errno));
		goto out;
	}
	if (probe_read_pagemap(pfd, (void *)m, e) || check_pagemap_soft_dirty(e)) {
		probe_set(r, false, "the soft-dirty bit does not clear (kernel without CONFIG_MEM_SOFT_DIRTY?)");
		goto out;
	}
	m[0] = 2;
	if (probe_read_pagemap(pfd, (void *)m, e) || !check_pagemap_soft_dirty(e))
		probe_set(r, false, "a written page is not marked soft-dirty (kernel without CONFIG_MEM_SOFT_DIRTY)");
	else
		probe_set(r, true, "clear_refs and pagemap bit 55 work");
out:
	if (cfd >= 0)
		close(cfd);
	if (pfd >= 0)
		close(pfd);
	munmap((void *)m, page_size());
}

/* clone3 with set_tid = our own pid: EEXIST proves the kernel honours set_tid
 * and that we may use it, without creating a task. */
void probe_clone3_set_tid(struct probe_result *r)
{
	pid_t tid = getpid();
	struct clone_args args;
	long ret;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uintptr_t)&tid;
	args.set_tid_size = 1;
	ret = syscall(SYS_clone3, &args, sizeof(args));
	if (ret == 0)
		_exit(0);	/* cannot happen: the pid is ours */
	if (ret > 0) {
		waitpid((pid_t)ret, NULL, 0);
		probe_set(r, false, "clone3 ignored set_tid");
	} else if (errno == EEXIST)
		probe_set(r, true, "asks for a given pid (EEXIST for a used one)");
	else if (errno == EPERM)
		probe_set(r, false, "set_tid needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN");
	else
		probe_set(r, false, "clone3 with set_tid: %s", strerror(errno));
}

void probe_pidfd(struct probe_result *r)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int fd;

	if (pidfd < 0) {
		probe_set(r, false, "pidfd_open: %s", strerror(errno));
		return;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	if (fd < 0)
		probe_set(r, false, "pidfd_getfd: %s", strerror(errno));
	else
		probe_set(r, true, "pidfd_open and pidfd_getfd work");
	if (fd >= 0)
		close(fd);
	close(pidfd);
}

void probe_procmap_query(struct probe_result *r)
{
	struct procmap_query q;
	int here = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		probe_set(r, false, "open /proc/self/maps: %s", strerror(errno));
		return;
	}
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_addr = (uintptr_t)&here;
	if (ioctl(fd, PROCMAP_QUERY, &q))
		probe_set(r, false, "ioctl PROCMAP_QUERY: %s", strerror(errno));
	else if (q.vma_start > (uintptr_t)&here || q.vma_end <= (uintptr_t)&here)
		probe_set(r, false, "PROCMAP_QUERY returned a VMA that does not hold the address");
	else
		probe_set(r, true, "VMAs can be queried by address");
	close(fd);
}

void probe_memfd(struct probe_result *r)
{
	int fd = memfd_create("crisp-check", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0) {
		probe_set(r, false, "memfd_create: %s", strerror(errno));
		return;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW))
		probe_set(r, true, "memfd works; sealing fails: %s", strerror(errno));
	else
		probe_set(r, true, "memfd with seals works");
	close(fd);
}

void probe_timens(struct probe_result *r)
{
	pid_t pid;
	int st;

	if (access("/proc/self/ns/time", F_OK)) {
		probe_set(r, false, "no /proc/self/ns/time");
		return;
	}
	pid = fork();
	if (pid < 0) {
		probe_set(r, false, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(unshare(CLONE_NEWTIME) ? (errno & 0x7f) : 0);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		probe_set(r, false, "the scratch child did not exit");
	else if (WEXITSTATUS(st))
		probe_set(r, false, "unshare(CLONE_NEWTIME): %s", strerror(WEXITSTATUS(st)));
	else
		probe_set(r, true, "time namespaces can be created");
}

static int probe_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void probe_bpf(struct probe_result *r)
{
	/* r0 = 0; exit */
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	libbpf_print_fn_t old = libbpf_set_print(probe_libbpf_quiet);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "crisp_check", "GPL",
			       prog, 2, NULL);

	libbpf_set_print(old);
	if (fd < 0) {
		probe_set(r, false, "BPF_PROG_LOAD: %s", strerror(-fd));
		return;
	}
	close(fd);
	probe_set(r, true, "programs load");
}

void probe_prctl_mm_map(struct probe_result *r)
{
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		probe_set(r, false, "PR_SET_MM_MAP_SIZE: %s", strerror(errno));
	else
		probe_set(r, true, "PR_SET_MM_MAP available (%u-byte map)", size);
}
