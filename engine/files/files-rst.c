/* files-rst — the restore side of the fd core: reads each task's fdinfo
 * image, opens every file description the tree uses once in the engine, at
 * fd numbers above all of the tasks' (clone3 children inherit them), and,
 * in each new task, installs its fds with their numbers and flags and
 * closes the rest; a table several tasks share is installed once, by its
 * creator, when every task of it is done with the engine's fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#define FILES_MAX_FD (1 << 20)
/* how long the creator of a shared table waits for the other tasks of it;
 * the engine gives up on the tree as early */
#define FILES_SHARED_WAIT_MS 60000

static const struct files_ops *const files_rst_kinds[] = {
	&files_reg_ops, &files_pipe_ops, &files_eventfd_ops, &files_signalfd_ops,
	&files_timerfd_ops, &files_epoll_ops, &files_unix_ops, &files_memfd_ops,
	&files_inotify_ops, &files_fifo_ops, &files_tty_ops,
};

static const struct files_ops *files_rst_ops(FdTypes type)
{
	for (size_t i = 0; i < sizeof(files_rst_kinds) / sizeof(files_rst_kinds[0]); i++)
		if (files_rst_kinds[i]->type == type)
			return files_rst_kinds[i];
	return NULL;
}

struct files_rfile *files_rst_find(struct files_rst *r, uint32_t id)
{
	for (size_t i = 0; i < r->nr; i++)
		if (r->f[i].fe->id == id)
			return &r->f[i];
	return NULL;
}

static int files_rst_bad(const char *name, size_t i, size_t off, const char *what)
{
	pr_err("bad image %s: entry %zu at offset %zu: %s", name, i, off, what);
	return -EINVAL;
}

/* Adds the file entry @id of files.img to r->f (once); its index in *@idx.
 * @fdinfo names the image that asks for it. */
static int files_rst_pick(struct files_rst *r, const char *fdinfo, uint32_t id, FdTypes type,
			  size_t *idx)
{
	const struct img_file *files = r->files;

	for (size_t i = 0; i < r->nr; i++)
		if (r->f[i].fe->id == id) {
			*idx = i;
			if (r->f[i].fe->type == type)
				return 0;
			pr_err("%s says file %u is of type %d, files.img says %d", fdinfo, id,
			       (int)type, (int)r->f[i].fe->type);
			return -EINVAL;
		}
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct files_rfile *n = realloc(r->f, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->f = n;
		r->cap = cap;
	}
	for (size_t i = 0; files && i < files->n; i++) {
		const FileEntry *fe = (const FileEntry *)files->ents[i].msg;

		if (fe->id != id)
			continue;
		if (fe->type != type)
			return files_rst_bad(files->name, i, files->ents[i].offset,
					     "its type differs from the fdinfo entry's");
		r->f[r->nr] = (struct files_rfile){ .fe = fe, .ops = files_rst_ops(fe->type), .fd = -1 };
		if (!r->f[r->nr].ops) {
			pr_err("%s: file %u is of type %d, which crisp cannot restore", files->name,
			       id, (int)fe->type);
			return -EOPNOTSUPP;
		}
		*idx = r->nr++;
		return 0;
	}
	pr_err("files.img has no file with id %u (named in %s)", id, fdinfo);
	return -EINVAL;
}

void files_rst_init(struct files_rst *r, const struct crisp_opts *o, int dfd,
		    const struct img_file *files)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->dfd = dfd;
	r->files = files;
}

static struct files_rtask *files_rst_task(const struct files_rst *r, pid_t pid)
{
	for (size_t i = 0; i < r->nr_t; i++)
		if (r->t[i].pid == pid)
			return &r->t[i];
	return NULL;
}

static int files_rst_cmp_fd(const void *a, const void *b)
{
	return ((const struct files_rfd *)a)->fd - ((const struct files_rfd *)b)->fd;
}

