/* A wide tree: 48 children of the same layout (every restorer region and
 * premap reservation of the tree must find its own free spot in the
 * engine's address space). After restore each child answers with its PID
 * and its parent. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("child k47: pid is");

#define KIDS 48

int main(int argc, char **argv)
{
	static char names[KIDS][8];
	const char *list[KIDS];
	pid_t kid[KIDS], root = getpid();
	int st;

	crt_init(argc, argv);
	for (int i = 0; i < KIDS; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		list[i] = names[i];
		kid[i] = fork();
		if (kid[i] == 0) {
			pid_t self = getpid();

			kid_start();
			kid_ready(names[i]);
			kid_wait_go();
			if (crt_damage() && i == KIDS - 1)
				self++;
			if (getpid() != self)
				kid_fail("pid is %d, expected %d", (int)getpid(), (int)self);
			if (getppid() != root)
				kid_fail("parent is %d, expected %d", (int)getppid(), (int)root);
			kid_report(names[i]);
		}
		if (kid[i] < 0)
			return 2;
	}
	if (kid_wait_ready(list, KIDS))
		return 2;
	crt_ready();
	crt_wait_verify();

	for (int i = 0; i < KIDS; i++) {
		kill(kid[i], SIGUSR1);
		if (waitpid(kid[i], &st, 0) != kid[i])
			crt_fail("cannot wait for child %d", (int)kid[i]);
		kid_check_report(names[i]);
	}
	return crt_finish();
}
