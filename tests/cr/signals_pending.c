/* Blocked signals pending across the checkpoint, each with its siginfo:
 * process-wide (kill twice, three sigqueue values) and thread-directed
 * (tgkill, rt_tgsigqueueinfo with a value). After restore they are still
 * pending, private and shared as before (SigPnd/ShdPnd), and once unblocked
 * each is delivered as often as it must, with its siginfo, queued
 * real-time values in order. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("SIGRTMIN+1 was delivered");

#define MAX_SEEN 32

struct seen {
	int signo, code, value, pid;
	unsigned int uid;
};

static struct seen seen[MAX_SEEN];
static volatile int nseen;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (nseen < MAX_SEEN) {
		seen[nseen] = (struct seen){ sig, si->si_code, si->si_value.sival_int,
					     si->si_pid, si->si_uid };
		nseen++;
	}
}

static unsigned long long bit(int sig)
{
	return 1ull << (sig - 1);
}

/* Checks delivery @k is @sig with @code and, for queued ones, @value. */
static void expect_seen(int k, const char *name, int sig, int code, int value)
{
	const struct seen *s = &seen[k];

	if (s->signo != sig || s->code != code || s->pid != getpid() || s->uid != getuid() ||
	    (code == SI_QUEUE && s->value != value))
		crt_fail("%s delivery: signal %d code %d value %d pid %d uid %u, expected signal %d code %d value %d pid %d uid %u",
			 name, s->signo, s->code, s->value, s->pid, s->uid, sig, code,
			 code == SI_QUEUE ? value : s->value, (int)getpid(), (unsigned int)getuid());
}

int main(int argc, char **argv)
{
	const int rt1 = SIGRTMIN + 1, rt2 = SIGRTMIN + 2;
	const int sigs[] = { SIGUSR1, SIGUSR2, rt1, rt2 };
	unsigned long long shd = 0, prv = 0;
	unsigned long long want_shd = bit(SIGUSR1) | bit(rt1), want_prv = bit(SIGUSR2) | bit(rt2);
	struct sigaction sa;
	sigset_t block, pending;
	siginfo_t si;

	crt_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);	/* one handler at a time */
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL))
			return 2;
	}
	sigprocmask(SIG_BLOCK, &block, NULL);

	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);	/* merges with the first */
	for (int v = 111; v <= 333; v += 111)
		sigqueue(getpid(), rt1, (union sigval){ .sival_int = v });
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	memset(&si, 0, sizeof(si));
	si.si_signo = rt2;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 444;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), rt2, &si))
		return 2;
	crt_ready();
	/* wait with the signals still blocked (crt_wait_verify unblocks all) */
	while (!crt_verify_requested())
		sigsuspend(&block);

	if (crt_damage())
		sigqueue(getpid(), rt1, (union sigval){ .sival_int = 999 });
	if (crt_status_mask("ShdPnd", &shd) || crt_status_mask("SigPnd", &prv))
		crt_fail("cannot read SigPnd/ShdPnd from /proc/self/status");
	if ((shd & ~bit(CRT_VERIFY_SIGNAL)) != want_shd)
		crt_fail("shared pending signals are %#llx, expected %#llx", shd, want_shd);
	if (prv != want_prv)
		crt_fail("thread pending signals are %#llx, expected %#llx", prv, want_prv);
	sigpending(&pending);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!sigismember(&pending, sigs[i]))
			crt_fail("signal %d is not pending, expected pending", sigs[i]);

	sigprocmask(SIG_UNBLOCK, &block, NULL);

	int usr1 = -1, usr2 = -1, r2 = -1, r1[8], nr1 = 0;

	for (int k = 0; k < nseen; k++) {
		if (seen[k].signo == SIGUSR1)
			usr1 = usr1 < 0 ? k : -2;
		else if (seen[k].signo == SIGUSR2)
			usr2 = usr2 < 0 ? k : -2;
		else if (seen[k].signo == rt2)
			r2 = r2 < 0 ? k : -2;
		else if (seen[k].signo == rt1 && nr1 < 8)
			r1[nr1++] = k;
	}
	if (nr1 != 3)
		crt_fail("SIGRTMIN+1 was delivered %d times, expected 3 (one per queued value)", nr1);
	for (int i = 0; i < nr1 && i < 3; i++)
		expect_seen(r1[i], "queued SIGRTMIN+1", rt1, SI_QUEUE, 111 * (i + 1));
	if (usr1 < 0)
		crt_fail("SIGUSR1 was delivered %s, expected once", usr1 == -1 ? "never" : "twice or more");
	else
		expect_seen(usr1, "SIGUSR1", SIGUSR1, SI_USER, 0);
	if (usr2 < 0)
		crt_fail("SIGUSR2 was delivered %s, expected once", usr2 == -1 ? "never" : "twice or more");
	else
		expect_seen(usr2, "SIGUSR2", SIGUSR2, SI_TKILL, 0);
	if (r2 < 0)
		crt_fail("SIGRTMIN+2 was delivered %s, expected once", r2 == -1 ? "never" : "twice or more");
	else
		expect_seen(r2, "SIGRTMIN+2", rt2, SI_QUEUE, 444);
	return crt_finish();
}
