/* crrun-cache — the driver's 'evict N' step: the pages files of image dir
 * img-N are written out and dropped from the page cache, and checked to be
 * out of it (mincore), so that a restore after it reads them from the disk
 * whatever wrote them. Touches only the run's own img-N directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crrun.h"

#define CACHE_PAGE 4096

/* How many pages of the @len bytes of @fd are in the page cache, or -1. */
static long cached_pages(int fd, size_t len)
{
	size_t n = (len + CACHE_PAGE - 1) / CACHE_PAGE;
	unsigned char *vec;
	long in = 0;
	void *p;

	if (!len)
		return 0;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	vec = malloc(n);
	if (!vec || mincore(p, len, vec))
		in = -1;
	for (size_t i = 0; in >= 0 && i < n; i++)
		in += vec[i] & 1;
	free(vec);
	munmap(p, len);
	return in;
}

/* Writes @path out and drops it from the page cache; 0 or -1. */
static int evict_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	long in = -1;
	int err;

	if (fd < 0 || fstat(fd, &st)) {
		say("evict: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* dirty pages are not dropped: written out first */
	err = fdatasync(fd) ? errno : posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (!err)
		in = cached_pages(fd, (size_t)st.st_size);
	close(fd);
	if (err || in) {
		say("evict: %s %s", path, err ? strerror(err) : "is still in the page cache");
		return -1;
	}
	return 0;
}

int step_evict(struct run *r, char *rest)
{
	char dir[600], path[900];
	char *arg = strtok(rest, " \t"), *end;
	long n = arg ? strtol(arg, &end, 10) : 0;
	struct dirent *de;
	int files = 0, ret = 0;
	DIR *d;

	if (!arg || *end || n < 1 || n > r->images) {
		say("evict: '%s' is not an image dir of this run (1..%d)", arg ? arg : "", r->images);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/img-%ld", r->dir, n);
	d = opendir(dir);
	if (!d) {
		say("evict: opendir %s: %s", dir, strerror(errno));
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, "pages-", 6) || len < 4 || strcmp(de->d_name + len - 4, ".img"))
			continue;
		snprintf(path, sizeof(path), "%s/%.255s", dir, de->d_name);
		ret = evict_file(path);
		files++;
	}
	closedir(d);
	if (!ret && !files) {
		say("evict: %s has no pages file", dir);
		return -1;
	}
	if (!ret)
		say("evict: the pages files of img-%ld are out of the page cache", n);
	return ret;
}
