/* A file the task has open changes size between dump and restore: the
 * restore must refuse clearly (and leave no task behind); once the file is
 * as it was, the restore works and the file reads as before. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; grow data; !restore @says=changed; shrink data; restore; verify");
CRT_DAMAGE_FAILS("data offset is 0, expected 5");

int main(int argc, char **argv)
{
	char path[512], buf[16];
	int fd;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/data", crt_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10 || lseek(fd, 5, SEEK_SET) != 5)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		lseek(fd, 0, SEEK_SET);
	if (lseek(fd, 0, SEEK_CUR) != 5)
		crt_fail("data offset is %lld, expected 5", (long long)lseek(fd, 0, SEEK_CUR));
	if (read(fd, buf, 5) != 5 || memcmp(buf, "56789", 5))
		crt_fail("the data file reads differently after restore");
	return crt_finish();
}
