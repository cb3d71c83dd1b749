/* test-dump — `crisp dump` on real tasks (dump-target), run under a
 * subreaper that kills and reaps everything it started, in a private mount
 * namespace (for the read-only images dir):
 *  - dump -R: the task keeps running with memory and threads unchanged;
 *  - every image decodes with crit (when given) exactly as crisp-img decodes
 *    it, and `crisp-img check` passes; one core per thread;
 *  - failures (no such pid, unwritable dir, an open fd): exit 1, a clear
 *    message, the task still running and unchanged, no inventory.img;
 *  - dump without -R kills the task.
 *
 *   test-dump CRISP DUMP_TARGET CRISP_IMG [CRIT]
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "tdrv.h"

#define MAX_STARTED 8
#define PAGE 4096

struct tdump {
	struct tdrv_checks c;
	const char *crisp, *target, *tool, *crit;
	char tmp[512];
	pid_t started[MAX_STARTED];	/* tasks not yet reaped; 0: free slot */
};

static void cleanup(struct tdump *d)
{
	tdrv_kill_reap_all(d->started, MAX_STARTED);
	if (d->tmp[0])
		tdrv_rm_rf(d->tmp);
}

/* Starts dump-target in tmp/@work with the given options (NULL-terminated)
 * and waits until it is ready; a task that does not start ends the test. */
static pid_t start(struct tdump *d, char *work, size_t size, const char *name, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, name);
	pid = tdrv_start_target(d->started, MAX_STARTED, d->target, d->tmp, name, work, size, ap);
	va_end(ap);
	if (pid < 0) {
		printf("dump-target did not start\n");
		cleanup(d);
		exit(2);
	}
	return pid;
}

/* Asks the task to check itself, reaps it and returns its verdict. */
static const char *verify(struct tdump *d, pid_t pid, const char *work, char *buf, size_t size)
{
	tdrv_verdict(pid, work, buf, size);
	tdrv_forget(d->started, MAX_STARTED, pid);
	return buf;
}

/* crisp dump -t PID -D IMGS -v4 [EXTRA...] (NULL-terminated). */
static void dump(struct tdump *d, struct tdrv_out *o, pid_t pid, const char *imgs, ...)
{
	char spid[24], *argv[12] = { (char *)d->crisp, "dump", "-t", spid, "-D", (char *)imgs,
				     "-v4" };
	int n = 7;
	va_list ap;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	mkdir(imgs, 0755);
	va_start(ap, imgs);
	while (n < 11 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	tdrv_run(o, NULL, 0, false, argv);
}

/* `crisp-img check DIR` (stderr merged) must pass. */
static void img_check(struct tdump *d, const char *imgs, const char *what)
{
	char *argv[] = { (char *)d->tool, "check", (char *)imgs, NULL };
	struct tdrv_out o;

	tdrv_run(&o, NULL, 0, true, argv);
	tdrv_ok(&d->c, o.status == 0, "crisp-img check%s: %s", what, o.out);
	tdrv_out_free(&o);
}

static void decode(struct tdrv_out *o, const char *cmd, const char *dir, const char *name)
{
	char path[4096], *argv[] = { (char *)cmd, "decode", "-i", path, NULL };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tdrv_run(o, NULL, 0, false, argv);
}

static struct json *decode_json(const char *cmd, const char *dir, const char *name)
{
	struct tdrv_out o;
	struct json *j;

	decode(&o, cmd, dir, name);
	j = o.status ? NULL : tdrv_json_parse(o.out, o.out_len);
	tdrv_out_free(&o);
	return j;
}

static bool running(pid_t pid)
{
	char s = tdrv_task_state(pid);

	return s == 'S' || s == 'R';
}

static bool has_name(char **names, int n, const char *want)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return true;
	return false;
}

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* The thread ids of @pid from /proc, sorted; returns their number. */
static int proc_tids(pid_t pid, int *tids, int max)
{
	char dir[64], **names;
	int n, k = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	n = tdrv_list_dir(dir, &names);
	for (int i = 0; i < n && k < max; i++)
		tids[k++] = atoi(names[i]);
	if (n > 0)
		tdrv_names_free(names, n);
	qsort(tids, (size_t)k, sizeof(*tids), cmp_int);
	return k;
}

