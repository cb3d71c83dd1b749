/* Ptys with a child running in each: the root holds the masters, each child
 * starts a session, opens its slave (its controlling terminal) and sets raw
 * mode, VMIN 2, ^G as VINTR and a 33x77 window; child K keeps the slave
 * open, child N closes it and has only its session's terminal. After
 * restore a child's /dev/tty is its slave, the session and foreground group
 * are its own, the settings hold, and bytes go both ways between master and
 * child. */
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("the window is 1x1");

#define SAFETY_MS 30000	/* not a timing check: a dead pty must not hang */

static ssize_t read_some(int fd, char *buf, size_t len)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, SAFETY_MS) == 1 ? read(fd, buf, len) : -1;
}

static void kid_checks(int s)
{
	struct termios t;
	struct winsize ws;

	if (tcgetsid(s) != getpid() || tcgetpgrp(s) != getpid())
		kid_fail("the slave's session %d and foreground %d, expected %d", (int)tcgetsid(s),
			 (int)tcgetpgrp(s), (int)getpid());
	memset(&t, 0, sizeof(t));
	if (tcgetattr(s, &t) || (t.c_lflag & (ICANON | ECHO | ISIG)) || t.c_cc[VMIN] != 2 ||
	    t.c_cc[VINTR] != 7 || (t.c_oflag & OPOST))
		kid_fail("the termios changed (lflag %#x, VMIN %u, VINTR %u)", t.c_lflag,
			 t.c_cc[VMIN], t.c_cc[VINTR]);
	memset(&ws, 0, sizeof(ws));
	if (ioctl(s, TIOCGWINSZ, &ws) || ws.ws_row != 33 || ws.ws_col != 77)
		kid_fail("the window is %ux%u, expected 33x77", ws.ws_row, ws.ws_col);
}

static __attribute__((noreturn)) void kid_main(const char *name, const char *kid, bool keep)
{
	struct termios t;
	struct winsize ws = { .ws_row = 33, .ws_col = 77 };
	char buf[16];
	int s, tty;

	kid_start();
	if (setsid() < 0)
		_exit(2);
	s = open(name, O_RDWR);	/* the first terminal a leader opens is its own */
	if (s < 0 || tcgetattr(s, &t))
		_exit(2);
	cfmakeraw(&t);
	t.c_cc[VMIN] = 2;
	t.c_cc[VTIME] = 0;
	t.c_cc[VINTR] = 7;
	if (tcsetattr(s, TCSANOW, &t) || ioctl(s, TIOCSWINSZ, &ws))
		_exit(2);
	if (!keep)
		close(s);
	kid_ready(kid);
	kid_wait_go();
	if (!keep && (s = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		kid_fail("open /dev/tty: %s", strerror(errno));
	/* a master reads EIO while no slave is open: the root waits for this */
	snprintf(buf, sizeof(buf), "%s-tty", kid);
	kid_ready(buf);
	kid_checks(s);
	/* echo: two bytes in from the slave, their upper case out through
	 * /dev/tty (which the root reading them proves is the slave) */
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0)
		kid_fail("open /dev/tty: %s", strerror(errno));
	if (read_some(s, buf, 2) != 2)
		kid_fail("read %s from the slave", strerror(errno));
	buf[0] = (char)(buf[0] & ~0x20);
	buf[1] = (char)(buf[1] & ~0x20);
	if (write(tty >= 0 ? tty : s, buf, 2) != 2)
		kid_fail("cannot write to /dev/tty: %s", strerror(errno));
	kid_report(kid);
}

/* Opens a pty: its master, the slave's path in @name. */
static int open_pty(char *name, size_t len)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, len))
		exit(2);
	return m;
}

/* Child @k on master @m: its session, its terminal, and the echo. */
static void check_kid(int m, pid_t k, const char *kid)
{
	char buf[16];
	ssize_t n;
	int st;

	if (tcgetsid(m) != k)
		crt_fail("%s: the pty's session is %d, expected the child's %d", kid,
			 (int)tcgetsid(m), (int)k);
	kill(k, SIGUSR1);
	snprintf(buf, sizeof(buf), "%s-tty", kid);
	if (kid_wait_ready(&(const char *){ buf }, 1))
		crt_fail("%s: the child did not open its terminal", kid);
	if (write(m, "ok", 2) != 2)
		crt_fail("%s: cannot write to the master", kid);
	n = read_some(m, buf, sizeof(buf));
	if (n != 2 || memcmp(buf, "OK", 2))
		crt_fail("%s: the master read %zd bytes, expected 'OK' from the child", kid, n);
	if (waitpid(k, &st, 0) != k)
		crt_fail("cannot wait for child %s", kid);
	kid_check_report(kid);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K", "N" };
	char kname[64], nname[64];
	pid_t k, n;
	int km, nm;

	crt_init(argc, argv);
	km = open_pty(kname, sizeof(kname));
	nm = open_pty(nname, sizeof(nname));
	k = fork();
	if (k == 0)
		kid_main(kname, "K", true);
	n = k > 0 ? fork() : -1;
	if (n == 0)
		kid_main(nname, "N", false);
	if (k < 0 || n < 0 || kid_wait_ready(names, 2))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		ioctl(nm, TIOCSWINSZ, &(struct winsize){ .ws_row = 1, .ws_col = 1 });
	check_kid(km, k, "K");
	check_kid(nm, n, "N");
	return crt_finish();
}
