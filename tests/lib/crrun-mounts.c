/* crrun-mounts — the mounts behind a step's '@readonly' and '@tmpfs=SIZE'
 * options, made in a mount namespace of the driver's own so that none of
 * them reaches the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crrun.h"

/* Do any of the steps need mounts (and so a mount namespace of our own)? */
bool steps_need_mounts(const char *steps)
{
	return strstr(steps, "@readonly") || strstr(steps, "@tmpfs=");
}

/*
 * Gives the driver, and so the scenario and every crisp it runs, a mount
 * namespace of its own: the mounts of '@' options never reach the host and
 * vanish with the last process in it.
 */
int private_mounts(void)
{
	if (unshare(CLONE_NEWNS)) {
		say("unshare(CLONE_NEWNS): %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		say("making mounts private: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Mounts what the step's options ask for on its image dir @dir. */
int mount_images_dir(struct run *r, const char *dir, const struct step_opts *o)
{
	char data[64];

	if (!o->readonly && !o->tmpfs_size)
		return 0;
	if (r->nmounts >= MAX_MOUNTS) {
		say("too many mounts for one run");
		return -1;
	}
	if (o->tmpfs_size) {
		snprintf(data, sizeof(data), "size=%s,mode=0755", o->tmpfs_size);
		if (mount("crtest", dir, "tmpfs", MS_NOSUID | MS_NODEV, data)) {
			say("mount tmpfs (%s) on %s: %s", data, dir, strerror(errno));
			return -1;
		}
	} else if (mount(dir, dir, NULL, MS_BIND, NULL)) {
		say("bind mount %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(r->mounts[r->nmounts++], sizeof(r->mounts[0]), "%s", dir);
	if (o->readonly &&
	    mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL)) {
		say("remount %s read-only: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

void unmount_all(struct run *r)
{
	while (r->nmounts > 0)
		umount2(r->mounts[--r->nmounts], MNT_DETACH);
}
