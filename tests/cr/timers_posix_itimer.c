/* Interval timers armed across the checkpoint: ITIMER_REAL and a periodic
 * POSIX timer (CLOCK_MONOTONIC, SIGEV_SIGNAL with a value) that fire all the
 * time, plus ITIMER_VIRTUAL and a one-hour one-shot POSIX timer that do not.
 * After restore each reads back its exact programmed interval and a value
 * within it, the POSIX timers keep their kernel ids, and the periodic ones
 * keep firing with their siginfo. No check depends on elapsed time. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("ITIMER_REAL interval is");

#define REAL_US 20000		/* ITIMER_REAL period */
#define VIRT_S 7		/* ITIMER_VIRTUAL period (never reached) */
#define VIRT_FIRST_S 50
#define TICK_SLACK_US 10000	/* more than one tick at HZ >= 100 */
#define POSIX_NS 15000000L	/* periodic POSIX timer */
#define ONESHOT_S 3600		/* one-shot POSIX timer */
#define TIMER_VALUE 777
#define MORE_FIRINGS 3

static volatile int alarms, posix_fires, bad_timerid, bad_value;
static int periodic_id;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	posix_fires++;
	if (si->si_code != SI_TIMER || si->si_timerid != periodic_id)
		bad_timerid = si->si_code == SI_TIMER ? si->si_timerid : -1000 - si->si_code;
	if (si->si_value.sival_int != TIMER_VALUE)
		bad_value = si->si_value.sival_int;
}

static int ktimer_create(clockid_t clock, int signo, int value, int *id)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_int = value;
	return (int)syscall(SYS_timer_create, clock, &sev, id);
}

static void check_posix(const char *name, int id, long interval_ns, long long max_ns)
{
	struct itimerspec its;

	if (syscall(SYS_timer_gettime, id, &its)) {
		crt_fail("%s (id %d): timer_gettime: %s, expected the timer to exist", name, id,
			 strerror(errno));
		return;
	}
	if (its.it_interval.tv_sec != interval_ns / 1000000000L ||
	    its.it_interval.tv_nsec != interval_ns % 1000000000L)
		crt_fail("%s interval is %lld.%09ld s, expected %ld.%09ld s", name,
			 (long long)its.it_interval.tv_sec, its.it_interval.tv_nsec,
			 interval_ns / 1000000000L, interval_ns % 1000000000L);
	long long value_ns = its.it_value.tv_sec * 1000000000LL + its.it_value.tv_nsec;

	if (value_ns <= 0 || value_ns > max_ns)
		crt_fail("%s value is %lld ns, expected armed, at most %lld ns", name, value_ns, max_ns);
}

static void check_itimer(const char *name, int which, long interval_us, long max_us)
{
	struct itimerval itv;
	long value_us;

	getitimer(which, &itv);
	if (itv.it_interval.tv_sec * 1000000L + itv.it_interval.tv_usec != interval_us)
		crt_fail("%s interval is %ld.%06ld s, expected %ld.%06ld s", name,
			 (long)itv.it_interval.tv_sec, (long)itv.it_interval.tv_usec,
			 interval_us / 1000000L, interval_us % 1000000L);
	value_us = itv.it_value.tv_sec * 1000000L + itv.it_value.tv_usec;
	if (value_us <= 0 || value_us > max_us)
		crt_fail("%s value is %ld us, expected armed, at most %ld us", name, value_us, max_us);
}

int main(int argc, char **argv)
{
	struct itimerval real = { { 0, REAL_US }, { 0, REAL_US } };
	struct itimerval virt = { { VIRT_S, 0 }, { VIRT_FIRST_S, 0 } };
	struct itimerspec periodic = { { 0, POSIX_NS }, { 0, POSIX_NS } };
	struct itimerspec oneshot = { { 0, 0 }, { ONESHOT_S, 0 } };
	int oneshot_id, periodic_at_setup;
	struct sigaction sa;

	crt_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN + 2, &sa, NULL);
	if (ktimer_create(CLOCK_MONOTONIC, SIGRTMIN + 2, TIMER_VALUE, &periodic_id) ||
	    ktimer_create(CLOCK_REALTIME, SIGRTMIN + 3, 0, &oneshot_id) ||
	    syscall(SYS_timer_settime, periodic_id, 0, &periodic, NULL) ||
	    syscall(SYS_timer_settime, oneshot_id, 0, &oneshot, NULL) ||
	    setitimer(ITIMER_REAL, &real, NULL) || setitimer(ITIMER_VIRTUAL, &virt, NULL))
		return 2;
	periodic_at_setup = periodic_id;
	crt_ready();
	crt_wait_verify();

	if (crt_damage()) {
		real.it_interval.tv_usec = REAL_US + 1000;
		setitimer(ITIMER_REAL, &real, NULL);
	}
	check_itimer("ITIMER_REAL", ITIMER_REAL, REAL_US, REAL_US + (crt_damage() ? 1000 : 0));
	/* CPU-time itimers read back rounded up by a scheduler tick */
	check_itimer("ITIMER_VIRTUAL", ITIMER_VIRTUAL, VIRT_S * 1000000L,
		     VIRT_FIRST_S * 1000000L + TICK_SLACK_US);
	check_posix("the periodic POSIX timer", periodic_id, POSIX_NS, POSIX_NS);
	check_posix("the one-shot POSIX timer", oneshot_id, 0, ONESHOT_S * 1000000000LL);

	/* they keep firing: wait for a few more of each (a liveness bound of
	 * 30 s, not a measurement of their period) */
	int alarms0 = alarms, posix0 = posix_fires;

	for (int ms = 0; alarms < alarms0 + MORE_FIRINGS || posix_fires < posix0 + MORE_FIRINGS; ms++) {
		if (ms == 30000) {
			crt_fail("after restore ITIMER_REAL fired %d and the POSIX timer %d times in 30 s, expected %d each",
				 alarms - alarms0, posix_fires - posix0, MORE_FIRINGS);
			break;
		}
		usleep(1000);
	}
	if (periodic_id != periodic_at_setup)
		crt_fail("the periodic timer's id is %d, expected %d", periodic_id, periodic_at_setup);
	if (bad_timerid)
		crt_fail("a POSIX timer signal came with timer id %d, expected %d (SI_TIMER)",
			 bad_timerid, periodic_id);
	if (bad_value)
		crt_fail("a POSIX timer signal came with value %d, expected %d", bad_value, TIMER_VALUE);
	if (syscall(SYS_timer_getoverrun, periodic_id) < 0)
		crt_fail("timer_getoverrun of the periodic timer: %s, expected a count", strerror(errno));

	/* quiet before writing the verdict */
	memset(&real, 0, sizeof(real));
	setitimer(ITIMER_REAL, &real, NULL);
	syscall(SYS_timer_delete, periodic_id);
	return crt_finish();
}
