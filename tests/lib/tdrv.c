/* tdrv — see tdrv.h: counted checks, running a command with its output
 * captured, starting/reaping tasks under a subreaper (and a driver's
 * table of the targets it started, their ready and verdict files). Nothing here
 * knows what a test checks; files and JSON live in tdrv-files.c and
 * tdrv-json.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tdrv.h"

bool tdrv_ok(struct tdrv_checks *c, bool cond, const char *fmt, ...)
{
	va_list ap;

	c->checks++;
	if (cond)
		return true;
	c->failures++;
	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	return false;
}

int tdrv_summary(const struct tdrv_checks *c, const char *name)
{
	printf("%s: %u checks, %u failed\n", name, c->checks, c->failures);
	return c->failures ? 1 : 0;
}

const char *tdrv_tail(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > max ? s + n - max : s;
}

/* A growing, NUL-terminated byte buffer for one output stream. */
struct sink {
	char *buf;
	size_t len, cap;
};

static int sink_read(struct sink *s, int fd)
{
	ssize_t n;

	if (s->cap - s->len < 4097) {
		size_t cap = s->cap ? s->cap * 2 : 16384;
		char *b = realloc(s->buf, cap);

		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	n = read(fd, s->buf + s->len, s->cap - s->len - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return n > 0;		/* 0: end of stream */
}

static void child_exec(int in_fd, int out_fd, int err_fd, char *const argv[])
{
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	_exit(127);
}

/* Feeds @in to fd @pfd[0] and collects fds pfd[1], pfd[2] until all end. */
static int pump(struct pollfd pfd[3], const char *in, size_t in_len,
		struct sink *out, struct sink *err)
{
	size_t done = 0;
	int ret = 0;

	while (pfd[0].fd >= 0 || pfd[1].fd >= 0 || pfd[2].fd >= 0) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].fd >= 0 && pfd[0].revents) {
			ssize_t n = write(pfd[0].fd, in + done, in_len - done);

			if (n > 0)
				done += (size_t)n;
			if ((n < 0 && errno != EINTR && errno != EAGAIN) || done == in_len) {
				close(pfd[0].fd);	/* EPIPE: it stopped reading */
				pfd[0].fd = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			ret = sink_read(i == 1 ? out : err, pfd[i].fd);
			if (ret <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

int tdrv_run(struct tdrv_out *o, const char *in, size_t in_len, bool merge_err,
	     char *const argv[])
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	struct sink out = { 0 }, err = { 0 };
	struct pollfd pfd[3];
	int ret = 0, status;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	signal(SIGPIPE, SIG_IGN);	/* a child may stop reading its stdin */
	if (in) {
		if (pipe2(pin, O_CLOEXEC))
			ret = -errno;
	} else {
		pin[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (pin[0] < 0)
			ret = -errno;
	}
	if (!ret && pipe2(pout, O_CLOEXEC))
		ret = -errno;
	if (!ret && !merge_err && pipe2(perr, O_CLOEXEC))
		ret = -errno;
	if (ret)
		goto out;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (!pid)
		child_exec(pin[0], pout[1], merge_err ? pout[1] : perr[1], argv);
	close(pin[0]);
	close(pout[1]);
	pin[0] = pout[1] = -1;
	if (!merge_err) {
		close(perr[1]);
		perr[1] = -1;
	}
	pfd[0] = (struct pollfd){ .fd = in ? pin[1] : -1, .events = POLLOUT };
	pfd[1] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = merge_err ? -1 : perr[0], .events = POLLIN };
	if (in && !in_len) {
		close(pin[1]);
		pfd[0].fd = -1;
	}
	pin[1] = pout[0] = perr[0] = -1;	/* pump() owns and closes them */
	ret = pump(pfd, in, in_len, &out, &err);
	for (int i = 0; i < 3; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = ret ? ret : -errno;
			break;
		}
	}
	if (!ret)
		o->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	close_pair(pin);
	close_pair(pout);
	close_pair(perr);
	if (!ret && (!out.buf && !(out.buf = calloc(1, 1))))
		ret = -ENOMEM;
	if (!ret && (!err.buf && !(err.buf = calloc(1, 1))))
		ret = -ENOMEM;
	if (ret) {
		free(out.buf);
		free(err.buf);
		o->status = ret;
		o->out = calloc(1, 1);	/* keep strstr() on it safe */
		o->err = calloc(1, 1);
		return ret;
	}
	o->out = out.buf;
	o->out_len = out.len;
	o->err = err.buf;
	o->err_len = err.len;
	return 0;
}

void tdrv_out_free(struct tdrv_out *o)
{
	free(o->out);
	free(o->err);
	memset(o, 0, sizeof(*o));
}

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* A memory file for one output stream of a background job. */
static int job_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void job_close(struct tdrv_job *j)
{
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	j->out_fd = j->err_fd = -1;
	j->pid = 0;
}

int tdrv_run_start(struct tdrv_job *j, bool merge_err, char *const argv[])
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), ret = 0;

	j->pid = 0;
	j->out_fd = job_memfd("tdrv-out");
	j->err_fd = merge_err ? -1 : job_memfd("tdrv-err");
	if (null < 0)
		ret = -errno;
	else if (j->out_fd < 0)
		ret = j->out_fd;
	else if (!merge_err && j->err_fd < 0)
		ret = j->err_fd;
	if (!ret) {
		j->pid = fork();
		if (!j->pid)
			child_exec(null, j->out_fd, merge_err ? j->out_fd : j->err_fd, argv);
		if (j->pid < 0)
			ret = -errno;
	}
	if (null >= 0)
		close(null);
	if (ret)
		job_close(j);	/* a negative fd there is an -errno: not closed */
	return ret;
}

