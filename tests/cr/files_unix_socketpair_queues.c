/* socketpairs of each type with data queued both ways: stream (3000 and
 * 100 bytes), datagram (three messages one way, one the other) and
 * seqpacket (two each way, one of 5000 bytes). After restore every message
 * is there once, in order and with its boundaries; the pairs are still
 * joined; a write-shutdown and O_NONBLOCK hold, and so do socket options
 * (a receive timeout, SO_PASSCRED, a send buffer size). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("stream a<-b: a message of 99 bytes, expected 100");

static char pat(unsigned int seed, size_t i)
{
	return (char)(crt_pattern(seed, i) & 0xff);
}

static int send_pat(int fd, unsigned int seed, size_t len)
{
	char buf[8192];

	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, i);
	return send(fd, buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* The next message on @fd must be @len bytes of pattern @seed. */
static void expect(int fd, unsigned int seed, size_t len, const char *what)
{
	char buf[8192];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)len) {
		crt_fail("%s: a message of %zd bytes, expected %zu", what, n, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(seed, i)) {
			crt_fail("%s: byte %zu is %#x, expected %#x", what, i, buf[i] & 0xff,
				 pat(seed, i) & 0xff);
			return;
		}
}

static void expect_empty(int fd, const char *what)
{
	char c;

	if (recv(fd, &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		crt_fail("%s: more data than was queued", what);
}

int main(int argc, char **argv)
{
	int st[2], dg[2], sp[2], op[2], v, sndbuf = 0;
	struct timeval tmo = { 7, 250000 }, tmo_was;	/* read back: the kernel keeps jiffies */
	socklen_t l;

	crt_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, op))
		return 2;
	v = 100000;
	l = sizeof(sndbuf);
	if (setsockopt(op[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) ||
	    setsockopt(op[1], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) ||
	    setsockopt(op[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    getsockopt(op[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l))
		return 2;
	l = sizeof(tmo_was);
	if (getsockopt(op[0], SOL_SOCKET, SO_RCVTIMEO, &tmo_was, &l) || tmo_was.tv_sec != 7)
		return 2;
	if (send_pat(st[0], 1, 3000) || send_pat(st[1], 2, 100) || shutdown(st[1], SHUT_WR) ||
	    send_pat(dg[0], 3, 10) || send_pat(dg[0], 4, 1) || send_pat(dg[0], 5, 20) ||
	    send_pat(dg[1], 6, 30) ||
	    send_pat(sp[0], 7, 5000) || send_pat(sp[0], 8, 3) || send_pat(sp[1], 9, 40) ||
	    send_pat(sp[1], 10, 50))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage()) {
		char c;

		(void)!recv(st[0], &c, 1, 0);
	}
	expect(st[0], 2, 100, "stream a<-b");
	expect(st[1], 1, 3000, "stream b<-a");
	if (recv(st[0], (char[1]){ 0 }, 1, MSG_DONTWAIT) != 0)
		crt_fail("stream a<-b: no end of stream after the data (shutdown lost)");
	expect(dg[1], 3, 10, "dgram b<-a first");
	expect(dg[1], 4, 1, "dgram b<-a second");
	expect(dg[1], 5, 20, "dgram b<-a third");
	expect_empty(dg[1], "dgram b<-a");
	expect(dg[0], 6, 30, "dgram a<-b");
	expect_empty(dg[0], "dgram a<-b");
	expect(sp[1], 7, 5000, "seqpacket b<-a first");
	expect(sp[1], 8, 3, "seqpacket b<-a second");
	expect(sp[0], 9, 40, "seqpacket a<-b first");
	expect(sp[0], 10, 50, "seqpacket a<-b second");
	expect_empty(sp[0], "seqpacket a<-b");
	if (!(fcntl(sp[0], F_GETFL) & O_NONBLOCK))
		crt_fail("the seqpacket socket lost O_NONBLOCK");
	if (send_pat(st[0], 11, 7) || send_pat(dg[1], 12, 8) || send_pat(sp[1], 13, 9))
		crt_fail("cannot send on a restored socket");
	expect(st[1], 11, 7, "stream after restore");
	expect(dg[0], 12, 8, "dgram after restore");
	expect(sp[0], 13, 9, "seqpacket after restore");
	if (send(st[1], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		crt_fail("the write-shutdown stream end can write again");
	memset(&tmo, 0, sizeof(tmo));
	l = sizeof(tmo);
	if (getsockopt(op[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, &l) || tmo.tv_sec != tmo_was.tv_sec ||
	    tmo.tv_usec != tmo_was.tv_usec)
		crt_fail("SO_RCVTIMEO is %ld.%06ld, expected %ld.%06ld", (long)tmo.tv_sec,
			 (long)tmo.tv_usec, (long)tmo_was.tv_sec, (long)tmo_was.tv_usec);
	v = 0;
	l = sizeof(v);
	if (getsockopt(op[1], SOL_SOCKET, SO_PASSCRED, &v, &l) || !v)
		crt_fail("SO_PASSCRED was lost");
	v = 0;
	l = sizeof(v);
	if (getsockopt(op[0], SOL_SOCKET, SO_SNDBUF, &v, &l) || v != sndbuf)
		crt_fail("SO_SNDBUF is %d, expected %d", v, sndbuf);
	if (crt_fd_count() != 8)
		crt_fail("the task has %d open fds, expected 8", crt_fd_count());
	return crt_finish();
}
