/* check-files — `crisp-img check` for the open files: every file entry has
 * the member its type calls for, with its id; fdinfo types agree with
 * files.img; epoll targets are fds of their task; pipe data, socket queues,
 * memfd inodes and ghost files belong to files that exist. (A unix peer
 * outside the dump is legal in CRIU's images: external sockets.) Reads only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "file-event.pb-c.h"
#include "file-pipe.pb-c.h"
#include "file-reg.pb-c.h"
#include "files.pb-c.h"
#include "sockets.pb-c.h"
#include "tool.h"

static const FileEntry *chk_file(const struct chk *c, uint32_t id)
{
	for (size_t i = 0; c->have_files && i < c->files.n; i++)
		if (((const FileEntry *)c->files.ents[i].msg)->id == id)
			return (const FileEntry *)c->files.ents[i].msg;
	return NULL;
}

/* The id inside the member @fe's type calls for, or -1 without it. */
static int64_t chk_member_id(const FileEntry *fe)
{
	switch (fe->type) {
	case FD_TYPES__REG: return fe->reg ? (int64_t)fe->reg->id : -1;
	case FD_TYPES__PIPE: return fe->pipe ? (int64_t)fe->pipe->id : -1;
	case FD_TYPES__EVENTFD: return fe->efd ? (int64_t)fe->efd->id : -1;
	case FD_TYPES__EVENTPOLL: return fe->epfd ? (int64_t)fe->epfd->id : -1;
	case FD_TYPES__SIGNALFD: return fe->sgfd ? (int64_t)fe->sgfd->id : -1;
	case FD_TYPES__TIMERFD: return fe->tfd ? (int64_t)fe->tfd->id : -1;
	case FD_TYPES__INOTIFY: return fe->ify ? (int64_t)fe->ify->id : -1;
	case FD_TYPES__UNIXSK: return fe->usk ? (int64_t)fe->usk->id : -1;
	case FD_TYPES__MEMFD: return fe->memfd ? (int64_t)fe->memfd->id : -1;
	case FD_TYPES__FIFO: return fe->fifo ? (int64_t)fe->fifo->id : -1;
	case FD_TYPES__TTY: return fe->tty ? (int64_t)fe->tty->id : -1;
	default: return fe->id;	/* kinds crisp does not write: not checked */
	}
}

static bool chk_has_fd(const struct img_file *fdi, uint32_t fd)
{
	for (size_t i = 0; i < fdi->n; i++)
		if (((const FdinfoEntry *)fdi->ents[i].msg)->fd == fd)
			return true;
	return false;
}

void check_files_task(struct chk *c, unsigned int pid, const struct img_file *fdi)
{
	for (size_t i = 0; i < fdi->n; i++) {
		const FdinfoEntry *e = (const FdinfoEntry *)fdi->ents[i].msg;
		const FileEntry *fe = chk_file(c, e->id);

		for (size_t k = 0; k < i; k++)
			if (((const FdinfoEntry *)fdi->ents[k].msg)->fd == e->fd)
				problem(c, "fdinfo: task %u has fd %u twice", pid, e->fd);
		if (!fe)
			continue;
		if (fe->type != e->type)
			problem(c, "fdinfo: task %u fd %u says type %d, files.img says %d for file %u",
				pid, e->fd, (int)e->type, (int)fe->type, e->id);
		if (fe->type != FD_TYPES__EVENTPOLL || !fe->epfd)
			continue;
		for (size_t t = 0; t < fe->epfd->n_tfd; t++)
			if (!chk_has_fd(fdi, fe->epfd->tfd[t]->tfd))
				problem(c, "epoll file %u of task %u watches fd %u, which the task lacks",
					fe->id, pid, fe->epfd->tfd[t]->tfd);
	}
}

