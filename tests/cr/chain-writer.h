/* chain-writer — the task of the pre-dump chain scenarios: a writer thread
 * that keeps rewriting pages of a region on a fixed schedule while crisp
 * pre-dumps and dumps it, and an exact check, after restore, that the region
 * is the state the schedule gives for the writer's own write count.
 *
 * Why it is exact: write k (k >= 1) fills page cw_target(k) with words
 * cw_word(page, k, i), in word order, then counts k in `done`. The writer
 * tells a restore from its own thread CPU clock (a restored thread is a new
 * kernel thread whose clock starts again near zero, far below what the
 * writer used before it was frozen: it burns 20 ms first) and then stops
 * for good, after finishing the write it was frozen in. A write cut by the
 * freeze is finished from the word where it stopped, so the words restored
 * before that must be right too. The region must then hold, word for word,
 * the state right after write `done`: every page its last write numbered at
 * most `done` (0, the initial fill, if none). Restored pages from the wrong
 * level of the chain, zeros for pages left to a parent, or a lost write all
 * show as a word that differs. With CW_DROP_EVERY n, every n-th write
 * drops its page instead (MADV_DONTNEED): that page must then read as
 * zeros, and a drop lost shows as the data it had. Header-only: each scenario is one file that
 * declares its steps and calls cw_main().
 */
#ifndef CRISP_TESTS_CHAIN_WRITER_H
#define CRISP_TESTS_CHAIN_WRITER_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "crtest.h"

#ifndef CW_PAGES
#define CW_PAGES	4096u		/* 16 MiB (at most 65536: see cw_word) */
#endif
#ifndef CW_PAUSE_NS
#define CW_PAUSE_NS	1000000		/* between writes; 0: full speed */
#endif
#ifndef CW_DROP_EVERY
#define CW_DROP_EVERY	0		/* every n-th write drops its page; 0: none */
#endif
#define CW_WORDS	512u		/* per 4 KiB page */
#define CW_STRIDE	2473u		/* odd: k -> page is a permutation per CW_PAGES */
#define CW_MASK		0x5a3c96e1f00dbeefull
#define CW_BURN_NS	20000000ull	/* thread CPU time used before the first write */

struct cw {
	volatile uint64_t *region;
	uint32_t first[CW_PAGES];	/* the first write to each page */
	volatile uint64_t done;		/* writes finished */
	volatile int stop, stopped, restored;
	volatile int started;
};

static inline uint32_t cw_target(uint64_t k)
{
	return (uint32_t)((k * CW_STRIDE) % CW_PAGES);
}

/* word @i of page @p after write @k: page, index and write, recoverable */
static inline uint64_t cw_word(uint32_t p, uint64_t k, uint32_t i)
{
	return ((k << 25) | ((uint64_t)p << 9) | i) ^ CW_MASK;
}

/* the last write numbered at most @m that went to page @p (0: none) */
static inline uint64_t cw_last_write(const struct cw *c, uint32_t p, uint64_t m)
{
	uint64_t f = c->first[p];

	return m < f ? 0 : f + (m - f) / CW_PAGES * CW_PAGES;
}

static inline uint64_t cw_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* write @k drops its page rather than filling it */
static inline bool cw_drops(uint64_t k)
{
#if CW_DROP_EVERY
	return k && k % CW_DROP_EVERY == 0;
#else
	(void)k;
	return false;
#endif
}

static void cw_fill(struct cw *c, uint32_t p, uint64_t k)
{
	volatile uint64_t *w = c->region + (size_t)p * CW_WORDS;

	if (cw_drops(k)) {
		madvise((void *)w, CW_WORDS * 8, MADV_DONTNEED);
		return;
	}
	for (uint32_t i = 0; i < CW_WORDS; i++)
		w[i] = cw_word(p, k, i);
}

