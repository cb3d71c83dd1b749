/* A task on a terminal whose master end is elsewhere (a daemon outside the
 * dumped task holds it, as a terminal emulator or sshd would): the dump must
 * refuse, naming the terminal, and the task runs on unchanged, its terminal
 * still working both ways. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "busy-task.h"

CRT_SCENARIO("!dump @says=terminal; !dump -R @says=terminal; verify");
CRT_DAMAGE_FAILS("the terminal does not echo back");

#define REGION_WORDS (1u << 18)	/* 2 MiB */
#define EXPECTED_FDS 1
#define SAFETY_MS 30000	/* not a timing check: a dead terminal must not hang */

/* The daemon: echoes what the slave side writes back to it. */
static void tty_daemon(int m)
{
	char buf[64];
	ssize_t n;

	while ((n = read(m, buf, sizeof(buf))) > 0)
		if (write(m, buf, (size_t)n) != n)
			break;
	_exit(0);
}

int main(int argc, char **argv)
{
	struct bt_task t;
	struct termios tio;
	char name[64], buf[8];
	int m, s, ready[2];
	pid_t mid;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS) || pipe(ready))
		return 2;
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		return 2;
	s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0 || tcgetattr(s, &tio))
		return 2;
	cfmakeraw(&tio);
	if (tcsetattr(s, TCSANOW, &tio))
		return 2;
	mid = fork();
	if (mid == 0) {
		/* its own session: in the task's group it would keep the task's PID
		 * in use; the driver adopts and kills it */
		if (fork() == 0) {
			setsid();
			signal(CRT_VERIFY_SIGNAL, SIG_IGN);
			close(s);
			close(ready[0]);
			(void)!write(ready[1], "r", 1);
			close(ready[1]);
			tty_daemon(m);
		}
		_exit(0);
	}
	close(m);
	close(ready[1]);
	if (mid < 0 || waitpid(mid, NULL, 0) != mid || read(ready[0], buf, 1) != 1)
		return 2;
	close(ready[0]);
	crt_ready();
	bt_count(&t);
	if (crt_damage()) {
		close(s);
		s = open("/dev/null", O_RDWR);
	}
	bt_check_unchanged(&t, EXPECTED_FDS);

	struct pollfd p = { s, POLLIN, 0 };
	ssize_t n = -1;

	if (write(s, "ok", 2) == 2 && poll(&p, 1, SAFETY_MS) == 1)
		n = read(s, buf, sizeof(buf));
	if (n != 2 || memcmp(buf, "ok", 2))
		crt_fail("the terminal does not echo back (%zd bytes)", n);
	return crt_finish();
}
