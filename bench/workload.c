/* crisp-workload — a process to checkpoint, which measures its own freezes.
 *
 * It maps and touches a region (a chosen share of zero pages and of
 * compressible pages), dirties it at a chosen rate from writer threads, and
 * runs a thread that spins on CLOCK_MONOTONIC and records every gap longer
 * than --gap-us: the freeze as the task sees it, whatever the engine says.
 * Each gap also says what the spinner's own counts saw in it: `stopped`
 * (it was switched out not runnable: a ptrace stop, a freeze), `waited`
 * (only preempted, and off the CPU for most of the gap: it waited for a CPU
 * another task had), `unseen` (its CPU time went on through most of the gap:
 * interrupts, or its virtual CPU not running, which the kernel inside the
 * machine counts as the thread running).
 * It is driven by signals and files only, so its fd table holds nothing of
 * the driver's:
 *   DIR/ready    written (pid) once the region is set up
 *   SIGUSR1      write DIR/report: writes so far and the gaps recorded
 *   SIGUSR2      stop writing, verify the region, write DIR/verdict, exit
 *   SIGTERM      exit
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define WL_MAX_WRITERS 64
#define WL_GAPS 8192

enum wl_gap_kind { WL_GAP_UNSEEN, WL_GAP_WAITED, WL_GAP_STOPPED };

static const char *const wl_gap_kind_name[] = { "unseen", "waited", "stopped" };

struct wl_gap {
	uint64_t start_ns, len_ns;
	enum wl_gap_kind kind;
};

struct wl {
	struct wl_layout layout;
	unsigned char *region;
	double rate_mbps;
	unsigned int gap_us;
	unsigned int files;
	char dir[512];

	atomic_bool stop;
	atomic_uint parked;
	_Atomic uint64_t writes[WL_MAX_WRITERS];

	/* the spinner's record: a ring written by one thread */
	struct wl_gap gaps[WL_GAPS];
	_Atomic uint64_t ngaps;
	_Atomic uint64_t max_gap_ns;
	_Atomic uint64_t spins;		/* the spinner's loop count */
};

static volatile sig_atomic_t wl_want_report, wl_want_verify, wl_want_exit;

static void wl_on_signal(int sig)
{
	if (sig == SIGUSR1)
		wl_want_report = 1;
	else if (sig == SIGUSR2)
		wl_want_verify = 1;
	else
		wl_want_exit = 1;
}

static uint64_t wl_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The calling thread's voluntary and involuntary context switches. */
static void wl_switches(long *vol, long *invol)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru)) {
		*vol = *invol = 0;
		return;
	}
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

static uint64_t wl_thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* What a gap of @gap ns was, from the switch counts before and after it and
 * the time the thread spent off the CPU since the counts were taken. */
static enum wl_gap_kind wl_gap_kind_of(long v0, long v1, long i0, long i1, uint64_t gap,
				       int64_t off_cpu)
{
	if (v0 != v1)
		return WL_GAP_STOPPED;
	if (i0 != i1 && off_cpu > (int64_t)(gap / 2))
		return WL_GAP_WAITED;
	return WL_GAP_UNSEEN;
}

static void *wl_spinner(void *arg)
{
	struct wl *w = arg;
	const uint64_t threshold = (uint64_t)w->gap_us * 1000;
	const uint64_t recount_ns = 1000000;	/* counts at most 1 ms old */
	uint64_t last = wl_now_ns(), counted = last, cpu = wl_thread_cpu_ns();
	long vol, invol;

	wl_switches(&vol, &invol);
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		uint64_t now = wl_now_ns(), gap = now - last;

		if (gap > threshold || now - counted > recount_ns) {
			long v0 = vol, i0 = invol;
			uint64_t cpu0 = cpu;
			int64_t off_cpu;

			wl_switches(&vol, &invol);
			cpu = wl_thread_cpu_ns();
			off_cpu = (int64_t)(now - counted) - (int64_t)(cpu - cpu0);
			counted = now;
			if (gap > threshold) {
				enum wl_gap_kind kind = wl_gap_kind_of(v0, vol, i0, invol, gap,
								       off_cpu);
				uint64_t n = atomic_load_explicit(&w->ngaps, memory_order_relaxed);

				w->gaps[n % WL_GAPS] = (struct wl_gap){ last, gap, kind };
				atomic_store_explicit(&w->ngaps, n + 1, memory_order_release);
				if (gap > atomic_load_explicit(&w->max_gap_ns, memory_order_relaxed))
					atomic_store_explicit(&w->max_gap_ns, gap,
							      memory_order_relaxed);
			}
			/* the count's own few us go into the next interval: read
			 * the clock again here and a freeze inside getrusage()
			 * would go unseen */
		}
		last = now;
		atomic_store_explicit(&w->spins,
				      atomic_load_explicit(&w->spins, memory_order_relaxed) + 1,
				      memory_order_release);
	}
	return NULL;
}

