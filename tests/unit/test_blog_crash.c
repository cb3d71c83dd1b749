/* test_blog_crash — the writer under stress: a child that logs and then
 * crashes (its last records must decode), fork() (parent and child records
 * complete, attributed and never mixed), and two threads at once. */
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

static void crash_child(const char *path)
{
	/* a page that cannot be touched: a real fault, unseen by UBSan */
	volatile int *nowhere = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (blog_open_file(path, BLOG_MODE_BINARY))
		_exit(2);
	for (int i = 0; i < CRASH_RECORDS; i++)
		pr_debug("before the crash: record %d of %d, %s", i, CRASH_RECORDS, "tail");
	*nowhere = 1;	/* SIGSEGV: the crash handler must write the buffer out */
	_exit(3);
}

static void test_crash(void)
{
	char path[4096];
	struct tl_log l;
	int status = 0;
	pid_t pid;

	tl_tmpname(path, sizeof(path), "crash");
	pid = fork();
	if (pid == 0)
		crash_child(path);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	/* under ASan its own handler reports the SEGV and aborts */
	UNIT_RECORD(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT),
		    "child status 0x%x: expected death by SIGSEGV", status);
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, CRASH_RECORDS);
	if (l.n == CRASH_RECORDS)
		CHECK_STR(l.recs[CRASH_RECORDS - 1].msg, "before the crash: record 999 of 1000, tail");
	tl_free(&l);
	unlink(path);
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

static void test_threads(void)
{
	char path[4096];
	struct tl_log l;
	pthread_t th[2];
	int next[2] = { 0, 0 }, bad = 0;

	tl_tmpname(path, sizeof(path), "threads");
	CHECK_INT(blog_open_file(path, BLOG_MODE_BINARY), 0);
	for (long i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&th[i], NULL, thread_body, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	blog_close();
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, 2 * THREAD_RECORDS);
	/* each thread's records arrive complete and in its own order */
	for (size_t i = 0; i < l.n; i++) {
		long t;
		int k;

		if (sscanf(l.recs[i].msg, "thread %ld record %d", &t, &k) != 2 || t < 0 || t > 1 ||
		    k != next[t]++)
			bad++;
	}
	CHECK_INT(bad, 0);
	tl_free(&l);
	unlink(path);
}

int main(void)
{
	blog_set_level(BLOG_DEBUG);
	test_crash();
	test_fork();
	test_threads();
	return unit_summary("blog-crash");
}
