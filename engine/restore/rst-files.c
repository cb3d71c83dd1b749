/* rst-files — the restore's fd stage: finds the task's files id (ids-PID.img)
 * and has engine/files open every description the task uses, once, in the
 * engine, before the task is created; the task installs them (rst-child).
 */
#include <errno.h>
#include <string.h>

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

int rst_files_open(struct rst_ctx *c)
{
	uint32_t id;
	int err = rst_files_id(c, &id);

	files_rst_init(&c->fr, c->o, c->dir.dfd, &c->im.files);
	if (!err)
		err = files_rst_add_task(&c->fr, c->im.pid, id);
	if (!err)
		err = files_rst_open(&c->fr);
	if (!err)
		c->args->fd_close_from = files_rst_close_from(&c->fr, c->im.pid);
	return err;
}
