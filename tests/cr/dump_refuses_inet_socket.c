/* A task with a TCP socket (not supported yet) next to a pipe holding data
 * (supported): the dump must refuse, naming the AF_INET socket, and leave
 * the task running and unchanged: counters, memory, no tracer, the same
 * fds, the socket still listening and every byte still in the pipe. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "busy-task.h"

CRT_SCENARIO("!dump @says=AF_INET; !dump -R @says=AF_INET; verify");
CRT_DAMAGE_FAILS("the pipe gave 9 bytes, expected 10");

#define REGION_WORDS (1u << 18)	/* 2 MiB */
#define EXPECTED_FDS 3

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct bt_task t;
	char buf[32];
	int sk, p[2], acc, c;
	ssize_t n;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS))
		return 2;
	sk = socket(AF_INET, SOCK_STREAM, 0);
	if (sk < 0 || bind(sk, (struct sockaddr *)&a, sizeof(a)) || listen(sk, 4) ||
	    getsockname(sk, (struct sockaddr *)&a, &al) || pipe(p) || write(p[1], "0123456789", 10) != 10)
		return 2;
	crt_ready();
	bt_count(&t);
	if (crt_damage())
		(void)!read(p[0], buf, 1);
	bt_check_unchanged(&t, EXPECTED_FDS);
	n = read(p[0], buf, sizeof(buf));
	if (n != 10 || memcmp(buf, "0123456789", 10))
		crt_fail("the pipe gave %zd bytes, expected 10", n);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		crt_fail("the listening socket does not take connections after the failed dumps");
	acc = accept(sk, NULL, NULL);
	if (acc < 0)
		crt_fail("the listening socket does not accept after the failed dumps");
	return crt_finish();
}
