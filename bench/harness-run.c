/* harness-run — runs one repetition of one scenario (see harness.h): starts
 * the workload, drives the engine, reads the task's own freeze record, and
 * leaves no process behind. The harness is a subreaper (harness-main.c), so
 * restored tasks whose engine has exited come back to it for reaping. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "img.h"
#include "stats.pb-c.h"
#include "wl-report.h"

#define HX_PATH 1024

struct hx_rep {
	const struct hx_config *c;
	const char *engine;
	char dir[HX_PATH];	/* this repetition's directory */
	pid_t pid;		/* the workload (original or restored) */
	int nlog;
	double steal_ms;	/* CPU time the hypervisor took during the last engine run */
};

/* The machine's steal time so far (all CPUs, /proc/stat), in ms; 0 where
 * there is none to read. Counted in the kernel's ticks (10 ms here). */
static double hx_steal_ms(void)
{
	unsigned long long f[8] = { 0 };
	FILE *st = fopen("/proc/stat", "re");
	long hz = sysconf(_SC_CLK_TCK);
	int n;

	if (!st)
		return 0;
	n = fscanf(st, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3],
		   &f[4], &f[5], &f[6], &f[7]);
	fclose(st);
	return n == 8 && hz > 0 ? (double)f[7] * 1000.0 / (double)hz : 0;
}

static uint64_t hx_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void hx_nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Waits for @pid to end within @timeout_s; kills it after that. */
static int hx_wait(pid_t pid, unsigned int timeout_s, int *status)
{
	uint64_t until = hx_now_ns() + (uint64_t)timeout_s * 1000000000ull;

	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG | __WALL);

		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (hx_now_ns() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, status, __WALL);
			return -ETIMEDOUT;
		}
		hx_nap_ms(1);
	}
}

static int hx_wait_file(const char *path, unsigned int timeout_s, pid_t alive)
{
	uint64_t until = hx_now_ns() + (uint64_t)timeout_s * 1000000000ull;

	while (access(path, F_OK)) {
		if (alive > 0 && kill(alive, 0))
			return -ESRCH;
		if (hx_now_ns() > until)
			return -ETIMEDOUT;
		hx_nap_ms(1);
	}
	return 0;
}

static char *hx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (cap - *len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb)
				break;
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n);
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static int hx_start_workload(struct hx_rep *r, unsigned int size, double rate)
{
	char ready[HX_PATH + 8], sz[16], rt[32];

	snprintf(ready, sizeof(ready), "%s/ready", r->dir);
	snprintf(sz, sizeof(sz), "%u", size);
	snprintf(rt, sizeof(rt), "%g", rate);
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();	/* its own session: no terminal of ours to carry */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);	/* the workload's fd table: only what it opens */
		execl(r->c->workload, r->c->workload, "--dir", r->dir, "--size", sz,
		      "--rate", rt, (char *)NULL);
		_exit(127);
	}
	int err = hx_wait_file(ready, 600, r->pid);

	if (err)
		fprintf(stderr, "harness: the workload did not become ready: %s\n", strerror(-err));
	return err;
}

/* Asks the workload for its report and parses it. */
static int hx_get_report(struct hx_rep *r, struct wl_report *out)
{
	char path[HX_PATH + 8];
	unsigned int bad;
	size_t len;
	char *text;
	int err;

	snprintf(path, sizeof(path), "%s/report", r->dir);
	unlink(path);
	if (kill(r->pid, SIGUSR1))
		return -errno;
	err = hx_wait_file(path, 30, r->pid);
	if (err)
		return err;
	text = hx_slurp(path, &len);
	if (!text)
		return -EIO;
	err = wl_report_parse(text, len, out, &bad);
	if (err)
		fprintf(stderr, "harness: %s: bad line %u\n", path, bad);
	free(text);
	return err;
}

/* Runs `ENGINE ARGS...` (NULL-terminated) with its output in the rep dir;
 * returns its exit code (or -errno), with the window it ran in. */
