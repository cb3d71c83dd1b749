/* timerfd — timerfd descriptions: clock, time left and interval, settime
 * flags and expirations not yet read (timerfd_entry). The time left is
 * re-armed relative to the restore; ticks go back with TFD_IOC_SET_TICKS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static bool timerfd_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static int timerfd_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct fdinfo_timerfd *tp = calloc(1, sizeof(*tp));

	(void)fd;
	if (!tp)
		return -ENOMEM;
	d->priv = tp;
	if (fdinfo_timerfd(fdinfo, strlen(fdinfo), tp)) {
		pr_err("task %d: fd %d: its timerfd fdinfo is not as expected", (int)d->pid, d->fd);
		return -EINVAL;
	}
	return 0;
}

static int timerfd_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct fdinfo_timerfd *tp = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	TimerfdEntry te = TIMERFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

	files_fown(d, &fown);
	te.id = id;
	te.flags = d->flags;
	te.fown = &fown;
	te.clockid = tp->clockid;
	te.ticks = tp->ticks;
	te.settime_flags = tp->settime_flags;
	te.vsec = tp->vsec;
	te.vnsec = tp->vnsec;
	te.isec = tp->isec;
	te.insec = tp->insec;
	fe.type = FD_TYPES__TIMERFD;
	fe.id = id;
	fe.tfd = &te;
	return img_writer_entry(w->files, &fe.base);
}

static void timerfd_free(struct files_desc *d)
{
	free(d->priv);
	d->priv = NULL;
}

static int timerfd_arm(const TimerfdEntry *te, int fd)
{
	struct itimerspec its = {
		.it_value = { (time_t)te->vsec, (long)te->vnsec },
		.it_interval = { (time_t)te->isec, (long)te->insec },
	};

	if (te->vnsec >= 1000000000ull || te->insec >= 1000000000ull)
		return -EINVAL;
	/* A periodic timer that expired unread shows no time left (the kernel
	 * moves it on when it is read): its next expiry is an interval away. */
	if (!te->vsec && !te->vnsec && (te->isec || te->insec)) {
		its.it_value = its.it_interval;
		if (!te->ticks)
			its.it_value = (struct timespec){ 0, 1 };	/* caught as it fired */
	}
	/* the time left is relative whatever the flags were */
	if ((its.it_value.tv_sec || its.it_value.tv_nsec) && timerfd_settime(fd, 0, &its, NULL))
		return -errno;
	if (te->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &te->ticks))
		return -errno;
	return 0;
}

static int timerfd_open(struct files_rst *r, struct files_rfile *f)
{
	const TimerfdEntry *te = f->fe->tfd;
	int fd, err;

	if (!te || !te->fown)
		return -EINVAL;
	fd = timerfd_create((int)te->clockid, TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = timerfd_arm(te, fd);
	if (!err && fcntl(fd, F_SETFL, te->flags & (O_NONBLOCK | O_ASYNC)))
		err = -errno;
	if (err) {
		pr_err("timerfd %u (clock %u): cannot arm it: %s", te->id, te->clockid, strerror(-err));
		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_timerfd_ops = {
	.name = "timerfd",
	.type = FD_TYPES__TIMERFD,
	.match = timerfd_match,
	.dump = timerfd_dump,
	.write = timerfd_write,
	.free = timerfd_free,
	.open = timerfd_open,
};
