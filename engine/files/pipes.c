/* pipes — anonymous pipes and named FIFOs: each end is one description
 * (pipe_entry, or fifo_entry naming a reg_file_entry with the path; the
 * inode as pipe_id), the buffered data and F_GETPIPE_SZ once per pipe in
 * pipes-data.img / fifo-data.img. The data is duplicated with tee() into a
 * pipe of ours, never consumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

struct pipes_priv {
	bool owner;		/* this description carries the pipe's data */
	uint32_t size;		/* F_GETPIPE_SZ */
	uint32_t len;
	uint8_t *data;
};

static bool pipes_match(const struct files_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, "pipe:", 5);
}

/* A read end of @d's pipe: its own, or a new one through /proc. */
static int pipes_read_end(const struct files_desc *d)
{
	char path[64];

	if ((d->flags & O_ACCMODE) == O_RDONLY)
		return d->lfd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", d->lfd);
	return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

static int pipes_peek(struct files_desc *d, struct pipes_priv *pp)
{
	int rd = pipes_read_end(d), tmp[2] = { -1, -1 }, err = 0, queued = -1;
	ssize_t n;

	if (rd < 0)
		return -errno;
	n = fcntl(rd, F_GETPIPE_SZ);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	pp->size = (uint32_t)n;
	if (ioctl(rd, FIONREAD, &queued) == 0 && queued == 0)
		goto out;	/* empty: nothing to copy */
	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		goto out;
	}
	if (fcntl(tmp[1], F_SETPIPE_SZ, (int)pp->size) < (int)pp->size) {
		err = errno ? -errno : -ENOSPC;
		goto out;
	}
	n = tee(rd, tmp[1], pp->size, SPLICE_F_NONBLOCK);
	if (n < 0) {
		if (errno != EAGAIN)
			err = -errno;
		goto out;
	}
	pp->data = malloc((size_t)n + 1);
	if (!pp->data) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t got = 0; got < (size_t)n;) {
		ssize_t r = read(tmp[0], pp->data + got, (size_t)n - got);

		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)r;
	}
	pp->len = (uint32_t)n;
out:
	if (rd != d->lfd)
		close(rd);
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	return err;
}

static int pipes_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct pipes_priv *pp = calloc(1, sizeof(*pp));
	int err;

	(void)fdinfo;
	if (!pp)
		return -ENOMEM;
	d->priv = pp;
	if (files_dump_same_inode(fd, &d->st, (size_t)(d - fd->d)) >= 0)
		return 0;	/* the other end has the data */
	pp->owner = true;
	err = pipes_peek(d, pp);
	if (err)
		pr_err("task %d: fd %d (%s): cannot read the pipe's data: %s", (int)d->pid, d->fd,
		       d->link, strerror(-err));
	return err;
}

/* The pipe's data and size into data image @kind, by its owner only. */
static int pipes_write_data(struct files_wctx *w, const struct files_desc *d, const char *kind)
{
	const struct pipes_priv *pp = d->priv;
	PipeDataEntry pd = PIPE_DATA_ENTRY__INIT;
	struct img_writer *dw;
	int err;

	if (!pp->owner)
		return 0;
	err = files_wctx_writer(w, kind, &dw);
	if (err)
		return err;
	pd.pipe_id = (uint32_t)d->st.st_ino;
	pd.bytes = pp->len;
	pd.has_size = true;
	pd.size = pp->size;
	err = img_writer_entry(dw, &pd.base);
	if (!err && pp->len)
		err = img_writer_raw(dw, pp->data, pp->len);
	return err;
}

static int pipes_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	FileEntry fe = FILE_ENTRY__INIT;
	PipeEntry pe = PIPE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	pe.id = id;
	pe.pipe_id = (uint32_t)d->st.st_ino;
	pe.flags = d->flags;
	pe.fown = &fown;
	fe.type = FD_TYPES__PIPE;
	fe.id = id;
	fe.pipe = &pe;
	err = img_writer_entry(w->files, &fe.base);
	return err ? err : pipes_write_data(w, d, "PIPES_DATA");
}

