/* Many descriptions of one file and of one kind of anon inode, some of
 * them dup'ed: 60 opens of one file, each at its own offset, every third
 * one also dup'ed to a high fd; 40 eventfds with their own counters, every
 * fourth dup'ed. After restore each fd has its offset or counter, dup'ed
 * pairs still share their description (moving one moves the other) and
 * distinct opens do not. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("file fd 1 is at offset");

#define NFILES 60
#define NEFD 40
#define DUP_BASE 300

int main(int argc, char **argv)
{
	char path[512];
	int f[NFILES], e[NEFD];
	uint64_t v;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/shared", crt_dir());
	f[0] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f[0] < 0 || ftruncate(f[0], 4096))
		return 2;
	for (int i = 0; i < NFILES; i++) {
		if (i)
			f[i] = open(path, O_RDWR);
		if (f[i] < 0 || lseek(f[i], i * 7, SEEK_SET) != i * 7)
			return 2;
		if (i % 3 == 0 && dup2(f[i], DUP_BASE + i) < 0)
			return 2;
	}
	for (int i = 0; i < NEFD; i++) {
		e[i] = eventfd((unsigned int)(1000 + i), EFD_NONBLOCK);
		if (e[i] < 0 || (i % 4 == 0 && dup2(e[i], DUP_BASE + 100 + i) < 0))
			return 2;
	}
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		lseek(f[1], 0, SEEK_SET);

	for (int i = 0; i < NFILES; i++) {
		off_t off = lseek(f[i], 0, SEEK_CUR);

		if (off != i * 7) {
			crt_fail("file fd %d is at offset %lld, expected %d", i, (long long)off, i * 7);
			break;
		}
	}
	for (int i = 0; i < NFILES; i += 3) {
		/* a dup moves with its original; the next open does not */
		lseek(DUP_BASE + i, 2000 + i, SEEK_SET);
		if (lseek(f[i], 0, SEEK_CUR) != 2000 + i)
			crt_fail("fd %d and its dup %d do not share an offset any more", f[i], DUP_BASE + i);
		if (i + 1 < NFILES && lseek(f[i + 1], 0, SEEK_CUR) != (i + 1) * 7)
			crt_fail("fd %d moved with fd %d: one description where there were two",
				 f[i + 1], DUP_BASE + i);
	}
	for (int i = 0; i < NEFD; i++) {
		int rd = i % 4 == 0 ? DUP_BASE + 100 + i : e[i];

		if (eventfd_read(rd, &v) || v != (uint64_t)(1000 + i))
			crt_fail("eventfd %d reads %llu, expected %d", i, (unsigned long long)v, 1000 + i);
		if (i % 4 == 0 && eventfd_read(e[i], &v) == 0)
			crt_fail("eventfd %d and its dup are not one eventfd any more", i);
	}
	return crt_finish();
}
