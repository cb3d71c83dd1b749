/* dump-files — the regular files the images name by id (the exe, cwd and
 * root, mapped files) and files.img, where CRIU keeps them as REG entries.
 * The open fds' entries follow them, written by engine/files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blog.h"
#include "dump.h"
#include "files.pb-c.h"

int dump_files_add(struct dump_files *fs, const char *path, uint32_t flags, uint32_t *id)
{
	struct dump_file *f;
	struct stat st;

	for (size_t i = 0; i < fs->nr; i++)
		if (fs->f[i].flags == flags && !strcmp(fs->f[i].path, path)) {
			*id = fs->f[i].id;
			return 0;
		}
	if (stat(path, &st)) {
		int err = -errno;

		pr_perror("cannot stat %s", path);
		return err;
	}
	if (fs->nr == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		struct dump_file *n = realloc(fs->f, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		fs->f = n;
		fs->cap = cap;
	}
	f = &fs->f[fs->nr];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->id = (uint32_t)fs->nr + 1;
	f->flags = flags;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mode = st.st_mode;
	f->size = (uint64_t)st.st_size;
	fs->nr++;
	*id = f->id;
	return 0;
}

int dump_files_write(struct dump_ctx *c)
{
	struct img_writer w;
	int err, err2;

	err = img_writer_open(&w, &c->dir, img_kind_by_name("FILES"), 0);
	if (err)
		return err;
	for (size_t i = 0; i < c->files.nr && !err; i++) {
		const struct dump_file *f = &c->files.f[i];
		FileEntry fe = FILE_ENTRY__INIT;
		RegFileEntry re = REG_FILE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;

		re.id = f->id;
		re.flags = f->flags;
		re.fown = &fown;
		re.name = f->path;
		re.has_size = S_ISREG(f->mode);
		re.size = f->size;
		re.has_mode = true;
		re.mode = f->mode;
		fe.type = FD_TYPES__REG;
		fe.id = f->id;
		fe.reg = &re;
		err = img_writer_entry(&w, &fe.base);
	}
	if (!err)
		err = files_dump_write(&c->fds, &c->dir, &w);
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

void dump_files_free(struct dump_files *fs)
{
	for (size_t i = 0; i < fs->nr; i++)
		free(fs->f[i].path);
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}
