/* signalfd — signalfd descriptions: the signal mask and flags
 * (signalfd_entry), recreated with signalfd4 in the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

static bool signalfd_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	uint64_t *mask = malloc(sizeof(*mask));

	(void)fd;
	if (!mask)
		return -ENOMEM;
	d->priv = mask;
	if (fdinfo_u64(fdinfo, strlen(fdinfo), "sigmask", 16, mask)) {
		pr_err("task %d: fd %d: no sigmask in its fdinfo", (int)d->pid, d->fd);
		return -EINVAL;
	}
	return 0;
}

static int signalfd_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	FileEntry fe = FILE_ENTRY__INIT;
	SignalfdEntry se = SIGNALFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

	files_fown(d, &fown);
	se.id = id;
	se.flags = d->flags;
	se.fown = &fown;
	se.sigmask = *(const uint64_t *)d->priv;
	fe.type = FD_TYPES__SIGNALFD;
	fe.id = id;
	fe.sgfd = &se;
	return img_writer_entry(w->files, &fe.base);
}

static void signalfd_free(struct files_desc *d)
{
	free(d->priv);
	d->priv = NULL;
}

static int signalfd_open(struct files_rst *r, struct files_rfile *f)
{
	const SignalfdEntry *se = f->fe->sgfd;
	uint64_t mask;
	int fd;

	if (!se || !se->fown)
		return -EINVAL;
	mask = se->sigmask;
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, se->flags & (O_NONBLOCK | O_ASYNC))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_signalfd_ops = {
	.name = "signalfd",
	.type = FD_TYPES__SIGNALFD,
	.match = signalfd_match,
	.dump = signalfd_dump,
	.write = signalfd_write,
	.free = signalfd_free,
	.open = signalfd_open,
};