static void *cw_writer(void *arg)
{
	struct cw *c = arg;
	struct timespec gap = { 0, CW_PAUSE_NS };
	uint64_t last;

	while (cw_thread_cpu_ns() < CW_BURN_NS)
		;
	last = cw_thread_cpu_ns();
	c->started = 1;
	for (uint64_t k = c->done + 1;; k++) {
		uint64_t now = cw_thread_cpu_ns();

		/* the clock first: after a restore the main thread may ask the
		 * writer to stop before this thread has run at all */
		if (now < last) {
			c->restored = 1;
			break;
		}
		if (c->stop) {
			/* frozen right after the clock read above (inside its
			 * syscall, the likeliest place), @now predates the
			 * restore: read the clock again */
			if (cw_thread_cpu_ns() < last)
				c->restored = 1;
			break;
		}
		last = now;
		cw_fill(c, cw_target(k), k);
		c->done = k;
		if (CW_PAUSE_NS)
			nanosleep(&gap, NULL);
	}
	c->stopped = 1;
	for (;;)
		pause();
	return NULL;
}

/* Maps and fills the region and starts the writer (the verify signal stays
 * with the main thread). 0 or -1. */
static int cw_start(struct cw *c)
{
	sigset_t block, old;
	pthread_t th;
	struct timespec ms = { 0, 1000000 };

	c->region = mmap(NULL, (size_t)CW_PAGES * CW_WORDS * 8, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->region == MAP_FAILED)
		return -1;
	for (uint64_t k = 1; k <= CW_PAGES; k++)
		c->first[cw_target(k)] = (uint32_t)k;
	for (uint32_t p = 0; p < CW_PAGES; p++)
		cw_fill(c, p, 0);
	sigemptyset(&block);
	sigaddset(&block, CRT_VERIFY_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(&th, NULL, cw_writer, c))
		return -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (!c->started)
		nanosleep(&ms, NULL);
	return 0;
}

/* Stops the writer (it has stopped by itself after a restore) and checks
 * the region; failures go to crt_fail. */
static void cw_verify(struct cw *c)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t m;

	c->stop = 1;
	while (!c->stopped)
		nanosleep(&ms, NULL);
	m = c->done;
	if (!c->restored)
		crt_fail("the writer did not see a restore (it stopped after write %llu)",
			 (unsigned long long)m);
	if (crt_damage() && m >= 2)
		cw_fill(c, cw_target(m - 1), 0);
	for (uint32_t p = 0; p < CW_PAGES; p++) {
		uint64_t want = cw_last_write(c, p, m);
		const volatile uint64_t *w = c->region + (size_t)p * CW_WORDS;

		for (uint32_t i = 0; i < CW_WORDS; i++) {
			uint64_t got = w[i] ^ CW_MASK;

			if (cw_drops(want) && w[i]) {
				crt_fail("page %u word %u holds write %llu of page %llu word %llu; the "
					 "state after write %llu has it dropped by write %llu (zeros)",
					 p, i, (unsigned long long)(got >> 25),
					 (unsigned long long)((got >> 9) & 0xffff),
					 (unsigned long long)(got & 511), (unsigned long long)m,
					 (unsigned long long)want);
				return;
			}
			if (cw_drops(want) || w[i] == cw_word(p, want, i))
				continue;
			if (!w[i]) {
				crt_fail("page %u word %u is zero; the state after write %llu has "
					 "write %llu there", p, i, (unsigned long long)m,
					 (unsigned long long)want);
				return;
			}
			crt_fail("page %u word %u holds write %llu of page %llu word %llu; the state "
				 "after write %llu has write %llu there", p, i,
				 (unsigned long long)(got >> 25), (unsigned long long)((got >> 9) & 0xffff),
				 (unsigned long long)(got & 511), (unsigned long long)m,
				 (unsigned long long)want);
			return;
		}
	}
}

/* The whole task of a chain scenario: starts the writer, waits for the
 * driver to ask, verifies. Returns the exit code. */
static int cw_main(int argc, char **argv)
{
	static struct cw cw;

	crt_init(argc, argv);
	if (cw_start(&cw))
		return 2;
	crt_ready();
	crt_wait_verify();
	cw_verify(&cw);
	return crt_finish();
}

#endif
