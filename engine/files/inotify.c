/* inotify — inotify instances and their watches (inotify_file_entry with
 * one inotify_wd_entry per watch). fdinfo gives each watch's file handle;
 * the dump turns it into a path (open_by_handle_at on a mount of that
 * device). The restore adds each watch by path with its mask, under the
 * same watch descriptor number. Queued events are not saved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#define INO_HANDLE_WORDS 16	/* MAX_HANDLE_SZ (128 bytes) in u64 words */
#define INO_MAX_WD_STEPS 100000	/* watch descriptors stepped over at restore */

struct ino_watch {
	uint32_t wd, mask, ignored_mask, s_dev, bytes, type;
	uint64_t ino;
	uint64_t handle[INO_HANDLE_WORDS];
	char *path;
};

struct ino_priv {
	struct ino_watch *w;
	size_t nr;
};

static bool ino_match(const struct files_probe *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

/* A mount of kernel device @sdev seen by @pid, opened; or -errno. */
static int ino_mount_fd(pid_t pid, uint32_t sdev)
{
	char path[64], line[4096], mnt[PATH_MAX];
	unsigned int maj, min;
	int fd = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fd < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) == 3 &&
		    maj == sdev >> 20 && min == (sdev & 0xfffff)) {
			fd = open(mnt, O_RDONLY | O_CLOEXEC);	/* not O_PATH: open_by_handle_at refuses those */
			if (fd < 0)
				fd = -errno;
		}
	fclose(f);
	return fd;
}

/* The path of watch @w, from its handle. */
static int ino_watch_path(pid_t pid, struct ino_watch *w)
{
	struct { struct file_handle fh; uint8_t b[INO_HANDLE_WORDS * 8]; } h;
	char link[64], buf[PATH_MAX];
	int mfd, fd;
	ssize_t n;

	if (w->bytes > sizeof(h.b))
		return -EINVAL;
	mfd = ino_mount_fd(pid, w->s_dev);
	if (mfd < 0)
		return mfd;
	h.fh.handle_bytes = w->bytes;
	h.fh.handle_type = (int)w->type;
	memcpy(h.fh.f_handle, w->handle, w->bytes);
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	w->path = strdup(buf);
	return w->path ? 0 : -ENOMEM;
}

struct ino_dump_arg {
	const struct files_desc *d;
	struct ino_priv *ip;
};

static int ino_add_watch(const struct fdinfo_inotify_wd *fw, void *arg)
{
	struct ino_dump_arg *a = arg;
	struct ino_priv *ip = a->ip;
	struct ino_watch *n = realloc(ip->w, (ip->nr + 1) * sizeof(*n)), *w;
	int err;

	if (!n)
		return -ENOMEM;
	ip->w = n;
	w = &n[ip->nr++];
	memset(w, 0, sizeof(*w));
	w->wd = fw->wd;
	w->mask = fw->mask;
	w->ignored_mask = fw->ignored_mask;
	w->s_dev = fw->sdev;
	w->bytes = fw->bytes;
	w->type = fw->type;
	w->ino = fw->ino;
	memcpy(w->handle, fw->handle, sizeof(w->handle));
	err = ino_watch_path(a->d->pid, w);
	if (err)
		pr_err("task %d: fd %d: inotify watch %u (inode %llu): no path for it: %s",
		       (int)a->d->pid, a->d->fd, w->wd, (unsigned long long)w->ino, strerror(-err));
	return err;
}

static int ino_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct ino_dump_arg a = { d, calloc(1, sizeof(struct ino_priv)) };
	int err;

	(void)fd;
	if (!a.ip)
		return -ENOMEM;
	d->priv = a.ip;
	err = fdinfo_inotify(fdinfo, strlen(fdinfo), ino_add_watch, &a);
	if (err == -EINVAL)
		pr_err("task %d: fd %d: an inotify watch line it cannot read", (int)d->pid, d->fd);
	return err;
}

