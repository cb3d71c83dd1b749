/* memfd — memfd descriptions (memfd_file_entry: flags, offset, inode id)
 * and their inodes, once each (memfd.img: name, size, seals), with the
 * contents as CRIU keeps shared memory: pagemap-shmem-ID.img naming the
 * pages-N.img that holds the data pages (holes left out). Hugetlb memfds
 * are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"
#include "pagemap.pb-c.h"

#define MEMFD_PREFIX "/memfd:"
#define MEMFD_DELETED " (deleted)"
#define MEMFD_PAGE 4096ull
#define MEMFD_PAGES_BASE 0x100000u	/* pages-N.img ids of memfd contents */
#define MEMFD_PE_PRESENT (1u << 2)

struct memfd_run {
	uint64_t off, len;
};

struct memfd_priv {
	bool owner;			/* first description of the inode */
	char *name;
	uint32_t seals;
	uint8_t *data;			/* the data runs, back to back */
	struct memfd_run *runs;
	size_t nr_runs;
};

static bool memfd_match(const struct files_probe *p)
{
	return S_ISREG(p->st.st_mode) && !strncmp(p->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX));
}

/* The runs of @fd that hold data (SEEK_DATA/SEEK_HOLE), page aligned. */
static int memfd_read(int fd, uint64_t size, struct memfd_priv *mp)
{
	uint64_t total = 0;
	off_t at = 0;

	while ((uint64_t)at < size) {
		off_t d = lseek(fd, at, SEEK_DATA), h;
		struct memfd_run *nr;

		if (d < 0)
			break;		/* ENXIO: no data after @at */
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		d = d / (off_t)MEMFD_PAGE * (off_t)MEMFD_PAGE;
		h = (off_t)(((uint64_t)h + MEMFD_PAGE - 1) / MEMFD_PAGE * MEMFD_PAGE);
		nr = realloc(mp->runs, (mp->nr_runs + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		mp->runs = nr;
		nr[mp->nr_runs++] = (struct memfd_run){ (uint64_t)d, (uint64_t)(h - d) };
		total += (uint64_t)(h - d);
		at = h;
	}
	mp->data = calloc(1, total ? total : 1);
	if (!mp->data)
		return -ENOMEM;
	total = 0;
	for (size_t i = 0; i < mp->nr_runs; i++) {
		/* the last page may go past the end of the file: zeros */
		ssize_t n = pread(fd, mp->data + total, mp->runs[i].len, (off_t)mp->runs[i].off);

		if (n < 0)
			return -errno;
		total += mp->runs[i].len;
	}
	return 0;
}

static int memfd_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct memfd_priv *mp = calloc(1, sizeof(*mp));
	size_t n, dl = strlen(MEMFD_DELETED);
	char path[64];
	int rd, seals, err;

	(void)fdinfo;
	if (!mp)
		return -ENOMEM;
	d->priv = mp;
	if (files_dump_same_inode(fd, &d->st, (size_t)(d - fd->d)) >= 0)
		return 0;	/* the inode is saved with that one */
	mp->owner = true;
	mp->name = strdup(d->link + strlen(MEMFD_PREFIX));
	if (!mp->name)
		return -ENOMEM;
	n = strlen(mp->name);
	if (n >= dl && !strcmp(mp->name + n - dl, MEMFD_DELETED))
		mp->name[n - dl] = '\0';
	seals = fcntl(d->lfd, F_GET_SEALS);
	mp->seals = seals < 0 ? F_SEAL_SEAL : (uint32_t)seals;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", d->lfd);
	rd = open(path, O_RDONLY | O_CLOEXEC);
	err = rd < 0 ? -errno : memfd_read(rd, (uint64_t)d->st.st_size, mp);
	if (rd >= 0)
		close(rd);
	if (err)
		pr_err("task %d: fd %d (%s): cannot read the memfd: %s", (int)d->pid, d->fd,
		       d->link, strerror(-err));
	return err;
}

/* The inode's entry, contents map and pages, once per inode. */
static int memfd_write_inode(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct memfd_priv *mp = d->priv;
	MemfdInodeEntry ie = MEMFD_INODE_ENTRY__INIT;
	PagemapHead ph = PAGEMAP_HEAD__INIT;
	struct img_writer *iw, pm, pg;
	uint64_t total = 0;
	int err, err2;

	err = files_wctx_writer(w, "MEMFD_INODE", &iw);
	if (err)
		return err;
	ie.name = mp->name;
	ie.uid = d->st.st_uid;
	ie.gid = d->st.st_gid;
	ie.size = (uint64_t)d->st.st_size;
	ie.shmid = (uint32_t)d->st.st_ino;
	ie.seals = mp->seals;
	ie.inode_id = d->st.st_ino;
	err = img_writer_entry(iw, &ie.base);
	if (err)
		return err;
	err = img_writer_open(&pm, w->dir, img_kind_by_name("SHMEM_PAGEMAP"), ie.shmid);
	if (err)
		return err;
	ph.pages_id = MEMFD_PAGES_BASE + id;
	err = img_writer_entry(&pm, &ph.base);
	for (size_t i = 0; i < mp->nr_runs && !err; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = mp->runs[i].off;
		pe.nr_pages = (uint32_t)(mp->runs[i].len / MEMFD_PAGE);
		pe.has_flags = true;
		pe.flags = MEMFD_PE_PRESENT;
		err = img_writer_entry(&pm, &pe.base);
		total += mp->runs[i].len;
	}
	err2 = img_writer_close(&pm);
	if (err || err2)
		return err ? err : err2;
	err = img_writer_open(&pg, w->dir, img_kind_by_name("PAGES"), ph.pages_id);
	if (err)
		return err;
	err = total ? img_writer_raw(&pg, mp->data, total) : 0;
	err2 = img_writer_close(&pg);
	return err ? err : err2;
}

static int memfd_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct memfd_priv *mp = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	MemfdFileEntry me = MEMFD_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	me.id = id;
	me.flags = d->flags;
	me.pos = d->pos;
	me.fown = &fown;
	me.inode_id = (uint32_t)d->st.st_ino;
	fe.type = FD_TYPES__MEMFD;
	fe.id = id;
	fe.memfd = &me;
	err = img_writer_entry(w->files, &fe.base);
	if (!err && mp->owner)
		err = memfd_write_inode(w, d, id);
	return err;
}

