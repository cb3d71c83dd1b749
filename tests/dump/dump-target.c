/* dump-target — a task for the dump tests: fills memory with a pattern,
 * runs worker threads that count, and on SIGUSR1 checks that its memory is
 * unchanged and every counter still moves, writing "ok" or the first
 * difference to DIR/verdict. Closes every fd (but, with --keep-fd, one of a
 * kind crisp refuses: an inet socket) so that `crisp dump` has nothing it
 * must refuse. Not part of crisp.
 *
 *   dump-target DIR [--threads N] [--mib M] [--keep-fd]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tgt-file.h"

#define MAX_THREADS 16

static volatile sig_atomic_t verify_asked;
static volatile uint64_t counters[MAX_THREADS];
static volatile uint64_t sink;

static void on_usr1(int sig)
{
	(void)sig;
	verify_asked = 1;
}

static void *worker(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	for (;;) {
		counters[i]++;
		usleep(1000);
	}
	return NULL;
}

static uint64_t pattern(size_t word)
{
	return (uint64_t)word * 0x9e3779b97f4a7c15ull + 1;
}

/* A file in DIR for the driver; a target that cannot create it fails (3). */
static void put(const char *dir, const char *name, const char *text)
{
	if (tgt_put(dir, name, text))
		_exit(3);
}

int main(int argc, char **argv)
{
	size_t threads = 0, mib = 4, words;
	int keep_fd = 0;
	uint64_t *mem, seen[MAX_THREADS];
	char text[256];
	sigset_t mask, old;

	if (argc < 2)
		return 2;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--keep-fd"))
			keep_fd = 1;
		else
			return 2;
	}
	if (threads > MAX_THREADS)
		return 2;
	words = mib * (1u << 20) / 8;
	mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 3;
	madvise(mem, words * 8, MADV_NOHUGEPAGE);	/* page-sized zero pages */
	/* every 4th page is only read: it maps the shared zero page */
	for (size_t w = 0; w < words; w++) {
		if ((w / 512) % 4 == 3)
			sink += ((volatile uint64_t *)mem)[w];
		else
			mem[w] = pattern(w);
	}

	signal(SIGUSR1, on_usr1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, &old);	/* workers never take it */
	for (size_t i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)i))
			return 3;
	}
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	if (keep_fd && socket(AF_INET, SOCK_DGRAM, 0) < 0)
		return 3;
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	put(argv[1], "ready", text);

	while (!verify_asked)
		sigsuspend(&old);
	for (size_t i = 0; i < threads; i++)
		seen[i] = counters[i];
	for (size_t w = 0; w < words; w++) {
		uint64_t want = (w / 512) % 4 == 3 ? 0 : pattern(w);

		if (mem[w] != want) {
			snprintf(text, sizeof(text), "word %zu is %#llx, expected %#llx\n", w,
				 (unsigned long long)mem[w], (unsigned long long)want);
			put(argv[1], "verdict", text);
			return 1;
		}
	}
	for (size_t i = 0; i < threads; i++)
		while (counters[i] == seen[i])
			usleep(1000);	/* a stuck thread makes the test time out */
	put(argv[1], "verdict", "ok\n");
	return 0;
}
