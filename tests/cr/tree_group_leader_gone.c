/* A pipeline whose first process has exited: the root (a shell) made L the
 * leader of a new group and M1, M2 members of it; L exited and was reaped.
 * After restore M1 and M2 are in group L again, children of the root in
 * its session, and no task holds L's PID (the restore's helper is gone). */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("child M2: pgid is");

static pid_t root, l, m[2];

static void run_member(const char *name)
{
	kid_ready(name);
	kid_wait_go();
	if (crt_damage() && name[1] == '2')
		setpgid(0, 0);
	if (getppid() != root)
		kid_fail("parent is %d, expected %d", (int)getppid(), (int)root);
	if (getpgid(0) != l)
		kid_fail("pgid is %d, expected %d", (int)getpgid(0), (int)l);
	if (getsid(0) != root)
		kid_fail("sid is %d, expected %d", (int)getsid(0), (int)root);
	kid_report(name);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "M1", "M2" };
	int st;

	crt_init(argc, argv);
	root = getpid();
	l = fork();
	if (l == 0) {
		kid_start();
		pause();
		_exit(0);
	}
	if (l < 0 || setpgid(l, l))
		return 2;
	for (int i = 0; i < 2; i++) {
		m[i] = fork();
		if (m[i] == 0) {
			kid_start();
			run_member(names[i]);
		}
		if (m[i] < 0 || setpgid(m[i], l))
			return 2;
	}
	kill(l, SIGKILL);
	if (waitpid(l, &st, 0) != l || kid_wait_ready(names, 2))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (kill(l, 0) == 0 || errno != ESRCH)
		crt_fail("PID %d (the dead group leader's) is in use after restore", (int)l);
	for (int i = 0; i < 2; i++) {
		kill(m[i], SIGUSR1);
		if (waitpid(m[i], &st, 0) != m[i])
			crt_fail("cannot wait for %s %d", names[i], (int)m[i]);
		kid_check_report(names[i]);
	}
	return crt_finish();
}