/* pstree.img's threads of the one task, sorted, must be @tids. */
static void check_pstree(struct tdump *d, const char *imgs, const int *tids, int ntids)
{
	struct json *pst = decode_json(d->tool, imgs, "pstree.img");
	const struct json *th = json_get(tdrv_json_at(json_get(pst, "entries"), 0), "threads");
	int got[64], n = 0;
	bool same = th && th->type == JSON_ARR && th->len == (size_t)ntids && th->len <= 64;

	for (size_t i = 0; same && i < th->len; i++) {
		int64_t v;

		same = json_as_i64(th->items[i], &v);
		got[n++] = (int)v;
	}
	if (same)
		qsort(got, (size_t)n, sizeof(*got), cmp_int);
	for (int i = 0; same && i < n; i++)
		same = got[i] == tids[i];
	tdrv_ok(&d->c, same, "pstree threads differ from /proc");
	json_free(pst);
}

/* Every image: crisp-img decodes it, and crit prints the same text. */
static void check_decoders(struct tdump *d, const char *imgs, char **names, int n)
{
	for (int i = 0; i < n; i++) {
		struct tdrv_out ours, theirs;

		if (!strncmp(names[i], "pages-", 6))
			continue;	/* raw page data: no magic, nothing to decode */
		decode(&ours, d->tool, imgs, names[i]);
		tdrv_ok(&d->c, ours.status == 0, "crisp-img cannot decode %s", names[i]);
		if (d->crit) {
			decode(&theirs, d->crit, imgs, names[i]);
			tdrv_ok(&d->c, theirs.status == 0, "crit cannot decode %s: %s", names[i],
				tdrv_tail(theirs.err, 300));
			tdrv_ok(&d->c, theirs.out_len == ours.out_len &&
				!memcmp(theirs.out, ours.out, ours.out_len),
				"crit and crisp-img disagree on %s", names[i]);
			tdrv_out_free(&theirs);
		}
		tdrv_out_free(&ours);
	}
}

