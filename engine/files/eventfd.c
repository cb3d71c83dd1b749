/* eventfd — eventfd descriptions: counter and flags (eventfd_file_entry).
 * Semaphore mode has no field in CRIU's schema: crisp's extension field
 * (semaphore = 1000, proto/EXTENSIONS.md) carries it when it is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

struct eventfd_priv {
	uint64_t counter;
	bool semaphore;
};

static bool eventfd_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

static int eventfd_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct eventfd_priv *ep = calloc(1, sizeof(*ep));
	size_t len = strlen(fdinfo);
	uint64_t sem;

	(void)fd;
	if (!ep)
		return -ENOMEM;
	d->priv = ep;
	if (fdinfo_u64(fdinfo, len, "eventfd-count", 16, &ep->counter)) {
		pr_err("task %d: fd %d: no eventfd-count in its fdinfo", (int)d->pid, d->fd);
		return -EINVAL;
	}
	ep->semaphore = !fdinfo_u64(fdinfo, len, "eventfd-semaphore", 10, &sem) && sem;
	return 0;
}

static int efd_write_entry(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct eventfd_priv *ep = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	EventfdFileEntry ee = EVENTFD_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

	files_fown(d, &fown);
	ee.id = id;
	ee.flags = d->flags;
	ee.has_semaphore = ep->semaphore;
	ee.semaphore = ep->semaphore;
	ee.fown = &fown;
	ee.counter = ep->counter;
	fe.type = FD_TYPES__EVENTFD;
	fe.id = id;
	fe.efd = &ee;
	return img_writer_entry(w->files, &fe.base);
}

static void eventfd_free(struct files_desc *d)
{
	free(d->priv);
	d->priv = NULL;
}

static int eventfd_open(struct files_rst *r, struct files_rfile *f)
{
	const EventfdFileEntry *ee = f->fe->efd;
	int sem = ee && ee->has_semaphore && ee->semaphore ? EFD_SEMAPHORE : 0;
	int fd;

	if (!ee || !ee->fown)
		return -EINVAL;
	if (ee->counter > UINT32_MAX) {
		/* eventfd(2) takes an unsigned int; the rest is written in */
		fd = eventfd(0, EFD_CLOEXEC | sem);
		if (fd >= 0 && eventfd_write(fd, ee->counter) < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
	} else {
		fd = eventfd((unsigned int)ee->counter, EFD_CLOEXEC | sem);
	}
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, ee->flags & (O_NONBLOCK | O_ASYNC))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_eventfd_ops = {
	.name = "eventfd",
	.type = FD_TYPES__EVENTFD,
	.match = eventfd_match,
	.dump = eventfd_dump,
	.write = efd_write_entry,
	.free = eventfd_free,
	.open = eventfd_open,
};
