/* files-ghost — unlinked-but-open regular files for files-reg: their data
 * (up to --ghost-limit, holes left out) into ghost-file-ID.img with a
 * remap-fpath.img entry tying the file id to it, as CRIU does; at restore
 * the file is recreated unlinked in its directory with its contents, mode,
 * owner and times. Used by files-reg.c only.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

struct ghost_chunk {
	uint64_t off, len;
};

struct files_ghost {
	uint32_t remap_id;		/* 0: not the first description of it */
	uint8_t *data;
	struct ghost_chunk *c;
	size_t nr;
};

static int ghost_read(int fd, uint64_t size, struct files_ghost *g)
{
	uint64_t total = 0;
	off_t at = 0;

	while ((uint64_t)at < size) {
		off_t d = lseek(fd, at, SEEK_DATA), h;
		struct ghost_chunk *n;

		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		if ((uint64_t)h > size)
			h = (off_t)size;
		n = realloc(g->c, (g->nr + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		g->c = n;
		n[g->nr++] = (struct ghost_chunk){ (uint64_t)d, (uint64_t)(h - d) };
		total += (uint64_t)(h - d);
		at = h;
	}
	g->data = malloc(total ? total : 1);
	if (!g->data)
		return -ENOMEM;
	total = 0;
	for (size_t i = 0; i < g->nr; i++) {
		ssize_t n = pread(fd, g->data + total, g->c[i].len, (off_t)g->c[i].off);

		if (n != (ssize_t)g->c[i].len)
			return n < 0 ? -errno : -EIO;
		total += g->c[i].len;
	}
	return 0;
}

int files_ghost_dump(struct files_dump *fd, struct files_desc *d, struct files_ghost **out)
{
	uint64_t limit = fd->o ? fd->o->ghost_limit : 0;
	struct files_ghost *g;
	char path[64];
	int rd, err;

	*out = NULL;
	if (!S_ISREG(d->st.st_mode)) {
		pr_err("task %d: fd %d is %s, unlinked and not a regular file; crisp cannot dump it",
		       (int)d->pid, d->fd, d->link);
		return -EOPNOTSUPP;
	}
	if ((uint64_t)d->st.st_size > limit) {
		pr_err("task %d: fd %d is %s, an unlinked file of %llu bytes, over the ghost limit "
		       "of %llu (--ghost-limit)", (int)d->pid, d->fd, d->link,
		       (unsigned long long)d->st.st_size, (unsigned long long)limit);
		return -EFBIG;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*out = g;
	if (files_dump_same_inode(fd, &d->st, (size_t)(d - fd->d)) >= 0)
		return 0;	/* its data is saved with that one */
	g->remap_id = (uint32_t)(d - fd->d) + 1;	/* made unique at write time */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", d->lfd);
	rd = open(path, O_RDONLY | O_CLOEXEC);
	err = rd < 0 ? -errno : ghost_read(rd, (uint64_t)d->st.st_size, g);
	if (rd >= 0)
		close(rd);
	if (err)
		pr_err("task %d: fd %d (%s): cannot read the unlinked file: %s", (int)d->pid, d->fd,
		       d->link, strerror(-err));
	return err;
}

void files_ghost_free(struct files_ghost *g)
{
	if (!g)
		return;
	free(g->data);
	free(g->c);
	free(g);
}

/* The remap id of @d's ghost: that of the first description of the inode. */
static uint32_t ghost_remap_id(const struct files_dump *fd, const struct files_desc *d)
{
	ssize_t first = files_dump_same_inode(fd, &d->st, fd->nr);	/* none is skipped */

	return first >= 0 ? fd->id_base + 1 + (uint32_t)first : 0;
}

static int ghost_write_data(struct files_wctx *w, const struct files_desc *d,
			    const struct files_ghost *g, uint32_t remap_id)
{
	GhostFileEntry ge = GHOST_FILE_ENTRY__INIT;
	Timeval at = TIMEVAL__INIT, mt = TIMEVAL__INIT;
	struct img_writer gw;
	uint64_t off = 0;
	int err, err2;

	err = img_writer_open(&gw, w->dir, img_kind_by_name("GHOST_FILE"), remap_id);
	if (err)
		return err;
	ge.uid = d->st.st_uid;
	ge.gid = d->st.st_gid;
	ge.mode = d->st.st_mode;
	ge.has_dev = ge.has_ino = true;
	ge.dev = (uint32_t)d->st.st_dev;
	ge.ino = d->st.st_ino;
	at.tv_sec = (uint64_t)d->st.st_atim.tv_sec;
	at.tv_usec = (uint64_t)d->st.st_atim.tv_nsec / 1000;
	mt.tv_sec = (uint64_t)d->st.st_mtim.tv_sec;
	mt.tv_usec = (uint64_t)d->st.st_mtim.tv_nsec / 1000;
	ge.atim = &at;
	ge.mtim = &mt;
	ge.has_chunks = ge.chunks = true;
	ge.has_size = true;
	ge.size = (uint64_t)d->st.st_size;
	err = img_writer_entry(&gw, &ge.base);
	for (size_t i = 0; i < g->nr && !err; i++) {
		GhostChunkEntry ce = GHOST_CHUNK_ENTRY__INIT;

		ce.off = g->c[i].off;
		ce.len = g->c[i].len;
		err = img_writer_entry(&gw, &ce.base);
		if (!err)
			err = img_writer_raw(&gw, g->data + off, g->c[i].len);
		off += g->c[i].len;
	}
	err2 = img_writer_close(&gw);
	return err ? err : err2;
}

int files_ghost_write(struct files_wctx *w, const struct files_desc *d,
		      const struct files_ghost *g, uint32_t id)
{
	RemapFilePathEntry re = REMAP_FILE_PATH_ENTRY__INIT;
	struct img_writer *rw;
	int err;

	re.orig_id = id;
	re.remap_id = ghost_remap_id(w->fdump, d);
	re.has_remap_type = true;
	re.remap_type = REMAP_TYPE__GHOST;
	err = files_wctx_writer(w, "REMAP_FPATH", &rw);
	if (!err)
		err = img_writer_entry(rw, &re.base);
	if (!err && g->remap_id)
		err = ghost_write_data(w, d, g, re.remap_id);
	return err;
}

/* ---- restore ---- */

/* The remap of file @id, if it is a ghost: its remap id, else 0. */
uint32_t files_ghost_remap(struct files_rst *r, uint32_t id, int *err)
{
	const struct img_file *img = files_rst_image(r, "REMAP_FPATH", err);

	for (size_t i = 0; img && i < img->n; i++) {
		const RemapFilePathEntry *re = (const RemapFilePathEntry *)img->ents[i].msg;

		if (re->orig_id == id && re->has_remap_type && re->remap_type == REMAP_TYPE__GHOST)
			return re->remap_id;
	}
	return 0;
}

static int ghost_fill(struct files_rst *r, const struct img_file *gf, int fd)
{
	const GhostFileEntry *ge = (const GhostFileEntry *)gf->ents[0].msg;

	if (!ge->has_chunks || !ge->chunks) {
		/* CRIU's older layout: the whole contents after the entry */
		if (pwrite(fd, gf->ents[0].extra, gf->ents[0].extra_len, 0) != (ssize_t)gf->ents[0].extra_len)
			return -errno;
	}
	for (size_t i = 1; i < gf->n; i++) {
		const GhostChunkEntry *ce = (const GhostChunkEntry *)gf->ents[i].msg;

		if (gf->ents[i].extra_len != ce->len || ce->off + ce->len < ce->off ||
		    (ge->has_size && ce->off + ce->len > ge->size)) {
			pr_err("bad image %s: entry %zu at offset %zu: chunk length", gf->name, i,
			       gf->ents[i].offset);
			return -EINVAL;
		}
		if (pwrite(fd, gf->ents[i].extra, ce->len, (off_t)ce->off) != (ssize_t)ce->len)
			return -errno;
	}
	(void)r;
	if (ge->has_size && ftruncate(fd, (off_t)ge->size))
		return -errno;
	if (fchown(fd, ge->uid, ge->gid) || fchmod(fd, ge->mode & 07777))
		return -errno;
	if (ge->atim && ge->mtim) {
		struct timespec ts[2] = {
			{ (time_t)ge->atim->tv_sec, (long)ge->atim->tv_usec * 1000 },
			{ (time_t)ge->mtim->tv_sec, (long)ge->mtim->tv_usec * 1000 },
		};

		futimens(fd, ts);
	}
	return 0;
}

/* A new unlinked file at @path's directory with ghost @remap_id's contents;
 * the fd (O_RDWR) or -errno. */
static int ghost_create(struct files_rst *r, const char *path, uint32_t remap_id)
{
	const struct img_kind *k = img_kind_by_name("GHOST_FILE");
	char name[64], *dup = strdup(path);
	struct img_file gf;
	int fd = -1, err;

	if (!dup || img_kind_file(k, remap_id, name, sizeof(name))) {
		free(dup);
		return -ENOMEM;
	}
	err = img_read(&gf, r->dfd, name, k);
	if (err) {
		pr_err("cannot read the image %s: %s", name, strerror(-err));
		free(dup);
		return err;
	}
	if (!gf.n || gf.ents[0].msg->descriptor != &ghost_file_entry__descriptor ||
	    !S_ISREG(((const GhostFileEntry *)gf.ents[0].msg)->mode)) {
		pr_err("bad image %s: not a regular file's ghost", name);
		err = -EINVAL;
		goto out;
	}
	fd = open(dirname(dup), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		pr_perror("cannot recreate the unlinked file %s in its directory", path);
		goto out;
	}
	err = ghost_fill(r, &gf, fd);
	if (err)
		pr_err("recreating the unlinked file %s: %s", path, strerror(-err));
out:
	if (err && fd >= 0) {
		close(fd);
		fd = -1;
	}
	img_file_free(&gf);
	free(dup);
	return err ? err : fd;
}

int files_ghost_open(struct files_rst *r, struct files_rfile *f, uint32_t remap_id, int flags)
{
	const char *path = f->fe->reg->name;
	char proc[64];
	int gfd = -1, fd;

	/* another description of the same ghost has it already */
	for (size_t i = 0; i < r->nr; i++)
		if (&r->f[i] != f && r->f[i].ops == f->ops && r->f[i].priv &&
		    *(uint32_t *)r->f[i].priv == remap_id &&
		    r->f[i].fd >= 0)
			gfd = r->f[i].fd;
	if (gfd < 0) {
		gfd = ghost_create(r, path, remap_id);
		if (gfd < 0)
			return gfd;
	} else {
		gfd = dup(gfd);
		if (gfd < 0)
			return -errno;
	}
	f->priv = malloc(sizeof(uint32_t));
	if (f->priv)
		*(uint32_t *)f->priv = remap_id;
	/* a description of its own, with the dumped flags */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", gfd);
	fd = open(proc, flags | O_CLOEXEC);
	close(gfd);
	return fd < 0 ? -errno : fd;
}