static int hx_engine(struct hx_rep *r, uint64_t *t0, uint64_t *t1, const char *const *args)
{
	char *argv[40], out[HX_PATH + 32];
	int argc = 0, st, err;
	pid_t pid;

	argv[argc++] = (char *)r->engine;
	for (; *args && argc < 39; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	snprintf(out, sizeof(out), "%s/engine-%d.out", r->dir, ++r->nlog);
	r->steal_ms = -hx_steal_ms();
	*t0 = hx_now_ns();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	err = hx_wait(pid, r->c->timeout_s, &st);
	*t1 = hx_now_ns();
	r->steal_ms += hx_steal_ms();
	if (err)
		return err;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "harness: %s %s failed (see %s)\n", r->engine, argv[1], out);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	return 0;
}

/* Ends the workload, whichever copy it is, and reaps it. */
static void hx_stop(struct hx_rep *r)
{
	int st;

	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		hx_wait(r->pid, 10, &st);
	}
	r->pid = 0;
}

/* Verifies the (restored) workload's memory; true when it passed. */
static bool hx_verify(struct hx_rep *r)
{
	char path[HX_PATH + 8];
	size_t len;
	char *text;
	bool ok;
	int st;

	snprintf(path, sizeof(path), "%s/verdict", r->dir);
	unlink(path);
	if (kill(r->pid, SIGUSR2) || hx_wait(r->pid, 120, &st))
		return false;
	r->pid = 0;
	text = hx_slurp(path, &len);
	ok = text && !strncmp(text, "PASS", 4) && WIFEXITED(st) && !WEXITSTATUS(st);
	if (!ok)
		fprintf(stderr, "harness: restored workload: %s", text ? text : "no verdict\n");
	free(text);
	return ok;
}

static int hx_pidfile(const char *path, pid_t *pid)
{
	size_t len;
	char *t = hx_slurp(path, &len);
	int v = t ? atoi(t) : 0;

	free(t);
	if (v <= 0)
		return -ENOENT;
	*pid = v;
	return 0;
}

struct hx_cond {
	unsigned int engine, size;
	double rate;
	enum hx_scenario sc;
};

static void hx_put(struct hx_results *res, const struct hx_cond *k, unsigned int round,
		   const char *metric, double v)
{
	hx_record(res, k->engine, k->sc, k->size, k->rate, round, metric, v);
}

/*
 * Records what the engine says about itself: the STATS entry it wrote as
 * @file (stats-dump or stats-restore) in @img, next to what the task saw.
 * An engine that writes none is no error: there is just nothing to record.
 */
static void hx_engine_stats(struct hx_results *res, const struct hx_cond *k, unsigned int round,
			    const char *img, const char *file)
{
	struct img_file f;
	int dfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	if (!img_read(&f, dfd, file, img_kind_by_name("STATS")) && f.n == 1) {
		const StatsEntry *e = (const StatsEntry *)f.ents[0].msg;

		if (e->dump) {
			hx_put(res, k, round, "engine_freezing_ms", e->dump->freezing_time / 1e3);
			hx_put(res, k, round, "engine_frozen_ms", e->dump->frozen_time / 1e3);
			hx_put(res, k, round, "engine_memdump_ms", e->dump->memdump_time / 1e3);
			hx_put(res, k, round, "engine_memwrite_ms", e->dump->memwrite_time / 1e3);
			hx_put(res, k, round, "pages_written", (double)e->dump->pages_written);
			hx_put(res, k, round, "pages_skipped_parent",
			       (double)e->dump->pages_skipped_parent);
		}
		if (e->restore)
			hx_put(res, k, round, "engine_restore_ms", e->restore->restore_time / 1e3);
		img_file_free(&f);
	}
	close(dfd);
}

