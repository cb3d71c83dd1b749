/* A dump that must refuse a task deep in the tree (a grandchild owns a
 * userfaultfd) after the whole tree was frozen: it fails naming it, and
 * every task runs on as it was: not traced, not stopped, its parent, group
 * and children unchanged, its counter advancing. */
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("!dump @says=userfaultfd; !dump -R @says=userfaultfd; verify");
CRT_DAMAGE_FAILS("child G: parent is");

static pid_t root, kid, grandkid;
static volatile unsigned long counter;

static void check_self(pid_t parent)
{
	unsigned long long tracer = 1;
	unsigned long seen = counter;

	if (crt_status_field("TracerPid", &tracer) || tracer)
		kid_fail("traced by %llu after the failed dumps", tracer);
	if (getppid() != parent)
		kid_fail("parent is %d, expected %d", (int)getppid(), (int)parent);
	/* the counter runs in the signal-free loop below: it moved */
	if (!seen)
		kid_fail("its counter never moved");
}

static void run_g(void)
{
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	if (uffd < 0)
		_exit(3);
	kid_ready("G");
	while (!kid_go)
		counter++;
	if (crt_damage())
		kid = 1;
	check_self(kid);
	kid_report("G");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K", "G" };
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
			run_g();
		}
		kid_ready("K");
		while (!kid_go)
			counter++;
		check_self(root);
		kill(grandkid, SIGUSR1);
		if (waitpid(grandkid, &st, 0) != grandkid)
			kid_fail("cannot wait for G");
		kid_report("K");
	}
	if (kid < 0 || kid_wait_ready(names, 2))
		return 2;
	crt_ready();
	crt_wait_verify();

	kid_go_and_check(kid, (const char *const[]){ "K", "G" }, 2);
	return crt_finish();
}
