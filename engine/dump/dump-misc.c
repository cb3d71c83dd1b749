/* dump-misc — the small images: pstree.img, fs-PID.img (cwd and root as
 * file ids), ids-PID.img (which tasks share vm/files/fs/sighand, by kcmp;
 * namespaces by inode), fdinfo-N.img per files id, and inventory.img,
 * which is written last because its presence marks a complete image set.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "core.pb-c.h"
#include "dump.h"
#include "fs.pb-c.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"

static const char *const dump_ns_names[8] = {
	"pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time",
};

#define DUMP_MAX_NS 64

struct dump_ns_table {
	struct { unsigned int kind; unsigned long ino; } e[DUMP_MAX_NS];
	size_t nr;
};

static uint32_t dump_ns_id(struct dump_ns_table *nt, unsigned int kind, unsigned long ino)
{
	for (size_t i = 0; i < nt->nr; i++)
		if (nt->e[i].kind == kind && nt->e[i].ino == ino)
			return (uint32_t)i + 1;
	if (nt->nr == DUMP_MAX_NS)
		return 0;
	nt->e[nt->nr].kind = kind;
	nt->e[nt->nr].ino = ino;
	return (uint32_t)++nt->nr;
}

static int dump_misc_link(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		pr_perror("task %d: readlink %s", (int)pid, path);
		return err;
	}
	buf[n] = '\0';
	return 0;
}

/* The id of @kind for task @i: that of the first earlier task sharing the
 * object (kcmp says 0), else a new one. */
static uint32_t dump_misc_kid(struct dump_ctx *c, size_t i, int kind, size_t off,
			      uint32_t *next)
{
	for (size_t j = 0; j < i; j++) {
		if (c->tasks[j].zombie)
			continue;
		if (syscall(SYS_kcmp, c->tasks[i].pid, c->tasks[j].pid, kind, 0, 0) == 0)
			return *(uint32_t *)((char *)&c->tasks[j] + off);
	}
	return ++*next;
}

static const struct dump_task *dump_misc_task(const struct dump_ctx *c, pid_t pid)
{
	for (size_t i = 0; i < c->nr_tasks; i++)
		if (c->tasks[i].pid == pid && !c->tasks[i].zombie)
			return &c->tasks[i];
	return NULL;
}

/* A table (or fs struct) shared by CLONE_FILES (CLONE_FS) is restored by
 * creating each task that shares it with its parent's: one shared with a
 * task that is not its parent (or with its parent only through other
 * tasks) cannot be rebuilt. Refused here, before anything changed. */