/* The metrics beside a freeze metric (names are kept by pointer). */
static const char *const hx_gap_metrics[][5] = {
	/* longest gap, hypervisor's steal, gap stopped, gap waiting for a CPU,
	 * longest gap in as long a window with no engine (--baseline) */
	{ "freeze_ms", "steal_ms", "stopped_ms", "waited_ms", "baseline_ms" },
	{ "freeze_ms_live", "steal_ms_live", "stopped_ms_live", "waited_ms_live",
	  "baseline_ms_live" },
	{ "freeze_ms_frozen", "steal_ms_frozen", "stopped_ms_frozen", "waited_ms_frozen",
	  "baseline_ms_frozen" },
	{ "freeze_ms_v0", "steal_ms_v0", "stopped_ms_v0", "waited_ms_v0", "baseline_ms_v0" },
	{ "freeze_ms_v4", "steal_ms_v4", "stopped_ms_v4", "waited_ms_v4", "baseline_ms_v4" },
};

static const char *const *hx_gap_metrics_of(const char *freeze_metric)
{
	for (size_t i = 0; i < sizeof(hx_gap_metrics) / sizeof(hx_gap_metrics[0]); i++)
		if (!strcmp(freeze_metric, hx_gap_metrics[i][0]))
			return hx_gap_metrics[i];
	return hx_gap_metrics[0];
}

/*
 * What the task saw while the engine ran in [@t0, @t1]: its longest gap as
 * @freeze_metric, and beside it the longest gap in which it was stopped
 * (the freeze proper) and the longest in which it waited for a CPU another
 * task had (the engine's work, or anything else, competing with it).
 */
static void hx_put_gaps(struct hx_results *res, const struct hx_cond *k, unsigned int round,
			const char *freeze_metric, const struct wl_report *rep, uint64_t t0,
			uint64_t t1)
{
	const char *const *m = hx_gap_metrics_of(freeze_metric);

	hx_put(res, k, round, m[0], (double)wl_report_freeze_in(rep, t0, t1) / 1e6);
	hx_put(res, k, round, m[2],
	       (double)wl_report_gap_in(rep, t0, t1, WL_GAP_KIND_STOPPED) / 1e6);
	hx_put(res, k, round, m[3],
	       (double)wl_report_gap_in(rep, t0, t1, WL_GAP_KIND_WAITED) / 1e6);
}

#define HX_BASELINE_MAX_NS (10ull * 1000000000ull)

/*
 * --baseline: after an engine command that ran in [@t0, @t1], waits as
 * long again (at most HX_BASELINE_MAX_NS) with no engine running; the
 * report read after it then holds the task's gaps of that window (see
 * hx_put_baseline). Returns the window's end, 0 without --baseline.
 */
