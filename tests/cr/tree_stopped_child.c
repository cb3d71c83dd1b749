/* A child stopped by SIGSTOP when the tree is dumped is stopped again after
 * restore (the others run); SIGCONT lets it go on and report. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("expected stopped (T)");

static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "S", "R" };
	pid_t s, r;
	int st;

	crt_init(argc, argv);
	s = fork();
	if (s == 0) {
		kid_start();
		kid_ready("S");
		kid_wait_go();
		kid_report("S");
	}
	r = fork();
	if (r == 0) {
		kid_start();
		kid_ready("R");
		kid_wait_go();
		kid_report("R");
	}
	if (s < 0 || r < 0 || kid_wait_ready(names, 2) || kill(s, SIGSTOP) ||
	    waitpid(s, &st, WUNTRACED) != s || !WIFSTOPPED(st))
		return 2;
	crt_ready();
	crt_wait_verify();

	/* the restore stops it again: its parent hears of it (a task left
	 * running would make this wait until the driver's timeout) */
	if (waitpid(s, &st, WUNTRACED) != s || !WIFSTOPPED(st))
		crt_fail("child S did not stop after restore");
	if (crt_damage())
		kill(s, SIGCONT);
	if (task_state(s) != 'T')
		crt_fail("child S is in state %c, expected stopped (T)", task_state(s));
	if (task_state(r) != 'S' && task_state(r) != 'R')
		crt_fail("child R is in state %c, expected running or sleeping", task_state(r));
	kill(s, SIGUSR1);
	kill(s, SIGCONT);
	kill(r, SIGUSR1);
	if (waitpid(s, &st, 0) != s || waitpid(r, &st, 0) != r)
		crt_fail("cannot wait for the children");
	kid_check_report("S");
	kid_check_report("R");
	return crt_finish();
}
