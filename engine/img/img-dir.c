/* img-dir — the image directory: opened once as a dirfd, every image is
 * opened relative to it; remembers what this session created so that a
 * failed dump can take it back. Does not read or write image contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "img.h"

int img_dir_open(struct img_dir *d, const char *path, bool create)
{
	memset(d, 0, sizeof(*d));
	d->dfd = -1;
	if (create && mkdir(path, 0755) && errno != EEXIST) {
		int err = -errno;

		pr_perror("Can't create image directory %s", path);
		return err;
	}
	d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd < 0) {
		int err = -errno;

		pr_perror("Can't open image directory %s", path);
		return err;
	}
	d->path = strdup(path);
	if (!d->path) {
		close(d->dfd);
		d->dfd = -1;
		return -ENOMEM;
	}
	return 0;
}

int img_dir_note_created(struct img_dir *d, const char *name)
{
	char *copy;

	for (size_t i = 0; i < d->n_created; i++)
		if (!strcmp(d->created[i], name))
			return 0;
	if (d->n_created == d->cap_created) {
		size_t cap = d->cap_created ? 2 * d->cap_created : 16;
		char **n = realloc(d->created, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->created = n;
		d->cap_created = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->created[d->n_created++] = copy;
	return 0;
}

int img_dir_abort(struct img_dir *d)
{
	int ret = 0;

	/* inventory.img, if there, goes first: the set stops looking complete */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d->n_created; i++) {
			bool inv;

			if (!d->created[i])
				continue;
			inv = !strcmp(d->created[i], "inventory.img");
			if (inv != (pass == 0))
				continue;
			if (unlinkat(d->dfd, d->created[i], 0) && errno != ENOENT) {
				if (!ret)
					ret = -errno;
				pr_perror("Can't remove %s/%s", d->path, d->created[i]);
			}
			free(d->created[i]);
			d->created[i] = NULL;
		}
	}
	d->n_created = 0;
	return ret;
}

void img_dir_close(struct img_dir *d)
{
	for (size_t i = 0; i < d->n_created; i++)
		free(d->created[i]);
	free(d->created);
	free(d->path);
	if (d->dfd >= 0)
		close(d->dfd);
	memset(d, 0, sizeof(*d));
	d->dfd = -1;
}
