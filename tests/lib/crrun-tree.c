/* crrun-tree — driver steps for scenarios with process trees:
 *   images        the newest image dir passes `crisp-img check`, and crit
 *                 decodes every CRIU image in it (pages-*.img are raw,
 *                 guards-*.img crisp's own)
 *   squat FILE    a task of the driver's takes the PID written in the work
 *                 dir's FILE (clone3 with set_tid), so a restore must fail
 *   unsquat       those tasks go again
 *   hide FILE     the work dir's FILE is renamed away (FILE.hidden) ...
 *   unhide FILE   ... and back
 * Runs tools only; the scenario's own state is not touched.
 */
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crrun.h"

static int images_run(struct run *r, char **argv, const char *what)
{
	char out[700];
	int st;

	snprintf(out, sizeof(out), "%s/images.out", r->dir);
	st = run_cmd(r, argv, out);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say("images: %s failed", what);
		show_tail(out, 20);
		return -1;
	}
	return 0;
}

int step_images(struct run *r)
{
	char dir[700], path[1000];
	struct dirent *de;
	int n = 0, ret = 0;
	DIR *d;

	if (!r->img_tool || !r->crit || !r->images) {
		say("images: needs --img-tool, --crit and an image dir made before");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/img-%d", r->dir, r->images);
	if (images_run(r, (char *[]){ (char *)r->img_tool, "check", dir, NULL }, "crisp-img check"))
		return -1;
	d = opendir(dir);
	if (!d) {
		say("images: cannot list %s", dir);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		/* raw pages, and crisp's own kind (proto/EXTENSIONS.md), which
		 * crit does not know: crisp-img check covered them */
		if (len < 5 || strcmp(de->d_name + len - 4, ".img") || !strncmp(de->d_name, "pages-", 6) ||
		    !strncmp(de->d_name, "guards-", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = images_run(r, (char *[]){ (char *)r->crit, "decode", "--pretty", "-i", path, NULL },
				 de->d_name);
		n++;
	}
	closedir(d);
	if (!ret)
		say("images: crisp-img check passed, crit decoded %d images of img-%d", n, r->images);
	return ret;
}

int step_squat(struct run *r, char *rest)
{
	char path[1000], *name = strtok(rest, " \t");
	struct clone_args ca;
	FILE *f;
	int pid = 0;
	long ret;

	if (!name || r->nsquat == CRRUN_MAX_SQUAT) {
		say("squat: needs a file name (and at most %d squatters)", CRRUN_MAX_SQUAT);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 1) {
		say("squat: no pid in %s", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&pid;
	ca.set_tid_size = 1;
	ret = syscall(SYS_clone3, &ca, sizeof(ca));
	if (ret == 0) {
		for (;;)
			pause();
	}
	if (ret < 0) {
		say("squat: cannot take PID %d: %s", pid, strerror(errno));
		return -1;
	}
	r->squat[r->nsquat++] = (pid_t)ret;
	say("squat: PID %d is taken", pid);
	return 0;
}

int step_unsquat(struct run *r)
{
	for (int i = 0; i < r->nsquat; i++) {
		kill(r->squat[i], SIGKILL);
		waitpid(r->squat[i], NULL, 0);
	}
	r->nsquat = 0;
	return 0;
}

int step_hide(struct run *r, char *rest, bool hide)
{
	char *name = strtok(rest, " \t"), path[1000], hidden[1100];

	if (!name) {
		say("%s: needs a file name", hide ? "hide" : "unhide");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	snprintf(hidden, sizeof(hidden), "%s.hidden", path);
	if (hide ? rename(path, hidden) : rename(hidden, path)) {
		say("%s %s: %s", hide ? "hide" : "unhide", name, strerror(errno));
		return -1;
	}
	return 0;
}
