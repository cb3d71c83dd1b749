/* A restore that fails inside a grandchild (a file it maps is gone), after
 * the root and other tasks exist: crisp names the task and the file, kills
 * and reaps every task it created, and leaves none behind; with the file
 * back the same images restore, and the tree is whole. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; hide G-map; !restore @says=G-map; unhide G-map; restore; verify");
CRT_DAMAGE_FAILS("child G: the mapped file reads");

static pid_t kid, kid2, grandkid;

static void run_g(void)
{
	char path[1024];
	const char *map;
	int fd;

	snprintf(path, sizeof(path), "%s/G-map", crt_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "grandchild", 10) != 10)
		_exit(3);
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		_exit(3);
	kid_ready("G");
	kid_wait_go();
	if (memcmp(map, crt_damage() ? "xrandchild" : "grandchild", 10))
		kid_fail("the mapped file reads %.10s", map);
	kid_report("G");
}

static void run_leaf(const char *name)
{
	kid_ready(name);
	kid_wait_go();
	kid_report(name);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K", "K2", "G" };
	int st;

	crt_init(argc, argv);
	kid = fork();
	if (kid == 0) {
		kid_start();
		grandkid = fork();
		if (grandkid == 0) {
			kid_start();
			run_g();
		}
		kid_ready("K");
		kid_wait_go();
		kill(grandkid, SIGUSR1);
		if (waitpid(grandkid, &st, 0) != grandkid)
			kid_fail("cannot wait for G %d", (int)grandkid);
		kid_report("K");
	}
	kid2 = fork();
	if (kid2 == 0) {
		kid_start();
		run_leaf("K2");
	}
	if (kid < 0 || kid2 < 0 || kid_wait_ready(names, 3))
		return 2;
	crt_ready();
	crt_wait_verify();

	kill(kid, SIGUSR1);
	kill(kid2, SIGUSR1);
	if (waitpid(kid, &st, 0) != kid || waitpid(kid2, &st, 0) != kid2)
		crt_fail("cannot wait for the children");
	for (size_t i = 0; i < 3; i++)
		kid_check_report(names[i]);
	return crt_finish();
}