/* The whole content of memfd @fd (through its /proc name: offset 0). */
static int job_collect(int fd, char **buf, size_t *len)
{
	char path[64];

	if (fd < 0) {
		*len = 0;
		*buf = calloc(1, 1);
		return *buf ? 0 : -ENOMEM;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return tdrv_read_file(path, buf, len);
}

int tdrv_run_wait(struct tdrv_job *j, struct tdrv_out *o, unsigned int timeout_ms)
{
	int status = 0, ret = 0, r;
	unsigned int waited = 0;
	pid_t got;

	memset(o, 0, sizeof(*o));
	for (;;) {
		got = waitpid(j->pid, &status, WNOHANG);
		if (got == j->pid)
			break;
		if (got < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (got == 0 && waited >= timeout_ms) {
			kill(j->pid, SIGKILL);
			while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
				;
			ret = -ETIMEDOUT;
			break;
		}
		nap_ms(5);
		waited += 5;
	}
	o->status = ret && ret != -ETIMEDOUT ? ret :
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r = job_collect(j->out_fd, &o->out, &o->out_len);
	if (!r)
		r = job_collect(j->err_fd, &o->err, &o->err_len);
	if (r) {
		free(o->out);
		free(o->err);
		o->out = calloc(1, 1);
		o->err = calloc(1, 1);
		o->out_len = o->err_len = 0;
		ret = ret ? ret : r;
	}
	job_close(j);
	return ret;
}

int tdrv_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) ? -errno : 0;
}

pid_t tdrv_spawn(char *const argv[])
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid;

	if (null < 0)
		return -errno;
	pid = fork();
	if (!pid) {
		setsid();	/* a tree of its own, as crisp dump wants one */
		child_exec(null, null, null, argv);
	}
	if (pid < 0)
		pid = -errno;
	close(null);
	return pid;
}

bool tdrv_wait_file(const char *path, pid_t pid, unsigned int tries)
{
	for (unsigned int i = 0; i < tries; i++) {
		if (!access(path, F_OK))
			return true;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		nap_ms(5);
	}
	return false;
}

void tdrv_kill_reap_all(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
}

void tdrv_reap_exited(void)
{
	for (;;) {
		pid_t got = waitpid(-1, NULL, WNOHANG | __WALL);

		if (got <= 0 && !(got < 0 && errno == EINTR))
			return;
	}
}

char tdrv_task_state(pid_t pid)
{
	char path[64], buf[1024], *p;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')');	/* comm may hold ')' itself */
	if (!p || p[1] != ' ' || !p[2])
		return 0;
	return p[2];
}

void tdrv_forget(pid_t *started, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (started[i] == pid)
			started[i] = 0;
}

bool tdrv_remember(pid_t *started, size_t n, pid_t pid)
{
	tdrv_forget(started, n, pid);
	for (size_t i = 0; i < n; i++)
		if (!started[i]) {
			started[i] = pid;
			return true;
		}
	return false;
}

#define TDRV_TARGET_ARGV 16	/* the target, its dir, 13 options, NULL */

pid_t tdrv_start_target(pid_t *started, size_t n, const char *target, const char *tmp,
			const char *name, char *work, size_t size, va_list ap)
{
	char *argv[TDRV_TARGET_ARGV] = { (char *)target, work }, ready[PATH_MAX + 8];
	bool room = false;
	int argc = 2;
	pid_t pid;

	snprintf(work, size, "%s/%s", tmp, name);
	mkdir(work, 0755);
	while (argc < TDRV_TARGET_ARGV - 1 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	argv[argc] = NULL;
	for (size_t i = 0; i < n && !room; i++)
		room = !started[i];
	if (!room)
		return -ENOSPC;
	pid = tdrv_spawn(argv);
	if (pid < 0)
		return pid;
	tdrv_remember(started, n, pid);
	snprintf(ready, sizeof(ready), "%s/ready", work);
	if (!tdrv_wait_file(ready, pid, 2000))
		return -ETIMEDOUT;
	return pid;
}

const char *tdrv_verdict(pid_t pid, const char *work, char *buf, size_t size)
{
	char path[PATH_MAX + 8], *text;
	size_t len;

	if (pid > 0)
		kill(pid, SIGUSR1);
	snprintf(path, sizeof(path), "%s/verdict", work);
	if (!tdrv_wait_file(path, 0, 6000) && pid > 0)
		kill(pid, SIGKILL);	/* no verdict in 30 s: do not hang */
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (tdrv_read_file(path, &text, &len)) {
		snprintf(buf, size, "no verdict");
		return buf;
	}
	snprintf(buf, size, "%s", text);
	free(text);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}
