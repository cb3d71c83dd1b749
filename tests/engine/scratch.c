/* scratch — scratch children under a subreaper (see scratch.h). */
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void scratch_init(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		exit(2);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
}

pid_t scratch_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	return pid;
}

void *scratch_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

char scratch_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512], *close;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid ? tid : pid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	close = strrchr(buf, ')');
	return close && close[1] == ' ' ? close[2] : '?';
}

bool scratch_wait_state(pid_t pid, const char *states)
{
	for (int i = 0; i < 10000; i++) {
		if (strchr(states, scratch_state(pid, 0)))
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

/* Our children, from /proc/self/task/TID/children of every thread. */
static int scratch_kill_children(void)
{
	char path[300], buf[4096];
	int killed = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		for (char *p = buf, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
				killed++;
		}
	}
	closedir(d);
	return killed;
}

void scratch_cleanup(void)
{
	/* killing a child orphans its children onto us: repeat until none */
	for (;;) {
		scratch_kill_children();
		pid_t r = waitpid(-1, NULL, __WALL);

		if (r < 0 && errno == ECHILD)
			break;
	}
}

char *scratch_maps_text(pid_t pid)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

bool scratch_moves(volatile long *counter)
{
	long c = *counter;

	for (int i = 0; i < 10000; i++) {
		if (*counter != c)
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}
