/* Eight threads, each with its own TLS values, signal mask, name and work
 * (counters kept in registers), keep running across the checkpoint. After
 * restore each thread still has its TID, its TLS at the same address with
 * the same value, its mask and name, and its counters agree and advanced. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("thread 5: TLS value is");

#define NTHREADS 8
#define STEP 0x9e3779b97f4a7c15ull

static __thread uint64_t tls_value;
static __thread char tls_name[16];

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	uint64_t *tls_addr;
	volatile uint64_t progress;	/* published count */
	uint64_t at_ready;		/* progress when the task was ready */
	char failure[256];		/* the first failed check, if any */
};

static struct worker workers[NTHREADS];
static volatile int stop;

static uint64_t tls_expected(int i)
{
	return 0xa5a5000000000000ull | (uint64_t)i * 0x1111;
}

/* Signals blocked in thread @i: the verify signal, SIGRTMIN+i, and SIGUSR1
 * in odd threads. */
static void mask_for(int i, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, CRT_VERIFY_SIGNAL);
	sigaddset(set, SIGRTMIN + i);
	if (i & 1)
		sigaddset(set, SIGUSR1);
}

static void check_thread(struct worker *w, uint64_t n, uint64_t mult)
{
	sigset_t want, got;
	char name[16];

	if (crt_damage() && w->index == 5)
		tls_value ^= 1;
#define FAIL(...) do { if (!w->failure[0]) snprintf(w->failure, sizeof(w->failure), __VA_ARGS__); } while (0)
	if (tls_value != tls_expected(w->index))
		FAIL("thread %d: TLS value is %#llx, expected %#llx", w->index,
		     (unsigned long long)tls_value, (unsigned long long)tls_expected(w->index));
	if (&tls_value != w->tls_addr)
		FAIL("thread %d: TLS is at %p, expected %p", w->index, (void *)&tls_value,
		     (void *)w->tls_addr);
	snprintf(name, sizeof(name), "crt-worker-%d", w->index);
	if (strcmp(tls_name, name))
		FAIL("thread %d: TLS name is '%s', expected '%s'", w->index, tls_name, name);
	if (gettid() != w->tid)
		FAIL("thread %d: TID is %d, expected %d", w->index, (int)gettid(), (int)w->tid);
	mask_for(w->index, &want);
	pthread_sigmask(SIG_BLOCK, NULL, &got);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&want, s) != sigismember(&got, s))
			FAIL("thread %d: signal %d is %s, expected %s", w->index, s,
			     sigismember(&got, s) ? "blocked" : "not blocked",
			     sigismember(&want, s) ? "blocked" : "not blocked");
	if (pthread_getname_np(pthread_self(), name, sizeof(name)))
		FAIL("thread %d: cannot read its name", w->index);
	else if (strcmp(name, tls_name))
		FAIL("thread %d: name is '%s', expected '%s'", w->index, name, tls_name);
	if (mult != n * STEP)
		FAIL("thread %d: multiple counter is %#llx, expected %#llx (count %llu)", w->index,
		     (unsigned long long)mult, (unsigned long long)(n * STEP), (unsigned long long)n);
	if (n <= w->at_ready)
		FAIL("thread %d: count is %llu, expected more than %llu (its count when ready)",
		     w->index, (unsigned long long)n, (unsigned long long)w->at_ready);
#undef FAIL
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t n = 0, mult = 0;
	sigset_t set;

	mask_for(w->index, &set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	tls_value = tls_expected(w->index);
	snprintf(tls_name, sizeof(tls_name), "crt-worker-%d", w->index);
	pthread_setname_np(pthread_self(), tls_name);
	w->tid = gettid();
	w->tls_addr = &tls_value;
	while (!stop) {
		n++;
		mult += STEP;
		if (!(n & 0xfff))
			w->progress = n;
	}
	check_thread(w, n, mult);
	return NULL;
}

int main(int argc, char **argv)
{
	sigset_t verify_blocked;

	crt_init(argc, argv);
	/* threads are created with the verify signal blocked: it goes to main */
	sigemptyset(&verify_blocked);
	sigaddset(&verify_blocked, CRT_VERIFY_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &verify_blocked, NULL);
	for (int i = 0; i < NTHREADS; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, work, &workers[i]))
			return 2;
	}
	pthread_sigmask(SIG_UNBLOCK, &verify_blocked, NULL);
	for (int i = 0; i < NTHREADS; i++)
		while (!workers[i].progress)
			usleep(1000);
	for (int i = 0; i < NTHREADS; i++)
		workers[i].at_ready = workers[i].progress;
	crt_ready();
	crt_wait_verify();

	/* every thread must go on working: wait (a liveness bound, not a
	 * measurement) until each has published progress past its ready count */
	for (int i = 0; i < NTHREADS; i++)
		for (int ms = 0; workers[i].progress <= workers[i].at_ready; ms++) {
			if (ms == 60000) {
				crt_fail("thread %d: count stays at %llu, expected it to advance past it",
					 i, (unsigned long long)workers[i].progress);
				break;
			}
			usleep(1000);
		}
	stop = 1;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(workers[i].thread, NULL);
		if (workers[i].failure[0])
			crt_fail("%s", workers[i].failure);
	}
	return crt_finish();
}
