/* check — `crisp-img check DIR`: validates a dump as a whole: the images
 * that others name are there, ids agree across images, pages files hold
 * what their pagemaps (and pagemap-shmem-SHMID.img) promise, parent chains
 * resolve (every PE_PARENT page down to a level that has its data). A pre-dump directory (CRIU's: an
 * inventory with pre_dump_mode, pagemaps and pages only) is checked for
 * its pagemaps and chains. Prints one line per problem and exits 1 if
 * there is any. Reads only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "inventory.pb-c.h"
#include "page-chain.h"
#include "pstree.pb-c.h"
#include "tool.h"
#include "check.h"

#define PE_PARENT 1u
#define PE_LAZY 2u
#define PE_PRESENT 4u
#define PAGE_SZ 4096u

void problem(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", c->dir);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	c->problems++;
}

/* Loads a named image; a missing or bad one is a problem. */
static int need(struct chk *c, const char *kind, unsigned long id, struct img_file *f,
		const char *why)
{
	const struct img_kind *k = img_kind_by_name(kind);
	char name[256];
	int ret;

	img_kind_file(k, id, name, sizeof(name));
	ret = tool_load(c->dfd, kind, id, true, f);
	if (ret == -ENOENT)
		problem(c, "%s is missing (%s)", name, why);
	else if (ret)
		problem(c, "%s does not parse", name);
	return ret;
}

static bool file_exists(struct chk *c, uint32_t id)
{
	for (size_t i = 0; c->have_files && i < c->files.n; i++)
		if (((FileEntry *)c->files.ents[i].msg)->id == id)
			return true;
	return false;
}

/* Does a parent image set exist for PE_PARENT pages? Follows the chain. */
static void check_parent_chain(struct chk *c, unsigned int pid)
{
	char path[64] = "parent";
	struct stat st;

	for (int depth = 0; depth < 64; depth++) {
		char name[128];

		if (fstatat(c->dfd, path, &st, 0) || !S_ISDIR(st.st_mode)) {
			problem(c, "pagemap-%u.img has pages in the parent, but %s does not resolve",
				pid, path);
			return;
		}
		snprintf(name, sizeof(name), "%s/pagemap-%u.img", path, pid);
		if (faccessat(c->dfd, name, F_OK, 0)) {
			problem(c, "%s is missing: the parent chain lacks task %u", name, pid);
			return;
		}
		/* does this level itself defer to a parent? */
		{
			struct img_file pm;
			bool deeper = false;
			int pdfd;

			pdfd = openat(c->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pdfd < 0)
				return;
			if (!tool_load(pdfd, "PAGEMAP", pid, true, &pm)) {
				for (size_t i = 1; i < pm.n; i++) {
					PagemapEntry *e = (PagemapEntry *)pm.ents[i].msg;

					if ((e->has_flags && (e->flags & PE_PARENT)) ||
					    (e->has_in_parent && e->in_parent))
						deeper = true;
				}
				img_file_free(&pm);
			}
			close(pdfd);
			if (!deeper)
				return;
		}
		if (strlen(path) + 8 >= sizeof(path)) {
			problem(c, "parent chain of task %u is too deep", pid);
			return;
		}
		strcat(path, "/parent");
	}
}

static void check_pages(struct chk *c, unsigned int pid)
{
	struct img_file pm;
	uint64_t bytes = 0;
	bool parent = false;
	char name[64];
	struct stat st;

	if (need(c, "PAGEMAP", pid, &pm, "every task has a pagemap"))
		return;
	if (pm.n == 0) {
		problem(c, "pagemap-%u.img has no head entry", pid);
		img_file_free(&pm);
		return;
	}
	for (size_t i = 1; i < pm.n; i++) {
		PagemapEntry *e = (PagemapEntry *)pm.ents[i].msg;
		uint32_t fl = e->has_flags ? e->flags :
			      (e->has_in_parent && e->in_parent ? PE_PARENT : PE_PRESENT);

		if (fl & PE_PRESENT)
			bytes += (uint64_t)e->nr_pages * PAGE_SZ;
		if (fl & PE_PARENT)
			parent = true;
	}
	snprintf(name, sizeof(name), "pages-%u.img",
		 ((PagemapHead *)pm.ents[0].msg)->pages_id);
	if (fstatat(c->dfd, name, &st, 0))
		problem(c, "%s is missing (named by pagemap-%u.img)", name, pid);
	else if ((uint64_t)st.st_size != bytes)
		problem(c, "%s holds %lld bytes, pagemap-%u.img says %" PRIu64,
			name, (long long)st.st_size, pid, bytes);
	if (parent) {
		struct page_chain *pc;

		check_parent_chain(c, pid);
		if (page_chain_open(&pc, c->dfd, c->dir, pid)) {
			problem(c, "pagemap-%u.img: the page chain does not open", pid);
		} else {
			if (page_chain_verify(pc))
				problem(c, "pagemap-%u.img: a PE_PARENT page does not resolve down the chain",
					pid);
			page_chain_close(pc);
		}
	}
	img_file_free(&pm);
}

