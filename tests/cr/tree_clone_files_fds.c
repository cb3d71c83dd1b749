/* A parent, a child created with CLONE_FILES and its own CLONE_FILES child
 * share one fd table that holds open fds: a regular file (two fds of one description, a separate
 * open of the same file, one fd at a high number), a pipe with data in it
 * and an eventfd with a count. After restore the table is still one
 * (kcmp; fds opened by either after restore are the other's too), the
 * shared description keeps one offset (also with a plain child holding it
 * in a table of its own), the pipe's data and the eventfd's count are
 * intact, and nothing but the table's own fds is open in it. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; images; restore; verify");
CRT_DAMAGE_FAILS("the shared offset is");

#define SHARED_AT 100
#define OWN_AT 200
#define READS 10
#define HIGH_FD 40		/* a second fd of the shared description */
#define EFD_COUNT 7
#define EFD_ADD 5
static const char pipe_text[] = "bytes in the pipe at dump time";

static pid_t root;
static int fd_file, fd_own, fd_pipe[2], fd_efd;

static long kcmp(pid_t a, pid_t b, int type, int fa, int fb)
{
	return syscall(SYS_kcmp, a, b, type, fa, fb);
}

/* G, C's child, shares the table through C (CLONE_FILES twice). */
static void run_g(void)
{
	char buf[64];
	int fd;

	kid_ready("G");
	kid_wait_go();
	if (kcmp(getpid(), root, KCMP_FILES, 0, 0))
		kid_fail("G does not share the root's fd table (kcmp)");
	else if (kid_read("probe-fd", buf, sizeof(buf)) || fcntl(fd = atoi(buf), F_GETFD) < 0)
		kid_fail("the fd the root opened after restore is not open in G");
	else if (kcmp(getpid(), root, KCMP_FILE, HIGH_FD, HIGH_FD))
		kid_fail("fd %d is another file in G", HIGH_FD);
	kid_report("G");
}

static pid_t clone_files_child(void)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	struct sigaction sa = { .sa_handler = kid_on_go, .sa_flags = SA_RESTART };

	if (pid == 0) {
		/* no close_range here: the table is the root's */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGUSR1, &sa, NULL);
	}
	return pid;
}

/* C shares the root's table: every fd is the root's; it reads through the
 * high fd (moving the shared offset), empties the pipe, adds to the
 * eventfd, and opens an fd the root must then see. */
static void run_c(void)
{
	char buf[64], text[32];
	pid_t g = clone_files_child();
	ssize_t n;
	int fd, st;

	if (g == 0)
		run_g();
	snprintf(text, sizeof(text), "%d", (int)g);
	if (g < 0 || kid_write("pid-G", text))
		_exit(3);
	kid_ready("C");
	kid_wait_go();
	if (kcmp(getpid(), root, KCMP_FILES, 0, 0))
		kid_fail("C does not share the root's fd table (kcmp)");
	if (kid_read("probe-fd", buf, sizeof(buf)))
		kid_fail("no probe-fd");
	fd = atoi(buf);
	if (fcntl(fd, F_GETFD) < 0)
		kid_fail("fd %d the root opened after restore is not open here", fd);
	else if (kcmp(getpid(), root, KCMP_FILE, fd, fd))
		kid_fail("fd %d is another file here", fd);
	if (lseek(HIGH_FD, 0, SEEK_CUR) != SHARED_AT)
		kid_fail("C's offset of fd %d is %lld, expected %d", HIGH_FD,
			 (long long)lseek(HIGH_FD, 0, SEEK_CUR), SHARED_AT);
	else if (read(HIGH_FD, buf, READS) != READS || buf[0] != (char)(SHARED_AT & 0x7f))
		kid_fail("C cannot read the shared file at %d", SHARED_AT);
	n = read(fd_pipe[0], buf, sizeof(buf));
	if (n != (ssize_t)sizeof(pipe_text) || memcmp(buf, pipe_text, sizeof(pipe_text)))
		kid_fail("C read %zd bytes from the pipe, not the %zu written before the dump",
			 n, sizeof(pipe_text));
	if (eventfd_write(fd_efd, EFD_ADD))
		kid_fail("C cannot add to the eventfd");
	fd = open(crt_dir(), O_RDONLY | O_DIRECTORY);
	snprintf(text, sizeof(text), "%d", fd);
	if (fd < 0 || kid_write("c-fd", text))
		kid_fail("C cannot open its probe");
	if (waitpid(g, &st, 0) != g)
		kid_fail("C cannot wait for G");
	kid_report("C");	/* leaves fd open: it is the root's too */
}

