/* An epoll instance keeps its targets: an eventfd that is ready (data
 * 0xabc) is reported at once after restore; a pipe registered edge-
 * triggered (data 7) is not, until something is written into it. */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("epoll reports 0 ready fds, expected 1");

int main(int argc, char **argv)
{
	struct epoll_event ev[4];
	int ep, efd, p[2], n;

	crt_init(argc, argv);
	ep = epoll_create1(EPOLL_CLOEXEC);
	efd = eventfd(1, 0);
	if (ep < 0 || efd < 0 || pipe(p))
		return 2;
	ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0xabc };
	ev[1] = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 7 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev[0]) || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev[1]))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
	n = epoll_wait(ep, ev, 4, 0);
	if (n != 1)
		crt_fail("epoll reports %d ready fds, expected 1", n);
	else if (ev[0].data.u64 != 0xabc || !(ev[0].events & EPOLLIN))
		crt_fail("epoll reports data %#llx events %#x, expected 0xabc EPOLLIN",
			 (unsigned long long)ev[0].data.u64, ev[0].events);
	if (write(p[1], "x", 1) != 1)
		crt_fail("cannot write into the pipe");
	n = epoll_wait(ep, ev, 4, 0);
	if (n != 2 || (ev[0].data.u64 != 7 && ev[1].data.u64 != 7))
		crt_fail("after a write into the pipe epoll reports %d fds, without data 7", n);
	n = epoll_wait(ep, ev, 4, 0);
	if (n != 1)
		crt_fail("the pipe's registration is not edge-triggered any more (%d ready)", n);
	return crt_finish();
}