/* pagemap-shmem-SHMID.img (shared anonymous memory, once per object): its
 * pages file holds what it promises; no page in a parent or lazy. */
static void check_shmem(struct chk *c)
{
	int fd = dup(c->dfd);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct img_file pm;
		unsigned long id;
		uint64_t bytes = 0;
		char tail, name[64];
		struct stat st;

		if (sscanf(de->d_name, "pagemap-shmem-%lu.im%c", &id, &tail) != 2 || tail != 'g')
			continue;
		if (tool_load(c->dfd, "SHMEM_PAGEMAP", id, false, &pm)) {
			problem(c, "%s does not decode", de->d_name);
			continue;
		}
		for (size_t i = 1; i < pm.n; i++) {
			PagemapEntry *e = (PagemapEntry *)pm.ents[i].msg;
			uint32_t fl = e->has_flags ? e->flags : PE_PRESENT;

			if (fl != PE_PRESENT || (e->has_in_parent && e->in_parent))
				problem(c, "%s: entry %zu is not a present page run", de->d_name, i);
			bytes += (uint64_t)e->nr_pages * PAGE_SZ;
		}
		if (!pm.n) {
			problem(c, "%s has no head entry", de->d_name);
		} else {
			snprintf(name, sizeof(name), "pages-%u.img",
				 ((PagemapHead *)pm.ents[0].msg)->pages_id);
			if (fstatat(c->dfd, name, &st, 0))
				problem(c, "%s is missing (named by %s)", name, de->d_name);
			else if ((uint64_t)st.st_size != bytes)
				problem(c, "%s holds %lld bytes, %s says %" PRIu64, name,
					(long long)st.st_size, de->d_name, bytes);
		}
		img_file_free(&pm);
	}
	closedir(d);
}

/* A pre-dump has no pstree: its tasks are its pagemap-PID.img files. */
static void check_predump(struct chk *c)
{
	int fd = dup(c->dfd);
	struct dirent *de;
	unsigned int n = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		problem(c, "cannot list the directory");
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		unsigned long pid;
		char tail;

		if (sscanf(de->d_name, "pagemap-%lu.im%c", &pid, &tail) == 2 && tail == 'g') {
			check_pages(c, (unsigned int)pid);
			n++;
		}
	}
	closedir(d);
	if (!n)
		problem(c, "a pre-dump without any pagemap-PID.img");
}