struct wl_writer_arg {
	struct wl *w;
	unsigned int t;
};

static void *wl_writer(void *arg)
{
	struct wl_writer_arg *a = arg;
	struct wl *w = a->w;
	const double pages_per_ns = w->rate_mbps * 1e6 / WL_PAGE / 1e9 / w->layout.writers;
	const uint64_t tick_ns = 1000000;	/* 1 ms */
	uint64_t base = wl_now_ns(), done = 0, k = 0;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&w->stop)) {
		uint64_t now = wl_now_ns();
		uint64_t due = (uint64_t)((double)(now - base) * pages_per_ns);

		/* after a long stop (a freeze, a restore) do not catch up in a
		 * burst: go on at the rate from here */
		if (due > done + 64) {
			base = now - (uint64_t)((double)done / (pages_per_ns > 0 ? pages_per_ns : 1));
			due = done;
		}
		for (; done < due && !atomic_load_explicit(&w->stop, memory_order_relaxed); done++) {
			size_t p = wl_target(&w->layout, a->t, ++k);

			if (p == SIZE_MAX)
				break;
			wl_fill(&w->layout, w->region + p * WL_PAGE, p, k);
			atomic_store_explicit(&w->writes[a->t], k, memory_order_release);
		}
		next.tv_nsec += (long)tick_ns;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		if ((uint64_t)next.tv_sec * 1000000000ull + (uint64_t)next.tv_nsec < now)
			clock_gettime(CLOCK_MONOTONIC, &next);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	atomic_fetch_add(&w->parked, 1);
	return NULL;
}

/* Writes @len bytes of @text to DIR/@name atomically. Returns 0 or -errno. */
static int wl_write_file(const struct wl *w, const char *name, const char *text, size_t len)
{
	char tmp[600], path[600];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", w->dir, name);
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) ? -errno : 0;
}

/* Waits until the spinner has gone round twice more: the second round began
 * after this call did, so a gap that just ended (the task was frozen until a
 * moment ago) is on record. One round is not enough: the spinner may have
 * been stopped between reading the clock and counting its round. */
static void wl_spinner_sync(struct wl *w)
{
	uint64_t seen = atomic_load(&w->spins), until = wl_now_ns() + 10000000000ull;

	while (atomic_load(&w->spins) < seen + 2 && wl_now_ns() < until)
		sched_yield();
}

static void wl_report(struct wl *w)
{
	size_t cap = 256 + (size_t)WL_GAPS * 64 + WL_MAX_WRITERS * 24, len = 0;
	char *buf = malloc(cap);
	uint64_t n;

	wl_spinner_sync(w);
	n = atomic_load_explicit(&w->ngaps, memory_order_acquire);
	uint64_t first = n > WL_GAPS ? n - WL_GAPS : 0;

	if (!buf)
		return;
	len += (size_t)snprintf(buf + len, cap - len, "pid %d\nnow_ns %llu\nmax_gap_ns %llu\nwrites",
				(int)getpid(), (unsigned long long)wl_now_ns(),
				(unsigned long long)atomic_load(&w->max_gap_ns));
	for (unsigned int t = 0; t < w->layout.writers; t++)
		len += (size_t)snprintf(buf + len, cap - len, " %llu",
					(unsigned long long)atomic_load(&w->writes[t]));
	len += (size_t)snprintf(buf + len, cap - len, "\n");
	for (uint64_t i = first; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "gap %llu %llu %s\n",
					(unsigned long long)w->gaps[i % WL_GAPS].start_ns,
					(unsigned long long)w->gaps[i % WL_GAPS].len_ns,
					wl_gap_kind_name[w->gaps[i % WL_GAPS].kind]);
	wl_write_file(w, "report", buf, len);
	free(buf);
}

static int wl_verify(struct wl *w)
{
	uint64_t last[WL_MAX_WRITERS];
	char why[512], text[1024];
	int ret, n;

	atomic_store(&w->stop, true);
	while (atomic_load(&w->parked) < w->layout.writers)
		usleep(100);
	ret = wl_verify_region(&w->layout, w->region, last, why, sizeof(why));
	if (ret)
		n = snprintf(text, sizeof(text), "FAIL: %s\n", ret == -ENOMEM ? "out of memory" : why);
	else
		n = snprintf(text, sizeof(text), "PASS: %zu pages intact, writer 0 at write %llu\n",
			     w->layout.pages, (unsigned long long)last[0]);
	wl_write_file(w, "verdict", text, (size_t)n);
	return ret ? 1 : 0;
}

static int wl_setup_region(struct wl *w)
{
	size_t bytes = w->layout.pages * WL_PAGE;
	volatile unsigned char sink = 0;

	w->region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->region == MAP_FAILED)
		return -errno;
	madvise(w->region, bytes, MADV_NOHUGEPAGE);	/* page-sized dirtying */
	for (size_t p = 0; p < w->layout.pages; p++) {
		if (wl_page_kind(&w->layout, p) == WL_ZERO)
			sink ^= w->region[p * WL_PAGE];	/* maps the zero page */
		else
			wl_fill(&w->layout, w->region + p * WL_PAGE, p, 0);
	}
	(void)sink;
	return 0;
}

