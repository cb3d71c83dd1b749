/* timerfds after restore: a one-shot armed for 2 s fires (once), a
 * periodic one keeps its 50 ms interval and fires again, a disarmed one
 * stays disarmed, and two that expired before the dump without being read
 * (a one-shot and an hourly one) still have their expiration to read, the
 * hourly one its interval too. */
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
	struct itimerspec soon = { .it_value = { 0, 1000 } };
	struct itimerspec hourly = { .it_value = { 0, 1000 }, .it_interval = { 3600, 0 } };
	int t1, t2, t3, t4, t5;
	uint64_t ticks = 0;

	crt_init(argc, argv);
	t1 = timerfd_create(CLOCK_MONOTONIC, 0);
	t2 = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
	t3 = timerfd_create(CLOCK_REALTIME, 0);
	t4 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	t5 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (t5 < 0 || timerfd_settime(t5, 0, &hourly, NULL) ||
	    poll(&(struct pollfd){ t5, POLLIN, 0 }, 1, SAFETY_MS) != 1)
		return 2;
	if (t1 < 0 || t2 < 0 || t3 < 0 || t4 < 0 || timerfd_settime(t1, 0, &one, NULL) ||
	    timerfd_settime(t2, 0, &per, NULL) || timerfd_settime(t4, 0, &soon, NULL) ||
	    poll(&(struct pollfd){ t4, POLLIN, 0 }, 1, SAFETY_MS) != 1)
		return 2;	/* t4 has expired, unread */
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
	if (read(t4, &ticks, 8) != 8 || ticks != 1)
		crt_fail("the timerfd that expired before the dump reads %llu expirations, expected 1",
			 (unsigned long long)ticks);
	ticks = 0;
	if (read(t5, &ticks, 8) != 8 || ticks != 1)
		crt_fail("the hourly timerfd reads %llu expirations, expected 1", (unsigned long long)ticks);
	if (timerfd_gettime(t5, &cur) || cur.it_interval.tv_sec != 3600 || !cur.it_value.tv_sec)
		crt_fail("the hourly timerfd is not armed with its interval after restore");
	if (timerfd_gettime(t3, &cur) || cur.it_value.tv_sec || cur.it_value.tv_nsec)
		crt_fail("the disarmed timerfd is armed");
	return crt_finish();
}
