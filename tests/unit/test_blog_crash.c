/* test_blog_crash — the writer under stress: a child that logs and then
 * crashes (its last records must decode, also with many records still
 * queued for the writer thread) or is killed by SIGTERM, fork() (parent and child records complete,
 * attributed and never mixed; the child has no writer thread unless it
 * starts one), and two threads at once under both full-buffer policies. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "blog.h"
#include "blog_testlib.h"
#include "unit.h"

#define CRASH_RECORDS 1000
#define FORK_RECORDS 5000
#define THREAD_RECORDS 50000
#define MANY_RECORDS 300000	/* about 7 MiB: more than a thread's buffers */

static void crash_child(const char *path, int records, enum blog_full_policy policy)
{
	/* a page that cannot be touched: a real fault, unseen by UBSan */
	volatile int *nowhere = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (blog_open_file(path, BLOG_MODE_BINARY))
		_exit(2);
	blog_set_full_policy(policy);
	for (int i = 0; i < records; i++)
		pr_debug("before the crash: record %d of %d, %s", i, records, "tail");
	*nowhere = 1;	/* SIGSEGV: the crash handler must write the buffers out */
	_exit(3);
}

/* Runs crash_child(); returns its log decoded into @l. */
static void crash_run(const char *tag, int records, enum blog_full_policy policy, struct tl_log *l)
{
	char path[4096];
	int status = 0;
	pid_t pid;

	tl_tmpname(path, sizeof(path), tag);
	pid = fork();
	if (pid == 0)
		crash_child(path, records, policy);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	/* under ASan its own handler reports the SEGV and aborts */
	UNIT_RECORD(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT),
		    "child status 0x%x: expected death by SIGSEGV", status);
	CHECK_INT(tl_decode_file(path, l), 0);
	CHECK_INT(l->errors, 0);
	unlink(path);
}

static void test_crash(void)
{
	struct tl_log l;

	crash_run("crash", CRASH_RECORDS, BLOG_FULL_DROP, &l);
	CHECK_INT(l.n, CRASH_RECORDS);
	if (l.n == CRASH_RECORDS)
		CHECK_STR(l.recs[CRASH_RECORDS - 1].msg, "before the crash: record 999 of 1000, tail");
	tl_free(&l);
}

/* Many records, so that at the crash full buffers still wait for the writer
 * thread, or are being written by it: each is in the file exactly once. */
static void test_crash_many_block(void)
{
	struct tl_log l;
	int bad = 0;
	char want[80];

	crash_run("crash-many", MANY_RECORDS, BLOG_FULL_BLOCK, &l);
	CHECK_INT(l.n, MANY_RECORDS);
	for (size_t i = 0; i < l.n; i++) {
		int k;

		bad += sscanf(l.recs[i].msg, "before the crash: record %d", &k) != 1 || k != (int)i;
	}
	CHECK_INT(bad, 0);
	snprintf(want, sizeof(want), "before the crash: record %d of %d, tail", MANY_RECORDS - 1,
		 MANY_RECORDS);
	if (l.n == MANY_RECORDS)
		CHECK_STR(l.recs[MANY_RECORDS - 1].msg, want);
	tl_free(&l);
}

/* The same with drops allowed: every record is in the file or counted by a
 * marker at the place of the gap, up to the last one. */
static void test_crash_many_drop(void)
{
	struct tl_log l;
	long next = 0, bad = 0;

	crash_run("crash-drop", MANY_RECORDS, BLOG_FULL_DROP, &l);
	for (size_t i = 0; i < l.n; i++) {
		long d = tl_dropped(l.recs[i].msg);
		int k;

		if (d > 0)
			next += d;
		else
			bad += sscanf(l.recs[i].msg, "before the crash: record %d", &k) != 1 || k != next++;
	}
	CHECK_INT(next, MANY_RECORDS);
	CHECK_INT(bad, 0);
	tl_free(&l);
}

