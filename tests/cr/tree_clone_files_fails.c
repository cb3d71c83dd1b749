/* A restore that fails in a child sharing its parent's fd table (CLONE_FILES,
 * fds open in it) while the parent waits to install that table: its cwd is
 * gone. crisp names the child's failure, kills and reaps every task and
 * leaves none behind; with the directory back the same images restore: the
 * table is one, with its file at its offset, and the child is in its cwd. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; hide C-cwd; !restore @says=C-cwd; unhide C-cwd; restore; verify");
CRT_DAMAGE_FAILS("child C: the shared offset is");

#define AT 300

static pid_t root;
static int fd_file;
static char cwd_path[1024];

static void run_c(void)
{
	char cwd[1024];
	off_t at;

	kid_ready("C");
	kid_wait_go();
	if (syscall(SYS_kcmp, getpid(), root, KCMP_FILES, 0, 0))
		kid_fail("C does not share the root's fd table (kcmp)");
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, cwd_path))
		kid_fail("C's cwd is %s, expected %s", cwd, cwd_path);
	if (crt_damage())
		lseek(fd_file, 1, SEEK_CUR);
	at = lseek(fd_file, 0, SEEK_CUR);
	if (at != AT)
		kid_fail("the shared offset is %lld, expected %d", (long long)at, AT);
	kid_report("C");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "C" };
	char path[1024];
	pid_t c;
	int st;

	crt_init(argc, argv);
	root = getpid();
	snprintf(path, sizeof(path), "%s/C-file", crt_dir());
	snprintf(cwd_path, sizeof(cwd_path), "%s/C-cwd", crt_dir());
	fd_file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd_file < 0 || ftruncate(fd_file, 4096) || lseek(fd_file, AT, SEEK_SET) != AT ||
	    mkdir(cwd_path, 0700))
		return 2;
	c = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	if (c == 0) {
		struct sigaction sa = { .sa_handler = kid_on_go, .sa_flags = SA_RESTART };

		/* no close_range here: the table is the root's */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGUSR1, &sa, NULL);
		if (chdir(cwd_path))
			_exit(3);
		run_c();
	}
	if (c < 0 || kid_wait_ready(names, 1))
		return 2;
	crt_ready();
	crt_wait_verify();

	kill(c, SIGUSR1);
	if (waitpid(c, &st, 0) != c)
		crt_fail("cannot wait for C");
	kid_check_report("C");
	if (lseek(fd_file, 0, SEEK_CUR) != AT)
		crt_fail("the root's offset is %lld, expected %d",
			 (long long)lseek(fd_file, 0, SEEK_CUR), AT);
	return crt_finish();
}
