/* test-track — pre-dump chains on real tasks (track-target), under a
 * subreaper that kills and reaps everything it started (the keepers too):
 *  - 5 pre-dumps and a final `dump -s --track-mem` of a task whose threads
 *    keep writing known patterns: every image set passes `crisp-img check`,
 *    every image decodes with crit as with crisp-img, and chain-verify finds
 *    the final pages plus their parents equal to the stopped task's memory,
 *    byte for byte, and consistent from the images alone;
 *  - the task's fd table, maps and smaps VmFlags are unchanged afterwards
 *    (no userfaultfd flags left), no keeper is left, and it verifies itself;
 *  - the same with a task that maps and unmaps regions all the time;
 *  - a pre-dump on a parent that is not the last round copies everything;
 *  - a task with a userfaultfd of its own is refused and left running.
 *
 *   test-track CRISP TRACK_TARGET CHAIN_VERIFY CRISP_IMG [CRIT]
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
#define MAX_KEEPERS 16
#define MAX_FLAGS 65536
#define ROUNDS 6		/* 5 pre-dumps and the final dump */
#define PE_PARENT 1
#define PE_PRESENT 4

struct ttrack {
	struct tdrv_checks c;
	const char *crisp, *target, *verifier, *tool, *crit;
	char tmp[512];
	pid_t started[MAX_STARTED];	/* tasks not yet reaped; 0: free slot */
};

/* A task's fd table, maps and VmFlags as text (NULL: could not be read). */
struct snap {
	char *fds, *maps, *vmflags;
};

static int keepers(pid_t *pids)
{
	return tdrv_find_tasks("crisp-track", getpid(), pids, MAX_KEEPERS);
}

static void cleanup(struct ttrack *t)
{
	pid_t k[MAX_KEEPERS];
	int n = keepers(k);

	for (int i = 0; i < n && i < MAX_KEEPERS; i++)
		kill(k[i], SIGKILL);
	tdrv_kill_reap_all(t->started, MAX_STARTED);
	if (t->tmp[0])
		tdrv_rm_rf(t->tmp);
}

/* Starts track-target in tmp/@name with the given options (NULL-terminated)
 * and waits until it is ready; a task that does not start ends the test. */
static pid_t start(struct ttrack *t, char *work, size_t size, const char *name, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, name);
	pid = tdrv_start_target(t->started, MAX_STARTED, t->target, t->tmp, name, work, size, ap);
	va_end(ap);
	if (pid < 0) {
		printf("track-target did not start\n");
		cleanup(t);
		exit(2);
	}
	return pid;
}

static char state(pid_t pid)
{
	char s = tdrv_task_state(pid);

	return s ? s : '-';
}

static bool running(pid_t pid)
{
	return state(pid) == 'S' || state(pid) == 'R';
}

static char *proc_text(pid_t pid, const char *what)
{
	char path[64], *text = NULL;
	size_t len;
	int ret;

	if (!strcmp(what, "fds")) {
		ret = tdrv_proc_fds(pid, &text);
	} else if (!strcmp(what, "vmflags")) {
		ret = tdrv_proc_vmflags(pid, &text);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
		ret = tdrv_read_file(path, &text, &len);
	}
	return ret ? NULL : text;
}

static void snap_take(struct snap *s, pid_t pid)
{
	s->fds = proc_text(pid, "fds");
	s->maps = proc_text(pid, "maps");
	s->vmflags = proc_text(pid, "vmflags");
}

static void snap_free(struct snap *s)
{
	free(s->fds);
	free(s->maps);
	free(s->vmflags);
}

/* @what of @pid now equals @then (both read). */
static bool same_now(pid_t pid, const char *what, const char *then)
{
	char *now = proc_text(pid, what);
	bool same = now && then && !strcmp(now, then);

	free(now);
	return same;
}

/* The mappings of @pid with a userfaultfd VmFlag (um, uw, ui): their count
 * (-1: smaps unreadable), the first ones named in @buf. */
