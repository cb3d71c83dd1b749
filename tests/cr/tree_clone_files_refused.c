/* Two tasks share an fd table (CLONE_FILES) that their parent does not
 * have: their creator exited and they were reparented to the root, a
 * child subreaper. A restore cannot rebuild that (a shared table is
 * recreated from a parent's), so the dump refuses it, naming CLONE_FILES,
 * and every task runs on as it was: same parent, the table still shared,
 * its file at its offset. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("!dump @says=CLONE_FILES; verify");
CRT_DAMAGE_FAILS("child Q1: the offset is");

#define AT 500

static pid_t root;

static void run_q(const char *name, int fd)
{
	struct sigaction sa = { .sa_handler = kid_on_go, .sa_flags = SA_RESTART };

	sigaction(SIGUSR1, &sa, NULL);
	/* dies with the root once it is the root's (not with its creator) */
	while (getppid() != root)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != root)
		_exit(3);
	kid_ready(name);
	kid_wait_go();
	if (getppid() != root)
		kid_fail("parent is %d, expected the root %d", (int)getppid(), (int)root);
	if (crt_damage() && name[1] == '1')
		lseek(fd, 1, SEEK_CUR);
	if (lseek(fd, 0, SEEK_CUR) != AT)
		kid_fail("the offset is %lld, expected %d", (long long)lseek(fd, 0, SEEK_CUR), AT);
	kid_report(name);
}

/* P: a table of its own with a file, shared with Q1 and Q2; then P exits. */
static void run_p(void)
{
	char path[1024], text[16];
	pid_t q;
	int fd;

	kid_start();
	snprintf(path, sizeof(path), "%s/Q-file", crt_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) || lseek(fd, AT, SEEK_SET) != AT)
		_exit(3);
	for (int i = 1; i <= 2; i++) {
		q = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
		if (q == 0)
			run_q(i == 1 ? "Q1" : "Q2", fd);
		if (q < 0)
			_exit(3);
		snprintf(text, sizeof(text), "%d", (int)q);
		if (kid_write(i == 1 ? "pid-Q1" : "pid-Q2", text))
			_exit(3);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "Q1", "Q2" };
	char buf[16];
	pid_t p, q[2];
	int st;

	crt_init(argc, argv);
	root = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return 2;
	p = fork();
	if (p == 0)
		run_p();
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
		return 2;
	for (int i = 0; i < 2; i++) {
		if (kid_read(i ? "pid-Q2" : "pid-Q1", buf, sizeof(buf)))
			return 2;
		q[i] = (pid_t)atoi(buf);
	}
	if (kid_wait_ready(names, 2))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (syscall(SYS_kcmp, q[0], q[1], KCMP_FILES, 0, 0))
		crt_fail("Q1 and Q2 no longer share their fd table");
	for (int i = 0; i < 2; i++) {
		kill(q[i], SIGUSR1);
		if (waitpid(q[i], &st, 0) != q[i])
			crt_fail("cannot wait for %s", names[i]);
		kid_check_report(names[i]);
	}
	return crt_finish();
}