static int dump_misc_refuse_shared(const struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_tasks; i++) {
		const struct dump_task *t = &c->tasks[i], *p;

		if (t->zombie)
			continue;
		p = dump_misc_task(c, t->ppid);
		for (size_t j = 0; j < i; j++) {
			const struct dump_task *o = &c->tasks[j];
			bool files = o->files_id == t->files_id, fs = o->fs_id == t->fs_id;

			if (o->zombie || (!files && !fs))
				continue;
			if (files && (!p || p->files_id != t->files_id)) {
				pr_err("tasks %d and %d share one fd table (CLONE_FILES), but %d "
				       "does not share it with its parent %d: crisp cannot restore it",
				       (int)o->pid, (int)t->pid, (int)t->pid, (int)t->ppid);
				return -EOPNOTSUPP;
			}
			if (fs && (!p || p->fs_id != t->fs_id)) {
				pr_err("tasks %d and %d share one fs struct (CLONE_FS), but %d "
				       "does not share it with its parent %d: crisp cannot restore it",
				       (int)o->pid, (int)t->pid, (int)t->pid, (int)t->ppid);
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

int dump_misc_collect(struct dump_ctx *c)
{
	struct dump_ns_table nt = { .nr = 0 };
	uint32_t next[4] = { 0, 0, 0, 0 };
	char link[PATH_MAX];
	int err;

	for (size_t i = 0; i < c->nr_tasks; i++) {
		struct dump_task *t = &c->tasks[i];

		if (t->zombie)
			continue;
		t->vm_id = dump_misc_kid(c, i, KCMP_VM, offsetof(struct dump_task, vm_id), &next[0]);
		t->files_id = dump_misc_kid(c, i, KCMP_FILES, offsetof(struct dump_task, files_id), &next[1]);
		t->fs_id = dump_misc_kid(c, i, KCMP_FS, offsetof(struct dump_task, fs_id), &next[2]);
		t->sighand_id = dump_misc_kid(c, i, KCMP_SIGHAND,
					      offsetof(struct dump_task, sighand_id), &next[3]);
		for (unsigned int k = 0; k < 8; k++) {
			char what[32];
			const char *br;

			snprintf(what, sizeof(what), "ns/%s", dump_ns_names[k]);
			if (dump_misc_link(t->pid, what, link, sizeof(link)))
				continue;	/* a kernel without it */
			br = strchr(link, '[');
			if (br)
				t->ns_id[k] = dump_ns_id(&nt, k, strtoul(br + 1, NULL, 10));
		}
		err = dump_misc_link(t->pid, "cwd", t->cwd, sizeof(t->cwd));
		if (!err)
			err = dump_misc_link(t->pid, "root", t->root, sizeof(t->root));
		if (!err)
			err = dump_files_add(&c->files, t->cwd, O_RDONLY | O_DIRECTORY, &t->cwd_id);
		if (!err)
			err = dump_files_add(&c->files, t->root, O_RDONLY | O_DIRECTORY, &t->root_id);
		if (err)
			return err;
	}
	return dump_misc_refuse_shared(c);
}

void dump_misc_fill_ids(TaskKobjIdsEntry *ids, const struct dump_task *t)
{
	uint32_t *ns[8] = { &ids->pid_ns_id, &ids->net_ns_id, &ids->ipc_ns_id, &ids->uts_ns_id,
			    &ids->mnt_ns_id, &ids->user_ns_id, &ids->cgroup_ns_id, &ids->time_ns_id };
	protobuf_c_boolean *has[8] = { &ids->has_pid_ns_id, &ids->has_net_ns_id,
				       &ids->has_ipc_ns_id, &ids->has_uts_ns_id,
				       &ids->has_mnt_ns_id, &ids->has_user_ns_id,
				       &ids->has_cgroup_ns_id, &ids->has_time_ns_id };

	ids->vm_id = t->vm_id;
	ids->files_id = t->files_id;
	ids->fs_id = t->fs_id;
	ids->sighand_id = t->sighand_id;
	for (int k = 0; k < 8; k++) {
		*has[k] = t->ns_id[k] != 0;
		*ns[k] = t->ns_id[k];
	}
}

static int dump_misc_one(struct dump_ctx *c, const char *kind, unsigned long id,
			 const ProtobufCMessage *m)
{
	struct img_writer w;
	int err, err2;

	err = img_writer_open(&w, &c->dir, img_kind_by_name(kind), id);
	if (err)
		return err;
	err = m ? img_writer_entry(&w, m) : 0;
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

int dump_misc_write_task(struct dump_ctx *c, const struct dump_task *t)
{
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	FsEntry fs = FS_ENTRY__INIT;
	bool first_files = true;
	int err;

	if (t->zombie)
		return 0;
	fs.cwd_id = t->cwd_id;
	fs.root_id = t->root_id;
	fs.has_umask = true;
	fs.umask = t->umask;
	err = dump_misc_one(c, "FS", (unsigned long)t->pid, &fs.base);
	if (err)
		return err;
	dump_misc_fill_ids(&ids, t);
	err = dump_misc_one(c, "IDS", (unsigned long)t->pid, &ids.base);
	if (err)
		return err;
	/* the fd table, once per files id (engine/files) */
	for (const struct dump_task *o = c->tasks; o < t; o++)
		if (!o->zombie && o->files_id == t->files_id)
			first_files = false;
	return first_files ? files_dump_write_fdinfo(&c->fds, &c->dir, t->pid, t->files_id) : 0;
}

int dump_misc_write_pstree(struct dump_ctx *c)
{
	struct img_writer w;
	int err, err2;

	err = img_writer_open(&w, &c->dir, img_kind_by_name("PSTREE"), 0);
	if (err)
		return err;
	for (size_t i = 0; i < c->nr_tasks && !err; i++) {
		const struct dump_task *t = &c->tasks[i];
		PstreeEntry pe = PSTREE_ENTRY__INIT;
		uint32_t *thr = calloc(t->nr_th ? t->nr_th : 1, sizeof(*thr));

		if (!thr) {
			err = -ENOMEM;
			break;
		}
		pe.pid = (uint32_t)t->pid;
		pe.ppid = (uint32_t)t->ppid;
		pe.pgid = (uint32_t)t->pgid;
		pe.sid = (uint32_t)t->sid;
		for (size_t k = 0; k < t->nr_th; k++)
			thr[k] = (uint32_t)t->th[k].tid;
		if (t->zombie)
			thr[0] = (uint32_t)t->pid;
		pe.n_threads = t->zombie ? 1 : t->nr_th;
		pe.threads = thr;
		err = img_writer_entry(&w, &pe.base);
		free(thr);
	}
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

int dump_misc_write_inventory(struct dump_ctx *c)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	struct timespec up;

	inv.img_version = 2;
	inv.has_fdinfo_per_id = true;
	inv.fdinfo_per_id = true;
	inv.has_ns_per_id = true;
	inv.ns_per_id = true;
	inv.has_lsmtype = true;
	inv.lsmtype = LSMTYPE__NO_LSM;
	dump_misc_fill_ids(&ids, &c->tasks[0]);
	inv.root_ids = &ids;
	if (!clock_gettime(CLOCK_BOOTTIME, &up)) {
		inv.has_dump_uptime = true;
		inv.dump_uptime = (uint64_t)up.tv_sec * 1000000u + (uint64_t)up.tv_nsec / 1000u;
		c->dump_uptime = inv.dump_uptime;
	}
	return dump_misc_one(c, "INVENTORY", 0, &inv.base);
}

/* A pre-dump's inventory, as CRIU writes it: no version or ids (the entry
 * starts from its defaults), the uptime that ties the chain to this
 * process, and pre_dump_mode (1: splice, the only mode crisp has). */
int dump_misc_write_predump_inventory(struct dump_ctx *c)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct timespec up;

	if (clock_gettime(CLOCK_BOOTTIME, &up))
		return -errno;
	inv.has_dump_uptime = true;
	inv.dump_uptime = (uint64_t)up.tv_sec * 1000000u + (uint64_t)up.tv_nsec / 1000u;
	c->dump_uptime = inv.dump_uptime;
	inv.has_pre_dump_mode = true;
	inv.pre_dump_mode = 1;
	return dump_misc_one(c, "INVENTORY", 0, &inv.base);
}