static int files_rst_read_table(struct files_rst *r, struct files_rtask *t, uint32_t files_id)
{
	char name[64];
	int err, max = -1;

	snprintf(name, sizeof(name), "fdinfo-%u.img", files_id);
	err = img_read(&t->fdinfo, r->dfd, name, img_kind_by_name("FDINFO"));
	if (err == -ENOENT) {
		memset(&t->fdinfo, 0, sizeof(t->fdinfo));
		return 0;	/* no fds */
	}
	if (err) {
		pr_err("cannot read the image %s: %s", name, strerror(-err));
		return err;
	}
	t->fds = calloc(t->fdinfo.n + 1, sizeof(*t->fds));
	if (!t->fds)
		return -ENOMEM;
	for (size_t i = 0; i < t->fdinfo.n; i++) {
		const FdinfoEntry *e = (const FdinfoEntry *)t->fdinfo.ents[i].msg;
		size_t idx = 0;

		if (e->fd >= FILES_MAX_FD)
			return files_rst_bad(name, i, t->fdinfo.ents[i].offset, "fd number too large");
		for (size_t j = 0; j < t->nr_fds; j++)
			if (t->fds[j].fd == (int)e->fd)
				return files_rst_bad(name, i, t->fdinfo.ents[i].offset,
						     "fd number given twice");
		err = files_rst_pick(r, name, e->id, e->type, &idx);
		if (err)
			return err;
		t->fds[t->nr_fds++] = (struct files_rfd){ (int)e->fd, e->flags & FD_CLOEXEC, idx };
		if ((int)e->fd > max)
			max = (int)e->fd;
	}
	qsort(t->fds, t->nr_fds, sizeof(*t->fds), files_rst_cmp_fd);
	t->close_from = max + 1;
	return 0;
}

