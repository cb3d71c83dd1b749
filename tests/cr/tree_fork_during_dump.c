/* A child forks as fast as it can while the tree is dumped: each of its
 * children forks a grandchild, reaps it (exit 5) and exits with a code of
 * its own; the child reaps each one and checks its code. Whatever the dump
 * caught in flight (tasks just forked, running, exiting or zombies), after
 * restore every fork is reaped with its code: no task was missed. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("ended with status");

static int expect_off;	/* the damage: the next code is expected one off */

static void fork_one(unsigned long n)
{
	int code = (int)(n % 50) + 10, st;
	pid_t kid = fork(), g;

	if (kid < 0) {
		kid_fail("fork %lu: %s", n, strerror(errno));
		return;
	}
	if (kid == 0) {
		g = fork();
		if (g == 0)
			_exit(5);
		if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
			_exit(99);
		_exit(code);
	}
	if (waitpid(kid, &st, 0) != kid)
		kid_fail("child %d (fork %lu) cannot be reaped: %s", (int)kid, n, strerror(errno));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != code + expect_off)
		kid_fail("child %d (fork %lu) ended with status %#x, expected exit %d", (int)kid, n,
			 st, code + expect_off);
	expect_off = 0;
}

static void run_forker(void)
{
	unsigned long n = 0;

	while (n < 50)
		fork_one(n++);
	kid_ready("F");
	while (!kid_go)
		fork_one(n++);
	/* on after restore, for as many again as before; the damage makes
	 * the first of them look wrong (its code expected 10 higher) */
	expect_off = crt_damage() ? 10 : 0;
	for (unsigned long i = 0; i < 50; i++)
		fork_one(n++);
	kid_report("F");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "F" };
	pid_t kid;

	crt_init(argc, argv);
	kid = fork();
	if (kid == 0) {
		kid_start();
		run_forker();
	}
	if (kid < 0 || kid_wait_ready(names, 1))
		return 2;
	crt_ready();
	crt_wait_verify();

	kid_go_and_check(kid, (const char *const[]){ "F" }, 1);
	return crt_finish();
}
