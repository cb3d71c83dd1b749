/* files-reg — regular files, directories and the harmless character devices
 * (/dev/null, zero, full, random, urandom): path, open flags, offset, mode
 * and size. At restore a file whose size or kind changed is an error.
 * Unlinked ("ghost") files are refused here for now.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#define FILES_DELETED " (deleted)"

static bool files_reg_chr_ok(dev_t rdev)
{
	/* mem devices: null 3, zero 5, full 7, random 8, urandom 9 */
	unsigned int mi = minor(rdev);

	return major(rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

static bool files_reg_match(const struct files_probe *p)
{
	if (p->link[0] != '/')
		return false;
	if (S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode))
		return true;
	return S_ISCHR(p->st.st_mode) && files_reg_chr_ok(p->st.st_rdev);
}

static int files_reg_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	size_t n = strlen(d->link), dl = strlen(FILES_DELETED);
	struct files_ghost *g = NULL;
	int err;

	(void)fdinfo;
	if (n <= dl || strcmp(d->link + n - dl, FILES_DELETED) || d->st.st_nlink)
		return 0;
	/* unlinked: its contents go into the images */
	err = files_ghost_dump(fd, d, &g);
	d->priv = g;
	if (!err)
		d->link[n - dl] = '\0';	/* the name it had */
	return err;
}

static void files_reg_free(struct files_desc *d)
{
	files_ghost_free(d->priv);
	d->priv = NULL;
}

static int files_reg_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	FileEntry fe = FILE_ENTRY__INIT;
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	re.id = id;
	re.flags = d->flags;
	re.pos = d->pos;
	re.fown = &fown;
	re.name = d->link;
	re.has_size = S_ISREG(d->st.st_mode);
	re.size = (uint64_t)d->st.st_size;
	re.has_mode = true;
	re.mode = d->st.st_mode;
	re.has_mtime_ns = S_ISREG(d->st.st_mode);
	re.mtime_ns = (uint64_t)d->st.st_mtim.tv_sec * 1000000000ull + (uint64_t)d->st.st_mtim.tv_nsec;
	fe.type = FD_TYPES__REG;
	fe.id = id;
	fe.reg = &re;
	err = img_writer_entry(w->files, &fe.base);
	if (!err && d->priv)
		err = files_ghost_write(w, d, d->priv, id);
	return err;
}

/* The file at @re's path is still the one dumped: kind and size. */
static int files_reg_validate(const RegFileEntry *re, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (re->has_mode && (st.st_mode & S_IFMT) != (re->mode & S_IFMT)) {
		pr_err("%s is no longer the kind of file it was at dump time (mode %o, was %o)",
		       re->name, st.st_mode, re->mode);
		return -ESTALE;
	}
	if (re->has_size && S_ISREG(st.st_mode) && (uint64_t)st.st_size != re->size) {
		pr_err("%s changed size since the dump: %llu bytes then, %llu now; "
		       "restoring against it would corrupt the task's view", re->name,
		       (unsigned long long)re->size, (unsigned long long)st.st_size);
		return -ESTALE;
	}
	if (re->has_mtime_ns && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec != re->mtime_ns)
		pr_warn("%s was modified since the dump (same size, other mtime); the task sees "
			"its contents as they are now", re->name);
	if (S_ISCHR(st.st_mode) && !files_reg_chr_ok(st.st_rdev)) {
		pr_err("%s is not the device it was at dump time", re->name);
		return -ESTALE;
	}
	return 0;
}

static int files_reg_open(struct files_rst *r, struct files_rfile *f)
{
	const RegFileEntry *re = f->fe->reg;
	uint32_t ghost;
	int flags, fd, err = 0;

	if (!re || !re->name || !re->fown)
		return -EINVAL;
	flags = (int)(re->flags & ~(uint32_t)(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC));
	ghost = files_ghost_remap(r, f->fe->id, &err);
	if (err)
		return err;
	fd = ghost ? files_ghost_open(r, f, ghost, flags) : open(re->name, flags | O_CLOEXEC);
	if (ghost && fd < 0)
		return fd;
	if (fd < 0) {
		err = -errno;
		pr_perror("cannot open %s (flags %#o)", re->name, (unsigned int)flags);
		return err;
	}
	err = files_reg_validate(re, fd);
	if (!err && !(flags & O_PATH) && lseek(fd, (off_t)re->pos, SEEK_SET) < 0 && errno != ESPIPE) {
		err = -errno;
		pr_perror("cannot seek %s to %llu", re->name, (unsigned long long)re->pos);
	}
	if (err) {
		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

const struct files_ops files_reg_ops = {
	.name = "regular file",
	.type = FD_TYPES__REG,
	.match = files_reg_match,
	.dump = files_reg_dump,
	.write = files_reg_write,
	.free = files_reg_free,
	.open = files_reg_open,
};
