/* A session leader whose controlling terminal is a pty held elsewhere (a
 * daemon outside the dumped task has the master) and which has no fd on it
 * any more: the dump must refuse, naming the controlling terminal (a
 * restore could not give it back), and the task runs on with its terminal
 * and its memory. The refusal comes after the remote calls, with 64 MiB of
 * memory: the page-table walk started early is under way when crisp gives
 * up, and must be stopped without a crash. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("!dump @says=controlling; verify");
CRT_DAMAGE_FAILS("no controlling terminal");

#define REGION_WORDS (8u << 20)	/* 64 MiB: enough for the early walk */
#define REGION_SEED 0x7e7e

int main(int argc, char **argv)
{
	char name[64], buf[4];
	int m, s, ready[2];
	uint64_t *region;
	pid_t mid;

	crt_init(argc, argv);
	region = mmap(NULL, REGION_WORDS * 8ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < REGION_WORDS; i++)
		region[i] = crt_pattern(REGION_SEED, i);
	if (getsid(0) != getpid() || pipe(ready))
		return 2;	/* the driver makes us a session leader */
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		return 2;
	mid = fork();
	if (mid == 0) {
		/* the master's holder, in a session of its own; the driver
		 * adopts and kills it */
		if (fork() == 0) {
			setsid();
			signal(CRT_VERIFY_SIGNAL, SIG_IGN);
			close(ready[0]);
			(void)!write(ready[1], "r", 1);
			close(ready[1]);
			for (;;)
				pause();
		}
		_exit(0);
	}
	close(m);
	close(ready[1]);
	if (mid < 0 || waitpid(mid, NULL, 0) != mid || read(ready[0], buf, 1) != 1)
		return 2;
	close(ready[0]);
	s = open(name, O_RDWR);	/* a leader's first terminal: its controlling one */
	if (s < 0)
		return 2;
	close(s);
	crt_ready();
	crt_wait_verify();

	if (crt_damage() && (s = open("/dev/tty", O_RDWR)) >= 0) {
		signal(SIGHUP, SIG_IGN);	/* a leader's TIOCNOTTY hangs its group up */
		ioctl(s, TIOCNOTTY);
		close(s);
	}
	s = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (s < 0)
		crt_fail("no controlling terminal after the refused dump");
	else
		close(s);
	for (size_t i = 0; i < REGION_WORDS; i++)
		if (region[i] != crt_pattern(REGION_SEED, i)) {
			crt_fail("word %zu of the region changed after the refused dump", i);
			break;
		}
	return crt_finish();
}
