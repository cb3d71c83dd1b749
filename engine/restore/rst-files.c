/* rst-files — the restore's file stage: checks that the files the task
 * maps are the ones dumped (kind, size), finds the task's files id
 * (ids-PID.img) and has engine/files open every description of the tree
 * once, in the engine, before the root is created; each task installs its
 * own (rst-child) after it has created its children (a table shared by
 * CLONE_FILES: its creator, once every task of it is done).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "blog.h"
#include "core.pb-c.h"
#include "restore.h"

/* The task's files id from ids-PID.img; its PID when the image is absent. */
static int rst_files_id(struct rst_ctx *c, uint32_t *id)
{
	const struct img_kind *k = img_kind_by_name("IDS");
	struct img_file f;
	char name[64];
	int err;

	*id = (uint32_t)c->im.pid;
	if (!k || img_kind_file(k, (unsigned long)c->im.pid, name, sizeof(name)))
		return -EINVAL;
	err = img_read(&f, c->dir.dfd, name, k);
	if (err == -ENOENT)
		return 0;
	if (err) {
		pr_err("cannot read the image %s: %s", name, strerror(-err));
		return err;
	}
	if (f.n == 1)
		*id = ((const TaskKobjIdsEntry *)f.ents[0].msg)->files_id;
	img_file_free(&f);
	return 0;
}

/* The files the task maps (its executable, file mappings) are still the
 * ones dumped: same kind, same size. Anything else would give it other
 * contents than it had. */
static int rst_files_check_one(struct rst_ctx *c, uint32_t id, const char *what)
{
	const struct img_file *f = &c->im.files;
	struct stat st;

	for (size_t i = 0; i < f->n; i++) {
		const FileEntry *fe = (const FileEntry *)f->ents[i].msg;
		const RegFileEntry *re = fe->reg;

		if (fe->id != id || fe->type != FD_TYPES__REG || !re || !re->name)
			continue;
		if (!re->has_size || !re->has_mode || !S_ISREG(re->mode))
			return 0;
		if (stat(re->name, &st)) {
			int err = -errno;

			pr_perror("%s %s, mapped by the task", what, re->name);
			return err;
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != re->size) {
			pr_err("%s %s changed since the dump: %llu bytes then, %llu now; the task "
			       "maps it and would see other contents", what, re->name,
			       (unsigned long long)re->size, (unsigned long long)st.st_size);
			return -ESTALE;
		}
		return 0;
	}
	return 0;
}

static int rst_files_check_mapped(struct rst_ctx *c)
{
	const MmEntry *mm = c->im.mme;
	int err = mm ? rst_files_check_one(c, mm->exe_file_id, "the executable") : 0;

	for (size_t i = 0; mm && i < mm->n_vmas && !err; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->status & ((1u << 6) | (1u << 7)))	/* VMA_FILE_PRIVATE, _SHARED */
			err = rst_files_check_one(c, (uint32_t)v->shmid, "the file");
	}
	return err;
}

/* The task whose fd table @c uses: its creator's (CLONE_FILES, and the
 * creator comes first in the tree), else its own. */
static pid_t rst_files_owner(const struct rst_tree *t, const struct rst_ctx *c)
{
	if (!(c->clone_flags & CLONE_FILES))
		return c->im.pid;
	for (size_t i = 0; i < c->idx; i++)
		if (t->task[i].pid == c->creator)
			return t->task[i].files_owner;
	return 0;
}

/* Every task's fds: the files it maps checked, its table added, then every
 * description opened once in the engine. A task whose table is its
 * creator's (CLONE_FILES) adds itself as one more user of the table: the
 * table's creator installs it once all are done with the engine's fds, and
 * every task of it closes from the table's close_from. */
int rst_files_prepare(struct rst_tree *t)
{
	int err = 0;

	files_rst_init(&t->fr, t->o, t->dir.dfd, &t->task[0].im.files);
	for (size_t i = 0; i < t->nr && !err; i++) {
		struct rst_ctx *c = &t->task[i];
		uint32_t id;

		if (!c->args)
			continue;	/* a zombie or a helper */
		c->files_owner = rst_files_owner(t, c);
		if (!c->files_owner) {
			pr_err("task %d shares the fd table of %d, which is not restored with one",
			       (int)c->pid, (int)c->creator);
			return -EINVAL;
		}
		err = rst_files_check_mapped(c);
		if (!err)
			err = rst_files_id(c, &id);
		if (err)
			break;
		if (c->files_owner == c->im.pid)
			err = files_rst_add_task(&t->fr, c->im.pid, id);
		else
			err = files_rst_add_user(&t->fr, c->files_owner);
	}
	if (!err)
		err = files_rst_open(&t->fr);
	for (size_t i = 0; i < t->nr && !err; i++) {
		struct rst_ctx *c = &t->task[i];

		if (c->args)
			c->args->fd_close_from = files_rst_close_from(&t->fr, c->files_owner);
	}
	return err;
}