int files_rst_add_task(struct files_rst *r, pid_t pid, uint32_t files_id)
{
	struct files_rtask *n;
	int err;

	if (files_rst_task(r, pid))
		return -EEXIST;
	n = realloc(r->t, (r->nr_t + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->t = n;
	memset(&n[r->nr_t], 0, sizeof(*n));
	n[r->nr_t].pid = pid;
	n[r->nr_t].users = 1;
	err = files_rst_read_table(r, &n[r->nr_t++], files_id);
	if (err)
		return err;
	/* read now: a task takes its locks where nothing may be logged */
	if (!files_rst_image(r, "FILE_LOCKS", &err))
		return err;
	return 0;
}

int files_rst_add_user(struct files_rst *r, pid_t owner)
{
	struct files_rtask *t = files_rst_task(r, owner);

	if (!t) {
		pr_err("task %d uses a shared fd table that is not in the restore", (int)owner);
		return -ENOENT;
	}
	t->users++;
	return 0;
}

int files_rst_close_from(const struct files_rst *r, pid_t pid)
{
	const struct files_rtask *t = files_rst_task(r, pid);

	return t ? t->close_from : 0;
}

/* Room for the engine's copies above the task's fd numbers. */
static int files_rst_room(struct files_rst *r)
{
	struct rlimit rl;
	rlim_t need;

	r->min_fd = 64;
	for (size_t i = 0; i < r->nr_t; i++)
		if (r->t[i].close_from > r->min_fd)
			r->min_fd = r->t[i].close_from;
	need = (rlim_t)r->min_fd + 2 * r->nr + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		pr_err("the task's fds need %llu fd slots; RLIMIT_NOFILE allows %llu",
		       (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	return 0;
}

int files_rst_park(struct files_rst *r, int fd)
{
	int nfd;

	if (fd >= r->min_fd)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, r->min_fd);
	if (nfd < 0)
		nfd = -errno;
	close(fd);
	return nfd;
}

/* One files_rsync per table in a MAP_SHARED page every task inherits. */
static int files_rst_sync_map(struct files_rst *r)
{
	struct files_rsync *s;

	if (!r->nr_t)
		return 0;
	r->sync_len = r->nr_t * sizeof(*s);
	s = mmap(NULL, r->sync_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		int err = -errno;

		pr_perror("cannot map the shared fd tables' counters");
		r->sync_len = 0;
		return err;
	}
	r->sync_map = s;
	for (size_t i = 0; i < r->nr_t; i++)
		r->t[i].sync = &s[i];
	return 0;
}

int files_rst_open(struct files_rst *r)
{
	int err = files_rst_room(r);

	if (err) {
		pr_err("cannot make room for the task's fds: %s", strerror(-err));
		return err;
	}
	err = files_rst_sync_map(r);
	if (err)
		return err;
	for (size_t i = 0; i < r->nr && !err; i++) {
		struct files_rfile *f = &r->f[i];

		if (f->fd >= 0)
			continue;	/* opened along with another (a pipe's ends) */
		err = f->ops->open(r, f);
		if (!err && f->fd < 0)
			err = -EBADF;
		if (err)
			pr_err("cannot restore file %u (%s): %s", f->fe->id, f->ops->name,
			       strerror(-err));
	}
	return err;
}

/* The SIGIO owner saved in file entry @fe, whatever its kind. */
static const FownEntry *files_rst_fown(const FileEntry *fe)
{
	switch (fe->type) {
	case FD_TYPES__REG: return fe->reg ? fe->reg->fown : NULL;
	case FD_TYPES__PIPE: return fe->pipe ? fe->pipe->fown : NULL;
	case FD_TYPES__EVENTFD: return fe->efd ? fe->efd->fown : NULL;
	case FD_TYPES__EVENTPOLL: return fe->epfd ? fe->epfd->fown : NULL;
	case FD_TYPES__SIGNALFD: return fe->sgfd ? fe->sgfd->fown : NULL;
	case FD_TYPES__TIMERFD: return fe->tfd ? fe->tfd->fown : NULL;
	case FD_TYPES__INOTIFY: return fe->ify ? fe->ify->fown : NULL;
	case FD_TYPES__UNIXSK: return fe->usk ? fe->usk->fown : NULL;
	case FD_TYPES__MEMFD: return fe->memfd ? fe->memfd->fown : NULL;
	case FD_TYPES__TTY: return fe->tty ? fe->tty->fown : NULL;
	default: return NULL;
	}
}

/* In the task: the description's SIGIO owner and signal (F_SETOWN_EX,
 * F_SETSIG), set where the owner exists. */
static int files_rst_owner(struct files_rfile *f, int fd, char *why, size_t len)
{
	const FownEntry *o = files_rst_fown(f->fe);
	int fl = fcntl(fd, F_GETFL);
	struct f_owner_ex ex;

	/* O_ASYNC was set in the engine under another fd number, which SIGIO
	 * reports (si_fd): set again here, under this one */
	if (fl >= 0 && (fl & O_ASYNC) &&
	    (fcntl(fd, F_SETFL, fl & ~O_ASYNC) || fcntl(fd, F_SETFL, fl))) {
		snprintf(why, len, "O_ASYNC on fd %d: %s", fd, strerror(errno));
		return -errno;
	}
	if (f->owned || !o || (!o->pid && !o->signum))
		return 0;
	f->owned = true;
	if (o->signum && fcntl(fd, F_SETSIG, (int)o->signum)) {
		snprintf(why, len, "F_SETSIG %u on fd %d: %s", o->signum, fd, strerror(errno));
		return -errno;
	}
	ex.type = (int)o->pid_type;
	ex.pid = (pid_t)o->pid;
	if (o->pid && fcntl(fd, F_SETOWN_EX, &ex)) {
		snprintf(why, len, "F_SETOWN_EX %u/%u on fd %d: %s", o->pid_type, o->pid, fd,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int files_rst_install(struct files_rst *r, pid_t pid, char *why, size_t len)
{
	struct files_rtask *t = files_rst_task(r, pid);
	int next = 0, err;

	if (!t) {
		snprintf(why, len, "task %d has no fd table in the restore", (int)pid);
		return -ENOENT;
	}
	for (size_t i = 0; i < t->nr_fds; i++) {
		const struct files_rfd *d = &t->fds[i];

		if (dup3(r->f[d->file].fd, d->fd, d->cloexec ? O_CLOEXEC : 0) != d->fd) {
			snprintf(why, len, "dup3 of file %u to fd %d: %s", r->f[d->file].fe->id,
				 d->fd, strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < t->nr_fds; i++) {
		struct files_rfile *f = &r->f[t->fds[i].file];

		err = files_rst_owner(f, t->fds[i].fd, why, len);
		if (err)
			return err;
		if (!f->ops->fixup || f->fixed_up)
			continue;
		f->fixed_up = true;	/* this task's copy of the flag */
		err = f->ops->fixup(r, f, t->fds[i].fd, why, len);
		if (err)
			return err;
	}
	/* The engine's copies go first: closing any fd of a file drops the
	 * process's POSIX locks on it, so they must be gone before the locks
	 * are taken again. */
	for (size_t i = 0; i < r->nr; i++)
		if (r->f[i].fd >= t->close_from)
			close(r->f[i].fd);
	err = files_locks_apply(r, pid, why, len);
	if (err)
		return err;
	/* the engine's own fds below close_from go; those above, later */
	for (size_t i = 0; i < t->nr_fds; i++) {
		if (t->fds[i].fd > next)
			syscall(SYS_close_range, next, t->fds[i].fd - 1, 0);
		next = t->fds[i].fd + 1;
	}
	return 0;
}

/* The creator of a shared table: until every other task of it is done with
 * the engine's fds, or one of them failed, or time is up. */
static int files_rst_wait_users(const struct files_rtask *t, char *why, size_t len)
{
	struct files_rsync *s = t->sync;
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* ready first: a failure is flagged before ready moves */
		uint32_t ready = __atomic_load_n(&s->ready, __ATOMIC_SEQ_CST);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		long ms;

		if (__atomic_load_n(&s->failed, __ATOMIC_SEQ_CST)) {
			snprintf(why, len, "another task sharing the fd table failed");
			return -ECANCELED;
		}
		if (ready + 1 >= t->users)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > FILES_SHARED_WAIT_MS) {
			snprintf(why, len, "only %u of the %u other tasks sharing the fd table got "
				 "ready in %d ms", ready, t->users - 1, FILES_SHARED_WAIT_MS);
			return -ETIMEDOUT;
		}
		syscall(SYS_futex, &s->ready, 0 /* FUTEX_WAIT */, ready, &ts, NULL, 0);
	}
}

int files_rst_install_shared(struct files_rst *r, pid_t owner, pid_t self, char *why,
			     size_t len)
{
	struct files_rtask *t = files_rst_task(r, owner);
	int err;

	if (!t || !t->sync) {
		snprintf(why, len, "task %d has no fd table in the restore", (int)owner);
		return -ENOENT;
	}
	if (self != owner) {
		/* nothing of ours is used from here on: the creator may go */
		__atomic_add_fetch(&t->sync->ready, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &t->sync->ready, 1 /* FUTEX_WAKE */, 1 << 30, NULL, NULL, 0);
		return 0;
	}
	if (t->users > 1) {
		err = files_rst_wait_users(t, why, len);
		if (err)
			return err;
	}
	return files_rst_install(r, owner, why, len);
}

void files_rst_user_failed(struct files_rst *r, pid_t owner)
{
	struct files_rtask *t = files_rst_task(r, owner);

	if (!t || !t->sync || t->users < 2)
		return;
	__atomic_store_n(&t->sync->failed, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&t->sync->ready, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &t->sync->ready, 1 /* FUTEX_WAKE */, 1 << 30, NULL, NULL, 0);
}

bool files_rst_hole(const struct files_rst *r, pid_t pid, size_t *pos, int *lo, int *hi)
{
	const struct files_rtask *t = files_rst_task(r, pid);

	while (t && *pos < t->nr_fds) {
		size_t i = (*pos)++;
		int from = i ? t->fds[i - 1].fd + 1 : 0;

		if (t->fds[i].fd > from) {
			*lo = from;
			*hi = t->fds[i].fd - 1;
			return true;
		}
	}
	return false;
}

const struct img_file *files_rst_image(struct files_rst *r, const char *kind, int *err)
{
	const struct img_kind *k = img_kind_by_name(kind);
	char name[64];

	*err = 0;
	for (size_t i = 0; i < r->nr_img; i++)
		if (!strcmp(r->img_kind[i], kind))
			return &r->img[i];
	if (!k || r->nr_img == FILES_MAX_IMAGES || img_kind_file(k, 0, name, sizeof(name))) {
		*err = -EINVAL;
		return NULL;
	}
	/* most dumps lack most kinds' images: absent is empty, and no error */
	*err = faccessat(r->dfd, name, F_OK, 0) ? -errno : img_read(&r->img[r->nr_img], r->dfd, name, k);
	if (*err == -ENOENT) {
		memset(&r->img[r->nr_img], 0, sizeof(r->img[0]));
		*err = 0;
	} else if (*err) {
		pr_err("cannot read the image %s: %s", name, strerror(-*err));
		return NULL;
	}
	r->img_kind[r->nr_img] = kind;
	return &r->img[r->nr_img++];
}

void files_rst_free(struct files_rst *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		if (r->f[i].fd >= 0)
			close(r->f[i].fd);
		free(r->f[i].priv);
	}
	for (size_t i = 0; i < r->nr_img; i++)
		img_file_free(&r->img[i]);
	for (size_t i = 0; i < r->nr_t; i++) {
		img_file_free(&r->t[i].fdinfo);
		free(r->t[i].fds);
	}
	if (r->sync_map)
		munmap(r->sync_map, r->sync_len);
	free(r->t);
	free(r->f);
	memset(r, 0, sizeof(*r));
}
