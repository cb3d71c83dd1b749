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

struct timerfd_priv {
	uint32_t clockid, settime_flags;
	uint64_t ticks, vsec, vnsec, isec, insec;
};

static bool timerfd_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static int timerfd_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct timerfd_priv *tp = calloc(1, sizeof(*tp));
	const char *c = files_fdinfo_field(fdinfo, "clockid");
	const char *t = files_fdinfo_field(fdinfo, "ticks");
	const char *s = files_fdinfo_field(fdinfo, "settime flags");
	const char *v = files_fdinfo_field(fdinfo, "it_value");
	const char *i = files_fdinfo_field(fdinfo, "it_interval");
	unsigned long long a, b, x, y;

	(void)fd;
	if (!tp)
		return -ENOMEM;
	d->priv = tp;
	if (!c || !t || !s || !v || !i || sscanf(v, " (%llu, %llu)", &a, &b) != 2 ||
	    sscanf(i, " (%llu, %llu)", &x, &y) != 2) {
		pr_err("task %d: fd %d: its timerfd fdinfo is not as expected", (int)d->pid, d->fd);
		return -EINVAL;
	}
	tp->clockid = (uint32_t)strtoul(c, NULL, 10);
	tp->ticks = strtoull(t, NULL, 10);
	tp->settime_flags = (uint32_t)strtoul(s, NULL, 8);
	tp->vsec = a;
	tp->vnsec = b;
	tp->isec = x;
	tp->insec = y;
	return 0;
}

static int timerfd_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct timerfd_priv *tp = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	TimerfdEntry te = TIMERFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

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