static bool chk_pipe_id(const struct chk *c, uint32_t pipe_id)
{
	for (size_t i = 0; i < c->files.n; i++) {
		const FileEntry *fe = (const FileEntry *)c->files.ents[i].msg;

		if (fe->type == FD_TYPES__PIPE && fe->pipe && fe->pipe->pipe_id == pipe_id)
			return true;
	}
	return false;
}

static void chk_entries(struct chk *c)
{
	struct img_file mi;
	bool have_mi = !tool_load(c->dfd, "MEMFD_INODE", 0, true, &mi);

	for (size_t i = 0; i < c->files.n; i++) {
		const FileEntry *fe = (const FileEntry *)c->files.ents[i].msg;
		int64_t mid = chk_member_id(fe);
		bool found = false;

		if (mid < 0)
			problem(c, "files.img: file %u of type %d lacks the member its type calls for",
				fe->id, (int)fe->type);
		else if ((uint32_t)mid != fe->id)
			problem(c, "files.img: file %u holds a member with id %u", fe->id, (uint32_t)mid);
		for (size_t k = 0; k < i; k++)
			if (((const FileEntry *)c->files.ents[k].msg)->id == fe->id)
				problem(c, "files.img: file id %u given twice", fe->id);
		if (fe->type != FD_TYPES__MEMFD || !fe->memfd)
			continue;
		for (size_t k = 0; have_mi && k < mi.n; k++)
			found |= ((const MemfdInodeEntry *)mi.ents[k].msg)->inode_id == fe->memfd->inode_id;
		if (!found)
			problem(c, "memfd file %u: inode %u is not in memfd.img", fe->id,
				fe->memfd->inode_id);
	}
	if (have_mi)
		img_file_free(&mi);
}

static void chk_data_images(struct chk *c)
{
	struct img_file f;

	if (!tool_load(c->dfd, "PIPES_DATA", 0, true, &f)) {
		for (size_t i = 0; i < f.n; i++) {
			const PipeDataEntry *pd = (const PipeDataEntry *)f.ents[i].msg;

			if (!chk_pipe_id(c, pd->pipe_id))
				problem(c, "pipes-data.img: data of pipe %u, which no file is an end of",
					pd->pipe_id);
			if (pd->has_size && pd->bytes > pd->size)
				problem(c, "pipes-data.img: pipe %u holds %u bytes in a %u-byte buffer",
					pd->pipe_id, pd->bytes, pd->size);
		}
		img_file_free(&f);
	}
	if (!tool_load(c->dfd, "SK_QUEUES", 0, true, &f)) {
		for (size_t i = 0; i < f.n; i++) {
			uint32_t id = ((const SkPacketEntry *)f.ents[i].msg)->id_for;
			const FileEntry *fe = chk_file(c, id);

			if (!fe || fe->type != FD_TYPES__UNIXSK)
				problem(c, "sk-queues.img: a packet for file %u, not a unix socket", id);
		}
		img_file_free(&f);
	}
	if (!tool_load(c->dfd, "REMAP_FPATH", 0, true, &f)) {
		for (size_t i = 0; i < f.n; i++) {
			const RemapFilePathEntry *re = (const RemapFilePathEntry *)f.ents[i].msg;
			const FileEntry *fe = chk_file(c, re->orig_id);
			struct img_file g;
			int err;

			if (!fe || fe->type != FD_TYPES__REG)
				problem(c, "remap-fpath.img: remaps file %u, not a regular file", re->orig_id);
			if (!re->has_remap_type || re->remap_type != REMAP_TYPE__GHOST)
				continue;
			err = tool_load(c->dfd, "GHOST_FILE", re->remap_id, true, &g);
			if (err == -ENOENT)
				problem(c, "remap-fpath.img: ghost-file-%x.img of file %u is missing",
					re->remap_id, re->orig_id);
			else if (err)
				problem(c, "ghost-file-%x.img does not parse", re->remap_id);
			else
				img_file_free(&g);
		}
		img_file_free(&f);
	}
}

void check_files_images(struct chk *c)
{
	chk_entries(c);
	chk_data_images(c);
}
