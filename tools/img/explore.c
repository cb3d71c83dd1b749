/* explore — `crisp-img x DIR ps|fds|mems|rss`: a dump seen as a process
 * tree, the files per task, the mappings per task and the resident pages
 * per mapping. Reads images only; prints text for people.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "tool.h"

struct dump {
	int dfd;
	struct img_file pstree, files;
	bool have_files;
};

static const char *task_comm(struct dump *d, unsigned int pid, char *buf, size_t len)
{
	struct img_file core;

	snprintf(buf, len, "?");
	if (tool_load(d->dfd, "CORE", pid, true, &core))
		return buf;
	if (core.n) {
		CoreEntry *c = (CoreEntry *)core.ents[0].msg;

		if (c->tc && c->tc->comm)
			snprintf(buf, len, "%s", c->tc->comm);
	}
	img_file_free(&core);
	return buf;
}

static void show_ps(struct dump *d, unsigned int pid, int depth)
{
	char comm[64];

	for (size_t i = 0; i < d->pstree.n; i++) {
		PstreeEntry *p = (PstreeEntry *)d->pstree.ents[i].msg;

		if (p->pid != pid)
			continue;
		printf("%7u%7u%7u   %*s%s\n", p->pid, p->pgid, p->sid, 4 * depth, "",
		       task_comm(d, p->pid, comm, sizeof(comm)));
	}
	for (size_t i = 0; i < d->pstree.n; i++) {
		PstreeEntry *p = (PstreeEntry *)d->pstree.ents[i].msg;

		if (p->ppid == pid && p->pid != pid && depth < 64)
			show_ps(d, p->pid, depth + 1);
	}
}

static const FileEntry *find_file(struct dump *d, uint32_t id)
{
	for (size_t i = 0; d->have_files && i < d->files.n; i++) {
		const FileEntry *f = (const FileEntry *)d->files.ents[i].msg;

		if (f->id == id)
			return f;
	}
	return NULL;
}

static void describe_file(struct dump *d, uint32_t id, char *buf, size_t len)
{
	const FileEntry *f = find_file(d, id);
	char a[INET6_ADDRSTRLEN] = "?";

	if (!f) {
		snprintf(buf, len, "file %u (not in files.img)", id);
		return;
	}
	if (f->reg)
		snprintf(buf, len, "%s", f->reg->name);
	else if (f->pipe)
		snprintf(buf, len, "pipe[%u]", f->pipe->pipe_id);
	else if (f->fifo)
		snprintf(buf, len, "fifo[%u]", f->fifo->pipe_id);
	else if (f->usk)
		snprintf(buf, len, "unix[%u] %.*s", f->usk->ino,
			 (int)f->usk->name.len, f->usk->name.len && f->usk->name.data[0] ?
			 (const char *)f->usk->name.data : "");
	else if (f->isk) {
		if (f->isk->n_src_addr)
			inet_ntop(f->isk->n_src_addr == 1 ? AF_INET : AF_INET6,
				  f->isk->src_addr, a, sizeof(a));
		snprintf(buf, len, "inet[%u] %s:%u", f->isk->ino, a, f->isk->src_port);
	} else if (f->tty)
		snprintf(buf, len, "tty[%u]", f->tty->tty_info_id);
	else if (f->efd)
		snprintf(buf, len, "eventfd[%" PRIu64 "]", f->efd->counter);
	else if (f->epfd)
		snprintf(buf, len, "eventpoll[%zu targets]", f->epfd->n_tfd);
	else if (f->sgfd)
		snprintf(buf, len, "signalfd[0x%" PRIx64 "]", f->sgfd->sigmask);
	else if (f->tfd)
		snprintf(buf, len, "timerfd[clock %u]", f->tfd->clockid);
	else if (f->ify)
		snprintf(buf, len, "inotify[%zu watches]", f->ify->n_wd);
	else if (f->memfd)
		snprintf(buf, len, "memfd[inode %u]", f->memfd->inode_id);
	else
		snprintf(buf, len, "%s", protobuf_c_enum_descriptor_get_value(
				&fd_types__descriptor, f->type) ?
			 protobuf_c_enum_descriptor_get_value(&fd_types__descriptor,
							      f->type)->name : "?");
}

static uint32_t task_files_id(struct dump *d, unsigned int pid)
{
	struct img_file core;
	uint32_t id = pid;

	if (tool_load(d->dfd, "CORE", pid, true, &core))
		return id;
	if (core.n && ((CoreEntry *)core.ents[0].msg)->ids)
		id = ((CoreEntry *)core.ents[0].msg)->ids->files_id;
	img_file_free(&core);
	return id;
}

static void show_fds(struct dump *d, unsigned int pid)
{
	struct img_file fdi, fs;
	char desc[512];

	printf("%u\n", pid);
	if (!tool_load(d->dfd, "FDINFO", task_files_id(d, pid), true, &fdi)) {
		for (size_t i = 0; i < fdi.n; i++) {
			FdinfoEntry *e = (FdinfoEntry *)fdi.ents[i].msg;

			describe_file(d, e->id, desc, sizeof(desc));
			printf("\t%7u: %s\n", e->fd, desc);
		}
		img_file_free(&fdi);
	}
	if (!tool_load(d->dfd, "FS", pid, true, &fs)) {
		if (fs.n) {
			FsEntry *e = (FsEntry *)fs.ents[0].msg;

			describe_file(d, e->cwd_id, desc, sizeof(desc));
			printf("\t%7s: %s\n", "cwd", desc);
			describe_file(d, e->root_id, desc, sizeof(desc));
			printf("\t%7s: %s\n", "root", desc);
		}
		img_file_free(&fs);
	}
}

static void vma_desc(struct dump *d, const VmaEntry *v, char *buf, size_t len)
{
	if (v->status & (1u << 1))
		snprintf(buf, len, "[stack]");
	else if (v->status & (1u << 3))
		snprintf(buf, len, "[vdso]");
	else if (v->status & (1u << 12))
		snprintf(buf, len, "[vvar]");
	else if (v->status & (1u << 2))
		snprintf(buf, len, "[vsyscall]");
	else if (v->status & (1u << 5))
		snprintf(buf, len, "[heap]");
	else if (v->status & ((1u << 6) | (1u << 7)))
		describe_file(d, (uint32_t)v->shmid, buf, len);
	else if (v->status & (1u << 8))
		snprintf(buf, len, "[shared anon %" PRIu64 "]", v->shmid);
	else
		snprintf(buf, len, "[anon]");
}

static void show_mems(struct dump *d, unsigned int pid, bool rss)
{
	struct img_file mm, pm;
	bool have_pm;
	char desc[512];

	printf("%u\n", pid);
	if (tool_load(d->dfd, "MM", pid, true, &mm))
		return;
	have_pm = rss && !tool_load(d->dfd, "PAGEMAP", pid, true, &pm);
	for (size_t i = 0; mm.n && i < ((MmEntry *)mm.ents[0].msg)->n_vmas; i++) {
		const VmaEntry *v = ((MmEntry *)mm.ents[0].msg)->vmas[i];
		uint64_t pages = 0;

		vma_desc(d, v, desc, sizeof(desc));
		if (!rss) {
			printf("\t%016" PRIx64 "-%016" PRIx64 " %c%c%c%c %s\n", v->start,
			       v->end, v->prot & 1 ? 'r' : '-', v->prot & 2 ? 'w' : '-',
			       v->prot & 4 ? 'x' : '-', v->flags & 1 ? 's' : 'p', desc);
			continue;
		}
		for (size_t k = 1; have_pm && k < pm.n; k++) {
			const PagemapEntry *p = (const PagemapEntry *)pm.ents[k].msg;

			if (p->vaddr >= v->start && p->vaddr < v->end)
				pages += p->nr_pages;
		}
		if (pages)
			printf("\t%016" PRIx64 "-%016" PRIx64 " %8" PRIu64 " pages %s\n",
			       v->start, v->end, pages, desc);
	}
	if (have_pm)
		img_file_free(&pm);
	img_file_free(&mm);
}

int cmd_explore(int argc, char **argv)
{
	struct dump d = { .dfd = -1 };
	const char *what;
	int ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: crisp-img x DIR ps|fds|mems|rss\n");
		return 1;
	}
	what = argv[1];
	d.dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dfd < 0) {
		fprintf(stderr, "crisp-img: can't open %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	if (tool_load(d.dfd, "PSTREE", 0, false, &d.pstree)) {
		close(d.dfd);
		return 1;
	}
	d.have_files = !tool_load(d.dfd, "FILES", 0, true, &d.files);
	if (!strcmp(what, "ps")) {
		printf("%7s%7s%7s   %s\n", "PID", "PGID", "SID", "COMM");
		for (size_t i = 0; i < d.pstree.n; i++) {
			PstreeEntry *p = (PstreeEntry *)d.pstree.ents[i].msg;

			bool parent_known = false;

			for (size_t k = 0; k < d.pstree.n; k++)
				if (((PstreeEntry *)d.pstree.ents[k].msg)->pid == p->ppid)
					parent_known = true;
			if (!parent_known)	/* a root of the dumped tree */
				show_ps(&d, p->pid, 0);
		}
	} else if (!strcmp(what, "fds") || !strcmp(what, "mems") || !strcmp(what, "rss")) {
		for (size_t i = 0; i < d.pstree.n; i++) {
			unsigned int pid = ((PstreeEntry *)d.pstree.ents[i].msg)->pid;

			if (what[0] == 'f')
				show_fds(&d, pid);
			else
				show_mems(&d, pid, what[0] == 'r');
		}
	} else {
		fprintf(stderr, "crisp-img: x: unknown view \"%s\" (ps, fds, mems, rss)\n", what);
		ret = 1;
	}
	img_file_free(&d.pstree);
	if (d.have_files)
		img_file_free(&d.files);
	close(d.dfd);
	return ret;
}
