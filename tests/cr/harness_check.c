/* The harness itself: runs `crisp check` while a scenario task lives, with
 * an orphaned grandchild the driver must find, kill and reap at the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("check; check --feature ptrace_seize; !check --feature no_such_feature; verify");

static uint32_t pattern[4096];

int main(int argc, char **argv)
{
	pid_t child;

	crt_init(argc, argv);
	for (size_t i = 0; i < 4096; i++)
		pattern[i] = (uint32_t)(i * 2654435761u);

	/* leave an orphan behind: it is reparented to the driver (a subreaper) */
	child = fork();
	if (child == 0) {
		if (fork() == 0) {
			for (;;)
				pause();
		}
		_exit(0);
	}
	if (child < 0 || waitpid(child, NULL, 0) != child)
		return 2;

	crt_ready();
	crt_wait_verify();
	for (size_t i = 0; i < 4096; i++)
		if (pattern[i] != (uint32_t)(i * 2654435761u)) {
			crt_fail("pattern[%zu] = %#x, expected %#x", i, pattern[i],
				 (uint32_t)(i * 2654435761u));
		}
	return crt_finish();
}