static void memfd_free(struct files_desc *d)
{
	struct memfd_priv *mp = d->priv;

	if (mp) {
		free(mp->name);
		free(mp->data);
		free(mp->runs);
	}
	free(mp);
	d->priv = NULL;
}

/* @len bytes at @from of @in to @to of @out (not the same file system). */
static int memfd_copy(int in, uint64_t from, int out, uint64_t to, uint64_t len)
{
	static const size_t chunk = 1 << 20;
	uint8_t *buf = malloc(len < chunk ? len : chunk);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (len && !err) {
		size_t n = len < chunk ? len : chunk;
		ssize_t got = pread(in, buf, n, (off_t)from);

		if (got != (ssize_t)n)
			err = got < 0 ? -errno : -EIO;
		else if (pwrite(out, buf, n, (off_t)to) != (ssize_t)n)
			err = -errno;
		from += n;
		to += n;
		len -= n;
	}
	free(buf);
	return err;
}

/* The contents of inode @ie into @fd from its pagemap and pages images. */
static int memfd_fill(struct files_rst *r, const MemfdInodeEntry *ie, int fd)
{
	const struct img_kind *k = img_kind_by_name("SHMEM_PAGEMAP");
	struct img_file pm;
	char name[64], pname[64];
	uint64_t off = 0;
	int err, pfd = -1;

	if (img_kind_file(k, ie->shmid, name, sizeof(name)))
		return -EINVAL;
	err = img_read(&pm, r->dfd, name, k);
	if (err == -ENOENT)
		return 0;	/* all holes */
	if (err) {
		pr_err("cannot read the image %s: %s", name, strerror(-err));
		return err;
	}
	if (!pm.n || pm.ents[0].msg->descriptor != &pagemap_head__descriptor) {
		err = -EINVAL;
		pr_err("bad image %s: no pagemap head", name);
		goto out;
	}
	snprintf(pname, sizeof(pname), "pages-%u.img", ((PagemapHead *)pm.ents[0].msg)->pages_id);
	pfd = openat(r->dfd, pname, O_RDONLY | O_CLOEXEC);
	if (pfd < 0 && pm.n > 1) {
		err = -errno;
		pr_perror("cannot open %s (memfd %s)", pname, ie->name);
		goto out;
	}
	for (size_t i = 1; i < pm.n && !err; i++) {
		const PagemapEntry *pe = (const PagemapEntry *)pm.ents[i].msg;
		uint64_t len = (uint64_t)pe->nr_pages * MEMFD_PAGE;

		if (pe->vaddr % MEMFD_PAGE || pe->vaddr + len < pe->vaddr ||
		    pe->vaddr >= ie->size + MEMFD_PAGE) {
			pr_err("bad image %s: entry %zu at offset %zu: range %#llx+%llu", name, i,
			       pm.ents[i].offset, (unsigned long long)pe->vaddr, (unsigned long long)len);
			err = -EINVAL;
			break;
		}
		if (pe->vaddr + len > ie->size)
			len = ie->size - pe->vaddr;	/* the last page's tail is past the end */
		err = memfd_copy(pfd, off, fd, pe->vaddr, len);
		if (err)
			pr_err("%s: restoring %llu bytes of memfd %s at %#llx: %s", pname,
			       (unsigned long long)len, ie->name, (unsigned long long)pe->vaddr,
			       err == -EIO ? "short pages file" : strerror(-err));
		off += (uint64_t)pe->nr_pages * MEMFD_PAGE;
	}
out:
	if (pfd >= 0)
		close(pfd);
	img_file_free(&pm);
	return err;
}

