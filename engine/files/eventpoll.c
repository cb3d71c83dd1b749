/* eventpoll — epoll instances and their targets (eventpoll_file_entry with
 * one eventpoll_tfd_entry per registration, from fdinfo's tfd lines). The
 * instance is created in the engine; the targets are registered in the task
 * (the fixup) once its fds have their numbers, since epoll keys on them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

struct epoll_priv {
	struct fdinfo_epoll_tfd *t;
	size_t nr, cap;
};

static bool epoll_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

static int epoll_add_tfd(const struct fdinfo_epoll_tfd *t, void *arg)
{
	struct epoll_priv *ep = arg;

	if (ep->nr == ep->cap) {
		size_t cap = ep->cap ? ep->cap * 2 : 8;
		struct fdinfo_epoll_tfd *n = realloc(ep->t, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ep->t = n;
		ep->cap = cap;
	}
	ep->t[ep->nr++] = *t;
	return 0;
}

static int epoll_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct epoll_priv *ep = calloc(1, sizeof(*ep));
	int err;

	(void)fd;
	if (!ep)
		return -ENOMEM;
	d->priv = ep;
	err = fdinfo_epoll(fdinfo, strlen(fdinfo), epoll_add_tfd, ep);
	if (err == -EINVAL)
		pr_err("task %d: fd %d: an epoll target line it cannot read", (int)d->pid, d->fd);
	return err;
}

static int epoll_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct epoll_priv *ep = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	EventpollFileEntry ee = EVENTPOLL_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	EventpollTfdEntry *te = calloc(ep->nr + 1, sizeof(*te));
	EventpollTfdEntry **tp = calloc(ep->nr + 1, sizeof(*tp));
	int err;

	files_fown(d, &fown);
	if (!te || !tp) {
		free(te);
		free(tp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ep->nr; i++) {
		eventpoll_tfd_entry__init(&te[i]);
		te[i].id = id;
		te[i].tfd = ep->t[i].tfd;
		te[i].events = ep->t[i].events;
		te[i].data = ep->t[i].data;
		te[i].has_dev = te[i].has_inode = te[i].has_pos = true;
		te[i].dev = ep->t[i].sdev;
		te[i].inode = ep->t[i].ino;
		te[i].pos = ep->t[i].pos;
		tp[i] = &te[i];
	}
	ee.id = id;
	ee.flags = d->flags;
	ee.fown = &fown;
	ee.n_tfd = ep->nr;
	ee.tfd = tp;
	fe.type = FD_TYPES__EVENTPOLL;
	fe.id = id;
	fe.epfd = &ee;
	err = img_writer_entry(w->files, &fe.base);
	free(te);
	free(tp);
	return err;
}

static void epoll_free(struct files_desc *d)
{
	struct epoll_priv *ep = d->priv;

	if (ep)
		free(ep->t);
	free(ep);
	d->priv = NULL;
}

static int epoll_open(struct files_rst *r, struct files_rfile *f)
{
	const EventpollFileEntry *ee = f->fe->epfd;
	int fd;

	if (!ee || !ee->fown)
		return -EINVAL;
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return -errno;
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

/* In the task: each target registered under its fd number. */
static int epoll_fixup(struct files_rst *r, struct files_rfile *f, int fd, char *why, size_t len)
{
	const EventpollFileEntry *ee = f->fe->epfd;

	(void)r;
	for (size_t i = 0; i < ee->n_tfd; i++) {
		const EventpollTfdEntry *t = ee->tfd[i];
		struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

		/* EEXIST: a task sharing the instance registered it already */
		if (epoll_ctl(fd, EPOLL_CTL_ADD, (int)t->tfd, &ev) && errno != EEXIST) {
			int err = -errno;

			snprintf(why, len, "epoll %u (fd %d): registering fd %u (events %#x): %s",
				 ee->id, fd, t->tfd, t->events, strerror(errno));
			return err;
		}
	}
	return 0;
}

const struct files_ops files_epoll_ops = {
	.name = "epoll",
	.type = FD_TYPES__EVENTPOLL,
	.match = epoll_match,
	.dump = epoll_dump,
	.write = epoll_write,
	.free = epoll_free,
	.open = epoll_open,
	.fixup = epoll_fixup,
};
