/* bench_files — what collecting a task's fds costs inside the freeze
 * (files_dump_task: readlink, pidfd_getfd, fstat, fdinfo, kcmp dedupe, the
 * kinds' collection) and the refusal check before it (files_check_task),
 * on a child holding N fds: regular files, pipe ends and eventfds. Items are
 * fds, so the rate is fds per second.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "files.h"

/* A child with about @n fds (half files, a quarter pipe ends, a quarter
 * eventfds), stopped in pause(); its pid, or -1. */
static pid_t bench_files_child(int n, const char *path)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct rlimit rl;

		close(ready[0]);
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		for (int i = 0; i < n / 2; i++)
			open(path, O_RDWR);
		for (int i = 0; i < n / 8; i++) {
			int p[2];

			if (pipe(p))
				break;
		}
		for (int i = 0; i < n / 4; i++)
			eventfd((unsigned int)i, 0);
		(void)!write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static void bench_files_run(struct bench_state *st, bool check)
{
	int n = (int)bench_arg(st, 0);
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char path[512];
	int tmp;
	pid_t pid;
	int err = 0;

	snprintf(path, sizeof(path), "%s/crisp-bench-files-XXXXXX", dir);
	tmp = mkstemp(path);
	pid = tmp >= 0 ? bench_files_child(n, path) : -1;

	if (tmp >= 0)
		close(tmp);
	if (pid < 0) {
		bench_fail(st, "cannot start the child with its fds");
		goto out;
	}
	while (bench_keep_running(st)) {
		struct files_dump fd;

		if (check) {
			err = files_check_task(NULL, pid);
		} else {
			files_dump_init(&fd, NULL);
			err = files_dump_task(&fd, pid);
			files_dump_free(&fd);
		}
		if (err)
			break;
	}
	if (err)
		bench_fail(st, "collecting the child's fds failed");
	bench_set_items(st, bench_iterations(st) * n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	if (tmp >= 0)
		unlink(path);
}

static void bench_files_collect(struct bench_state *st)
{
	bench_files_run(st, false);
}
BENCH_REGISTER("files/collect", bench_files_collect, 16, 256, 1024);

static void bench_files_check(struct bench_state *st)
{
	bench_files_run(st, true);
}
BENCH_REGISTER("files/check", bench_files_check, 16, 256, 1024);
