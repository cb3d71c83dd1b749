/* A file the task maps (private, read-only; its fd closed) changes size
 * between dump and restore: the restore must refuse, naming it, and leave
 * no task behind; with the file as it was, the restore works and the
 * mapping reads as before. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; grow mapped; !restore @says=changed; shrink mapped; restore; verify");
CRT_DAMAGE_FAILS("mapped word 0 is");

#define WORDS (3 * 4096 / 8)

int main(int argc, char **argv)
{
	static uint64_t buf[WORDS];
	char path[512];
	const uint64_t *m;
	int fd;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/mapped", crt_dir());
	for (size_t i = 0; i < WORDS; i++)
		buf[i] = crt_pattern(55, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		return 2;
	m = mmap(NULL, sizeof(buf), PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 2;
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		m = (const uint64_t *)buf + 1;
	for (size_t i = 0; i < WORDS; i++)
		if (m[i] != crt_pattern(55, i)) {
			crt_fail("mapped word %zu is %#llx, expected %#llx", i, (unsigned long long)m[i],
				 (unsigned long long)crt_pattern(55, i));
			break;
		}
	return crt_finish();
}
