/* tree-kids.h — helpers for scenarios with child tasks: a child closes the
 * fds it inherited, dies with its parent, says it is ready through a file in
 * the work dir, waits for SIGUSR1, and reports its own checks through a file
 * the root reads back. Header-only; the root keeps the crtest protocol.
 */
#ifndef CRISP_TREE_KIDS_H
#define CRISP_TREE_KIDS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crtest.h"

static volatile sig_atomic_t kid_go;
static char kid_report_text[512];

static void kid_on_go(int sig)
{
	(void)sig;
	kid_go = 1;
}

/* First thing in a new child: only fd @keep (-1: none) stays open, dies
 * with its parent, SIGUSR1 = go. */
static inline void kid_start_keeping(int keep)
{
	struct sigaction sa;

	if (keep > 0)
		syscall(SYS_close_range, 0, (unsigned int)keep - 1, 0);
	syscall(SYS_close_range, keep >= 0 ? (unsigned int)keep + 1 : 0, ~0u, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kid_on_go;
	sa.sa_flags = SA_RESTART;	/* pause() still returns */
	sigaction(SIGUSR1, &sa, NULL);
}

/* First thing in a new child: no fds, dies with its parent, SIGUSR1 = go. */
static inline void kid_start(void)
{
	kid_start_keeping(-1);
}

static inline int kid_write(const char *name, const char *text)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", crt_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* Reads file @name of the work dir into @buf; 0 or -errno. */
static inline int kid_read(const char *name, char *buf, size_t len)
{
	char path[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", crt_dir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

static inline void kid_ready(const char *name)
{
	char f[64];

	snprintf(f, sizeof(f), "ready-%.48s", name);
	kid_write(f, "1");
}

/* The root waits (up to a minute) until every child in @names said ready. */
static inline int kid_wait_ready(const char *const *names, size_t n)
{
	for (int tries = 0; tries < 60000; tries++) {
		size_t ok = 0;
		char f[64], b[8];

		for (size_t i = 0; i < n; i++) {
			snprintf(f, sizeof(f), "ready-%.48s", names[i]);
			ok += kid_read(f, b, sizeof(b)) == 0;
		}
		if (ok == n)
			return 0;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return -ETIMEDOUT;
}

static inline void kid_wait_go(void)
{
	while (!kid_go)
		pause();
}

/* Records a failed check of this child (the first one is kept). */
static inline void __attribute__((format(printf, 1, 2))) kid_fail(const char *fmt, ...)
{
	va_list ap;

	if (kid_report_text[0])
		return;
	va_start(ap, fmt);
	vsnprintf(kid_report_text, sizeof(kid_report_text), fmt, ap);
	va_end(ap);
}

/* Writes "ok" or the first failure as report-@name, then exits. */
static inline __attribute__((noreturn)) void kid_report(const char *name)
{
	char f[64];

	snprintf(f, sizeof(f), "report-%.48s", name);
	kid_write(f, kid_report_text[0] ? kid_report_text : "ok");
	_exit(0);
}

/* The root: report-@name must say ok. */
static inline void kid_check_report(const char *name)
{
	char f[64], buf[512];

	snprintf(f, sizeof(f), "report-%.48s", name);
	if (kid_read(f, buf, sizeof(buf)))
		crt_fail("child %s wrote no report", name);
	else if (strcmp(buf, "ok"))
		crt_fail("child %s: %s", name, buf);
}

/* The root, verifying: child @kid goes (SIGUSR1) and is reaped, then the
 * reports of @names (it and the tasks it waited for) must say ok. */
static inline void kid_go_and_check(pid_t kid, const char *const *names, size_t n)
{
	int st;

	kill(kid, SIGUSR1);
	if (waitpid(kid, &st, 0) != kid)
		crt_fail("cannot wait for the child %d", (int)kid);
	for (size_t i = 0; i < n; i++)
		kid_check_report(names[i]);
}

#endif
