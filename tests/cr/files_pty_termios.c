/* A pty the task opened itself (master and slave) with raw termios,
 * VMIN 3, a 40x100 window and packet mode on the master: after restore the
 * pty has the same number, the same settings, and the two ends still talk
 * (slave to master in packets, master to slave raw). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the slave's termios changed");

#define SAFETY_MS 30000	/* not a timing check: a dead pty must not hang */

static ssize_t read_some(int fd, char *buf, size_t len)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, SAFETY_MS) == 1 ? read(fd, buf, len) : -1;
}

int main(int argc, char **argv)
{
	char name[64], now[64], buf[64];
	struct termios t;
	struct winsize ws = { .ws_row = 40, .ws_col = 100 };
	int m, s, pkt = 1;
	ssize_t n;

	crt_init(argc, argv);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		return 2;
	s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0 || tcgetattr(s, &t))
		return 2;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(s, TCSANOW, &t) || ioctl(s, TIOCSWINSZ, &ws) || ioctl(m, TIOCPKT, &pkt))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage()) {
		t.c_lflag |= ICANON | ECHO;
		tcsetattr(s, TCSANOW, &t);
	}

	if (ptsname_r(m, now, sizeof(now)) || strcmp(now, name))
		crt_fail("the pty is %s now, was %s", now, name);
	memset(&t, 0, sizeof(t));
	if (tcgetattr(s, &t) || (t.c_lflag & (ICANON | ECHO)) || t.c_cc[VMIN] != 3 ||
	    (t.c_iflag & ICRNL) || (t.c_oflag & OPOST))
		crt_fail("the slave's termios changed (lflag %#x, VMIN %u)", t.c_lflag, t.c_cc[VMIN]);
	memset(&ws, 0, sizeof(ws));
	if (ioctl(s, TIOCGWINSZ, &ws) || ws.ws_row != 40 || ws.ws_col != 100)
		crt_fail("the window is %ux%u, expected 40x100", ws.ws_row, ws.ws_col);
	pkt = 0;
	if (ioctl(m, TIOCGPKT, &pkt) || !pkt)
		crt_fail("the master is not in packet mode any more");
	if (write(s, "abc", 3) != 3)
		crt_fail("cannot write to the slave");
	n = read_some(m, buf, sizeof(buf));
	if (n != 4 || buf[0] != TIOCPKT_DATA || memcmp(buf + 1, "abc", 3))
		crt_fail("the master read %zd bytes, expected a data packet with 'abc'", n);
	if (write(m, "xyz", 3) != 3)
		crt_fail("cannot write to the master");
	n = read_some(s, buf, sizeof(buf));
	if (n != 3 || memcmp(buf, "xyz", 3))
		crt_fail("the slave read %zd bytes, expected 'xyz' raw", n);
	return crt_finish();
}
