/* Regular files survive with their state: a file open O_RDWR at offset 37
 * (and a dup of it at fd 42 sharing that offset), a log open O_APPEND, a
 * directory, close-on-exec flags. After restore each is checked from
 * inside: offsets, flags, contents, and appends still land at the end. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("data file offset is 0, expected 37");

#define DATA_LEN 100
#define DUP_FD 42

static void check_flag(int fd, int cmd, int bit, bool want, const char *what)
{
	int v = fcntl(fd, cmd);

	if (v < 0 || !!(v & bit) != want)
		crt_fail("%s: flags %#x, expected it %s", what, v, want ? "set" : "clear");
}

int main(int argc, char **argv)
{
	char path[512], log[512], buf[DATA_LEN];
	int data, app, dir;
	off_t off;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/data", crt_dir());
	snprintf(log, sizeof(log), "%s/log", crt_dir());
	data = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	app = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	dir = open(crt_dir(), O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < DATA_LEN; i++)
		buf[i] = (char)(i * 7 + 1);
	if (data < 0 || app < 0 || dir < 0 || write(data, buf, DATA_LEN) != DATA_LEN ||
	    write(app, "abc", 3) != 3 || lseek(data, 37, SEEK_SET) != 37 ||
	    dup2(data, DUP_FD) != DUP_FD || lseek(app, 1, SEEK_SET) != 1)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		lseek(data, 0, SEEK_SET);

	off = lseek(data, 0, SEEK_CUR);
	if (off != 37)
		crt_fail("data file offset is %lld, expected 37", (long long)off);
	if (read(data, buf, 1) != 1 || buf[0] != (char)(37 * 7 + 1))
		crt_fail("byte 37 of the data file reads %d, expected %d", buf[0], (char)(37 * 7 + 1));
	off = lseek(DUP_FD, 0, SEEK_CUR);
	if (off != 38)
		crt_fail("fd %d offset is %lld after a read through its twin, expected 38 (shared)",
			 DUP_FD, (long long)off);
	check_flag(data, F_GETFD, FD_CLOEXEC, true, "data fd close-on-exec");
	check_flag(DUP_FD, F_GETFD, FD_CLOEXEC, false, "dup fd close-on-exec");
	check_flag(app, F_GETFD, FD_CLOEXEC, false, "log fd close-on-exec");
	check_flag(app, F_GETFL, O_APPEND, true, "log fd O_APPEND");
	if ((fcntl(data, F_GETFL) & O_ACCMODE) != O_RDWR)
		crt_fail("data fd is not O_RDWR any more (flags %#x)", fcntl(data, F_GETFL));
	if (lseek(app, 0, SEEK_CUR) != 1)
		crt_fail("log offset is %lld, expected 1", (long long)lseek(app, 0, SEEK_CUR));
	if (write(app, "def", 3) != 3)
		crt_fail("cannot append to the log after restore");
	{
		int rd = open(log, O_RDONLY | O_CLOEXEC);
		ssize_t n = rd >= 0 ? read(rd, buf, sizeof(buf)) : -1;

		if (n != 6 || memcmp(buf, "abcdef", 6))
			crt_fail("the log holds %zd bytes '%.*s', expected 'abcdef'", n,
				 n > 0 ? (int)n : 0, buf);
		if (rd >= 0)
			close(rd);
	}
	{
		struct stat a, b;

		if (fstat(dir, &a) || stat(crt_dir(), &b) || a.st_ino != b.st_ino)
			crt_fail("the directory fd is not the work dir any more");
	}
	if (crt_fd_count() != 4)
		crt_fail("the task has %d open fds, expected 4", crt_fd_count());
	return crt_finish();
}