static void test_fork(void)
{
	char path[4096];
	struct tl_log l;
	int status = 0, nparent = 0, nchild = 0, bad = 0;
	pid_t pid, me = getpid();

	tl_tmpname(path, sizeof(path), "fork");
	CHECK_INT(blog_open_file(path, BLOG_MODE_BINARY), 0);
	for (int i = 0; i < 100; i++)
		pr_debug("before fork %d", i);	/* buffered: must not be written twice */
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < FORK_RECORDS; i++)
			pr_debug("child record %d with a string %s", i, "c-c-c-c-c-c-c-c");
		blog_flush();
		_exit(0);
	}
	for (int i = 0; i < FORK_RECORDS; i++)
		pr_debug("parent record %d with a string %s", i, "p-p-p-p");
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	blog_close();
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, 100 + 2 * FORK_RECORDS);
	for (size_t i = 0; i < l.n; i++) {
		int k;

		if (sscanf(l.recs[i].msg, "parent record %d", &k) == 1)
			bad += l.recs[i].pid != (uint32_t)me || k != nparent++;
		else if (sscanf(l.recs[i].msg, "child record %d", &k) == 1)
			bad += l.recs[i].pid != (uint32_t)pid || k != nchild++;
		else
			bad += strncmp(l.recs[i].msg, "before fork", 11) != 0;
	}
	CHECK_INT(nparent, FORK_RECORDS);
	CHECK_INT(nchild, FORK_RECORDS);
	CHECK_INT(bad, 0);
	tl_free(&l);
	unlink(path);
}

static void *thread_body(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < THREAD_RECORDS; i++)
		pr_debug("thread %ld record %d", t, i);
	return NULL;
}

/* Two threads at full speed. BLOG_FULL_BLOCK: every record arrives.
 * BLOG_FULL_DROP: each record arrives or is counted by the marker that
 * precedes the thread's next record (or ends its records). */
