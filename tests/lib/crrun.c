/* crtest-run — the driver of crisp's checkpoint/restore scenarios.
 *
 * Runs one scenario program under a subreaper (this machine's PID 1 never
 * reaps orphans), waits until it is ready, runs the real crisp binary for
 * each step, asks the scenario to verify itself, and reports its verdict.
 * Whatever happens, every process it started (and every orphan they left)
 * is killed and reaped before it exits; it checks that none is left.
 *
 *   crtest-run --crisp PATH [--decoder PATH] [--steps "S1; S2"]
 *              [--expect-fail TEXT] [--damage]
 *              [--timeout SEC] [--keep] -- SCENARIO [ARGS...]
 *
 * --steps replaces the scenario's declared steps; --expect-fail TEXT makes
 * verification pass only when it fails with a message containing TEXT;
 * --damage runs the scenario's self-check of its verification (crtest.h:
 * CRT_DAMAGE_FAILS). Step options starting with '@' are the driver's own
 * (crtest.h); the mounts they need live in a private mount namespace.
 *
 * Exit status: 0 pass, 1 fail, 2 usage or set-up error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crtest.h"
#include "crrun.h"

/* ------------------------------------------------------------ scenario */

static int describe(struct run *r)
{
	char out[600];
	char line[1024];
	char *argv[] = { (char *)r->scenario, "--crtest-describe", NULL };
	FILE *f;
	int st;

	snprintf(out, sizeof(out), "%s/describe.out", r->dir);
	st = run_cmd(r, argv, out);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say("%s --crtest-describe failed", r->scenario);
		show_tail(out, 10);
		return -1;
	}
	f = fopen(out, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "steps: ", 7) && !r->steps[0])
			snprintf(r->steps, sizeof(r->steps), "%s", line + 7);
		else if (!strncmp(line, "expect-fail: ", 13) && !r->expect_fail_given)
			snprintf(r->expect_fail, sizeof(r->expect_fail), "%s", line + 13);
		else if (!strncmp(line, "damage-fails: ", 14))
			snprintf(r->damage_fails, sizeof(r->damage_fails), "%s", line + 14);
	}
	fclose(f);
	return 0;
}

static int start_scenario(struct run *r)
{
	char ready[600], out[600];
	int st;

	snprintf(ready, sizeof(ready), "%s/ready", r->dir);
	snprintf(out, sizeof(out), "%s/scenario.out", r->dir);
	r->pid = fork();
	if (r->pid < 0) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	r->last_pid = r->pid;
	if (r->pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDONLY);

		/* a job of the caller's session (steps with --shell-job) keeps
		 * the driver's; every other scenario leads a session of its own */
		if (!strstr(r->steps, "--shell-job"))
			setsid();
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
		if (null > 2)
			close(null);
		/* fds the driver inherited are not the scenario's state */
		close_range(3, ~0u, 0);
		setenv("CRTEST_DIR", r->dir, 1);
		if (r->damage)
			setenv("CRTEST_SELFTEST_DAMAGE", "1", 1);
		else
			unsetenv("CRTEST_SELFTEST_DAMAGE");
		execv(r->scenario, r->scenario_argv);
		fprintf(stderr, "exec %s: %s\n", r->scenario, strerror(errno));
		_exit(127);
	}
	while (access(ready, F_OK)) {
		if (waitpid(r->pid, &st, WNOHANG | __WALL) == r->pid) {
			char how[96];

			describe_status(st, how, sizeof(how));
			say("the scenario %s before it was ready", how);
			show_tail(out, 20);
			r->pid = 0;
			return -1;
		}
		if (now_s() > deadline_s(r)) {
			say("the scenario did not become ready in time");
			return -1;
		}
		nap_ms(2);
	}
	return 0;
}

/*
 * Splits @s on blanks into @argv starting at @argc; returns the new count,
 * or -1 for an unknown '@' option. '@' options go into @o, not into @argv.
 */
