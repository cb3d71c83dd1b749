/* test-restore — `crisp restore` of real tasks (dump-target), run under a
 * subreaper that kills and reaps everything it started:
 *  - restore without -d: crisp stays the parent and exits with the task's
 *    status; --pidfile, --display-stats, stats-restore, the success message;
 *  - restore -d -S: crisp returns, the task is a sibling (a child of the
 *    process that ran crisp) and runs on with memory and threads unchanged;
 *  - failures: the PID in use (dump -R leaves the task running), corrupted
 *    or truncated images, lazy pages: exit 1, a clear message naming the
 *    image (or saying what is unsupported), and no task with that PID left.
 *
 *   test-restore CRISP DUMP_TARGET CRISP_IMG
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "tdrv.h"

#define MAX_STARTED 8
#define MAX_ARGS 16

struct trest {
	struct tdrv_checks c;
	const char *crisp, *target, *tool;
	char tmp[512];
	pid_t started[MAX_STARTED];	/* tasks that may still run; 0: free slot */
};

static void cleanup(struct trest *t)
{
	tdrv_kill_reap_all(t->started, MAX_STARTED);
	if (t->tmp[0])
		tdrv_rm_rf(t->tmp);
}

static void forget(struct trest *t, pid_t pid)
{
	tdrv_forget(t->started, MAX_STARTED, pid);
}

/* Remembers @pid to be killed at the end; false when there is no room. */
static bool remember(struct trest *t, pid_t pid)
{
	return tdrv_remember(t->started, MAX_STARTED, pid);
}

static bool alive(pid_t pid)
{
	char s = tdrv_task_state(pid);

	return s && s != 'Z' && s != 'X';
}

/* Starts dump-target in tmp/@name with the given options (NULL-terminated)
 * and waits until it is ready; a task that does not start ends the test. */
static pid_t start(struct trest *t, char *work, size_t size, const char *name, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, name);
	pid = tdrv_start_target(t->started, MAX_STARTED, t->target, t->tmp, name, work, size, ap);
	va_end(ap);
	if (pid < 0) {
		printf("dump-target did not start\n");
		cleanup(t);
		exit(2);
	}
	return pid;
}

/* Collects NULL-terminated arguments after CRISP into @argv. */
static void crisp_argv(struct trest *t, char **argv, va_list ap)
{
	int n = 1;

	argv[0] = (char *)t->crisp;
	while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)))
		n++;
	argv[n] = NULL;
}

/* crisp ARGS... (NULL-terminated), output captured. */
static void run(struct trest *t, struct tdrv_out *o, ...)
{
	char *argv[MAX_ARGS];
	va_list ap;

	va_start(ap, o);
	crisp_argv(t, argv, ap);
	va_end(ap);
	tdrv_run(o, NULL, 0, false, argv);
}

/* crisp dump -t PID -D IMGS [EXTRA...]; a killed task is reaped at once
 * so that its PID is free for the restore. */
static void dump(struct trest *t, struct tdrv_out *o, pid_t pid, const char *imgs,
		 const char *extra)
{
	char spid[24];

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	mkdir(imgs, 0755);
	run(t, o, "dump", "-t", spid, "-D", imgs, extra, NULL);
	if (!extra || strcmp(extra, "-R"))
		tdrv_reap_exited();
}

static int count_threads(pid_t pid)
{
	char dir[64], **names;
	int n;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	n = tdrv_list_dir(dir, &names);
	if (n > 0)
		tdrv_names_free(names, n);
	return n;
}