static void pipes_free(struct files_desc *d)
{
	struct pipes_priv *pp = d->priv;

	if (pp)
		free(pp->data);
	free(pp);
	d->priv = NULL;
}

/* Size and data of pipe @pipe_id (from image @kind) into its write end. */
static int pipes_fill(struct files_rst *r, const char *kind, uint32_t pipe_id, int wfd)
{
	const struct img_file *img;
	int err;

	img = files_rst_image(r, kind, &err);
	if (!img)
		return err;
	for (size_t i = 0; i < img->n; i++) {
		const PipeDataEntry *pd = (const PipeDataEntry *)img->ents[i].msg;
		const uint8_t *p = img->ents[i].extra;

		if (pd->pipe_id != pipe_id)
			continue;
		if (img->ents[i].extra_len != pd->bytes) {
			pr_err("bad image %s: entry %zu at offset %zu: %u bytes announced, %zu there",
			       img->name, i, img->ents[i].offset, pd->bytes, img->ents[i].extra_len);
			return -EINVAL;
		}
		if (pd->has_size && fcntl(wfd, F_SETPIPE_SZ, (int)pd->size) < 0) {
			err = -errno;
			pr_perror("pipe %u: F_SETPIPE_SZ %u", pipe_id, pd->size);
			return err;
		}
		for (size_t done = 0; done < pd->bytes;) {
			ssize_t n = write(wfd, p + done, pd->bytes - done);

			if (n <= 0) {
				err = n < 0 ? -errno : -EIO;
				pr_err("pipe %u: refilling its %u bytes: %s", pipe_id, pd->bytes,
				       strerror(-err));
				return err;
			}
			done += (size_t)n;
		}
		return 0;
	}
	return 0;
}

/* Gives @f end @end (0 read, 1 write) of the new pipe, or a reopened copy
 * when the end is taken already; then its flags, parked high. */