static int ino_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct ino_priv *ip = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	InotifyFileEntry ie = INOTIFY_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	InotifyWdEntry *we = calloc(ip->nr + 1, sizeof(*we));
	InotifyWdEntry **wp = calloc(ip->nr + 1, sizeof(*wp));
	FhEntry *fh = calloc(ip->nr + 1, sizeof(*fh));
	int err = -ENOMEM;

	files_fown(d, &fown);
	if (!we || !wp || !fh)
		goto out;
	for (size_t i = 0; i < ip->nr; i++) {
		const struct ino_watch *x = &ip->w[i];

		fh_entry__init(&fh[i]);
		fh[i].bytes = x->bytes;
		fh[i].type = x->type;
		fh[i].n_handle = INO_HANDLE_WORDS;
		fh[i].handle = (uint64_t *)x->handle;
		fh[i].path = x->path;
		inotify_wd_entry__init(&we[i]);
		we[i].id = id;
		we[i].i_ino = x->ino;
		we[i].mask = x->mask;
		we[i].ignored_mask = x->ignored_mask;
		we[i].s_dev = x->s_dev;
		we[i].wd = x->wd;
		we[i].f_handle = &fh[i];
		wp[i] = &we[i];
	}
	ie.id = id;
	ie.flags = d->flags;
	ie.fown = &fown;
	ie.n_wd = ip->nr;
	ie.wd = wp;
	fe.type = FD_TYPES__INOTIFY;
	fe.id = id;
	fe.ify = &ie;
	err = img_writer_entry(w->files, &fe.base);
out:
	free(we);
	free(wp);
	free(fh);
	return err;
}

static void ino_free(struct files_desc *d)
{
	struct ino_priv *ip = d->priv;

	for (size_t i = 0; ip && i < ip->nr; i++)
		free(ip->w[i].path);
	if (ip)
		free(ip->w);
	free(ip);
	d->priv = NULL;
}

/* Adds the watch of @we under its own wd number: watch descriptors are
 * handed out in increasing order, so lower ones are taken and let go. */
static int ino_add(int fd, const InotifyWdEntry *we)
{
	const char *path = we->f_handle->path;

	for (int step = 0; step < INO_MAX_WD_STEPS; step++) {
		int wd = inotify_add_watch(fd, path, we->mask);

		if (wd < 0) {
			int err = -errno;

			pr_perror("inotify watch %u on %s (mask %#x)", we->wd, path, we->mask);
			return err;
		}
		if ((uint32_t)wd == we->wd)
			return 0;
		if ((uint32_t)wd > we->wd) {
			pr_err("inotify watch on %s got wd %d, past the wanted %u", path, wd, we->wd);
			return -EEXIST;
		}
		inotify_rm_watch(fd, wd);
	}
	return -ELOOP;
}

static int ino_cmp_wd(const void *a, const void *b)
{
	uint32_t x = (*(InotifyWdEntry *const *)a)->wd, y = (*(InotifyWdEntry *const *)b)->wd;

	return x < y ? -1 : x > y;
}

static int ino_open(struct files_rst *r, struct files_rfile *f)
{
	const InotifyFileEntry *ie = f->fe->ify;
	InotifyWdEntry **sorted;
	char drain[4096];
	int fd, err = 0;

	if (!ie || !ie->fown)
		return -EINVAL;
	for (size_t i = 0; i < ie->n_wd; i++)
		if (!ie->wd[i]->f_handle || !ie->wd[i]->f_handle->path) {
			pr_err("inotify %u: watch %u has no path", ie->id, ie->wd[i]->wd);
			return -EINVAL;
		}
	sorted = calloc(ie->n_wd + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, ie->wd, ie->n_wd * sizeof(*sorted));
	qsort(sorted, ie->n_wd, sizeof(*sorted), ino_cmp_wd);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		err = -errno;
	for (size_t i = 0; i < ie->n_wd && !err; i++)
		err = ino_add(fd, sorted[i]);
	free(sorted);
	/* the watches let go queued IN_IGNORED events: none is the task's */
	while (!err && read(fd, drain, sizeof(drain)) > 0)
		;
	if (!err && fcntl(fd, F_SETFL, ie->flags & (O_NONBLOCK | O_ASYNC)))
		err = -errno;
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_inotify_ops = {
	.name = "inotify",
	.type = FD_TYPES__INOTIFY,
	.match = ino_match,
	.dump = ino_dump,
	.write = ino_write,
	.free = ino_free,
	.open = ino_open,
};
