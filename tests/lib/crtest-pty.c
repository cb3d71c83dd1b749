/* crtest-pty — runs a command on a pty of its own (controlling terminal of
 * a new session, its stdio), copies its output to stdout, reaps orphans and
 * exits as it did; for --shell-job tests (the test driver has no terminal).
 * Usage: crtest-pty COMMAND [ARG...] */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void ptyrun_child(const char *slave, char **argv)
{
	struct termios t;
	int s;

	if (setsid() < 0) {
		perror("crtest-pty: setsid");
		_exit(127);
	}
	s = open(slave, O_RDWR);	/* a session leader's first terminal: its own */
	if (s < 0 || ioctl(s, TIOCSCTTY, 0)) {
		perror("crtest-pty: the terminal");
		_exit(127);
	}
	/* the output reads as it was written: no \n to \r\n */
	if (!tcgetattr(s, &t)) {
		t.c_oflag &= ~(tcflag_t)ONLCR;
		tcsetattr(s, TCSANOW, &t);
	}
	if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0) {
		perror("crtest-pty: dup2");
		_exit(127);
	}
	if (s > 2)
		close(s);
	execvp(argv[0], argv);
	fprintf(stderr, "crtest-pty: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Copies what is there to read from @m to stdout; false at its end. */
static bool ptyrun_copy(int m, int wait_ms)
{
	struct pollfd p = { m, POLLIN, 0 };
	char buf[4096];
	ssize_t n;

	if (poll(&p, 1, wait_ms) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
		return true;
	n = read(m, buf, sizeof(buf));
	if (n <= 0)
		return false;	/* EIO: no slave is open any more */
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	char slave[64];
	pid_t cmd, got;
	int m, st = 0, cmd_st = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: crtest-pty COMMAND [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("crtest-pty: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, slave, sizeof(slave))) {
		perror("crtest-pty: a pty");
		return 2;
	}
	cmd = fork();
	if (cmd < 0) {
		perror("crtest-pty: fork");
		return 2;
	}
	if (cmd == 0)
		ptyrun_child(slave, argv + 1);
	/* until the command is gone, and then its output */
	for (;;) {
		while ((got = waitpid(-1, &st, WNOHANG)) > 0)
			if (got == cmd)
				cmd_st = st;
		if (cmd_st >= 0 || (got < 0 && errno == ECHILD))
			break;
		ptyrun_copy(m, 50);
	}
	while (ptyrun_copy(m, 0))
		if (poll(&(struct pollfd){ m, POLLIN, 0 }, 1, 0) <= 0)
			break;
	if (cmd_st < 0)
		return 2;
	if (WIFSIGNALED(cmd_st)) {
		fprintf(stderr, "crtest-pty: %s killed by signal %d\n", argv[1], WTERMSIG(cmd_st));
		return 2;
	}
	return WEXITSTATUS(cmd_st);
}