static int pipes_give(struct files_rst *r, struct files_rfile *f, int ends[2], bool used[2])
{
	int end = (f->fe->pipe->flags & O_ACCMODE) == O_RDONLY ? 0 : 1, fd;

	if (!used[end]) {
		used[end] = true;
		fd = ends[end];
		ends[end] = -1;
	} else {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd >= 0 ? f->fd : ends[end]);
		fd = open(path, (end ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fcntl(fd, F_SETFL, f->fe->pipe->flags & (O_NONBLOCK | O_ASYNC | O_DIRECT))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

static int pipes_open(struct files_rst *r, struct files_rfile *f)
{
	uint32_t pipe_id;
	int ends[2], keep[2], err;
	bool used[2] = { false, false };

	if (!f->fe->pipe || !f->fe->pipe->fown)
		return -EINVAL;
	pipe_id = f->fe->pipe->pipe_id;
	if (pipe2(ends, O_CLOEXEC))
		return -errno;
	keep[0] = ends[0];
	keep[1] = ends[1];
	err = pipes_fill(r, "PIPES_DATA", pipe_id, ends[1]);
	/* both ends stay open until every description of the pipe has its own */
	keep[0] = dup(ends[0]);
	keep[1] = dup(ends[1]);
	for (size_t i = 0; i < r->nr && !err; i++) {
		struct files_rfile *o = &r->f[i];

		if (o->ops != &files_pipe_ops || o->fd >= 0 || !o->fe->pipe ||
		    o->fe->pipe->pipe_id != pipe_id)
			continue;
		if (used[(o->fe->pipe->flags & O_ACCMODE) == O_RDONLY ? 0 : 1]) {
			int k[2] = { keep[0], keep[1] };

			err = pipes_give(r, o, k, used);
		} else {
			err = pipes_give(r, o, ends, used);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (ends[i] >= 0)
			close(ends[i]);
		if (keep[i] >= 0)
			close(keep[i]);
	}
	return err;
}

const struct files_ops files_pipe_ops = {
	.name = "pipe",
	.type = FD_TYPES__PIPE,
	.match = pipes_match,
	.dump = pipes_dump,
	.write = pipes_write,
	.free = pipes_free,
	.open = pipes_open,
};

/* ---- named FIFOs ---- */

static bool fifo_match(const struct files_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && p->link[0] == '/';
}

static int fifo_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	FileEntry fe = FILE_ENTRY__INIT, re_fe = FILE_ENTRY__INIT;
	FifoEntry fi = FIFO_ENTRY__INIT;
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	/* the path, as a regular-file entry no fd names */
	re.id = w->next_id++;
	re.flags = d->flags;
	re.fown = &fown;
	re.name = d->link;
	re.has_mode = true;
	re.mode = d->st.st_mode;
	re_fe.type = FD_TYPES__REG;
	re_fe.id = re.id;
	re_fe.reg = &re;
	fi.id = id;
	fi.pipe_id = (uint32_t)d->st.st_ino;
	fi.has_regf_id = true;
	fi.regf_id = re.id;
	fe.type = FD_TYPES__FIFO;
	fe.id = id;
	fe.fifo = &fi;
	err = img_writer_entry(w->files, &re_fe.base);
	if (!err)
		err = img_writer_entry(w->files, &fe.base);
	return err ? err : pipes_write_data(w, d, "FIFO_DATA");
}

static const RegFileEntry *fifo_path(const struct files_rst *r, const FifoEntry *fi)
{
	for (size_t i = 0; fi->has_regf_id && r->files && i < r->files->n; i++) {
		const FileEntry *fe = (const FileEntry *)r->files->ents[i].msg;

		if (fe->id == fi->regf_id && fe->type == FD_TYPES__REG && fe->reg && fe->reg->name)
			return fe->reg;
	}
	return NULL;
}

/* One end of the FIFO at @path, opened without blocking (the holder keeps
 * both sides alive), then given its own flags. */
static int fifo_end(struct files_rst *r, struct files_rfile *f, const char *path)
{
	uint32_t flags = f->fe->fifo ? fifo_path(r, f->fe->fifo)->flags : 0;
	int fd = open(path, (int)(flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, flags & (O_NONBLOCK | O_ASYNC | O_DIRECT))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

static int fifo_open(struct files_rst *r, struct files_rfile *f)
{
	const FifoEntry *fi = f->fe->fifo;
	const RegFileEntry *re = fi ? fifo_path(r, fi) : NULL;
	struct stat st;
	int holder, err;

	if (!re) {
		pr_err("FIFO file %u: no path for it in files.img", f->fe->id);
		return -EINVAL;
	}
	if (stat(re->name, &st) || !S_ISFIFO(st.st_mode)) {
		pr_err("%s is no longer a FIFO", re->name);
		return -ESTALE;
	}
	/* read-write: never blocks, and keeps a reader and a writer meanwhile */
	holder = open(re->name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (holder < 0) {
		err = -errno;
		pr_perror("cannot open the FIFO %s", re->name);
		return err;
	}
	err = fcntl(holder, F_SETFL, 0) ? -errno : pipes_fill(r, "FIFO_DATA", fi->pipe_id, holder);
	for (size_t i = 0; i < r->nr && !err; i++) {
		struct files_rfile *o = &r->f[i];

		if (o->ops == &files_fifo_ops && o->fd < 0 && o->fe->fifo &&
		    o->fe->fifo->pipe_id == fi->pipe_id && fifo_path(r, o->fe->fifo))
			err = fifo_end(r, o, fifo_path(r, o->fe->fifo)->name);
	}
	close(holder);
	return err;
}

const struct files_ops files_fifo_ops = {
	.name = "FIFO",
	.type = FD_TYPES__FIFO,
	.match = fifo_match,
	.dump = pipes_dump,
	.write = fifo_write,
	.free = pipes_free,
	.open = fifo_open,
};
