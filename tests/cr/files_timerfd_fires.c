/* timerfds after restore: a one-shot armed for 2 s fires (once), a
 * periodic one keeps its 50 ms interval and fires again, a disarmed one
 * stays disarmed. */
#include <poll.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the one-shot timerfd did not fire");

#define SAFETY_MS 30000	/* not a timing check: only so that a lost timer cannot hang */

static bool fires(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t ticks = 0;

	return poll(&p, 1, SAFETY_MS) == 1 && read(fd, &ticks, 8) == 8 && ticks >= 1;
}

int main(int argc, char **argv)
{
	struct itimerspec one = { .it_value = { 2, 0 } };
	struct itimerspec per = { .it_value = { 0, 50000000 }, .it_interval = { 0, 50000000 } };
	struct itimerspec cur;
	int t1, t2, t3;

	crt_init(argc, argv);
	t1 = timerfd_create(CLOCK_MONOTONIC, 0);
	t2 = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
	t3 = timerfd_create(CLOCK_REALTIME, 0);
	if (t1 < 0 || t2 < 0 || t3 < 0 || timerfd_settime(t1, 0, &one, NULL) ||
	    timerfd_settime(t2, 0, &per, NULL))
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage()) {
		struct itimerspec off = { { 0, 0 }, { 0, 0 } };

		timerfd_settime(t1, 0, &off, NULL);
	}
	if (!fires(t1))
		crt_fail("the one-shot timerfd did not fire");
	if (timerfd_gettime(t1, &cur) || cur.it_value.tv_sec || cur.it_value.tv_nsec)
		crt_fail("the one-shot timerfd is still armed after firing");
	if (timerfd_gettime(t2, &cur) || cur.it_interval.tv_sec || cur.it_interval.tv_nsec != 50000000)
		crt_fail("the periodic timerfd's interval is %lld.%09ld, expected 0.050000000",
			 (long long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
	if (!fires(t2) || !fires(t2))
		crt_fail("the periodic timerfd does not keep firing");
	if (timerfd_gettime(t3, &cur) || cur.it_value.tv_sec || cur.it_value.tv_nsec)
		crt_fail("the disarmed timerfd is armed");
	return crt_finish();
}
