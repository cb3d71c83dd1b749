/* track-target — a task for the pre-dump tests: writer threads follow the
 * workload schedule (bench/workload.h) over a region, each announcing the
 * write it is doing in a control block, so that a frozen copy can be
 * checked exactly; with --churn a thread maps, fills and unmaps regions all
 * the time; with --hot PCT the writers keep to the first PCT% of the region
 * and the rest keeps what it was filled with (a part a later round never
 * has to copy, however long the round takes). Its fd table is empty. Not
 * part of crisp.
 *
 *   track-target DIR [--mib M] [--writers N] [--hot PCT] [--churn] [--uffd]
 *
 * DIR/ready: "pid region pages writers ctl" (addresses in hex; pages: the
 * part the writers write) once set up.
 * SIGUSR1: stop writing, verify the region and the churn regions, write
 * DIR/verdict ("ok" or the first difference), exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tgt-file.h"
#include "workload.h"

#define MAX_WRITERS 16
#define CHURN_SLOTS 8

/* What the writers are doing: inflight[t] is the write number being
 * written (equal to done[t] when none is). */
struct ctl {
	_Atomic uint64_t inflight[MAX_WRITERS];
	_Atomic uint64_t done[MAX_WRITERS];
};

static struct wl_layout layout;	/* the whole region */
static struct wl_layout hot;		/* its first pages, which the writers write */
static unsigned char *region;
static struct ctl *ctl;
static atomic_bool stop;
static atomic_uint parked;

struct churn_slot {
	unsigned char *p;
	size_t pages;
	uint64_t gen;
};
static struct churn_slot churn[CHURN_SLOTS];
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;

static void *writer(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	uint64_t k = 0;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 8; i++) {
			size_t p = wl_target(&hot, t, k + 1);

			if (p == SIZE_MAX)
				break;
			atomic_store_explicit(&ctl->inflight[t], k + 1, memory_order_release);
			wl_fill(&layout, region + p * WL_PAGE, p, k + 1);
			k++;
			atomic_store_explicit(&ctl->done[t], k, memory_order_release);
		}
		usleep(200);
	}
	atomic_fetch_add(&parked, 1);
	return NULL;
}

static void churn_fill(struct churn_slot *s)
{
	for (size_t i = 0; i < s->pages; i++) {
		uint64_t *w = (uint64_t *)(s->p + i * WL_PAGE);

		for (size_t j = 0; j < WL_PAGE / 8; j++)
			w[j] = s->gen * 1000003u + i * 31 + j;
	}
}

static bool churn_ok(const struct churn_slot *s)
{
	for (size_t i = 0; i < s->pages; i++) {
		const uint64_t *w = (const uint64_t *)(s->p + i * WL_PAGE);

		for (size_t j = 0; j < WL_PAGE / 8; j++)
			if (w[j] != s->gen * 1000003u + i * 31 + j)
				return false;
	}
	return true;
}

static void *churner(void *arg)
{
	uint64_t gen = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct churn_slot *s = &churn[gen % CHURN_SLOTS];
		size_t pages = 4 + (gen * 7) % 60;
		unsigned char *p = mmap(NULL, pages * WL_PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		pthread_mutex_lock(&churn_lock);
		if (s->p)
			munmap(s->p, s->pages * WL_PAGE);
		s->p = p;
		s->pages = pages;
		s->gen = ++gen;
		churn_fill(s);
		pthread_mutex_unlock(&churn_lock);
		usleep(1000);
	}
	atomic_fetch_add(&parked, 1);
	return NULL;
}

/* A userfaultfd of the task's own, kept open (the refusal test). */
static void own_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)region, WL_PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg))
		_exit(4);
}

/* The part the writers leave alone holds what it was filled with. */
static bool cold_ok(char *why, size_t whylen)
{
	for (size_t p = hot.pages; p < layout.pages; p++) {
		const unsigned char *page = region + p * WL_PAGE;
		uint64_t k = 0;

		if (wl_page_kind(&layout, p) == WL_ZERO) {
			for (size_t i = 0; i < WL_PAGE; i++)
				if (page[i]) {
					snprintf(why, whylen, "cold zero page %zu has byte %zu", p, i);
					return false;
				}
			continue;
		}
		if (!wl_page_ok(&layout, page, p, &k) || k) {
			snprintf(why, whylen, "cold page %zu is torn or written (write %llu)", p,
				 (unsigned long long)k);
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	unsigned int writers = 4, mib = 16, hot_pct = 100, nthreads = 0;
	bool want_churn = false, want_uffd = false;
	pthread_t th[MAX_WRITERS + 1];
	char buf[256], why[256];
	uint64_t last[MAX_WRITERS];
	const char *dir;
	sigset_t usr1;
	int sig;

	if (argc < 2)
		return 2;
	dir = argv[1];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--writers") && i + 1 < argc)
			writers = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hot") && i + 1 < argc)
			hot_pct = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--churn"))
			want_churn = true;
		else if (!strcmp(argv[i], "--uffd"))
			want_uffd = true;
		else
			return 2;
	}
	if (!writers || writers > MAX_WRITERS || !mib || !hot_pct || hot_pct > 100)
		return 2;
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	/* only the main thread takes SIGUSR1, synchronously */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	layout = (struct wl_layout){ .pages = (size_t)mib << 8, .zero_pct = 10, .text_pct = 50,
				     .random_order = true, .writers = writers };
	hot = layout;
	hot.pages = layout.pages * hot_pct / 100;
	region = mmap(NULL, layout.pages * WL_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ctl = mmap(NULL, WL_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || ctl == MAP_FAILED)
		return 3;
	for (size_t p = 0; p < layout.pages; p++) {
		if (wl_page_kind(&layout, p) == WL_ZERO)
			(void)*(volatile unsigned char *)(region + p * WL_PAGE);
		else
			wl_fill(&layout, region + p * WL_PAGE, p, 0);
	}
	if (want_uffd)
		own_uffd();
	for (unsigned int t = 0; t < writers; t++)
		pthread_create(&th[nthreads++], NULL, writer, (void *)(uintptr_t)t);
	if (want_churn)
		pthread_create(&th[nthreads++], NULL, churner, NULL);
	snprintf(buf, sizeof(buf), "%d %lx %zu %u %lx\n", (int)getpid(), (unsigned long)region,
		 hot.pages, writers, (unsigned long)ctl);
	tgt_put(dir, "ready", buf);
	while (sigwait(&usr1, &sig) || sig != SIGUSR1)
		;
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (wl_verify_region(&hot, region, last, why, sizeof(why)) ||
	    !cold_ok(why, sizeof(why))) {
		tgt_put(dir, "verdict", why);
		return 1;
	}
	for (int i = 0; i < CHURN_SLOTS; i++)
		if (churn[i].p && !churn_ok(&churn[i])) {
			tgt_put(dir, "verdict", "a churn region lost its pattern");
			return 1;
		}
	tgt_put(dir, "verdict", "ok");
	return 0;
}