static int split_args(char *s, char **argv, int argc, struct step_opts *o)
{
	for (char *tok = strtok(s, " \t"); tok && argc < MAX_ARGS - 1; tok = strtok(NULL, " \t")) {
		if (tok[0] != '@') {
			argv[argc++] = tok;
		} else if (!strcmp(tok, "@readonly")) {
			o->readonly = true;
		} else if (!strncmp(tok, "@tmpfs=", 7) && tok[7]) {
			o->tmpfs_size = tok + 7;
		} else if (!strncmp(tok, "@says=", 6) && tok[6]) {
			o->says = tok + 6;
		} else {
			say("unknown step option '%s'", tok);
			return -1;
		}
	}
	return argc;
}

/* True when the file @path contains @text. */
static bool file_contains(const char *path, const char *text)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	return memmem(buf, (size_t)n, text, strlen(text)) != NULL;
}

/*
 * Does crisp's output (@out) or its log (@log) contain @text? The log is
 * read through the decoder when there is one, as text otherwise.
 */
static bool crisp_says(struct run *r, const char *out, const char *log, const char *text)
{
	char decoded[640];

	if (file_contains(out, text))
		return true;
	if (!r->decoder)
		return file_contains(log, text);
	snprintf(decoded, sizeof(decoded), "%s.txt", log);
	char *argv[] = { (char *)r->decoder, (char *)log, NULL };
	int st = run_cmd(r, argv, decoded);

	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say("cannot decode %s with %s", log, r->decoder);
		return false;
	}
	return file_contains(decoded, text);
}

static bool has_arg(char **argv, int argc, const char *a, const char *b)
{
	for (int i = 0; i < argc; i++)
		if ((a && !strcmp(argv[i], a)) || (b && !strcmp(argv[i], b)))
			return true;
	return false;
}

/* Runs one crisp command; @must_fail inverts the expectation. */
/* The nice of the driver's session group (crisp's, which crisp lowers
 * while the tree runs and must give back), or INT_MIN without autogroup.
 * meson starts every test in a session of its own, so no other test's
 * crisp shares the group. */
static int session_group_nice(void)
{
	FILE *f = fopen("/proc/self/autogroup", "re");
	unsigned long long id;
	int nice;

	if (!f)
		return INT_MIN;
	if (fscanf(f, "/autogroup-%llu nice %d", &id, &nice) != 2)
		nice = INT_MIN;
	fclose(f);
	return nice;
}

