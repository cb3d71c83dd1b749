/* Unit tests of engine/proc: the /proc parsers on captured fixtures
 * (tests/fixtures/proc, given as argv[1]), on hand-made malformed text, and
 * on this process's own live /proc files. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc_autogroup.h"
#include "proc_limits.h"
#include "proc_maps.h"
#include "proc_mm.h"
#include "proc_read.h"
#include "proc_stat.h"
#include "proc_status.h"
#include "proc_tasks.h"
#include "proc_timers.h"
#include "unit.h"

static const char *fixture_dir;

static char *fixture(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f) {
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int parse_maps_str(const char *s, struct proc_maps *m)
{
	return proc_parse_maps(s, strlen(s), m);
}

static void test_maps(void)
{
	struct proc_maps m;
	size_t len;
	char *buf = fixture("maps.txt", &len);
	const char *s;

	if (!buf)
		return;
	CHECK_INT(proc_parse_maps(buf, len, &m), 0);
	CHECK(m.nr > 10);
	CHECK_STR(proc_vma_name(&m, &m.vma[0]), "/usr/bin/cat");
	CHECK(m.vma[0].prot == PROT_READ && !m.vma[0].shared);
	CHECK(m.vma[0].ino != 0);
	CHECK_STR(proc_vma_name(&m, &m.vma[m.nr - 1]), "[vsyscall]");
	CHECK(m.vma[m.nr - 1].start == 0xffffffffff600000ULL);
	for (size_t i = 0; i < m.nr; i++) {
		CHECK(m.vma[i].start < m.vma[i].end);
		CHECK(!m.vma[i].has_smaps);
		CHECK(proc_maps_find(&m, m.vma[i].start) == &m.vma[i]);
		CHECK(proc_maps_find(&m, m.vma[i].end - 1) == &m.vma[i]);
	}
	CHECK(proc_maps_find(&m, 0) == NULL);
	proc_maps_free(&m);
	free(buf);

	s = "7f0000000000-7f0000002000 rw-s 00001000 08:01 42   /dev/shm/x (deleted)\n"
	    "7f0000002000-7f0000003000 ---p 00000000 00:00 0 \n"
	    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]";
	CHECK_INT(parse_maps_str(s, &m), 0);
	CHECK_INT(m.nr, 3);
	CHECK(m.vma[0].shared && m.vma[0].prot == (PROT_READ | PROT_WRITE));
	CHECK(m.vma[0].pgoff == 0x1000 && m.vma[0].dev_major == 8 && m.vma[0].dev_minor == 1);
	CHECK_INT(m.vma[0].ino, 42);
	CHECK_STR(proc_vma_name(&m, &m.vma[0]), "/dev/shm/x (deleted)");
	CHECK_STR(proc_vma_name(&m, &m.vma[1]), "");
	CHECK(m.vma[1].prot == PROT_NONE);
	CHECK_STR(proc_vma_name(&m, &m.vma[2]), "[stack]");
	proc_maps_free(&m);

	/* malformed: each must fail with -EINVAL, and leave nothing allocated */
	static const char *const bad[] = {
		"7f00-7f01000 rw-p 00000000 00:00 0\n",		/* unaligned */
		"2000-1000 rw-p 00000000 00:00 0\n",		/* start > end */
		"1000-1000 rw-p 00000000 00:00 0\n",		/* empty */
		"1000-2000 rwzp 00000000 00:00 0\n",		/* perms */
		"1000-2000 rw-p 00000000 00:00\n",		/* no inode */
		"1000-2000 rw-p 0000000g 00:00 0\n",
		"1000-2000 rw-p 00000000 00-00 0\n",
		"1000-2000 rw-p 00000000 00:00 0x\n",
		"1000-2000 rw-p 00000000 00:00 0\n1000-3000 rw-p 00000000 00:00 0\n", /* overlap */
		"Rss: 4 kB\n",					/* key before any VMA */
		"1000-2000 rw-p 00000000 00:00 0\nRss: four kB\n",
		"1000-2000 rw-p 00000000 00:00 0\nRss 4 kB\n",
		"1000-2000 rw-p 00000000 00:00 0\nVmFlags: rd wrx\n",
		"1000-2000 rw-p 00000000 00:00 0\nVmFlags: R\n",
		"10000000000000000000-2000 rw-p 00000000 00:00 0\n",
		"-",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_maps_str(bad[i], &m);

		UNIT_RECORD(r == -EINVAL, "maps bad[%zu] = %d", i, r);
		CHECK(m.vma == NULL && m.names == NULL);
	}
	CHECK_INT(parse_maps_str("", &m), 0);
	CHECK_INT(m.nr, 0);
	proc_maps_free(&m);
}

