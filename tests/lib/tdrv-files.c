/* tdrv-files — see tdrv.h: whole-file reads and writes, sorted directory
 * listings, a flat directory copy and a recursive remove for test drivers.
 * Plain POSIX calls only; nothing here follows a mount point.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdrv.h"

int tdrv_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0 || !b) {
		ret = fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 2) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				ret = -ENOMEM;
				goto fail;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto fail;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(b);
	*buf = NULL;
	*len = 0;
	return ret;
}

int tdrv_write_file(const char *path, const void *buf, size_t len, bool append)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
	const char *p = buf;
	int ret = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

long long tdrv_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

bool tdrv_exists(const char *path)
{
	return !access(path, F_OK);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tdrv_list_dir(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	struct dirent *de;
	int n = 0, cap = 0;

	*names = NULL;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nv = realloc(v, sizeof(*v) * (size_t)(cap = cap ? cap * 2 : 32));

			if (!nv)
				goto nomem;
			v = nv;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	return n;
nomem:
	closedir(d);
	tdrv_names_free(v, n);
	return -ENOMEM;
}

void tdrv_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int tdrv_copy_dir(const char *src, const char *dst)
{
	char **names, from[4096], to[4096];
	int n = tdrv_list_dir(src, &names), ret = 0;

	if (n < 0)
		return n;
	if (mkdir(dst, 0755)) {
		tdrv_names_free(names, n);
		return -errno;
	}
	for (int i = 0; i < n && !ret; i++) {
		char *buf;
		size_t len;

		snprintf(from, sizeof(from), "%s/%s", src, names[i]);
		snprintf(to, sizeof(to), "%s/%s", dst, names[i]);
		ret = tdrv_read_file(from, &buf, &len);
		if (!ret) {
			ret = tdrv_write_file(to, buf, len, false);
			free(buf);
		}
	}
	tdrv_names_free(names, n);
	return ret;
}

int tdrv_rm_rf(const char *path)
{
	struct stat st, sub_st;
	char **names, sub[4096];
	int n, ret = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	n = tdrv_list_dir(path, &names);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
		if (!lstat(sub, &sub_st) && S_ISDIR(sub_st.st_mode) &&
		    sub_st.st_dev != st.st_dev) {
			ret = -EBUSY;	/* a mount point: leave it alone */
			continue;
		}
		int r = tdrv_rm_rf(sub);

		if (r && !ret)
			ret = r;
	}
	tdrv_names_free(names, n);
	if (!ret && rmdir(path))
		ret = -errno;
	return ret;
}
