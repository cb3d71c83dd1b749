/* file-locks — flock, POSIX and OFD locks held through a task's fds (the
 * "lock:" lines of fdinfo), saved with --file-locks into filelocks.img as
 * CRIU does, and taken again by the restored task once its fds are in
 * place (POSIX locks belong to the process, so the task itself must take
 * them). Without --file-locks a held lock is refused. Leases are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif

struct files_lock {
	pid_t pid;
	int fd;
	size_t desc;
	uint32_t flag, type;		/* CRIU's: FL_*; F_RDLCK/F_WRLCK or LOCK_SH/LOCK_EX */
	int64_t start, len;
};

struct files_lock_arg {
	struct files_dump *fd;
	pid_t pid;
	int fdnum;
	size_t desc;
};

/* The same lock seen through another fd: flock and OFD locks belong to the
 * description, POSIX locks to the process and the inode. */
static bool files_lock_seen(const struct files_dump *fd, const struct files_lock *l)
{
	for (size_t i = 0; i < fd->nr_locks; i++) {
		const struct files_lock *o = &fd->locks[i];

		if (o->flag != l->flag || o->start != l->start || o->len != l->len || o->type != l->type)
			continue;
		if (l->flag != FDINFO_LK_POSIX && o->desc == l->desc)
			return true;
		if (l->flag == FDINFO_LK_POSIX && o->pid == l->pid &&
		    fd->d[o->desc].st.st_ino == fd->d[l->desc].st.st_ino &&
		    fd->d[o->desc].st.st_dev == fd->d[l->desc].st.st_dev)
			return true;
	}
	return false;
}

static int files_lock_one(const struct fdinfo_lock *fl, void *arg)
{
	struct files_lock_arg *a = arg;
	struct files_dump *fd = a->fd;
	struct files_lock l;

	if (!fd->o || !fd->o->file_locks) {
		pr_err("task %d: fd %d holds a %s lock; dump with --file-locks to save it",
		       (int)a->pid, a->fdnum, fl->kind_name);
		return -EOPNOTSUPP;
	}
	if (!fl->kind || fl->mandatory) {
		pr_err("task %d: fd %d holds a %s%s lock; crisp cannot dump it", (int)a->pid,
		       a->fdnum, fl->mandatory ? "mandatory " : "", fl->kind_name);
		return -EOPNOTSUPP;
	}
	if (fl->start > INT64_MAX || fl->len > INT64_MAX)
		return -EINVAL;
	l = (struct files_lock){ a->pid, a->fdnum, a->desc, fl->kind, 0, (int64_t)fl->start,
				 (int64_t)fl->len };
	if (fl->kind == FDINFO_LK_FLOCK)
		l.type = fl->write ? LOCK_EX : LOCK_SH;
	else
		l.type = fl->write ? F_WRLCK : F_RDLCK;
	if (files_lock_seen(fd, &l))
		return 0;
	if (fd->nr_locks == fd->cap_locks) {
		size_t cap = fd->cap_locks ? fd->cap_locks * 2 : 8;
		struct files_lock *n = realloc(fd->locks, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		fd->locks = n;
		fd->cap_locks = cap;
	}
	fd->locks[fd->nr_locks++] = l;
	return 0;
}

int files_locks_collect(struct files_dump *fd, pid_t pid, int fdnum, size_t desc,
			const char *fdinfo)
{
	struct files_lock_arg a = { fd, pid, fdnum, desc };
	int err;

	if (!strstr(fdinfo, "\nlock:"))
		return 0;	/* the common case: no lock, no parsing */
	err = fdinfo_locks(fdinfo, strlen(fdinfo), files_lock_one, &a);
	if (err == -EINVAL)
		pr_err("task %d: fd %d: a lock line it cannot read", (int)pid, fdnum);
	return err;
}

int files_locks_write(struct files_dump *fd, struct img_dir *dir)
{
	struct img_writer w;
	int err, err2;

	if (!fd->nr_locks)
		return 0;
	err = img_writer_open(&w, dir, img_kind_by_name("FILE_LOCKS"), 0);
	if (err)
		return err;
	for (size_t i = 0; i < fd->nr_locks && !err; i++) {
		const struct files_lock *l = &fd->locks[i];
		FileLockEntry e = FILE_LOCK_ENTRY__INIT;

		e.flag = l->flag;
		e.type = l->type;
		e.pid = l->pid;
		e.fd = l->fd;
		e.start = l->start;
		e.len = l->len;
		err = img_writer_entry(&w, &e.base);
	}
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

void files_locks_free(struct files_dump *fd)
{
	free(fd->locks);
	fd->locks = NULL;
	fd->nr_locks = fd->cap_locks = 0;
}

/* ---- restore, in the task once its fds are installed ---- */

static int files_lock_take(const FileLockEntry *e, char *why, size_t len)
{
	struct flock fl = { .l_whence = SEEK_SET, .l_start = e->start, .l_len = e->len };
	int ret;

	if (e->flag == FDINFO_LK_FLOCK) {
		ret = flock(e->fd, (e->type == LOCK_EX ? LOCK_EX : LOCK_SH) | LOCK_NB);
	} else if (e->flag == FDINFO_LK_POSIX || e->flag == FDINFO_LK_OFD) {
		fl.l_type = e->type == F_WRLCK ? F_WRLCK : F_RDLCK;
		ret = fcntl(e->fd, e->flag == FDINFO_LK_OFD ? F_OFD_SETLK : F_SETLK, &fl);
	} else {
		snprintf(why, len, "a file lock of kind %u on fd %d", e->flag, e->fd);
		return -EOPNOTSUPP;
	}
	if (ret) {
		int err = -errno;

		snprintf(why, len, "taking the %s lock on fd %d (%lld+%lld) again: %s",
			 e->flag == FDINFO_LK_FLOCK ? "flock" : e->flag == FDINFO_LK_OFD ? "OFD" : "POSIX",
			 e->fd, (long long)e->start, (long long)e->len, strerror(errno));
		return err;
	}
	return 0;
}

int files_locks_apply(struct files_rst *r, pid_t pid, char *why, size_t len)
{
	const struct img_file *img;
	int err;

	img = files_rst_image(r, "FILE_LOCKS", &err);
	if (!img) {
		snprintf(why, len, "filelocks.img cannot be read");
		return err;
	}
	for (size_t i = 0; i < img->n; i++) {
		const FileLockEntry *e = (const FileLockEntry *)img->ents[i].msg;

		if (e->pid != pid)
			continue;
		err = files_lock_take(e, why, len);
		if (err)
			return err;
	}
	return 0;
}