static void test_smaps_fixture(void)
{
	struct proc_maps m;
	size_t len, heap = 0, stack = 0;
	char *buf = fixture("smaps.txt", &len);

	if (!buf)
		return;
	CHECK_INT(proc_parse_maps(buf, len, &m), 0);
	for (size_t i = 0; i < m.nr; i++) {
		const char *n = proc_vma_name(&m, &m.vma[i]);

		CHECK(m.vma[i].has_smaps);
		CHECK(!(m.vma[i].vmflags & PROC_VMF_UNKNOWN));
		/* VmFlags agree with the permission column */
		CHECK(!!(m.vma[i].vmflags & PROC_VMF_READ) == !!(m.vma[i].prot & PROT_READ));
		CHECK(!!(m.vma[i].vmflags & PROC_VMF_WRITE) == !!(m.vma[i].prot & PROT_WRITE));
		if (!strcmp(n, "[stack]")) {
			stack++;
			CHECK(m.vma[i].vmflags & PROC_VMF_GROWSDOWN);
			CHECK(m.vma[i].rss_kb > 0);
		}
		if (!strcmp(n, "[heap]"))
			heap++;
	}
	CHECK_INT(stack, 1);
	CHECK_INT(heap, 1);
	proc_maps_free(&m);
	free(buf);
}