static int step_crisp(struct run *r, const char *cmd, char *rest, bool must_fail)
{
	char *argv[MAX_ARGS];
	char pidbuf[16], dirbuf[600], prevbuf[32], logbuf[600], outbuf[600], pidfile[600];
	char how[96];
	int argc = 0, st;
	struct step_opts opts = { 0 };
	bool is_dump = !strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump");
	bool is_restore = !strcmp(cmd, "restore");

	argv[argc++] = (char *)r->crisp;
	argv[argc++] = (char *)cmd;
	r->nstep++;
	snprintf(logbuf, sizeof(logbuf), "%s/step%d-%s.log", r->dir, r->nstep, cmd);
	snprintf(outbuf, sizeof(outbuf), "%s/step%d-%s.out", r->dir, r->nstep, cmd);
	if (is_dump) {
		if (!r->pid) {
			say("step %d: nothing to %s: the task is gone", r->nstep, cmd);
			return -1;
		}
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)r->pid);
		r->images++;
		snprintf(dirbuf, sizeof(dirbuf), "%s/img-%d", r->dir, r->images);
		if (mkdir(dirbuf, 0755) && errno != EEXIST) {
			say("mkdir %s: %s", dirbuf, strerror(errno));
			return -1;
		}
		argv[argc++] = "-t";
		argv[argc++] = pidbuf;
		argv[argc++] = "-D";
		argv[argc++] = dirbuf;
		/* a pre-dump chains to whatever came before; a dump only to a
		 * pre-dump (a dump's images are no parent for the next task's) */
		if (r->images > 1 && !strstr(rest, "--prev-images-dir") &&
		    (!strcmp(cmd, "pre-dump") || r->last_predump)) {
			snprintf(prevbuf, sizeof(prevbuf), "../img-%d", r->images - 1);
			argv[argc++] = "--prev-images-dir";
			argv[argc++] = prevbuf;
		}
	} else if (is_restore) {
		snprintf(dirbuf, sizeof(dirbuf), "%s/img-%d", r->dir, r->images);
		snprintf(pidfile, sizeof(pidfile), "%s/restore.pid", r->dir);
		argv[argc++] = "-D";
		argv[argc++] = dirbuf;
		argv[argc++] = "-d";
		argv[argc++] = "--pidfile";
		argv[argc++] = pidfile;
	}
	if (is_dump || is_restore) {
		argv[argc++] = "-o";
		argv[argc++] = logbuf;
		argv[argc++] = "-v4";
	}
	int first_user = argc;
	argc = split_args(rest, argv, argc, &opts);
	if (argc < 0)
		return -1;
	argv[argc] = NULL;
	if ((opts.readonly || opts.tmpfs_size) && !is_dump) {
		say("step %d: @readonly and @tmpfs apply to dumps only", r->nstep);
		return -1;
	}
	if (is_dump && mount_images_dir(r, dirbuf, &opts))
		return -1;

	/* a dump that kills: its tree's orphans are ours to reap afterwards,
	 * with whatever the tree forked meanwhile; tasks of ours outside the
	 * tree (a daemon a scenario left) are not part of it */
	static pid_t others[4096];
	size_t nr_others = is_dump && r->pid ? others_than_tree(r->pid, others, 4096) : 0;

	int group_nice = session_group_nice();

	st = run_cmd(r, argv, outbuf);
	if (st >= 0 && session_group_nice() != group_nice) {
		say("step %d: crisp %s left its session group at nice %d (it was %d)", r->nstep, cmd,
		    session_group_nice(), group_nice);
		return -1;
	}
	if (st == -ETIMEDOUT) {
		say("step %d: crisp %s did not finish in time", r->nstep, cmd);
		return -1;
	}
	if (st < 0) {
		say("step %d: cannot run crisp: %s", r->nstep, strerror(-st));
		return -1;
	}
	describe_status(st, how, sizeof(how));
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;

	if (must_fail && WIFSIGNALED(st)) {
		/* a refusal is an error message and an exit status, never a crash */
		say("step %d: crisp %s %s: a crash is not an expected failure", r->nstep, cmd, how);
		show_tail(logbuf, 30);
		return -1;
	}

	if (ok == must_fail) {
		say("step %d: crisp %s %s, but it was expected to %s", r->nstep, cmd, how,
		    must_fail ? "fail" : "succeed");
		show_tail(outbuf, 20);
		show_tail(logbuf, 30);
		return -1;
	}
	say("step %d: crisp %s %s, as expected", r->nstep, cmd, how);
	if (opts.says && !crisp_says(r, outbuf, logbuf, opts.says)) {
		say("step %d: crisp %s did not say '%s' (in its output or log)", r->nstep, cmd,
		    opts.says);
		show_tail(outbuf, 20);
		show_tail(logbuf, 30);
		return -1;
	}

	if (is_dump)
		r->last_predump = !must_fail && !strcmp(cmd, "pre-dump");
	if (must_fail && is_restore && !r->pid && r->last_pid && kill(r->last_pid, 0) == 0) {
		say("step %d: the failed restore left a task with PID %d behind", r->nstep,
		    (int)r->last_pid);
		return -1;
	}
	if (must_fail && is_restore && !r->pid && count_descendants() != (size_t)r->nsquat) {
		say("step %d: the failed restore left %zu tasks behind", r->nstep,
		    count_descendants() - (size_t)r->nsquat);
		return -1;
	}
	if (must_fail) {
		char state;

		if (r->pid && !task_running(r->pid, &state)) {
			say("step %d: after the failed %s the task is no longer running (state %c)",
			    r->nstep, cmd, state);
			return -1;
		}
		return 0;
	}
	if (!strcmp(cmd, "dump") &&
	    !has_arg(argv + first_user, argc - first_user, "-R", "--leave-running") &&
	    !has_arg(argv + first_user, argc - first_user, "-s", "--leave-stopped")) {
		/* crisp killed the dumped task: reap it */
		if (wait_pid(r, r->pid, &st)) {
			say("step %d: the dumped task did not die after the dump", r->nstep);
			return -1;
		}
		r->pid = 0;
		/* and its descendants, orphans of ours now, with their PIDs */
		if (kill_all_but(others, nr_others)) {
			say("step %d: tasks of the dumped tree did not go away", r->nstep);
			return -1;
		}
	}
	if (is_restore) {
		FILE *f = fopen(pidfile, "re");
		int pid = 0;

		if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
			say("step %d: crisp restore wrote no pid file", r->nstep);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		r->pid = pid;
		r->last_pid = pid;
	}
	return 0;
}

