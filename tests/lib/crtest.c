/* crtest — scenario-side support (see crtest.h). Async-signal-safe where
 * it has to be; it keeps no fd open between calls. */
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((weak)) const char crt_steps[] = "verify";
__attribute__((weak)) const char crt_expect_fail[] = "";
__attribute__((weak)) const char crt_damage_fails[] = "";

static char crt_workdir[512];
static volatile sig_atomic_t crt_verify_asked;
static char crt_first_failure[1024];
static unsigned int crt_failures;

static void crt_on_verify(int sig)
{
	(void)sig;
	crt_verify_asked = 1;
}

/* Writes @text to @name in the work dir atomically (temp file + rename). */
static int crt_write_file(const char *name, const char *text)
{
	char tmp[600], path[600];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", crt_workdir, name);
	snprintf(path, sizeof(path), "%s/%s", crt_workdir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) ? -errno : 0;
}

void crt_init(int argc, char **argv)
{
	const char *dir = getenv("CRTEST_DIR");
	struct sigaction sa;

	if (argc > 1 && strcmp(argv[1], "--crtest-describe") == 0) {
		printf("steps: %s\n", crt_steps);
		if (crt_expect_fail[0])
			printf("expect-fail: %s\n", crt_expect_fail);
		if (crt_damage_fails[0])
			printf("damage-fails: %s\n", crt_damage_fails);
		exit(0);
	}
	if (!dir || strlen(dir) >= sizeof(crt_workdir)) {
		fprintf(stderr, "%s: run me through crtest-run (CRTEST_DIR is not set)\n", argv[0]);
		exit(2);
	}
	strcpy(crt_workdir, dir);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crt_on_verify;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(CRT_VERIFY_SIGNAL, &sa, NULL)) {
		perror("crtest: sigaction");
		exit(2);
	}
}

const char *crt_dir(void)
{
	return crt_workdir;
}

void crt_ready(void)
{
	char text[32];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	fflush(stdout);
	fflush(stderr);
	/* stdio points at the driver's files; keep none of them */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	if (null >= 0)
		close(null);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (crt_write_file("ready", text))
		_exit(3);
}

bool crt_verify_requested(void)
{
	return crt_verify_asked;
}

const volatile sig_atomic_t *crt_verify_flag(void)
{
	return &crt_verify_asked;
}

bool crt_damage(void)
{
	const char *v = getenv("CRTEST_SELFTEST_DAMAGE");

	return v && !strcmp(v, "1");
}

void crt_wait_verify(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!crt_verify_asked)
		sigsuspend(&none);
}

void crt_fail(const char *fmt, ...)
{
	va_list ap;

	if (!crt_failures++) {
		va_start(ap, fmt);
		vsnprintf(crt_first_failure, sizeof(crt_first_failure), fmt, ap);
		va_end(ap);
	}
}

int crt_finish(void)
{
	char text[1200];

	if (crt_failures)
		snprintf(text, sizeof(text), "FAIL: %s (%u failed checks)\n",
			 crt_first_failure, crt_failures);
	else
		snprintf(text, sizeof(text), "PASS\n");
	if (crt_write_file("verdict", text))
		return 3;
	return crt_failures ? 1 : 0;
}