/* The pid file holds @pid (surrounding white space ignored). */
static bool pidfile_holds(const char *path, pid_t pid)
{
	char *text, *p, *end;
	size_t len;
	long v;
	bool same;

	if (tdrv_read_file(path, &text, &len))
		return false;
	for (p = text; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	v = strtol(p, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	same = end != p && !*end && v == pid;
	free(text);
	return same;
}

/* (1) restore without -d: crisp waits and exits as the task does. */
static void restore_waiting(struct trest *t)
{
	char work[600], imgs[600], pidfile[600], stats[700], buf[256];
	char *argv[] = { (char *)t->crisp, "restore", "-D", imgs, "-v4", "--pidfile", pidfile,
			 "--display-stats", NULL };
	struct tdrv_job job;
	struct tdrv_out r;
	pid_t pid;
	int ret;

	pid = start(t, work, sizeof(work), "run1", "--threads", "3", "--mib", "4", NULL);
	snprintf(imgs, sizeof(imgs), "%s/img1", t->tmp);
	dump(t, &r, pid, imgs, NULL);
	tdrv_ok(&t->c, r.status == 0 && !alive(pid), "dump (kill) failed: %s",
		tdrv_tail(r.err, 500));
	tdrv_out_free(&r);
	snprintf(pidfile, sizeof(pidfile), "%s/pid1", t->tmp);
	ret = tdrv_run_start(&job, false, argv);
	if (!tdrv_ok(&t->c, !ret, "cannot start crisp restore: %s", strerror(-ret)))
		return;
	remember(t, pid);	/* the restored task, should it outlive crisp */
	if (tdrv_ok(&t->c, tdrv_wait_file(pidfile, 0, 4000), "restore wrote no pid file")) {
		tdrv_ok(&t->c, pidfile_holds(pidfile, pid), "pid file holds another pid");
		tdrv_ok(&t->c, alive(pid), "the restored task is not running");
		tdrv_ok(&t->c, count_threads(pid) == 4, "the restored task lacks threads");
		kill(pid, SIGUSR1);
	}
	ret = tdrv_run_wait(&job, &r, 60000);
	tdrv_ok(&t->c, ret != -ETIMEDOUT, "crisp restore (waiting) did not end within 60 s");
	tdrv_ok(&t->c, !strcmp(tdrv_verdict(0, work, buf, sizeof(buf)), "ok"),
		"the restored task found a difference: %s", buf);
	tdrv_ok(&t->c, r.status == 0, "crisp restore (waiting) exited %d", r.status);
	tdrv_ok(&t->c, strstr(r.err, "Restore finished successfully"),
		"no success message at info level");
	tdrv_ok(&t->c, strstr(r.out, "Pages restored:"),
		"--display-stats printed no restore stats");
	tdrv_out_free(&r);
	if (!alive(pid))
		forget(t, pid);

	char *dec[] = { (char *)t->tool, "decode", "-i", stats, NULL };

	snprintf(stats, sizeof(stats), "%s/stats-restore", imgs);
	tdrv_run(&r, NULL, 0, false, dec);
	tdrv_ok(&t->c, r.status == 0 && strstr(r.out, "restore"), "stats-restore does not decode");
	tdrv_out_free(&r);
}

/* The process that runs `crisp restore -D @imgs -d -S` for (2): not a
 * subreaper, so a task crisp created as its own child would be reparented
 * to us, never to it. It writes "STATUS\nSTDERR-TAIL" to @result, then
 * waits to be killed. Returns its pid (in the parent) or -errno. */
static pid_t sibling_runner(struct trest *t, const char *imgs, const char *result)
{
	char *argv[] = { (char *)t->crisp, "restore", "-D", (char *)imgs, "-d", "-S", NULL };
	char text[1024], tmp[700];
	struct tdrv_out o;
	pid_t p = fork();

	if (p)
		return p < 0 ? -errno : p;
	tdrv_run(&o, NULL, 0, false, argv);
	snprintf(text, sizeof(text), "%d\n%s", o.status, tdrv_tail(o.err, 500));
	snprintf(tmp, sizeof(tmp), "%s.tmp", result);
	if (tdrv_write_file(tmp, text, strlen(text), false) || rename(tmp, result))
		_exit(1);
	for (;;)
		pause();
}

/* (2) -d -S: crisp returns, the task is a child of crisp's parent (not
 * of crisp, which would leave it to us, the subreaper) and runs on. */
static void restore_sibling(struct trest *t)
{
	char work[600], imgs[600], result[600], buf[256], *text = NULL;
	struct tdrv_out r;
	pid_t pid, ppid, runner;
	size_t len;

	pid = start(t, work, sizeof(work), "run2", "--threads", "2", "--mib", "2", NULL);
	forget(t, pid);
	snprintf(imgs, sizeof(imgs), "%s/img2", t->tmp);
	dump(t, &r, pid, imgs, NULL);
	tdrv_ok(&t->c, r.status == 0, "dump (kill) failed");
	tdrv_out_free(&r);
	snprintf(result, sizeof(result), "%s/sibling-result", t->tmp);
	runner = sibling_runner(t, imgs, result);
	if (!tdrv_ok(&t->c, runner > 0 && remember(t, runner), "cannot fork the crisp runner"))
		return;
	if (tdrv_wait_file(result, runner, 12000))
		tdrv_read_file(result, &text, &len);
	tdrv_ok(&t->c, text && atoi(text) == 0, "restore -d -S failed: %s",
		text ? text : "(no result)");
	if (tdrv_ok(&t->c, alive(pid), "restore -d -S left no running task")) {
		remember(t, pid);
		ppid = tdrv_task_ppid(pid);
		tdrv_ok(&t->c, ppid == runner,
			"with -S the parent is %d, not the process that ran crisp (%d)",
			(int)ppid, (int)runner);
	}
	free(text);
	kill(runner, SIGKILL);	/* the restored task becomes our child */
	while (waitpid(runner, NULL, 0) < 0 && errno == EINTR)
		;
	forget(t, runner);
	if (!alive(pid))
		return;
	tdrv_ok(&t->c, !strcmp(tdrv_verdict(pid, work, buf, sizeof(buf)), "ok"),
		"the restored task (-S) found a difference");
	forget(t, pid);
}

/* (3) the PID is in use: dump -R leaves the task running. */
static void restore_pid_in_use(struct trest *t)
{
	char work[600], imgs[600], buf[256], msg[64];
	struct tdrv_out r;
	pid_t pid;

	pid = start(t, work, sizeof(work), "run3", "--threads", "1", "--mib", "1", NULL);
	snprintf(imgs, sizeof(imgs), "%s/img3", t->tmp);
	dump(t, &r, pid, imgs, "-R");
	tdrv_ok(&t->c, r.status == 0, "dump -R failed");
	tdrv_out_free(&r);
	run(t, &r, "restore", "-D", imgs, "-d", NULL);
	snprintf(msg, sizeof(msg), "PID %d is in use", (int)pid);
	tdrv_ok(&t->c, r.status == 1, "restore onto a used PID exits %d", r.status);
	tdrv_ok(&t->c, strstr(r.err, msg), "no clear message for a used PID: %s",
		tdrv_tail(r.err, 300));
	tdrv_out_free(&r);
	tdrv_ok(&t->c, alive(pid), "the original task was hurt");
	tdrv_ok(&t->c, !strcmp(tdrv_verdict(pid, work, buf, sizeof(buf)), "ok"),
		"the original task changed");
	forget(t, pid);
}

enum spoil { SPOIL_WORD_8, SPOIL_HALF, SPOIL_ZERO_4, SPOIL_THIRD, SPOIL_EMPTY, SPOIL_LAZY };

/* The pagemap in @buf with its first run marked lazy (PE_LAZY), through
 * the image tool @tool: decode, set entries[1].flags, encode. */
static int spoil_lazy(const char *tool, char **buf, size_t *len)
{
	char *dec[] = { (char *)tool, "decode", NULL }, *enc[] = { (char *)tool, "encode", NULL };
	struct tdrv_out o;
	struct json *doc, *ents, *flags;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	int ret = -EINVAL;

	if (tdrv_run(&o, *buf, *len, false, dec) || o.status) {
		tdrv_out_free(&o);
		return -EIO;
	}
	doc = tdrv_json_parse(o.out, o.out_len);
	tdrv_out_free(&o);
	ents = doc ? json_get(doc, "entries") : NULL;
	if (!ents || ents->type != JSON_ARR || ents->len < 2)
		goto out;
	flags = json_get(ents->items[1], "flags");
	if (flags) {
		flags->type = JSON_UINT;
		flags->u = 2;
	} else if (json_obj_add(ents->items[1], "flags", json_new_uint(2))) {
		goto out;
	}
	f = open_memstream(&text, &tlen);
	if (!f || json_write(f, doc, 0) || fclose(f))
		goto out;
	if (tdrv_run(&o, text, tlen, false, enc) || o.status) {
		tdrv_out_free(&o);
		ret = -EIO;
		goto out;
	}
	free(*buf);
	*buf = o.out;		/* the encoded image: taken over from @o */
	*len = o.out_len;
	free(o.err);
	ret = 0;
out:
	free(text);
	json_free(doc);
	return ret;
}

/* Copies @imgs to @bad with image @name damaged as @how says. */
static int spoil_copy(const char *tool, const char *imgs, const char *bad, const char *name,
		      enum spoil how)
{
	char from[1024], to[1024], *buf;
	size_t len;
	int ret;

	snprintf(from, sizeof(from), "%s/%s", imgs, name);
	snprintf(to, sizeof(to), "%s/%s", bad, name);
	ret = tdrv_copy_dir(imgs, bad);
	if (!ret)
		ret = tdrv_read_file(from, &buf, &len);
	if (ret)
		return ret;
	switch (how) {
	case SPOIL_WORD_8:	/* an entry size far beyond the file */
		if (len >= 12)
			memcpy(buf + 8, "\xff\xff\xff\x7f", 4);
		break;
	case SPOIL_HALF:
		len /= 2;
		break;
	case SPOIL_ZERO_4:	/* the second magic word */
		if (len >= 8)
			memset(buf + 4, 0, 4);
		break;
	case SPOIL_THIRD:
		len /= 3;
		break;
	case SPOIL_EMPTY:
		len = 0;
		break;
	case SPOIL_LAZY:
		ret = spoil_lazy(tool, &buf, &len);
		if (ret) {
			free(buf);
			return ret;
		}
		break;
	}
	ret = tdrv_write_file(to, buf, len, false);
	free(buf);
	return ret;
}

/* (4) corrupted images: a clear error naming the image, nothing left. */
static void restore_spoilt(struct trest *t)
{
	char work[600], imgs[600], bad[700], core[64], mm[64], pagemap[64], buf[256];
	struct tdrv_out r;
	pid_t pid;

	pid = start(t, work, sizeof(work), "run4", "--threads", "1", "--mib", "1", NULL);
	forget(t, pid);
	snprintf(imgs, sizeof(imgs), "%s/img4", t->tmp);
	dump(t, &r, pid, imgs, NULL);
	tdrv_ok(&t->c, r.status == 0, "dump (kill) failed");
	tdrv_out_free(&r);
	snprintf(core, sizeof(core), "core-%d.img", (int)pid);
	snprintf(mm, sizeof(mm), "mm-%d.img", (int)pid);
	snprintf(pagemap, sizeof(pagemap), "pagemap-%d.img", (int)pid);
	/* says: what the error must say (NULL: the image's name) */
	const struct { const char *name; enum spoil how; const char *says; } cases[] = {
		{ core, SPOIL_WORD_8, NULL },
		{ mm, SPOIL_HALF, NULL },
		{ pagemap, SPOIL_ZERO_4, NULL },
		{ "pages-1.img", SPOIL_THIRD, NULL },
		{ "pstree.img", SPOIL_EMPTY, NULL },
		{ pagemap, SPOIL_LAZY, "lazy restore is not supported" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		int ret;

		const char *says = cases[i].says ? cases[i].says : name;

		snprintf(bad, sizeof(bad), "%s/bad-%zu-%s", t->tmp, i, name);
		ret = spoil_copy(t->tool, imgs, bad, name, cases[i].how);
		if (!tdrv_ok(&t->c, !ret, "cannot make the spoilt copy for %s: %s", name,
			     strerror(-ret)))
			continue;
		run(t, &r, "restore", "-D", bad, "-d", NULL);
		tdrv_ok(&t->c, r.status == 1, "restore with a spoilt %s exits %d", name, r.status);
		tdrv_ok(&t->c, strstr(r.err, says), "the error does not say %s: %s", says,
			tdrv_tail(r.err, 300));
		tdrv_out_free(&r);
		tdrv_reap_exited();
		if (!tdrv_ok(&t->c, !alive(pid),
			     "a task with pid %d is left after a failed restore (%s)", (int)pid, name)) {
			kill(pid, SIGKILL);	/* our child now: wait until it is gone */
			while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
				;
			tdrv_reap_exited();
		}
	}
	/* and the unspoilt images still restore */
	run(t, &r, "restore", "-D", imgs, "-d", NULL);
	tdrv_ok(&t->c, r.status == 0, "restore of the good images failed: %s",
		tdrv_tail(r.err, 300));
	tdrv_out_free(&r);
	if (!tdrv_ok(&t->c, alive(pid), "restore of the good images left no running task"))
		return;
	remember(t, pid);
	kill(pid, SIGUSR1);
	tdrv_ok(&t->c, !strcmp(tdrv_verdict(0, work, buf, sizeof(buf)), "ok"),
		"the restored task changed");
}

int main(int argc, char **argv)
{
	struct trest t = { 0 };
	const char *tmp = getenv("TMPDIR");

	if (argc != 4) {
		fprintf(stderr, "usage: test-restore CRISP DUMP_TARGET CRISP_IMG\n");
		return 2;
	}
	t.crisp = argv[1];
	t.target = argv[2];
	t.tool = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tdrv_subreaper()) {
		printf("cannot become a subreaper\n");
		return 2;
	}
	snprintf(t.tmp, sizeof(t.tmp), "%s/crisp-restore-test-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(t.tmp)) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	restore_waiting(&t);
	restore_sibling(&t);
	restore_pid_in_use(&t);
	restore_spoilt(&t);
	cleanup(&t);
	return tdrv_summary(&t.c, "test-restore");
}