/* P is a plain child: its own table, the same description of the file. */
static void run_p(void)
{
	char buf[READS];

	kid_start_keeping(fd_file);
	kid_ready("P");
	kid_wait_go();
	if (!kcmp(getpid(), root, KCMP_FILES, 0, 0))
		kid_fail("P, a plain child, shares the root's fd table");
	if (lseek(fd_file, 0, SEEK_CUR) != SHARED_AT + READS)
		kid_fail("P's offset is %lld, expected %d after C read",
			 (long long)lseek(fd_file, 0, SEEK_CUR), SHARED_AT + READS);
	else if (read(fd_file, buf, READS) != READS)
		kid_fail("P cannot read the shared file");
	kid_report("P");
}

static void check_root(void)
{
	char buf[64];
	eventfd_t v = 0;
	off_t at;
	int fd;

	if (kcmp(root, root, KCMP_FILE, fd_file, HIGH_FD))
		crt_fail("fds %d and %d are no longer one description", fd_file, HIGH_FD);
	if (kid_read("c-fd", buf, sizeof(buf)) || fcntl(fd = atoi(buf), F_GETFD) < 0)
		crt_fail("the fd C opened after restore is not open in the root");
	else
		close(fd);
	/* the table's own six, nothing of the engine's */
	if (crt_fd_count() != 6)
		crt_fail("%d fds open in the shared table after restore, expected 6",
			 crt_fd_count());
	if (fcntl(fd_pipe[0], F_GETFL) < 0 || fcntl(fd_efd, F_GETFL) < 0)
		crt_fail("the pipe or the eventfd is not open after restore");
	if (eventfd_read(fd_efd, &v) || v != EFD_COUNT + EFD_ADD)
		crt_fail("the eventfd counts %llu, expected %d + %d", (unsigned long long)v,
			 EFD_COUNT, EFD_ADD);
	if (read(fd_pipe[0], buf, sizeof(buf)) >= 0)
		crt_fail("the pipe still has data after C read it all");
	if (crt_damage())
		lseek(fd_file, 1, SEEK_CUR);
	at = lseek(fd_file, 0, SEEK_CUR);
	if (at != SHARED_AT + 2 * READS)
		crt_fail("the shared offset is %lld after C and P read %d bytes each at %d",
			 (long long)at, READS, SHARED_AT);
	at = lseek(fd_own, 0, SEEK_CUR);
	if (at != OWN_AT)
		crt_fail("the separate open's offset is %lld, expected %d", (long long)at, OWN_AT);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "C", "P", "G" };
	char path[1024], data[4096], text[32];
	pid_t c, p, g;
	int st, probe;

	crt_init(argc, argv);
	root = getpid();
	snprintf(path, sizeof(path), "%s/shared-table.dat", crt_dir());
	fd_file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i & 0x7f);
	if (fd_file < 0 || write(fd_file, data, sizeof(data)) != (ssize_t)sizeof(data) ||
	    lseek(fd_file, SHARED_AT, SEEK_SET) != SHARED_AT)
		return 2;
	fd_own = open(path, O_RDONLY);
	if (fd_own < 0 || lseek(fd_own, OWN_AT, SEEK_SET) != OWN_AT)
		return 2;
	if (dup2(fd_file, HIGH_FD) != HIGH_FD || pipe2(fd_pipe, O_NONBLOCK) ||
	    write(fd_pipe[1], pipe_text, sizeof(pipe_text)) != (ssize_t)sizeof(pipe_text))
		return 2;
	fd_efd = eventfd(0, EFD_NONBLOCK);
	if (fd_efd < 0 || eventfd_write(fd_efd, EFD_COUNT))
		return 2;
	c = clone_files_child();
	if (c == 0)
		run_c();
	p = fork();
	if (p == 0)
		run_p();
	if (c < 0 || p < 0 || kid_wait_ready(names, 3) || kid_read("pid-G", text, sizeof(text)))
		return 2;
	g = (pid_t)atoi(text);
	crt_ready();	/* closes 0, 1, 2: of C's table too */
	crt_wait_verify();

	if (kcmp(root, c, KCMP_FILES, 0, 0))
		crt_fail("C does not share the root's fd table after restore (kcmp)");
	probe = open(crt_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(text, sizeof(text), "%d", probe);
	if (probe < 0 || kid_write("probe-fd", text))
		crt_fail("cannot set up the probe after restore");
	if (kcmp(root, g, KCMP_FILES, 0, 0))
		crt_fail("G does not share the root's fd table after restore (kcmp)");
	kill(g, SIGUSR1);
	kill(c, SIGUSR1);
	if (waitpid(c, &st, 0) != c)
		crt_fail("cannot wait for C");
	kid_check_report("G");
	kid_check_report("C");
	kill(p, SIGUSR1);
	if (waitpid(p, &st, 0) != p)
		crt_fail("cannot wait for P");
	kid_check_report("P");
	close(probe);
	check_root();
	return crt_finish();
}