static int uffd_ranges(pid_t pid, char *buf, size_t size)
{
	char *text = proc_text(pid, "vmflags"), *save = NULL;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (!text)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *fsave = NULL;
		bool hit = false;

		if (!colon)
			continue;
		for (char *f = strtok_r(colon + 1, " ", &fsave); f; f = strtok_r(NULL, " ", &fsave))
			hit |= !strcmp(f, "um") || !strcmp(f, "uw") || !strcmp(f, "ui");
		if (!hit)
			continue;
		if (used + 64 < size)
			used += (size_t)snprintf(buf + used, size - used, "%s%.*s", n ? ", " : "",
						 (int)(colon - line), line);
		n++;
	}
	free(text);
	return n;
}

/* crisp ARGV (argv[0] set here), output captured, ended tasks reaped. */
static void run_crisp(struct ttrack *t, struct tdrv_out *o, char **argv)
{
	argv[0] = (char *)t->crisp;
	tdrv_run(o, NULL, 0, false, argv);
	tdrv_reap_exited();
}

/* SIGUSR1, then the task's verdict (waiting up to 30 s, killing it after). */
static const char *verify_self(struct ttrack *t, pid_t pid, const char *work, char *buf,
			       size_t size)
{
	tdrv_verdict(pid, work, buf, size);
	tdrv_forget(t->started, MAX_STARTED, pid);
	return buf;
}

/* The flags of every pagemap entry of tmp/@dir (0 when absent): their
 * number into @n; false when the image does not decode. */
static bool pagemap_flags(struct ttrack *t, const char *dir, pid_t pid, uint64_t *flags,
			  size_t *n)
{
	char path[800];
	char *argv[] = { (char *)t->tool, "decode", "-i", path, NULL };
	const struct json *ents;
	struct tdrv_out o;
	struct json *j;

	*n = 0;
	snprintf(path, sizeof(path), "%s/%s/pagemap-%d.img", t->tmp, dir, (int)pid);
	tdrv_run(&o, NULL, 0, false, argv);
	j = o.status ? NULL : tdrv_json_parse(o.out, o.out_len);
	tdrv_out_free(&o);
	ents = json_get(j, "entries");
	if (!ents || ents->type != JSON_ARR || !ents->len) {
		json_free(j);
		return tdrv_ok(&t->c, false, "pagemap of %s does not decode", dir);
	}
	for (size_t i = 1; i < ents->len && *n < MAX_FLAGS; i++) {
		const struct json *f = json_get(ents->items[i], "flags");

		flags[*n] = 0;
		if (f && !json_as_u64(f, &flags[*n]))
			flags[*n] = ~0ull;	/* not a number: fails any check */
		(*n)++;
	}
	json_free(j);
	return true;
}

static bool any_parent(const uint64_t *flags, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (flags[i] & PE_PARENT)
			return true;
	return false;
}

/* Every image set passes `crisp-img check`; every image but the page
 * data, the parent link and logs decodes, with crit as with crisp-img. */
static void check_images(struct ttrack *t, char dirs[][64], int ndirs)
{
	for (int d = 0; d < ndirs; d++) {
		char path[700], img[800], **names;
		char *chk[] = { (char *)t->tool, "check", path, NULL };
		char *ours_argv[] = { (char *)t->tool, "decode", "-i", img, NULL };
		char *crit_argv[] = { (char *)t->crit, "decode", "-i", img, NULL };
		struct tdrv_out o, ours, theirs;
		int n;

		snprintf(path, sizeof(path), "%s/%s", t->tmp, dirs[d]);
		tdrv_run(&o, NULL, 0, true, chk);
		tdrv_ok(&t->c, o.status == 0, "crisp-img check %s: %s", dirs[d], tdrv_tail(o.out, 500));
		tdrv_out_free(&o);
		n = tdrv_list_dir(path, &names);
		tdrv_ok(&t->c, n > 0, "cannot list %s", dirs[d]);
		for (int i = 0; i < n; i++) {
			size_t len = strlen(names[i]);

			if (!strncmp(names[i], "pages-", 6) || !strcmp(names[i], "parent") ||
			    (len >= 4 && !strcmp(names[i] + len - 4, ".log")))
				continue;
			snprintf(img, sizeof(img), "%s/%s", path, names[i]);
			tdrv_run(&ours, NULL, 0, false, ours_argv);
			tdrv_ok(&t->c, ours.status == 0, "crisp-img cannot decode %s/%s", dirs[d],
				names[i]);
			if (t->crit) {
				tdrv_run(&theirs, NULL, 0, false, crit_argv);
				tdrv_ok(&t->c, theirs.status == 0, "crit cannot decode %s/%s: %s",
					dirs[d], names[i], tdrv_tail(theirs.err, 300));
				tdrv_ok(&t->c, theirs.out_len == ours.out_len &&
					!memcmp(theirs.out, ours.out, ours.out_len),
					"crit and crisp-img disagree on %s/%s", dirs[d], names[i]);
				tdrv_out_free(&theirs);
			}
			tdrv_out_free(&ours);
		}
		if (n > 0)
			tdrv_names_free(names, n);
	}
}