/* madvise/mlock flags of live mappings as smaps reports them */
static void test_smaps_live(void)
{
	static const struct {
		int advice;
		uint64_t flag;
	} cases[] = {
		{ MADV_DONTFORK, PROC_VMF_DONTFORK },
		{ MADV_WIPEONFORK, PROC_VMF_WIPEONFORK },
		{ MADV_DONTDUMP, PROC_VMF_DONTDUMP },
		{ MADV_HUGEPAGE, PROC_VMF_HUGEPAGE },
		{ MADV_NOHUGEPAGE, PROC_VMF_NOHUGEPAGE },
		{ -1, PROC_VMF_LOCKED },
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	long pg = sysconf(_SC_PAGESIZE);
	/* one guard page between cases keeps their VMAs apart */
	char *area = mmap(NULL, (size_t)pg * 2 * n, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gd = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	struct proc_maps m;

	CHECK(area != MAP_FAILED && gd != MAP_FAILED);
	for (size_t i = 0; i < n; i++) {
		char *p = area + 2 * i * (size_t)pg;

		CHECK_INT(mprotect(p, (size_t)pg, PROT_READ | PROT_WRITE), 0);
		if (cases[i].advice >= 0)
			CHECK_INT(madvise(p, (size_t)pg, cases[i].advice), 0);
		else
			CHECK_INT(syscall(SYS_mlock, p, (size_t)pg), 0); /* not ASan's no-op mlock */
	}
	CHECK_INT(proc_read_maps(getpid(), true, &m), 0);
	for (size_t i = 0; i < n; i++) {
		const struct proc_vma *v = proc_maps_find(&m, (uint64_t)(uintptr_t)(area + 2 * i * (size_t)pg));

		CHECK(v != NULL);
		if (!v)
			continue;
		UNIT_RECORD(v->vmflags & cases[i].flag, "case %zu: vmflags %#llx lack %#llx", i,
			    (unsigned long long)v->vmflags, (unsigned long long)cases[i].flag);
		CHECK(v->end - v->start == (uint64_t)pg);
	}
	const struct proc_vma *v = proc_maps_find(&m, (uint64_t)(uintptr_t)gd);
	CHECK(v && (v->vmflags & PROC_VMF_GROWSDOWN));
	proc_maps_free(&m);
	syscall(SYS_munlock, area, (size_t)pg * 2 * n);
	munmap(area, (size_t)pg * 2 * n);
	munmap(gd, (size_t)pg);
}

static void test_stat(void)
{
	struct proc_stat st;
	size_t len;
	char *buf = fixture("stat.txt", &len);

	if (!buf)
		return;
	CHECK_INT(proc_parse_stat(buf, len, &st), 0);
	CHECK_STR(st.comm, "cat");
	CHECK(st.state == 'R');
	CHECK(st.pid > 0 && st.ppid > 0 && st.num_threads == 1);
	CHECK(st.start_code && st.start_code < st.end_code);
	CHECK(st.arg_start < st.arg_end && st.env_start < st.env_end);
	CHECK(st.rsslim == UINT64_MAX);
	/* every truncation that drops a field fails */
	for (size_t cut = 0; cut + 1 < len; cut++) {
		size_t spaces = 0;

		for (size_t i = 0; i < cut; i++)
			spaces += buf[i] == ' ';
		if (spaces < 51)
			CHECK_INT(proc_parse_stat(buf, cut, &st), -EINVAL);
	}
	free(buf);

	const char *tricky = "42 (a) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 -5 1 0 "
			     "100 0 0 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
			     "4 5 6 7 8 9 10 0";
	CHECK_INT(proc_parse_stat(tricky, strlen(tricky), &st), 0);
	CHECK_STR(st.comm, "a) b (c)");
	CHECK(st.tpgid == -1 && st.nice == -5 && st.exit_signal == 17);
	CHECK(st.start_data == 4 && st.env_end == 10 && st.exit_code == 0);
	CHECK_INT(proc_parse_stat("42 (x S 1", 9, &st), -EINVAL);
	CHECK_INT(proc_parse_stat("0 (x) S 1", 9, &st), -EINVAL);
	CHECK_INT(proc_parse_stat("", 0, &st), -EINVAL);

	/* live: this process and its own thread */
	CHECK_INT(proc_read_stat(getpid(), 0, &st), 0);
	CHECK_INT(st.pid, getpid());
	CHECK_INT(st.ppid, getppid());
	CHECK_INT(st.pgid, getpgrp());
	CHECK_INT(st.sid, getsid(0));
	CHECK(st.start_code <= (uint64_t)(uintptr_t)&test_stat &&
	      (uint64_t)(uintptr_t)&test_stat < st.end_code);
	CHECK_INT(proc_read_stat(getpid(), getpid(), &st), 0);
}

static void test_status(void)
{
	struct proc_status s;
	size_t len;
	char *buf = fixture("status.txt", &len);

	if (!buf)
		return;
	CHECK_INT(proc_parse_status(buf, len, &s), 0);
	CHECK_STR(s.name, "cat");
	CHECK(s.state == 'R' && s.umask == 022);
	CHECK(s.pid == s.tgid && s.nspid[0] == s.pid && s.ns_levels == 1);
	CHECK(s.uid[0] == 0 && s.gid[3] == 0 && s.nr_groups == 0);
	CHECK(s.threads == 1 && s.seccomp == 0 && s.seccomp_filters == 0);
	CHECK(s.cap_eff == 0x000001fffeffffffULL && s.cap_amb == 0);
	CHECK(s.sigq_limit > 0);
	proc_status_free(&s);
	free(buf);

	const char *base = "Name:\tx y\nState:\tT (stopped)\nTgid:\t10\nPid:\t11\nPPid:\t1\n"
			   "TracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\n"
			   "Groups:\t4 24 27 \nNSpid:\t11\t3\nNStgid:\t10\t2\nThreads:\t2\n"
			   "SigPnd:\t0000000000000100\nShdPnd:\t0\nSigBlk:\tfffffffe7ffbfeff\n"
			   "SigIgn:\t0\nSigCgt:\t1\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t1ff\n"
			   "Seccomp:\t2\n";
	CHECK_INT(proc_parse_status(base, strlen(base), &s), 0);
	CHECK_STR(s.name, "x y");
	CHECK(s.state == 'T' && s.umask == PROC_STATUS_NO_UMASK);
	CHECK(s.uid[1] == 1001 && s.uid[3] == 1003 && s.gid[2] == 7);
	CHECK(s.nr_groups == 3 && s.groups[2] == 27);
	CHECK(s.ns_levels == 2 && s.nspid[1] == 3 && s.nstgid[1] == 2);
	CHECK(s.sig_pending == 0x100 && s.sig_blocked == 0xfffffffe7ffbfeffULL);
	CHECK(s.seccomp == 2 && s.seccomp_filters == -1);
	proc_status_free(&s);

	static const char *const extra_bad[] = {
		"Pid:\t12\n",				/* duplicate */
		"NSsid:\t1\n",				/* levels disagree (1 vs 2) */
		"Umask:\t0089\n",
		"Garbage line without colon\n",
		":\tempty key\n",
	};
	for (size_t i = 0; i < sizeof(extra_bad) / sizeof(extra_bad[0]); i++) {
		char t[2048];

		snprintf(t, sizeof(t), "%s%s", base, extra_bad[i]);
		int r = proc_parse_status(t, strlen(t), &s);
		UNIT_RECORD(r == -EINVAL, "status bad[%zu] = %d", i, r);
		CHECK(s.groups == NULL);
	}
	/* every required line removed in turn */
	for (const char *p = base; *p;) {
		const char *eol = strchr(p, '\n');
		char t[2048];
		size_t off = (size_t)(p - base);

		memcpy(t, base, off);
		strcpy(t + off, eol + 1);
		if (strncmp(p, "NStgid", 6))
			CHECK_INT(proc_parse_status(t, strlen(t), &s), -EINVAL);
		else
			CHECK_INT(proc_parse_status(t, strlen(t), &s), 0);
		proc_status_free(&s);
		p = eol + 1;
	}

	CHECK_INT(proc_read_status(getpid(), 0, &s), 0);
	CHECK_INT(s.pid, getpid());
	CHECK_INT(s.ppid, getppid());
	CHECK_INT(s.uid[1], geteuid());
	CHECK_INT(s.tracer_pid, 0);
	proc_status_free(&s);
}

static void test_limits(void)
{
	struct proc_limits l;
	struct rlimit rl;
	size_t len;
	char *buf = fixture("limits.txt", &len);

	if (!buf)
		return;
	CHECK_INT(proc_parse_limits(buf, len, &l), 0);
	CHECK(l.cur[RLIMIT_CPU] == PROC_RLIM_INFINITY);
	CHECK(l.cur[RLIMIT_NOFILE] > 0 && l.cur[RLIMIT_NOFILE] <= l.max[RLIMIT_NOFILE]);
	CHECK(l.cur[RLIMIT_STACK] == 8 << 20);
	/* any line dropped makes it incomplete */
	for (size_t cut = 0; cut + 1 < len; cut++)
		if (buf[cut] == '\n')
			CHECK_INT(proc_parse_limits(buf, cut + 1, &l), -EINVAL);
	free(buf);
	CHECK_INT(proc_parse_limits("Limit  Soft\nMax cpu time 5 4 seconds\n", 40, &l), -EINVAL);
	CHECK_INT(proc_parse_limits("", 0, &l), -EINVAL);

	CHECK_INT(proc_read_limits(getpid(), &l), 0);
	for (int r = 0; r < PROC_RLIM_NLIMITS; r++) {
		CHECK_INT(getrlimit(r, &rl), 0);
		CHECK(l.cur[r] == (rl.rlim_cur == RLIM_INFINITY ? PROC_RLIM_INFINITY : rl.rlim_cur));
		CHECK(l.max[r] == (rl.rlim_max == RLIM_INFINITY ? PROC_RLIM_INFINITY : rl.rlim_max));
	}
}

static void test_pids(void)
{
	struct proc_pids p;
	size_t len;
	char *buf = fixture("children.txt", &len);

	if (buf) {
		CHECK_INT(proc_parse_pid_list(buf, len, &p), 0);
		CHECK(p.nr == 3 && p.pid[0] == 123 && p.pid[2] == 7890);
		proc_pids_free(&p);
		free(buf);
	}
	CHECK_INT(proc_parse_pid_list("9 3 9 1", 7, &p), 0);
	CHECK(p.nr == 3 && p.pid[0] == 1 && p.pid[1] == 3 && p.pid[2] == 9);
	CHECK(proc_pids_has(&p, 3) && !proc_pids_has(&p, 4));
	proc_pids_free(&p);
	CHECK_INT(proc_parse_pid_list("", 0, &p), 0);
	CHECK_INT(p.nr, 0);
	CHECK_INT(proc_parse_pid_list("1 x", 3, &p), -EINVAL);
	CHECK_INT(proc_parse_pid_list("0", 1, &p), -EINVAL);
	CHECK_INT(proc_parse_pid_list("-1", 2, &p), -EINVAL);
	CHECK_INT(proc_parse_pid_list("99999999999", 11, &p), -EINVAL);
	CHECK_INT(proc_parse_pid_list("12a", 3, &p), -EINVAL);

	CHECK_INT(proc_list_threads(getpid(), &p), 0);
	CHECK(p.nr == 1 && p.pid[0] == getpid());
	proc_pids_free(&p);
	CHECK_INT(proc_list_threads(0x7ffffff0, &p), -ENOENT);
}

static void test_timers(void)
{
	struct proc_timers t;
	size_t len;
	char *buf = fixture("timers.txt", &len);

	if (!buf)
		return;
	CHECK_INT(proc_parse_timers(buf, len, &t), 0);
	CHECK_INT(t.nr, 3);
	if (t.nr == 3) {
		CHECK(t.t[0].id == 2 && t.t[0].thread_id && t.t[0].notify == PROC_TIMER_SIGNAL);
		CHECK(t.t[1].notify == PROC_TIMER_NONE && !t.t[1].thread_id);
		CHECK(t.t[2].id == 0 && t.t[2].signo == 10 && t.t[2].sigval == 0x1234);
		CHECK(t.t[2].clock_id == 1);
	}
	proc_timers_free(&t);
	for (size_t cut = 1; cut + 1 < len; cut++)
		if (proc_parse_timers(buf, cut, &t) == 0)
			proc_timers_free(&t);
	CHECK_INT(proc_parse_timers(buf, 10, &t), -EINVAL);
	free(buf);
	const char *bad = "ID: 1\nsignal: 65/0\nnotify: signal/pid.1\nClockID: 0\n";
	CHECK_INT(proc_parse_timers(bad, strlen(bad), &t), -EINVAL);
	bad = "ID: 1\nsignal: 14/0\nnotify: signal/xid.1\nClockID: 0\n";
	CHECK_INT(proc_parse_timers(bad, strlen(bad), &t), -EINVAL);
}

static void test_autogroup(void)
{
	struct proc_autogroup ag;
	const char *ok = "/autogroup-415 nice -3\n";
	const char *bad[] = { "", "/autogroup- nice 0", "/autogroup-1 nice", "/autogroup-1 nice 20",
			      "/autogroup-1 nice -21", "/autogroup-1 nice 0 ", "autogroup-1 nice 0",
			      "/autogroup-1  nice 0", "/autogroup-99999999999999999999 nice 0" };

	CHECK_INT(proc_parse_autogroup(ok, strlen(ok), &ag), 0);
	CHECK(ag.id == 415 && ag.nice == -3);
	/* every truncation short of the whole number fails */
	for (size_t cut = 0; cut < strlen(ok) - 1; cut++)
		CHECK_INT(proc_parse_autogroup(ok, cut, &ag), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(proc_parse_autogroup(bad[i], strlen(bad[i]), &ag), -EINVAL);
	/* live: where the kernel has autogroup, this process has a group */
	int err = proc_read_autogroup(0, &ag);

	CHECK(err == 0 || err == -ENOENT);
	if (!err)
		CHECK(ag.id > 0 && ag.nice >= -20 && ag.nice <= 19);
}

static void test_mm(void)
{
	struct proc_mm mm;
	uint64_t v[4] = { AT_PAGESZ, 4096, AT_NULL, 0 };
	size_t len;
	char *buf = fixture("auxv.bin", &len);

	CHECK_INT(proc_parse_auxv(v, sizeof(v), &mm), 0);
	CHECK_INT(mm.auxv_len, 4);
	CHECK_INT(proc_parse_auxv(v, 16, &mm), -EINVAL);	/* no AT_NULL */
	CHECK_INT(proc_parse_auxv(v, 24, &mm), -EINVAL);
	if (buf) {
		CHECK_INT(proc_parse_auxv(buf, len, &mm), 0);
		free(buf);
	}

	CHECK_INT(proc_read_mm(getpid(), &mm), 0);
	CHECK(mm.start_code <= (uint64_t)(uintptr_t)&test_mm &&
	      (uint64_t)(uintptr_t)&test_mm < mm.end_code);
	CHECK(mm.auxv_len >= 4);
	for (size_t i = 0; i + 1 < mm.auxv_len; i += 2)
		if (mm.auxv[i] == AT_ENTRY)
			CHECK(mm.auxv[i + 1] == getauxval(AT_ENTRY));
	CHECK(mm.exe[0] == '/' && strstr(mm.exe, "test-proc-parse"));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE-DIR\n", argv[0]);
		return 2;
	}
	fixture_dir = argv[1];
	test_maps();
	test_smaps_fixture();
	test_smaps_live();
	test_stat();
	test_status();
	test_limits();
	test_pids();
	test_timers();
	test_mm();
	test_autogroup();
	return unit_summary("proc-parse");
}