static const MemfdInodeEntry *memfd_inode(struct files_rst *r, uint32_t inode_id, int *err)
{
	const struct img_file *img = files_rst_image(r, "MEMFD_INODE", err);

	for (size_t i = 0; img && i < img->n; i++)
		if (((const MemfdInodeEntry *)img->ents[i].msg)->inode_id == inode_id)
			return (const MemfdInodeEntry *)img->ents[i].msg;
	if (img)
		pr_err("memfd.img has no inode %u", inode_id);
	*err = *err ? *err : -EINVAL;
	return NULL;
}

/* A new memfd with the inode's name, size, contents and seals. */
static int memfd_create_inode(struct files_rst *r, const MemfdInodeEntry *ie)
{
	int fd = memfd_create(ie->name, MFD_CLOEXEC | MFD_ALLOW_SEALING), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)ie->size)) {
		err = -errno;
		goto fail;
	}
	err = memfd_fill(r, ie, fd);
	if (err)
		goto fail;
	if (ie->seals != F_SEAL_SEAL && fcntl(fd, F_ADD_SEALS, ie->seals & ~(uint32_t)F_SEAL_SEAL) < 0) {
		err = -errno;
		goto fail;
	}
	if ((ie->seals & F_SEAL_SEAL) && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0) {
		err = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

static int memfd_open(struct files_rst *r, struct files_rfile *f)
{
	const MemfdFileEntry *me = f->fe->memfd;
	const MemfdInodeEntry *ie;
	char path[64];
	int ifd = -1, fd, err = 0;

	if (!me || !me->fown)
		return -EINVAL;
	/* another description of the same inode, opened already? */
	for (size_t i = 0; i < r->nr; i++)
		if (&r->f[i] != f && r->f[i].ops == &files_memfd_ops && r->f[i].fd >= 0 &&
		    r->f[i].fe->memfd->inode_id == me->inode_id)
			ifd = r->f[i].fd;
	if (ifd < 0) {
		ie = memfd_inode(r, me->inode_id, &err);
		if (!ie)
			return err;
		ifd = memfd_create_inode(r, ie);
		if (ifd < 0) {
			pr_err("memfd %s: %s", ie->name, strerror(-ifd));
			return ifd;
		}
		fd = ifd;
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", ifd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fcntl(fd, F_SETFL, me->flags & (O_NONBLOCK | O_APPEND | O_ASYNC | O_NOATIME)) ||
	    lseek(fd, (off_t)me->pos, SEEK_SET) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	/* the access mode: a read-only or write-only description is reopened */
	if ((me->flags & O_ACCMODE) != O_RDWR) {
		int nfd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, (int)(me->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) | O_CLOEXEC);
		if (nfd < 0 || lseek(nfd, (off_t)me->pos, SEEK_SET) < 0) {
			err = -errno;
			if (nfd >= 0)
				close(nfd);
			close(fd);
			return err;
		}
		close(fd);
		fd = nfd;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_memfd_ops = {
	.name = "memfd",
	.type = FD_TYPES__MEMFD,
	.match = memfd_match,
	.dump = memfd_dump,
	.write = memfd_write,
	.free = memfd_free,
	.open = memfd_open,
};
