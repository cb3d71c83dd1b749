/* crrun-proc — crtest-run's dealings with processes: running commands with
 * a deadline, waiting, and killing and reaping every descendant (the driver
 * is a subreaper). Knows nothing of scenarios or steps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crrun.h"

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("crtest: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

double deadline_s(const struct run *r)
{
	return (double)r->deadline.tv_sec + r->deadline.tv_nsec / 1e9;
}

void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/*
 * Waits for @pid to end, until the run's deadline. Returns 0 with its wait
 * status, -ETIMEDOUT, or -errno (ECHILD: not ours to wait for).
 */
int wait_pid(const struct run *r, pid_t pid, int *status)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG | __WALL);

		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (now_s() > deadline_s(r))
			return -ETIMEDOUT;
		nap_ms(2);
	}
}

void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status %#x", st);
}

/* Prints the last @lines lines of @path to stderr, indented. */
void show_tail(const char *path, int lines)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	off_t size;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = buf + n;
	for (int seen = 0; p > buf; p--)
		if (p[-1] == '\n' && ++seen > lines)
			break;
	fprintf(stderr, "---- %s (end) ----\n%s%s-----\n", path, p,
		buf[n - 1] == '\n' ? "" : "\n");
}

/* ------------------------------------------------------------ processes */

/* Adds the children of every thread of @pid to @out (up to @max). */
static size_t children_of(pid_t pid, pid_t *out, size_t n, size_t max)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d)) && n < max) {
		char cpath[384];
		FILE *f;
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s/children", path, de->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (n < max && fscanf(f, "%d", &child) == 1)
			out[n++] = child;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Every descendant of this process, breadth first. */
static size_t descendants(pid_t *out, size_t max)
{
	size_t n = children_of(getpid(), out, 0, max);

	for (size_t i = 0; i < n; i++)
		n = children_of(out[i], out, n, max);
	return n;
}

size_t count_descendants(void)
{
	pid_t pids[4096];

	/* exited orphans (a crisp-track keeper whose task died) are reaped */
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;

	return descendants(pids, sizeof(pids) / sizeof(pids[0]));
}

static bool pid_in(pid_t pid, const pid_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/* Our descendants outside @root's tree (say, a daemon a scenario left),
 * into @out; their number. */
size_t others_than_tree(pid_t root, pid_t *out, size_t max)
{
	static pid_t all[4096], tree[4096];
	size_t na = descendants(all, 4096), nt = 0, n = 0;

	tree[nt++] = root;
	for (size_t i = 0; i < nt; i++)
		nt = children_of(tree[i], tree, nt, 4096);
	for (size_t i = 0; i < na && n < max; i++)
		if (!pid_in(all[i], tree, nt))
			out[n++] = all[i];
	return n;
}

/*
 * Kills and reaps every descendant but @keep (tasks that were never part
 * of a dumped tree). Returns how many others are still there after 10 s.
 */
size_t kill_all_but(const pid_t *keep, size_t nkeep)
{
	static pid_t pids[4096];
	double until = now_s() + 10;
	size_t left;

	for (;;) {
		size_t n = descendants(pids, 4096);

		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (pid_in(pids[i], keep, nkeep))
				continue;
			kill(pids[i], SIGKILL);
			left++;
		}
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		if (!left || now_s() > until)
			break;
		nap_ms(2);
	}
	return left;
}

/*
 * Kills and reaps every descendant, including orphans reparented to us.
 * Returns the number still left afterwards (0 when all is clean).
 */
size_t kill_everything(void)
{
	pid_t pids[4096];
	double until = now_s() + 10;
	size_t n;

	for (;;) {
		n = descendants(pids, sizeof(pids) / sizeof(pids[0]));
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		if (!n || now_s() > until)
			break;
		nap_ms(2);
	}
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
	return descendants(pids, sizeof(pids) / sizeof(pids[0]));
}

/* A task is running (not gone, not a zombie, not stopped). */
bool task_running(pid_t pid, char *state_out)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	*state_out = '?';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return false;
	*state_out = p[2];
	return strchr("RSD", p[2]) != NULL;
}

/* Runs @argv with stdout and stderr into @out_path; returns its wait status
 * or -errno (-ETIMEDOUT after the deadline: then it has been killed). */
int run_cmd(const struct run *r, char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int st, err;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > 2)
				close(fd);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	err = wait_pid(r, pid, &st);
	if (err == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		return err;
	}
	return err ? err : st;
}

void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[1024];

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}
