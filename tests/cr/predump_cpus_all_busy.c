/* A task that keeps every CPU it may use busy (one spinning thread per
 * CPU) while it is pre-dumped. crisp yields the CPU once the task runs
 * again, but must not starve: it steps back up when it gets almost none,
 * and says so (@says), and the pre-dump ends. After the final dump and a
 * restore, the task's memory is what it filled and every spinner goes on
 * counting. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

/* a job of the driver's session: crisp leaves the shared session group
 * alone, so only its own threads' nice decides, whatever other crisps in
 * that session do to the group meanwhile */
CRT_SCENARIO("pre-dump --track-mem --shell-job @says=starved; dump --track-mem --shell-job; "
	     "restore --shell-job; verify");
CRT_DAMAGE_FAILS("region word");

#define REGION_WORDS (128ull << 20) / 8	/* 128 MiB: a copy that takes a while */
#define SEED 41
#define MAX_SPINNERS 64

static _Atomic uint64_t spins[MAX_SPINNERS];

static void *spinner(void *arg)
{
	_Atomic uint64_t *n = arg;

	for (;;)
		atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t *region, before[MAX_SPINNERS];
	cpu_set_t set;
	sigset_t all, old;
	pthread_t th;
	int cpus;

	crt_init(argc, argv);
	if (sched_getaffinity(0, sizeof(set), &set))
		return 2;
	cpus = CPU_COUNT(&set);
	if (cpus > MAX_SPINNERS)
		cpus = MAX_SPINNERS;
	region = mmap(NULL, REGION_WORDS * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (region == MAP_FAILED)
		return 2;
	for (uint64_t i = 0; i < REGION_WORDS; i++)
		region[i] = crt_pattern(SEED, i);
	/* the spinners take no signal: the driver's verify signal is the main
	 * thread's, which waits for it in sigsuspend */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* one on each CPU from the start: left to the balancer, two spinners
	 * may share a CPU for a while and leave crisp the other (a pre-dump
	 * once ended unstarved in 0.29 s) */
	for (int i = 0, cpu = 0; i < cpus; i++, cpu++) {
		pthread_attr_t attr;
		cpu_set_t one;

		while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
			cpu++;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (pthread_attr_init(&attr) ||
		    pthread_attr_setaffinity_np(&attr, sizeof(one), &one) ||
		    pthread_create(&th, &attr, spinner, &spins[i]))
			return 2;
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	crt_ready();
	crt_wait_verify();

	for (int i = 0; i < cpus; i++)
		before[i] = atomic_load(&spins[i]);
	if (crt_damage())
		region[REGION_WORDS / 2] ^= 1;
	for (uint64_t i = 0; i < REGION_WORDS; i++)
		if (region[i] != crt_pattern(SEED, i)) {
			crt_fail("region word %llu is %#llx, not %#llx", (unsigned long long)i,
				 (unsigned long long)region[i],
				 (unsigned long long)crt_pattern(SEED, i));
			break;
		}
	usleep(100 * 1000);
	for (int i = 0; i < cpus; i++)
		if (atomic_load(&spins[i]) == before[i])
			crt_fail("spinner %d of %d stopped counting at %llu", i, cpus,
				 (unsigned long long)before[i]);
	return crt_finish();
}