/* chain-verify IMGS PID READY --live; its output printed. 0 when it passed;
 * @out gets its output (free it). */
static int chain_verify(struct ttrack *t, const char *imgs, pid_t pid, const char *work,
			struct tdrv_out *o)
{
	char spid[24], ready[700];
	char *argv[] = { (char *)t->verifier, (char *)imgs, spid, ready, "--live", NULL };

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(ready, sizeof(ready), "%s/ready", work);
	tdrv_run(o, NULL, 0, true, argv);
	fputs(o->out, stdout);
	return o->status;
}

/* One round: mkdir tmp/@dir, then crisp @cmd -t PID -D tmp/@dir [@extra...]. */
static void round_run(struct ttrack *t, struct tdrv_out *o, const char *cmd, pid_t pid,
		      const char *dir, const char *const *extra)
{
	char spid[24], path[700], *argv[20] = { NULL, (char *)cmd, "-t", spid, "-D", path };
	int n = 6;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(path, sizeof(path), "%s/%s", t->tmp, dir);
	mkdir(path, 0755);
	for (; extra && *extra && n < 19; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	run_crisp(t, o, argv);
}

/* The rounds after the first leave unchanged pages to their parents; the
 * fifth pre-dump copies less than the first: the first copies the whole
 * region, the fifth at most its hot half, the churn regions (up to 2 MiB)
 * and a few pages of stacks and libraries, less while the cold half is
 * over 2 MiB (it is 4 MiB and more here). */
static void check_rounds(struct ttrack *t, const char *name, char dirs[][64], pid_t pid,
			 uint64_t *flags)
{
	char path[1024];
	long long first, last;

	for (int rnd = 2; rnd <= ROUNDS; rnd++) {
		size_t n;
		uint64_t odd = 0;
		bool only_known = true;

		if (!pagemap_flags(t, dirs[rnd - 1], pid, flags, &n))
			continue;
		tdrv_ok(&t->c, any_parent(flags, n), "%s round %d has no PE_PARENT entries", name, rnd);
		for (size_t i = 0; i < n && only_known; i++) {
			only_known = flags[i] == PE_PARENT || flags[i] == PE_PRESENT;
			odd = flags[i];
		}
		tdrv_ok(&t->c, only_known, "%s round %d: pagemap flags %#llx (not PE_PARENT or "
			"PE_PRESENT alone)", name, rnd, (unsigned long long)odd);
	}
	snprintf(path, sizeof(path), "%s/%s/pages-1.img", t->tmp, dirs[0]);
	first = tdrv_file_size(path);
	snprintf(path, sizeof(path), "%s/%s/pages-1.img", t->tmp, dirs[4]);
	last = tdrv_file_size(path);
	tdrv_ok(&t->c, first >= 0 && last >= 0 && last < first,
		"%s: the fifth pre-dump wrote %lld bytes, the first %lld", name, last, first);
}

/* 5 pre-dumps and a final dump -s of one task; everything checked. */
static void chain(struct ttrack *t, const char *name, const char *mib, const char *writers,
		  bool churn, uint64_t *flags)
{
	char work[600], dirs[ROUNDS][64], prev[80], ranges[512], buf[256], final_dir[700];
	pid_t pid, k[MAX_KEEPERS];
	struct tdrv_out o;
	struct snap s0;
	int nk, vst;

	/* half the region is never written again: the fifth round must leave
	 * it to its parents however long the rounds take */
	pid = start(t, work, sizeof(work), name, "--mib", mib, "--writers", writers, "--hot", "50",
		    churn ? "--churn" : NULL, NULL);
	snap_take(&s0, pid);
	for (int rnd = 1; rnd <= ROUNDS; rnd++) {
		bool final = rnd == ROUNDS;
		const char *extra[10] = { "-o", "crisp.log", "-v4", "--track-mem" };
		int n = 4;

		snprintf(dirs[rnd - 1], sizeof(dirs[0]), "%s-%d", name, rnd);
		if (rnd > 1) {
			snprintf(prev, sizeof(prev), "../%s-%d", name, rnd - 1);
			extra[n++] = "--prev-images-dir";
			extra[n++] = prev;
		}
		if (final)
			extra[n++] = "-s";
		usleep(50 * 1000);	/* let the writers write between the rounds */
		round_run(t, &o, final ? "dump" : "pre-dump", pid, dirs[rnd - 1], extra);
		bool good = tdrv_ok(&t->c, o.status == 0, "%s round %d failed: %s", name, rnd,
				    tdrv_tail(o.err, 1500));
		tdrv_out_free(&o);
		if (!good)
			goto out;
		tdrv_ok(&t->c, same_now(pid, "fds", s0.fds),
			"%s round %d: the task's fd table changed", name, rnd);
		if (!final) {
			tdrv_ok(&t->c, running(pid), "%s round %d: the task is %c", name, rnd,
				state(pid));
			nk = keepers(k);
			tdrv_ok(&t->c, nk == 1, "%s round %d: %d tracking keepers", name, rnd, nk);
		}
	}
	tdrv_ok(&t->c, state(pid) == 'T', "after dump -s the task is %c, not stopped", state(pid));
	check_rounds(t, name, dirs, pid, flags);
	check_images(t, dirs, ROUNDS);
	snprintf(final_dir, sizeof(final_dir), "%s/%s", t->tmp, dirs[ROUNDS - 1]);
	vst = chain_verify(t, final_dir, pid, work, &o);
	tdrv_ok(&t->c, vst == 0, "%s: chain-verify: %s", name, tdrv_tail(o.out, 1500));
	tdrv_ok(&t->c, strstr(o.out, "chain depth 6"),
		"%s: the final pages did not use all 5 parents", name);
	tdrv_out_free(&o);
	/* nothing of the tracking is left in the task */
	tdrv_ok(&t->c, uffd_ranges(pid, ranges, sizeof(ranges)) == 0,
		"%s: userfaultfd flags left on %s", name, ranges);
	tdrv_ok(&t->c, same_now(pid, "fds", s0.fds), "%s: fd table changed", name);
	if (!churn) {
		tdrv_ok(&t->c, same_now(pid, "maps", s0.maps), "%s: the memory map changed", name);
		tdrv_ok(&t->c, same_now(pid, "vmflags", s0.vmflags), "%s: smaps VmFlags changed",
			name);
	}
	nk = keepers(k);
	tdrv_ok(&t->c, nk == 0, "%s: a tracking keeper is left: %d", name, nk > 0 ? (int)k[0] : 0);
	kill(pid, SIGCONT);
	usleep(50 * 1000);
	tdrv_ok(&t->c, !strcmp(verify_self(t, pid, work, buf, sizeof(buf)), "ok"),
		"%s: the task's own check after the chain failed: %s", name, buf);
out:
	snap_free(&s0);
}

/* A pre-dump on a parent that is not the last committed round. */
static void stale_parent(struct ttrack *t, uint64_t *flags)
{
	char work[600], dirs[4][64] = { "stale-1", "stale-2", "stale-3", "stale-4" };
	char final_dir[700], ranges[512], buf[256];
	const char *from1[] = { "--prev-images-dir", "../stale-1", NULL };
	const char *final[] = { "-s", "--track-mem", "--prev-images-dir", "../stale-3", NULL };
	const char *const *prevs[3] = { NULL, from1, from1 };
	pid_t pid, k[MAX_KEEPERS];
	struct tdrv_out o;
	size_t n;
	int vst;

	pid = start(t, work, sizeof(work), "stale", "--mib", "4", "--writers", "2", NULL);
	for (int i = 0; i < 3; i++) {
		round_run(t, &o, "pre-dump", pid, dirs[i], prevs[i]);
		tdrv_ok(&t->c, o.status == 0, "stale pre-dump %d failed: %s", i + 1,
			tdrv_tail(o.err, 800));
		tdrv_out_free(&o);
	}
	if (pagemap_flags(t, "stale-2", pid, flags, &n))
		tdrv_ok(&t->c, any_parent(flags, n), "stale-2 has no PE_PARENT entries");
	if (pagemap_flags(t, "stale-3", pid, flags, &n))
		tdrv_ok(&t->c, !any_parent(flags, n),
			"stale-3 trusted tracking state that belongs to stale-2");
	round_run(t, &o, "dump", pid, dirs[3], final);
	tdrv_ok(&t->c, o.status == 0, "stale final dump failed: %s", tdrv_tail(o.err, 800));
	tdrv_out_free(&o);
	snprintf(final_dir, sizeof(final_dir), "%s/%s", t->tmp, dirs[3]);
	vst = chain_verify(t, final_dir, pid, work, &o);
	tdrv_ok(&t->c, vst == 0, "stale chain-verify: %s", tdrv_tail(o.out, 800));
	tdrv_out_free(&o);
	check_images(t, dirs, 4);
	tdrv_ok(&t->c, uffd_ranges(pid, ranges, sizeof(ranges)) == 0 && keepers(k) == 0,
		"stale: tracking left behind");
	kill(pid, SIGCONT);
	tdrv_ok(&t->c, !strcmp(verify_self(t, pid, work, buf, sizeof(buf)), "ok"),
		"stale: the task's own check failed: %s", buf);
}

/* A task with a userfaultfd of its own is refused, untouched. */
static void own_uffd_refused(struct ttrack *t)
{
	char work[600], path[800], buf[256];
	pid_t pid, k[MAX_KEEPERS];
	struct tdrv_out o;
	struct snap s0;

	pid = start(t, work, sizeof(work), "uffd", "--mib", "1", "--writers", "1", "--uffd", NULL);
	snap_take(&s0, pid);
	round_run(t, &o, "pre-dump", pid, "uffd-1", NULL);
	tdrv_ok(&t->c, o.status == 1, "pre-dump of a task with its own userfaultfd exits %d",
		o.status);
	tdrv_ok(&t->c, strstr(o.err, "userfaultfd"), "the refusal does not say userfaultfd: %s",
		tdrv_tail(o.err, 300));
	tdrv_out_free(&o);
	snprintf(path, sizeof(path), "%s/uffd-1/inventory.img", t->tmp);
	tdrv_ok(&t->c, !tdrv_exists(path), "the refused pre-dump left inventory.img");
	tdrv_ok(&t->c, running(pid) && same_now(pid, "fds", s0.fds) &&
		same_now(pid, "maps", s0.maps), "the refused task changed");
	tdrv_ok(&t->c, keepers(k) == 0, "a keeper was started for a refused task");
	tdrv_ok(&t->c, !strcmp(verify_self(t, pid, work, buf, sizeof(buf)), "ok"),
		"the refused task's own check failed: %s", buf);
	snap_free(&s0);
}

int main(int argc, char **argv)
{
	struct ttrack t = { 0 };
	const char *tmp = getenv("TMPDIR");
	uint64_t *flags;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: test-track CRISP TRACK_TARGET CHAIN_VERIFY CRISP_IMG [CRIT]\n");
		return 2;
	}
	t.crisp = argv[1];
	t.target = argv[2];
	t.verifier = argv[3];
	t.tool = argv[4];
	t.crit = argc > 5 ? argv[5] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	flags = malloc(MAX_FLAGS * sizeof(*flags));
	if (!flags)
		return 2;
	if (tdrv_subreaper()) {
		printf("cannot become a subreaper\n");
		return 2;
	}
	snprintf(t.tmp, sizeof(t.tmp), "%s/crisp-track-test-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(t.tmp)) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	/* threads writing concurrently */
	chain(&t, "threads", "16", "4", false, flags);
	/* a task that maps and unmaps regions between (and during) rounds */
	chain(&t, "churn", "8", "2", true, flags);
	stale_parent(&t, flags);
	own_uffd_refused(&t);
	cleanup(&t);
	free(flags);
	return tdrv_summary(&t.c, "test-track");
}