static void check_task(struct chk *c, const PstreeEntry *p)
{
	struct img_file core = { 0 }, ids, mm, fdi, fs;
	TaskKobjIdsEntry *cids = NULL;
	bool zombie = false;

	if (!need(c, "CORE", p->pid, &core, "named by pstree.img")) {
		if (core.n && ((CoreEntry *)core.ents[0].msg)->ids)
			cids = ((CoreEntry *)core.ents[0].msg)->ids;
		if (core.n && !((CoreEntry *)core.ents[0].msg)->tc)
			problem(c, "core-%u.img lacks the task core", p->pid);
		/* a zombie (TASK_DEAD) has its core and pstree entry only */
		zombie = core.n && ((CoreEntry *)core.ents[0].msg)->tc &&
			 ((CoreEntry *)core.ents[0].msg)->tc->task_state == 2;
		if (zombie && p->n_threads > 1)
			problem(c, "core-%u.img: a zombie with %zu threads", p->pid, p->n_threads);
	}
	if (zombie) {
		img_file_free(&core);
		return;
	}
	for (size_t t = 0; t < p->n_threads; t++) {
		struct img_file th;

		if (p->threads[t] == p->pid)
			continue;
		if (!need(c, "CORE", p->threads[t], &th, "a thread in pstree.img"))
			img_file_free(&th);
	}
	if (!tool_load(c->dfd, "IDS", p->pid, true, &ids)) {
		if (ids.n && cids) {
			TaskKobjIdsEntry *i = (TaskKobjIdsEntry *)ids.ents[0].msg;

			if (i->vm_id != cids->vm_id || i->files_id != cids->files_id ||
			    i->fs_id != cids->fs_id || i->sighand_id != cids->sighand_id)
				problem(c, "ids-%u.img disagrees with the ids in core-%u.img",
					p->pid, p->pid);
		}
		img_file_free(&ids);
	}
	if (!need(c, "MM", p->pid, &mm, "every task has an mm")) {
		MmEntry *m = mm.n ? (MmEntry *)mm.ents[0].msg : NULL;

		if (m && m->exe_file_id && !file_exists(c, m->exe_file_id))
			problem(c, "mm-%u.img: exe file %u not in files.img", p->pid,
				m->exe_file_id);
		for (size_t i = 0; m && i < m->n_vmas; i++) {
			VmaEntry *v = m->vmas[i];

			if ((v->status & ((1u << 6) | (1u << 7))) &&
			    !file_exists(c, (uint32_t)v->shmid))
				problem(c, "mm-%u.img: mapping %" PRIx64 " maps file %" PRIu64
					", not in files.img", p->pid, v->start, v->shmid);
			if (v->end <= v->start)
				problem(c, "mm-%u.img: mapping %" PRIx64 " ends before it starts",
					p->pid, v->start);
		}
		img_file_free(&mm);
	}
	check_pages(c, p->pid);
	if (!need(c, "FDINFO", cids ? cids->files_id : p->pid, &fdi,
		  "the task's files_id")) {
		for (size_t i = 0; i < fdi.n; i++) {
			FdinfoEntry *e = (FdinfoEntry *)fdi.ents[i].msg;

			if (!file_exists(c, e->id))
				problem(c, "fdinfo: task %u fd %u names file %u, not in files.img",
					p->pid, e->fd, e->id);
		}
		check_files_task(c, p->pid, &fdi);
		img_file_free(&fdi);
	}
	if (!tool_load(c->dfd, "FS", p->pid, true, &fs)) {
		FsEntry *e = fs.n ? (FsEntry *)fs.ents[0].msg : NULL;

		if (e && !file_exists(c, e->cwd_id))
			problem(c, "fs-%u.img: cwd %u not in files.img", p->pid, e->cwd_id);
		if (e && !file_exists(c, e->root_id))
			problem(c, "fs-%u.img: root %u not in files.img", p->pid, e->root_id);
		img_file_free(&fs);
	}
	if (core.n || core.data)
		img_file_free(&core);
}

int cmd_check(int argc, char **argv)
{
	struct chk c = { .dfd = -1 };
	struct img_file inv, ps;

	if (argc != 1) {
		fprintf(stderr, "usage: crisp-img check DIR\n");
		return 1;
	}
	c.dir = argv[0];
	c.dfd = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dfd < 0) {
		fprintf(stderr, "crisp-img: can't open %s: %s\n", c.dir, strerror(errno));
		return 1;
	}
	if (!need(&c, "INVENTORY", 0, &inv, "it marks a complete dump")) {
		InventoryEntry *ie = inv.n ? (InventoryEntry *)inv.ents[0].msg : NULL;
		bool pre = ie && ie->has_pre_dump_mode && ie->img_version == 0;

		img_file_free(&inv);
		if (pre) {
			check_predump(&c);
			goto done;
		}
	}
	c.have_files = !need(&c, "FILES", 0, &c.files, "fdinfo images name files");
	if (!need(&c, "PSTREE", 0, &ps, "the process tree")) {
		for (size_t i = 0; i < ps.n; i++) {
			PstreeEntry *p = (PstreeEntry *)ps.ents[i].msg;
			bool parent = p->ppid == 0 || i == 0;

			for (size_t k = 0; k < ps.n && !parent; k++)
				parent = ((PstreeEntry *)ps.ents[k].msg)->pid == p->ppid;
			if (!parent)
				problem(&c, "pstree.img: task %u has parent %u, not in the tree",
					p->pid, p->ppid);
			for (size_t k = 0; k < i; k++)
				if (((PstreeEntry *)ps.ents[k].msg)->pid == p->pid)
					problem(&c, "pstree.img: task %u listed twice", p->pid);
			check_task(&c, p);
		}
		if (c.have_files)
			check_files_images(&c);
		if (!ps.n)
			problem(&c, "pstree.img has no tasks");
		img_file_free(&ps);
		check_shmem(&c);
	}
	if (c.have_files)
		img_file_free(&c.files);
done:
	close(c.dfd);
	if (c.problems) {
		printf("%s: %u problem%s\n", c.dir, c.problems, c.problems == 1 ? "" : "s");
		return 1;
	}
	printf("%s: ok\n", c.dir);
	return 0;
}