static int step_verify(struct run *r)
{
	char verdict[600], text[1200] = "";
	int st, err;
	FILE *f;

	if (!r->pid) {
		say("verify: there is no task to verify");
		return -1;
	}
	snprintf(verdict, sizeof(verdict), "%s/verdict", r->dir);
	unlink(verdict);
	if (kill(r->pid, CRT_VERIFY_SIGNAL)) {
		say("verify: cannot signal task %d: %s", (int)r->pid, strerror(errno));
		return -1;
	}
	err = wait_pid(r, r->pid, &st);
	if (err) {
		say("verify: task %d did not finish verifying: %s", (int)r->pid, strerror(-err));
		return -1;
	}
	r->pid = 0;
	f = fopen(verdict, "re");
	if (f) {
		if (!fgets(text, sizeof(text), f))
			text[0] = '\0';
		fclose(f);
	}
	text[strcspn(text, "\n")] = '\0';
	char how[96];

	describe_status(st, how, sizeof(how));
	if (r->expect_fail[0]) {
		if (!strncmp(text, "FAIL: ", 6) && strstr(text, r->expect_fail)) {
			say("verify: the scenario failed as it must: %s", text);
			return 0;
		}
		say("verify: expected a failure containing '%s', got '%s' (task %s)",
		    r->expect_fail, text[0] ? text : "no verdict", how);
		return -1;
	}
	if (strcmp(text, "PASS") || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say("verify: %s (task %s)", text[0] ? text : "no verdict written", how);
		return -1;
	}
	say("verify: PASS");
	return 0;
}

static int step_kill(struct run *r)
{
	int st;

	if (!r->pid)
		return 0;
	kill(r->pid, SIGKILL);
	if (wait_pid(r, r->pid, &st)) {
		say("kill: task %d did not go away", (int)r->pid);
		return -1;
	}
	r->pid = 0;
	/* its descendants too (their PIDs are to be restored) */
	if (kill_everything()) {
		say("kill: tasks of the tree did not go away");
		return -1;
	}
	return 0;
}

