/* Unix sockets beyond socketpairs: a stream listener bound to a path (mode
 * 0640), a seqpacket listener on an abstract name, a connection accepted
 * from the first with data queued both ways, a datagram socket bound to a
 * path with two datagrams queued from an unbound one. After restore each
 * listener takes new connections, the accepted pair and its data are
 * there, the datagrams are queued and the bound name receives new ones. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("cannot connect to the path listener");

static socklen_t addr_of(struct sockaddr_un *sa, const char *path, bool abstract)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path + abstract, sizeof(sa->sun_path) - 1, "%s", path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + strlen(path) +
			   !abstract);
}

static void expect(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, strlen(want)))
		crt_fail("%s: got %zd bytes '%.*s', expected '%s'", what, n, n > 0 ? (int)n : 0, buf, want);
}

/* A new connection to @sa is accepted by @lfd and carries a byte. */
static bool connects(int lfd, const struct sockaddr_un *sa, socklen_t len, int type)
{
	int c = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), s;
	char b = 0;
	bool ok;

	if (c < 0 || connect(c, (const struct sockaddr *)sa, len)) {
		if (c >= 0)
			close(c);
		return false;
	}
	s = accept(lfd, NULL, NULL);
	ok = s >= 0 && send(c, "k", 1, 0) == 1 && recv(s, &b, 1, 0) == 1 && b == 'k';
	if (s >= 0)
		close(s);
	close(c);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_un pl, ab, dg;
	socklen_t lpl, lab, ldg;
	char path[200], dpath[200], abs[64];
	int l, a, c, s, d, e;
	struct stat st;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/listen.sock", crt_dir());
	snprintf(dpath, sizeof(dpath), "%s/dgram.sock", crt_dir());
	snprintf(abs, sizeof(abs), "crisp-test-%d", (int)getpid());
	lpl = addr_of(&pl, path, false);
	lab = addr_of(&ab, abs, true);
	ldg = addr_of(&dg, dpath, false);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	a = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	e = socket(AF_UNIX, SOCK_DGRAM, 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || a < 0 || d < 0 || e < 0 || c < 0 ||
	    bind(l, (struct sockaddr *)&pl, lpl) || chmod(path, 0640) || listen(l, 5) ||
	    bind(a, (struct sockaddr *)&ab, lab) || listen(a, 3) ||
	    bind(d, (struct sockaddr *)&dg, ldg) || connect(c, (struct sockaddr *)&pl, lpl))
		return 2;
	s = accept(l, NULL, NULL);
	if (s < 0 || send(c, "hello", 5, 0) != 5 || send(s, "world", 5, 0) != 5 ||
	    sendto(e, "one", 3, 0, (struct sockaddr *)&dg, ldg) != 3 ||
	    sendto(e, "two!", 4, 0, (struct sockaddr *)&dg, ldg) != 4)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		close(l);

	if (!connects(l, &pl, lpl, SOCK_STREAM))
		crt_fail("cannot connect to the path listener");
	if (!connects(a, &ab, lab, SOCK_SEQPACKET))
		crt_fail("cannot connect to the abstract seqpacket listener");
	expect(s, "hello", "accepted end");
	expect(c, "world", "client end");
	if (send(s, "again", 5, 0) != 5)
		crt_fail("cannot send on the accepted connection");
	expect(c, "again", "client end after restore");
	expect(d, "one", "first datagram");
	expect(d, "two!", "second datagram");
	if (sendto(e, "three", 5, 0, (struct sockaddr *)&dg, ldg) != 5)
		crt_fail("cannot send to the bound datagram socket's path: %s", strerror(errno));
	expect(d, "three", "datagram after restore");
	if (stat(path, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0640)
		crt_fail("the listener's socket file has mode %o, expected 640", st.st_mode & 07777);
	return crt_finish();
}