static void test_threads(enum blog_full_policy policy)
{
	char path[4096];
	struct tl_log l;
	struct blog_stats st0, st1;
	pthread_t th[2];
	long next[2] = { 0, 0 }, marked = 0, bad = 0;
	uint32_t tids[2] = { 0, 0 };

	tl_tmpname(path, sizeof(path), "threads");
	CHECK_INT(blog_open_file(path, BLOG_MODE_BINARY), 0);
	blog_set_full_policy(policy);
	blog_get_stats(&st0);
	for (long i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&th[i], NULL, thread_body, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	blog_close();
	blog_get_stats(&st1);
	blog_set_full_policy(BLOG_FULL_DROP);
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	if (policy == BLOG_FULL_BLOCK) {
		CHECK_INT(l.n, 2 * THREAD_RECORDS);
		CHECK_INT(st1.dropped - st0.dropped, 0);
	}
	/* each thread's records arrive in its own order; gaps are marked */
	for (size_t i = 0; i < l.n; i++) {
		long t, d = tl_dropped(l.recs[i].msg);
		int k;

		if (d > 0) {
			t = l.recs[i].tid == tids[0] ? 0 : l.recs[i].tid == tids[1] ? 1 : -1;
			if (t < 0)
				bad++;
			else
				next[t] += d;
			marked += d;
			continue;
		}
		if (sscanf(l.recs[i].msg, "thread %ld record %d", &t, &k) != 2 || t < 0 || t > 1 ||
		    k != next[t]++)
			bad++;
		else
			tids[t] = l.recs[i].tid;
	}
	CHECK_INT(next[0], THREAD_RECORDS);
	CHECK_INT(next[1], THREAD_RECORDS);
	CHECK_INT(marked, (long)(st1.dropped - st0.dropped));
	CHECK_INT(bad, 0);
	tl_free(&l);
	unlink(path);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* A forked child has no writer thread (it writes its own buffers as they
 * fill) unless it starts one; either way exit() writes its last records. */
static void fork_writer_child(bool start)
{
	int threads = count_threads();

	if (start && blog_writer_start())
		_exit(10);
	for (int i = 0; i < MANY_RECORDS / 3; i++)
		pr_debug("child record %d", i);
	if (count_threads() != threads + start)
		_exit(11);
	exit(threads == 1 ? 0 : 12);	/* exit(), not _exit(): the atexit flush */
}

static void test_fork_writer(void)
{
	char path[4096];
	struct tl_log l;
	pid_t pid[2], me = getpid();
	long nparent = 0, nchild[2] = { 0, 0 }, bad = 0;

	tl_tmpname(path, sizeof(path), "fork-writer");
	CHECK_INT(blog_open_file(path, BLOG_MODE_BINARY), 0);
	blog_set_full_policy(BLOG_FULL_BLOCK);
	CHECK_INT(count_threads(), 2);	/* this one and the writer */
	for (int c = 0; c < 2; c++) {
		/* full buffers queued for the writer at the fork: written once */
		for (int i = 0; i < MANY_RECORDS / 6; i++)
			pr_debug("parent record %ld", nparent++);
		pid[c] = fork();
		if (pid[c] == 0)
			fork_writer_child(c == 1);
	}
	for (int i = 0; i < MANY_RECORDS / 6; i++)
		pr_debug("parent record %ld", nparent++);
	for (int c = 0; c < 2; c++) {
		int status = 0;

		CHECK(waitpid(pid[c], &status, 0) == pid[c]);
		UNIT_RECORD(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status 0x%x", c, status);
	}
	blog_close();
	blog_set_full_policy(BLOG_FULL_DROP);
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, nparent + 2 * (MANY_RECORDS / 3));
	nparent = 0;
	for (size_t i = 0; i < l.n; i++) {
		long k;
		int c = l.recs[i].pid == (uint32_t)pid[0] ? 0 : l.recs[i].pid == (uint32_t)pid[1] ? 1 : -1;

		if (sscanf(l.recs[i].msg, "parent record %ld", &k) == 1)
			bad += l.recs[i].pid != (uint32_t)me || k != nparent++;
		else if (sscanf(l.recs[i].msg, "child record %ld", &k) == 1)
			bad += c < 0 || k != nchild[c]++;
		else
			bad++;
	}
	CHECK_INT(nchild[0], MANY_RECORDS / 3);
	CHECK_INT(nchild[1], MANY_RECORDS / 3);
	CHECK_INT(bad, 0);
	tl_free(&l);
	unlink(path);
}

/* Killed (SIGTERM, as kill does by default), the child's records are in
 * its log and it dies of that signal; a SIGHUP it ignored before opening
 * the log stays ignored. */
static void test_terminated(void)
{
	char path[4096];
	struct tl_log l;
	int status = 0;
	pid_t pid;

	tl_tmpname(path, sizeof(path), "term");
	pid = fork();
	if (pid == 0) {
		signal(SIGHUP, SIG_IGN);
		if (blog_open_file(path, BLOG_MODE_BINARY))
			_exit(2);
		for (int i = 0; i < CRASH_RECORDS; i++)
			pr_debug("before the end: record %d of %d", i, CRASH_RECORDS);
		raise(SIGHUP);	/* ignored: on to the next */
		pr_debug("after the ignored SIGHUP");
		raise(SIGTERM);
		_exit(3);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	UNIT_RECORD(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		    "child status 0x%x: expected death by SIGTERM", status);
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, CRASH_RECORDS + 1);
	if (l.n == CRASH_RECORDS + 1)
		CHECK_STR(l.recs[CRASH_RECORDS].msg, "after the ignored SIGHUP");
	tl_free(&l);
	unlink(path);
}

int main(void)
{
	blog_set_level(BLOG_DEBUG);
	test_crash();
	test_crash_many_block();
	test_crash_many_drop();
	test_terminated();
	test_fork();
	test_fork_writer();
	test_threads(BLOG_FULL_BLOCK);
	test_threads(BLOG_FULL_DROP);
	return unit_summary("blog-crash");
}