/* (1) + (2) + (5): dump -R of a task with 4 threads and 8 MiB. */
static void dump_leave_running(struct tdump *d)
{
	char work[600], imgs[600], path[700], name[64], verdict[256], **names;
	int tids[64], ntids, n;
	struct tdrv_out r;
	pid_t pid;
	long long pages;

	pid = start(d, work, sizeof(work), "run", "--threads", "4", "--mib", "8", NULL);
	ntids = proc_tids(pid, tids, 64);
	snprintf(imgs, sizeof(imgs), "%s/img", d->tmp);
	dump(d, &r, pid, imgs, "-R", "--display-stats", NULL);
	tdrv_ok(&d->c, r.status == 0, "dump -R failed: %s", tdrv_tail(r.err, 2000));
	tdrv_ok(&d->c, strstr(r.err, "Dumping finished successfully"),
		"no success message at info level");
	tdrv_ok(&d->c, strstr(r.out, "Memory pages written:"), "--display-stats printed no stats");
	tdrv_ok(&d->c, running(pid), "after dump -R the task is in state %c",
		tdrv_task_state(pid) ? tdrv_task_state(pid) : '-');
	tdrv_out_free(&r);

	n = tdrv_list_dir(imgs, &names);
	const char *fixed[] = { "inventory.img", "pstree.img", "files.img", "stats-dump",
				"pages-1.img" };
	const char *per_pid[] = { "mm", "pagemap", "fs", "ids" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tdrv_ok(&d->c, has_name(names, n, fixed[i]), "the dump lacks %s", fixed[i]);
	for (size_t i = 0; i < sizeof(per_pid) / sizeof(per_pid[0]); i++) {
		snprintf(name, sizeof(name), "%s-%d.img", per_pid[i], (int)pid);
		tdrv_ok(&d->c, has_name(names, n, name), "the dump lacks %s", name);
	}
	for (int i = 0; i < ntids; i++) {
		snprintf(name, sizeof(name), "core-%d.img", tids[i]);
		tdrv_ok(&d->c, has_name(names, n, name), "no core image for thread %d", tids[i]);
	}
	snprintf(path, sizeof(path), "%s/pages-1.img", imgs);
	pages = tdrv_file_size(path);
	/* the 8 MiB region has 1536 non-zero pages; zero pages are not written */
	tdrv_ok(&d->c, pages >= 1536 * PAGE, "pages-1.img holds %lld bytes, less than the pattern",
		pages);
	tdrv_ok(&d->c, pages < 2048 * PAGE, "pages-1.img holds %lld bytes: zero pages were written",
		pages);
	img_check(d, imgs, "");
	check_pstree(d, imgs, tids, ntids);
	for (int i = 0; i < ntids; i++) {
		struct json *core;
		const struct json *e;

		snprintf(name, sizeof(name), "core-%d.img", tids[i]);
		core = decode_json(d->tool, imgs, name);
		e = tdrv_json_at(json_get(core, "entries"), 0);
		tdrv_ok(&d->c, json_get(e, "thread_info") && json_get(e, "thread_core"),
			"core-%d.img lacks thread state", tids[i]);
		tdrv_ok(&d->c, e && !json_get(e, "tc") == (tids[i] != pid),
			"core-%d.img: the task core belongs to the leader only", tids[i]);
		json_free(core);
	}
	check_decoders(d, imgs, names, n);
	if (n >= 0)
		tdrv_names_free(names, n);
	tdrv_ok(&d->c, !strcmp(verify(d, pid, work, verdict, sizeof(verdict)), "ok"),
		"the task changed after dump -R: %s", verdict);
}

/* (3) failure paths: no such pid, a read-only images dir; the task must
 * run on unchanged. */
static void dump_failures(struct tdump *d)
{
	char work[600], imgs[600], path[700], ro[600], verdict[256], spid[24];
	struct tdrv_out r;
	pid_t pid;

	pid = start(d, work, sizeof(work), "run-f", "--threads", "1", "--mib", "2", NULL);
	snprintf(imgs, sizeof(imgs), "%s/img-nopid", d->tmp);
	dump(d, &r, 4194304 + 7, imgs, NULL);
	tdrv_ok(&d->c, r.status == 1, "dump of a non-existent pid exits %d", r.status);
	tdrv_ok(&d->c, strstr(r.err, "no process with pid"), "no clear message for a missing pid");
	tdrv_out_free(&r);
	snprintf(path, sizeof(path), "%s/inventory.img", imgs);
	tdrv_ok(&d->c, !tdrv_exists(path), "inventory left (no pid)");

	snprintf(ro, sizeof(ro), "%s/ro", d->tmp);
	mkdir(ro, 0755);
	if (tdrv_ok(&d->c, !mount("none", ro, "tmpfs", MS_RDONLY, "size=1m"),
		    "cannot mount a read-only tmpfs for the unwritable-dir case: %s",
		    strerror(errno))) {
		char *argv[] = { (char *)d->crisp, "dump", "-t", spid, "-D", ro, "-R", NULL };

		snprintf(spid, sizeof(spid), "%d", (int)pid);
		tdrv_run(&r, NULL, 0, false, argv);
		tdrv_ok(&d->c, r.status == 1, "dump into a read-only dir exits %d", r.status);
		tdrv_ok(&d->c, strstr(r.err, "cannot write into the images directory"),
			"no clear message for an unwritable dir: %s", tdrv_tail(r.err, 300));
		tdrv_ok(&d->c, running(pid), "after the failed dump the task is %c",
			tdrv_task_state(pid) ? tdrv_task_state(pid) : '-');
		tdrv_out_free(&r);
		umount(ro);
	}
	tdrv_ok(&d->c, !strcmp(verify(d, pid, work, verdict, sizeof(verdict)), "ok"),
		"the task changed after failed dumps: %s", verdict);
}

/* (3) a task with an fd of a kind crisp refuses (an inet socket) is
 * refused, nothing is left behind. */
static void dump_refused(struct tdump *d)
{
	char work[600], imgs[600], path[700], verdict[256], who[32], **names;
	struct tdrv_out r;
	pid_t pid;
	int n;

	pid = start(d, work, sizeof(work), "run-fd", "--keep-fd", NULL);
	snprintf(imgs, sizeof(imgs), "%s/img-fd", d->tmp);
	dump(d, &r, pid, imgs, NULL);
	snprintf(who, sizeof(who), "task %d", (int)pid);
	tdrv_ok(&d->c, r.status == 1, "dump of a task with an inet socket exits %d", r.status);
	tdrv_ok(&d->c, strstr(r.err, "is a socket (socket:[") && strstr(r.err, "AF_INET") &&
		strstr(r.err, who),
		"the refusal does not name the task, the fd and its target: %s",
		tdrv_tail(r.err, 300));
	tdrv_out_free(&r);
	snprintf(path, sizeof(path), "%s/inventory.img", imgs);
	tdrv_ok(&d->c, !tdrv_exists(path), "inventory.img left after a refusal");
	n = tdrv_list_dir(imgs, &names);
	tdrv_ok(&d->c, n == 0, "files left after a refusal: %d, the first %s", n,
		n > 0 ? names[0] : "-");
	if (n > 0)
		tdrv_names_free(names, n);
	tdrv_ok(&d->c, running(pid), "after the refusal the task is %c",
		tdrv_task_state(pid) ? tdrv_task_state(pid) : '-');
	tdrv_ok(&d->c, !strcmp(verify(d, pid, work, verdict, sizeof(verdict)), "ok"),
		"the task changed after a refused dump: %s", verdict);
}

/* (4) without -R the task is killed after the dump. */
static void dump_kill(struct tdump *d)
{
	char work[600], imgs[600], path[700];
	struct tdrv_out r;
	int st = 0;
	pid_t pid;

	pid = start(d, work, sizeof(work), "run-k", "--threads", "2", NULL);
	snprintf(imgs, sizeof(imgs), "%s/img-k", d->tmp);
	dump(d, &r, pid, imgs, NULL);
	tdrv_ok(&d->c, r.status == 0, "dump (kill) failed: %s", tdrv_tail(r.err, 1000));
	tdrv_out_free(&r);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	tdrv_forget(d->started, MAX_STARTED, pid);
	tdrv_ok(&d->c, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		"the dumped task was not killed (status %#x)", st);
	snprintf(path, sizeof(path), "%s/inventory.img", imgs);
	tdrv_ok(&d->c, tdrv_exists(path), "dump (kill) wrote no inventory.img");
	img_check(d, imgs, " after dump (kill)");
}

int main(int argc, char **argv)
{
	struct tdump d = { 0 };
	const char *tmp = getenv("TMPDIR");

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: test-dump CRISP DUMP_TARGET CRISP_IMG [CRIT]\n");
		return 2;
	}
	d.crisp = argv[1];
	d.target = argv[2];
	d.tool = argv[3];
	d.crit = argc > 4 ? argv[4] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tdrv_subreaper()) {
		printf("cannot become a subreaper\n");
		return 2;
	}
	/* the read-only mount stays private to this test and its tasks */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		printf("cannot make a private mount namespace: %s\n", strerror(errno));
		return 2;
	}
	snprintf(d.tmp, sizeof(d.tmp), "%s/crisp-dump-test-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(d.tmp)) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	dump_leave_running(&d);
	dump_failures(&d);
	dump_refused(&d);
	dump_kill(&d);
	cleanup(&d);
	return tdrv_summary(&d.c, "test-dump");
}
