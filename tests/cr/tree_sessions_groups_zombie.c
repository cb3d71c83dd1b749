/* A three-level tree: the root leads its session and a process group, child
 * A leads a second group; A's children B (group A) and B2 (back in the
 * root's group), C (the root's group), and two zombies: A's child that
 * exited with 7 and C's child killed by SIGTERM. After restore every task
 * has its PID, parent, group and session, and the parents reap the zombies
 * with their exit statuses. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("child C: pgid is");

static pid_t root, a, b, b2, c, za, zc;

static void check_ids(const char *who, pid_t self, pid_t parent, pid_t pgid)
{
	if (getpid() != self)
		kid_fail("pid is %d, expected %d", (int)getpid(), (int)self);
	if (getppid() != parent)
		kid_fail("parent is %d, expected %d", (int)getppid(), (int)parent);
	if (getpgid(0) != pgid)
		kid_fail("pgid is %d, expected %d", (int)getpgid(0), (int)pgid);
	if (getsid(0) != root)
		kid_fail("sid is %d, expected %d", (int)getsid(0), (int)root);
	(void)who;
}

static void reap(pid_t pid, int want_code, int want_sig)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		kid_fail("cannot reap zombie %d", (int)pid);
	else if (want_sig && (!WIFSIGNALED(st) || WTERMSIG(st) != want_sig))
		kid_fail("zombie %d: status %#x, expected killed by %d", (int)pid, st, want_sig);
	else if (!want_sig && (!WIFEXITED(st) || WEXITSTATUS(st) != want_code))
		kid_fail("zombie %d: status %#x, expected exit %d", (int)pid, st, want_code);
}

static void wait_kid(pid_t pid, const char *name)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		kid_fail("child %s (%d) did not end well", name, (int)pid);
}

static void run_leaf(const char *name, pid_t parent, pid_t pgid)
{
	pid_t self = getpid();

	if (pgid != getpgid(0) && setpgid(0, pgid))
		_exit(3);
	kid_ready(name);
	kid_wait_go();
	check_ids(name, self, parent, pgid);
	kid_report(name);
}

static void run_a(void)
{
	a = getpid();
	if (setpgid(0, 0))
		_exit(3);
	za = fork();
	if (za == 0)
		_exit(7);
	b = fork();
	if (b == 0) {
		kid_start();
		run_leaf("B", a, a);
	}
	b2 = fork();
	if (b2 == 0) {
		kid_start();
		run_leaf("B2", a, root);
	}
	if (za < 0 || b < 0 || b2 < 0 || waitid(P_PID, (id_t)za, NULL, WEXITED | WNOWAIT))
		_exit(3);
	kid_ready("A");
	kid_wait_go();
	check_ids("A", a, root, a);
	kill(b, SIGUSR1);
	kill(b2, SIGUSR1);
	wait_kid(b, "B");
	wait_kid(b2, "B2");
	reap(za, 7, 0);
	kid_report("A");
}

static void run_c(void)
{
	c = getpid();
	zc = fork();
	if (zc == 0) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		_exit(9);
	}
	if (zc < 0 || waitid(P_PID, (id_t)zc, NULL, WEXITED | WNOWAIT))
		_exit(3);
	kid_ready("C");
	kid_wait_go();
	if (crt_damage())
		setpgid(0, 0);
	check_ids("C", c, root, root);
	reap(zc, 0, SIGTERM);
	kid_report("C");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "A", "B", "B2", "C" };
	int st;

	crt_init(argc, argv);
	root = getpid();
	/* the driver starts every scenario in a session of its own */
	if (getsid(0) != root && setsid() < 0)
		return 2;
	a = fork();
	if (a == 0) {
		kid_start();
		run_a();
	}
	c = fork();
	if (c == 0) {
		kid_start();
		run_c();
	}
	if (a < 0 || c < 0 || kid_wait_ready(names, 4))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (getsid(0) != root || getpgid(0) != root)
		crt_fail("root: sid %d pgid %d, expected %d", (int)getsid(0), (int)getpgid(0),
			 (int)root);
	kill(a, SIGUSR1);
	kill(c, SIGUSR1);
	if (waitpid(a, &st, 0) != a || waitpid(c, &st, 0) != c)
		crt_fail("cannot wait for children A (%d) and C (%d)", (int)a, (int)c);
	for (size_t i = 0; i < 4; i++)
		kid_check_report(names[i]);
	return crt_finish();
}
