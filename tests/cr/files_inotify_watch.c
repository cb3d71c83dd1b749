/* An inotify instance keeps its watches with their numbers: the work dir
 * (IN_CREATE) and a file in it (IN_MODIFY), with an earlier watch removed
 * so that the numbers are not simply 1 and 2. After restore a file created
 * and a write made from inside are reported under the right watches. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("no IN_CREATE event for the work dir's watch");

#define SAFETY_MS 30000	/* not a timing check: a lost watch must not hang */

/* Waits for an event of watch @wd with @mask (and @name when not NULL),
 * skipping others (the driver creates files in the work dir too). */
static bool wait_event(int fd, int wd, uint32_t mask, const char *name)
{
	char buf[8192] __attribute__((aligned(8)));
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, SAFETY_MS) == 1) {
		ssize_t n = read(fd, buf, sizeof(buf));

		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const void *)(buf + off);

			if (e->wd == wd && (e->mask & mask) &&
			    (!name || (e->len && !strcmp(e->name, name))))
				return true;
			off += (ssize_t)(sizeof(*e) + e->len);
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	char path[512], newf[512], name[256];
	int fd, wd_dir, wd_file, tmp, f;

	crt_init(argc, argv);
	snprintf(path, sizeof(path), "%s/watched", crt_dir());
	snprintf(newf, sizeof(newf), "%s/created-after-restore", crt_dir());
	f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return 2;
	close(f);
	fd = inotify_init1(IN_NONBLOCK);
	tmp = inotify_add_watch(fd, path, IN_ACCESS);
	if (fd < 0 || tmp < 0 || inotify_rm_watch(fd, tmp))
		return 2;
	wd_dir = inotify_add_watch(fd, crt_dir(), IN_CREATE);
	wd_file = inotify_add_watch(fd, path, IN_MODIFY);
	if (wd_dir < 0 || wd_file < 0)
		return 2;
	while (read(fd, name, sizeof(name)) > 0)
		;	/* the IN_IGNORED of the removed watch */
	crt_ready();
	crt_wait_verify();
	if (crt_damage())
		inotify_rm_watch(fd, wd_dir);

	f = open(newf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (f >= 0)
		close(f);
	if (!wait_event(fd, wd_dir, IN_CREATE, "created-after-restore"))
		crt_fail("no IN_CREATE event for the work dir's watch");
	f = open(path, O_WRONLY | O_CLOEXEC);
	if (f < 0 || write(f, "x", 1) != 1)
		crt_fail("cannot write the watched file");
	if (f >= 0)
		close(f);
	if (!wait_event(fd, wd_file, IN_MODIFY, NULL))
		crt_fail("no IN_MODIFY event for the file's watch (wd %d)", wd_file);
	return crt_finish();
}
