/* Tasks created with CLONE_FILES and CLONE_FS share their fd table and fs
 * struct with their parent after restore: kcmp says so, an fd the parent
 * opens after restore is the child's too, and the parent's chdir moves the
 * child's cwd; none of the engine's fds is left in the shared table. A
 * plain child shares neither. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("child F: fd");

static pid_t root;

static long kcmp(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0);
}

static pid_t clone_child(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
}

/* F shares the fd table: the fd number the root put into the file is open
 * here too, and is the same open file. */
static void run_f(void)
{
	char buf[32];
	int fd;

	kid_ready("F");
	kid_wait_go();
	if (kid_read("probe-fd", buf, sizeof(buf)))
		kid_fail("no probe-fd");
	fd = atoi(buf);
	if (crt_damage())
		fd += 100;
	if (fcntl(fd, F_GETFD) < 0)
		kid_fail("fd %d the root opened after restore is not open here", fd);
	else if (syscall(SYS_kcmp, getpid(), root, KCMP_FILE, fd, fd))
		kid_fail("fd %d is another file here", fd);
	kid_report("F");
}

/* S shares the fs struct: the root moved to its work dir after restore. */
static void run_s(void)
{
	char cwd[1024];

	kid_ready("S");
	kid_wait_go();
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, crt_dir()))
		kid_fail("cwd is %s, the root moved to %s", cwd, crt_dir());
	kid_report("S");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "F", "S", "P" };
	pid_t f, s, p;
	char text[32];
	int st, fd;

	crt_init(argc, argv);
	root = getpid();
	if (chdir("/"))
		return 2;
	f = clone_child(CLONE_FILES);
	if (f == 0) {
		struct sigaction sa = { .sa_handler = kid_on_go, .sa_flags = SA_RESTART };

		/* no close_range here: the table is the root's */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGUSR1, &sa, NULL);
		run_f();
	}
	s = clone_child(CLONE_FS);
	if (s == 0) {
		kid_start();
		run_s();
	}
	p = fork();
	if (p == 0) {
		kid_start();
		kid_ready("P");
		kid_wait_go();
		if (!kcmp(getpid(), root, KCMP_FILES) || !kcmp(getpid(), root, KCMP_FS))
			kid_fail("a plain child shares the root's fd table or fs struct");
		kid_report("P");
	}
	if (f < 0 || s < 0 || p < 0 || kid_wait_ready(names, 3))
		return 2;
	crt_ready();	/* closes 0, 1, 2: of F's table too */
	crt_wait_verify();

	/* nothing of the engine's stays open in the shared table */
	if (crt_fd_count() != 0)
		crt_fail("%d fds open in the shared table after restore, expected none",
			 crt_fd_count());
	if (kcmp(root, f, KCMP_FILES))
		crt_fail("F does not share the root's fd table (kcmp)");
	if (kcmp(root, s, KCMP_FS))
		crt_fail("S does not share the root's fs struct (kcmp)");
	fd = open(crt_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(text, sizeof(text), "%d", fd);
	if (fd < 0 || kid_write("probe-fd", text) || chdir(crt_dir()))
		crt_fail("cannot set up the probes after restore");
	kill(f, SIGUSR1);
	kill(s, SIGUSR1);
	kill(p, SIGUSR1);
	if (waitpid(f, &st, 0) != f || waitpid(s, &st, 0) != s || waitpid(p, &st, 0) != p)
		crt_fail("cannot wait for the children");
	for (size_t i = 0; i < 3; i++)
		kid_check_report(names[i]);
	close(fd);
	return crt_finish();
}
