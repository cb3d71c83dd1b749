/* A session whose leader has exited (a daemon's double fork): the root is
 * a child subreaper; its child S calls setsid, forks T and exits, so T is
 * reparented to the root but stays in session S (and group S). T has a
 * child U in a group of its own in that session, and a zombie. After
 * restore T, U and the zombie are back in session S with their groups and
 * parents, and no task holds S's PID (the restore's helper is gone). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("child U: pgid is");

static pid_t root, s, t, u, z;

static void check(pid_t parent, pid_t pgid)
{
	if (getppid() != parent)
		kid_fail("parent is %d, expected %d", (int)getppid(), (int)parent);
	if (getsid(0) != s)
		kid_fail("sid is %d, expected %d", (int)getsid(0), (int)s);
	if (getpgid(0) != pgid)
		kid_fail("pgid is %d, expected %d", (int)getpgid(0), (int)pgid);
}

static void run_t(void)
{
	char buf[16];
	int st;

	t = getpid();
	/* no death signal from S, which exits on purpose: only from the root */
	while (getppid() != root)
		usleep(1000);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	z = fork();
	if (z == 0)
		_exit(3);
	u = fork();
	if (u == 0) {
		kid_start();
		u = getpid();
		if (setpgid(0, 0))
			_exit(3);
		kid_ready("U");
		kid_wait_go();
		if (crt_damage())
			setpgid(0, s);
		check(t, u);
		kid_report("U");
	}
	if (z < 0 || u < 0 || waitid(P_PID, (id_t)z, NULL, WEXITED | WNOWAIT))
		_exit(3);
	snprintf(buf, sizeof(buf), "%d", (int)t);
	kid_write("t-pid", buf);
	kid_ready("T");
	kid_wait_go();
	check(root, s);
	kill(u, SIGUSR1);
	if (waitpid(u, &st, 0) != u)
		kid_fail("cannot wait for U %d", (int)u);
	if (waitpid(z, &st, 0) != z || !WIFEXITED(st) || WEXITSTATUS(st) != 3)
		kid_fail("zombie %d: not reaped with exit 3", (int)z);
	kid_report("T");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "T", "U" };
	char buf[16];
	int st;

	crt_init(argc, argv);
	root = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return 2;
	s = fork();
	if (s == 0) {
		syscall(SYS_close_range, 0, ~0u, 0);
		s = getpid();
		if (setsid() < 0)
			_exit(3);
		t = fork();
		if (t == 0) {
			struct sigaction sa = { .sa_handler = kid_on_go, .sa_flags = SA_RESTART };

			sigaction(SIGUSR1, &sa, NULL);
			run_t();
		}
		_exit(t < 0 ? 3 : 0);
	}
	if (s < 0 || waitpid(s, &st, 0) != s || !WIFEXITED(st) || WEXITSTATUS(st))
		return 2;
	if (kid_wait_ready(names, 2) || kid_read("t-pid", buf, sizeof(buf)))
		return 2;
	t = (pid_t)atoi(buf);
	crt_ready();
	crt_wait_verify();

	if (kill(s, 0) == 0 || errno != ESRCH)
		crt_fail("PID %d (the dead session leader's) is in use after restore", (int)s);
	kill(t, SIGUSR1);
	if (waitpid(t, &st, 0) != t)
		crt_fail("cannot wait for T %d: not the root's child", (int)t);
	kid_check_report("T");
	kid_check_report("U");
	return crt_finish();
}
