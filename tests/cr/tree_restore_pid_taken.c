/* A restore whose child PID is taken by another task fails with a clear
 * error before anything starts, and leaves no task behind; once the PID is
 * free again the same images restore, and the tree is whole. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; squat kid-pid; !restore @says=use:; unsquat; restore; verify");
CRT_DAMAGE_FAILS("child K: parent is");

static pid_t root, kid, grandkid;

int main(int argc, char **argv)
{
	static const char *const names[] = { "K", "G" };
	char text[32];
	int st;

	crt_init(argc, argv);
	root = getpid();
	kid = fork();
	if (kid == 0) {
		kid_start();
		kid = getpid();
		grandkid = fork();
		if (grandkid == 0) {
			kid_start();
			kid_ready("G");
			kid_wait_go();
			if (getppid() != kid)
				kid_fail("parent is %d, expected %d", (int)getppid(), (int)kid);
			kid_report("G");
		}
		kid_ready("K");
		kid_wait_go();
		if (crt_damage())
			root = 1;
		if (getppid() != root)
			kid_fail("parent is %d, expected %d", (int)getppid(), (int)root);
		kill(grandkid, SIGUSR1);
		if (waitpid(grandkid, &st, 0) != grandkid)
			kid_fail("cannot wait for G %d", (int)grandkid);
		kid_report("K");
	}
	if (kid < 0 || kid_wait_ready(names, 2))
		return 2;
	snprintf(text, sizeof(text), "%d", (int)kid);
	if (kid_write("kid-pid", text))
		return 2;
	crt_ready();
	crt_wait_verify();

	kid_go_and_check(kid, (const char *const[]){ "K", "G" }, 2);
	return crt_finish();
}
