/* tgt-file — for the targets the C drivers start (dump-target,
 * track-target): putting a small file into their directory in one piece.
 * Header only and stateless; drivers use tdrv.h, scenarios crtest.h.
 */
#ifndef CRISP_TGT_FILE_H
#define CRISP_TGT_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Writes @text to @dir/@name through @dir/@name.tmp and a rename, so that
 * a driver polling for the file never reads half of it. Returns 0, or
 * -errno when the file cannot be created (the caller decides what that
 * means); a write that fails ends the task with status 3.
 */
static inline int tgt_put(const char *dir, const char *name, const char *text)
{
	char path[512], tmp[520];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		_exit(3);
	close(fd);
	rename(tmp, path);
	return 0;
}

#endif