static int run_steps(struct run *r)
{
	char steps[1024], *save = NULL;
	bool verified_last = false;

	snprintf(steps, sizeof(steps), "%s", r->steps);
	for (char *s = strtok_r(steps, ";", &save); s; s = strtok_r(NULL, ";", &save)) {
		bool must_fail = false;
		char *cmd, *rest;

		s += strspn(s, " \t");
		if (!*s)
			continue;
		if (*s == '!') {
			must_fail = true;
			s++;
		}
		cmd = s;
		rest = s + strcspn(s, " \t");
		if (*rest)
			*rest++ = '\0';
		verified_last = false;
		if (!strcmp(cmd, "verify")) {
			if (step_verify(r))
				return -1;
			verified_last = true;
		} else if (!strcmp(cmd, "spoil") || !strcmp(cmd, "unspoil")) {
			if ((cmd[0] == 's' ? step_spoil : step_unspoil)(r, rest))
				return -1;
		} else if (!strcmp(cmd, "grow") || !strcmp(cmd, "shrink")) {
			if (step_grow(r, rest, cmd[0] == 'g'))
				return -1;
		} else if (!strcmp(cmd, "evict")) {
			if (step_evict(r, rest))
				return -1;
		} else if (!strcmp(cmd, "kill")) {
			if (step_kill(r))
				return -1;
		} else if (!strcmp(cmd, "images")) {
			if (step_images(r))
				return -1;
		} else if (!strcmp(cmd, "squat") || !strcmp(cmd, "unsquat")) {
			if (cmd[0] == 's' ? step_squat(r, rest) : step_unsquat(r))
				return -1;
		} else if (!strcmp(cmd, "hide") || !strcmp(cmd, "unhide")) {
			if (step_hide(r, rest, cmd[0] == 'h'))
				return -1;
		} else if (!strcmp(cmd, "check") || !strcmp(cmd, "dump") ||
			   !strcmp(cmd, "pre-dump") || !strcmp(cmd, "restore")) {
			if (step_crisp(r, cmd, rest, must_fail))
				return -1;
		} else {
			say("unknown step '%s'", cmd);
			return -1;
		}
	}
	if (!verified_last)
		return step_verify(r);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: crtest-run --crisp PATH [--decoder PATH] [--steps STEPS]\n"
			"                  [--img-tool PATH] [--crit PATH]\n"
			"                  [--expect-fail TEXT] [--damage]\n"
			"                  [--timeout SEC] [--keep] -- SCENARIO [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct run r = { .timeout = 120 };
	const char *tmp = getenv("TMPDIR");
	const char *base;
	int i, ret;
	size_t left;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") && i + 1 < argc) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--crisp") && i + 1 < argc)
			r.crisp = argv[++i];
		else if (!strcmp(argv[i], "--decoder") && i + 1 < argc)
			r.decoder = argv[++i];
		else if (!strcmp(argv[i], "--img-tool") && i + 1 < argc)
			r.img_tool = argv[++i];
		else if (!strcmp(argv[i], "--crit") && i + 1 < argc)
			r.crit = argv[++i];
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			snprintf(r.steps, sizeof(r.steps), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			r.timeout = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--expect-fail") && i + 1 < argc) {
			snprintf(r.expect_fail, sizeof(r.expect_fail), "%s", argv[++i]);
			r.expect_fail_given = true;
		} else if (!strcmp(argv[i], "--damage"))
			r.damage = true;
		else if (!strcmp(argv[i], "--keep"))
			r.keep = true;
		else
			usage();
	}
	if (!r.crisp || i >= argc || !r.timeout)
		usage();
	r.scenario = argv[i];
	r.scenario_argv = argv + i;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		say("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &r.deadline);
	r.deadline.tv_sec += r.timeout;
	base = strrchr(r.scenario, '/');
	base = base ? base + 1 : r.scenario;
	snprintf(r.dir, sizeof(r.dir), "%s/crtest-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", base);
	if (!mkdtemp(r.dir)) {
		say("mkdtemp %s: %s", r.dir, strerror(errno));
		return 2;
	}

	ret = describe(&r);
	if (!ret && r.damage) {
		if (!r.damage_fails[0]) {
			say("%s declares no CRT_DAMAGE_FAILS: it cannot run with --damage", base);
			ret = -1;
		} else if (!r.expect_fail_given) {
			snprintf(r.expect_fail, sizeof(r.expect_fail), "%s", r.damage_fails);
		}
	}
	if (!ret && steps_need_mounts(r.steps))
		ret = private_mounts();
	if (!ret) {
		say("%s: steps \"%s\"%s in %s", base, r.steps,
		    r.damage ? " (damaged self-check)" : "", r.dir);
		ret = start_scenario(&r);
	}
	if (!ret)
		ret = run_steps(&r);

	left = kill_everything();
	unmount_all(&r);
	if (left) {
		say("%zu processes are still left after cleanup", left);
		ret = -1;
	}
	if (ret) {
		show_tail(strcat(r.dir, "/scenario.out"), 20);
		*strrchr(r.dir, '/') = '\0';
		say("FAIL: %s (files kept in %s)", base, r.dir);
		return 1;
	}
	say("PASS: %s", base);
	if (!r.keep)
		remove_tree(r.dir);
	return 0;
}