static uint64_t hx_baseline_wait(const struct hx_rep *r, uint64_t t0, uint64_t t1)
{
	uint64_t d = t1 - t0, end;
	struct timespec ts;

	if (!r->c->baseline)
		return 0;
	if (d > HX_BASELINE_MAX_NS)
		d = HX_BASELINE_MAX_NS;
	end = t1 + d;
	ts.tv_sec = (time_t)(end / 1000000000ull);
	ts.tv_nsec = (long)(end % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return end;
}

/* The task's longest gap wholly in (@t1, @end], the window hx_baseline_wait
 * gave. */
static void hx_put_baseline(struct hx_results *res, const struct hx_cond *k, unsigned int round,
			    const char *freeze_metric, const struct wl_report *rep, uint64_t t1,
			    uint64_t end)
{
	if (end)
		hx_put(res, k, round, hx_gap_metrics_of(freeze_metric)[4],
		       (double)wl_report_gap_within(rep, t1, end) / 1e6);
}

/* A dump with --leave-running at @verbosity; records its freeze and wall
 * time under the metric names given. */
static int hx_dump_running(struct hx_rep *r, const struct hx_cond *k, const char *img,
			   const char *verbosity, const char *extra, const char *freeze_metric,
			   const char *wall_metric, struct hx_results *res)
{
	char pid[16];
	const char *args[] = { "dump", "-t", pid, "-D", img, "-o", "dump.log", verbosity,
			       "-R", extra, NULL };
	struct wl_report rep;
	uint64_t t0, t1, quiet;
	int err;

	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	mkdir(img, 0755);
	err = hx_engine(r, &t0, &t1, args);
	if (err)
		return err < 0 ? err : -EIO;
	quiet = hx_baseline_wait(r, t0, t1);
	err = hx_get_report(r, &rep);
	if (err)
		return err;
	hx_put_gaps(res, k, 0, freeze_metric, &rep, t0, t1);
	hx_put_baseline(res, k, 0, freeze_metric, &rep, t1, quiet);
	hx_put(res, k, 0, wall_metric, (double)(t1 - t0) / 1e6);
	hx_put(res, k, 0, hx_gap_metrics_of(freeze_metric)[1], r->steal_ms);
	wl_report_free(&rep);
	if (k->sc != HX_LOGCOST && k->sc != HX_LIVE)
		hx_engine_stats(res, k, 0, img, "stats-dump");
	return 0;
}

static int hx_restore_and_verify(struct hx_rep *r, const struct hx_cond *k, const char *img,
				 unsigned int round, struct hx_results *res)
{
	char pidfile[HX_PATH + 16];
	const char *args[] = { "restore", "-D", img, "-d", "--pidfile", pidfile, "-o",
			       "restore.log", r->c->verbosity, NULL };
	uint64_t t0, t1;
	int err;

	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", r->dir);
	err = hx_engine(r, &t0, &t1, args);
	if (err)
		return err < 0 ? err : -EIO;
	hx_put(res, k, round, "restore_wall_ms", (double)(t1 - t0) / 1e6);
	hx_engine_stats(res, k, round, img, "stats-restore");
	if (hx_pidfile(pidfile, &r->pid))
		return -ENOENT;
	hx_put(res, k, round, "verified", hx_verify(r) ? 1 : 0);
	return 0;
}

static int hx_scenario_dump_kill(struct hx_rep *r, const struct hx_cond *k, struct hx_results *res)
{
	char img[HX_PATH + 8], pid[16];
	const char *args[] = { "dump", "-t", pid, "-D", img, "-o", "dump.log", r->c->verbosity, NULL };
	uint64_t t0, t1;
	int st, err;

	snprintf(img, sizeof(img), "%s/img", r->dir);
	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	mkdir(img, 0755);
	err = hx_engine(r, &t0, &t1, args);
	if (err)
		return err < 0 ? err : -EIO;
	hx_put(res, k, 0, "wall_ms", (double)(t1 - t0) / 1e6);
	hx_engine_stats(res, k, 0, img, "stats-dump");
	if (hx_wait(r->pid, 10, &st))
		return -ETIMEDOUT;	/* the engine should have killed it */
	r->pid = 0;
	return hx_restore_and_verify(r, k, img, 0, res);
}

static int hx_scenario_predump(struct hx_rep *r, const struct hx_cond *k, struct hx_results *res)
{
	char img[HX_PATH + 16], prev[32], pid[16];
	struct wl_report rep;
	uint64_t t0, t1, quiet;
	int err;

	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	for (unsigned int round = 1; round <= r->c->rounds + 1; round++) {
		bool final = round == r->c->rounds + 1;
		const char *args[16] = { final ? "dump" : "pre-dump", "-t", pid, "-D", img,
					 "-o", "dump.log", r->c->verbosity, "--track-mem" };
		int n = 9;

		snprintf(img, sizeof(img), "%s/round-%u", r->dir, round);
		mkdir(img, 0755);
		if (round > 1) {
			snprintf(prev, sizeof(prev), "../round-%u", round - 1);
			args[n++] = "--prev-images-dir";
			args[n++] = prev;
		}
		/* the final dump leaves the task running so it can say how long
		 * it was frozen; it is killed before the restore */
		if (final)
			args[n++] = "-R";
		args[n] = NULL;
		err = hx_engine(r, &t0, &t1, args);
		if (err)
			return err < 0 ? err : -EIO;
		quiet = hx_baseline_wait(r, t0, t1);
		err = hx_get_report(r, &rep);
		if (err)
			return err;
		hx_put_gaps(res, k, round, "freeze_ms", &rep, t0, t1);
		hx_put_baseline(res, k, round, "freeze_ms", &rep, t1, quiet);
		hx_put(res, k, round, "wall_ms", (double)(t1 - t0) / 1e6);
		hx_put(res, k, round, "steal_ms", r->steal_ms);
		wl_report_free(&rep);
		hx_engine_stats(res, k, round, img, "stats-dump");
	}
	hx_stop(r);
	return hx_restore_and_verify(r, k, img, r->c->rounds + 1, res);
}

static void hx_remove_tree(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int hx_run_one(const struct hx_config *c, unsigned int engine, enum hx_scenario sc,
	       unsigned int size, double rate, unsigned int rep, struct hx_results *res)
{
	struct hx_rep r = { .c = c, .engine = c->engines[engine] };
	struct hx_cond k = { engine, size, rate, sc };
	char img[HX_PATH + 16];
	int err;

	snprintf(r.dir, sizeof(r.dir), "%s/e%u-%s-%u-%g-%u", c->dir, engine,
		 hx_scenario_name(sc), size, rate, rep);
	/* left by an earlier run in the same --dir: its `ready` would name a
	 * workload long gone */
	hx_remove_tree(r.dir);
	if (mkdir(r.dir, 0755))
		return -errno;
	err = hx_start_workload(&r, size, rate);
	/* what the machine still does after a fresh workload touched its
	 * memory is not the engine's (measured: README, --settle; what that
	 * work is was not seen) */
	if (!err)
		hx_nap_ms((long)c->settle_ms);
	if (!err) {
		switch (sc) {
		case HX_DUMP_R:
			snprintf(img, sizeof(img), "%s/img", r.dir);
			err = hx_dump_running(&r, &k, img, c->verbosity, NULL, "freeze_ms", "wall_ms",
					      res);
			break;
		case HX_DUMP_KILL:
			err = hx_scenario_dump_kill(&r, &k, res);
			break;
		case HX_PREDUMP:
			err = hx_scenario_predump(&r, &k, res);
			break;
		case HX_LOGCOST:
			/* alternate which level goes first, so drift cancels */
			for (int i = 0; i < 2 && !err; i++) {
				bool v4 = (i + rep) % 2;

				snprintf(img, sizeof(img), "%s/img-%s", r.dir, v4 ? "v4" : "v0");
				err = hx_dump_running(&r, &k, img, v4 ? "-v4" : "-v0", NULL,
						      v4 ? "freeze_ms_v4" : "freeze_ms_v0",
						      v4 ? "wall_ms_v4" : "wall_ms_v0", res);
			}
			break;
		case HX_LIVE:
			/* the same task, live and frozen, alternating which goes first */
			for (int i = 0; i < 2 && !err; i++) {
				bool live = (i + rep) % 2;

				snprintf(img, sizeof(img), "%s/img-%s", r.dir, live ? "live" : "frozen");
				err = hx_dump_running(&r, &k, img, c->verbosity,
						      live ? "--snapshot=live" : "--snapshot=frozen",
						      live ? "freeze_ms_live" : "freeze_ms_frozen",
						      live ? "wall_ms_live" : "wall_ms_frozen", res);
			}
			break;
		default:
			err = -EINVAL;
		}
	}
	hx_stop(&r);
	if (err)
		hx_record_failure(res, engine, sc, size, rate, 0, "failed");
	if (!err && !c->keep)
		hx_remove_tree(r.dir);
	return err;
}
