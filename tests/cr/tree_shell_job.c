/* A job of the caller's session (the driver's, as a shell's job would be):
 * the root leads its own process group but not its session. Without
 * --shell-job the dump refuses and the job runs on (a restore of its images
 * refuses too); with it the tree is dumped and restored into the caller's
 * session, with its group and a child in that group. */
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("!dump @says=--shell-job; dump --shell-job; images; !restore @says=--shell-job; "
	     "restore --shell-job; verify");
CRT_DAMAGE_FAILS("root: pgid is");

static pid_t root, kid, sid;

int main(int argc, char **argv)
{
	static const char *const names[] = { "K" };

	crt_init(argc, argv);
	root = getpid();
	sid = getsid(0);
	if (sid == root || setpgid(0, 0))
		return 2;	/* the driver must keep us in its session */
	kid = fork();
	if (kid == 0) {
		kid_start();
		kid_ready("K");
		kid_wait_go();
		if (getppid() != root || getpgid(0) != root || getsid(0) != sid)
			kid_fail("parent %d pgid %d sid %d, expected %d %d %d", (int)getppid(),
				 (int)getpgid(0), (int)getsid(0), (int)root, (int)root, (int)sid);
		kid_report("K");
	}
	if (kid < 0 || kid_wait_ready(names, 1))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		setpgid(0, getpgid(getppid()));
	if (getpgid(0) != root)
		crt_fail("root: pgid is %d, expected %d", (int)getpgid(0), (int)root);
	if (getsid(0) != sid)
		crt_fail("root: sid is %d, expected the caller's %d", (int)getsid(0), (int)sid);
	kid_go_and_check(kid, (const char *const[]){ "K" }, 1);
	return crt_finish();
}