static int wl_open_files(const struct wl *w)
{
	char path[600];

	for (unsigned int i = 0; i < w->files; i++) {
		snprintf(path, sizeof(path), "%s/file-%u", w->dir, i);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, path, strlen(path)) < 0)
			return -errno;
	}
	return 0;
}

static void wl_usage(FILE *out)
{
	fprintf(out,
		"usage: crisp-workload --dir DIR [--size MIB] [--zero PCT] [--text PCT]\n"
		"                      [--rate MBPS] [--random] [--writers N] [--files N] [--gap-us US]\n"
		"  --size     region size in MiB (default 64)\n"
		"  --zero     share of zero pages, %% (default 10)\n"
		"  --text     share of compressible pages, %% (default 40)\n"
		"  --rate     dirtying rate in MB/s over all writers (default 8; 0: none)\n"
		"  --random   dirty pages in pseudo-random order (default: sequential)\n"
		"  --writers  writer threads (default 1)\n"
		"  --files    regular files to keep open (default 0)\n"
		"  --gap-us   record gaps of the spinning thread longer than this (default 200)\n");
}

static int wl_parse(int argc, char **argv, struct wl *w)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "zero", required_argument, NULL, 'z' },
		{ "text", required_argument, NULL, 'x' },
		{ "rate", required_argument, NULL, 'r' },
		{ "random", no_argument, NULL, 'R' },
		{ "writers", required_argument, NULL, 'w' },
		{ "files", required_argument, NULL, 'f' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long size_mib = 64;
	int c;

	w->layout.zero_pct = 10;
	w->layout.text_pct = 40;
	w->layout.writers = 1;
	w->rate_mbps = 8;
	w->gap_us = 200;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': snprintf(w->dir, sizeof(w->dir), "%s", optarg); break;
		case 's': size_mib = strtoul(optarg, NULL, 10); break;
		case 'z': w->layout.zero_pct = (unsigned int)atoi(optarg); break;
		case 'x': w->layout.text_pct = (unsigned int)atoi(optarg); break;
		case 'r': w->rate_mbps = atof(optarg); break;
		case 'R': w->layout.random_order = true; break;
		case 'w': w->layout.writers = (unsigned int)atoi(optarg); break;
		case 'f': w->files = (unsigned int)atoi(optarg); break;
		case 'g': w->gap_us = (unsigned int)atoi(optarg); break;
		case 'h': wl_usage(stdout); exit(0);
		default: wl_usage(stderr); return -1;
		}
	}
	if (!w->dir[0] || !size_mib || w->layout.zero_pct + w->layout.text_pct > 100 ||
	    !w->layout.writers || w->layout.writers > WL_MAX_WRITERS || w->rate_mbps < 0) {
		wl_usage(stderr);
		return -1;
	}
	w->layout.pages = size_mib * (1024 * 1024 / WL_PAGE);
	return 0;
}

int main(int argc, char **argv)
{
	static struct wl w;
	struct wl_writer_arg args[WL_MAX_WRITERS];
	pthread_t tid;
	struct sigaction sa;
	sigset_t mask, old;
	char text[32];
	int ret;

	if (wl_parse(argc, argv, &w))
		return 2;
	/* whatever the starter left open is not ours: the fd table holds only
	 * the files asked for (--files) */
	syscall(SYS_close_range, 3, ~0U, 0);
	if ((ret = wl_setup_region(&w)) || (ret = wl_open_files(&w))) {
		fprintf(stderr, "crisp-workload: set-up failed: %s\n", strerror(-ret));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);	/* threads inherit: only main takes them */
	if (pthread_create(&tid, NULL, wl_spinner, &w))
		return 1;
	/* not ready before the spinner runs: a freeze before its first clock
	 * read would go unseen */
	wl_spinner_sync(&w);
	for (unsigned int t = 0; t < w.layout.writers; t++) {
		args[t] = (struct wl_writer_arg){ &w, t };
		if (pthread_create(&tid, NULL, wl_writer, &args[t]))
			return 1;
	}

	fflush(NULL);
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (wl_write_file(&w, "ready", text, strlen(text)))
		return 1;

	for (;;) {
		sigset_t wait = old;

		sigdelset(&wait, SIGUSR1);
		sigdelset(&wait, SIGUSR2);
		sigdelset(&wait, SIGTERM);
		sigsuspend(&wait);
		if (wl_want_report) {
			wl_want_report = 0;
			wl_report(&w);
		}
		if (wl_want_verify)
			return wl_verify(&w);
		if (wl_want_exit)
			return 0;
	}
}
