/* A parent and its child share one open file description (inherited over
 * fork) while the parent also holds a second, separate open of the same
 * file. After restore the shared description still has one offset: what
 * the child reads moves the parent's offset too, and the separate one
 * stays where it was. */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crtest.h"
#include "tree-kids.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("the shared offset is");

#define SHARED_AT 100
#define OWN_AT 200
#define CHILD_READS 10

static void run_kid(int fd)
{
	char buf[CHILD_READS];
	off_t at;

	kid_start_keeping(fd);
	kid_ready("K");
	kid_wait_go();
	at = lseek(fd, 0, SEEK_CUR);
	if (at != SHARED_AT)
		kid_fail("the child's offset is %lld, expected %d", (long long)at, SHARED_AT);
	else if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		kid_fail("the child cannot read the shared file");
	else if (buf[0] != (char)(SHARED_AT & 0x7f))
		kid_fail("the child read %d at offset %d", buf[0], SHARED_AT);
	kid_report("K");
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "K" };
	char path[1024], data[4096];
	int fd, own;
	off_t at;
	pid_t kid;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/shared-offset.dat", crt_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 2;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i & 0x7f);
	if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data) ||
	    lseek(fd, SHARED_AT, SEEK_SET) != SHARED_AT)
		return 2;
	own = open(path, O_RDONLY);
	if (own < 0 || lseek(own, OWN_AT, SEEK_SET) != OWN_AT)
		return 2;
	kid = fork();
	if (kid == 0)
		run_kid(fd);
	if (kid < 0 || kid_wait_ready(names, 1))
		return 2;
	crt_ready();
	crt_wait_verify();

	kid_go_and_check(kid, (const char *const[]){ "K" }, 1);
	if (crt_damage())
		lseek(fd, 1, SEEK_CUR);
	at = lseek(fd, 0, SEEK_CUR);
	if (at != SHARED_AT + CHILD_READS)
		crt_fail("the shared offset is %lld after the child read %d bytes at %d",
			 (long long)at, CHILD_READS, SHARED_AT);
	at = lseek(own, 0, SEEK_CUR);
	if (at != OWN_AT)
		crt_fail("the separate open's offset is %lld, expected %d", (long long)at, OWN_AT);
	return crt_finish();
}
