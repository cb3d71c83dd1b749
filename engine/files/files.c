/* files — the dump side of the fd core: lists a task's fds (readlink, one
 * pidfd_getfd duplicate, fstat, fdinfo), finds descriptions already seen
 * (same inode, then kcmp KCMP_FILE) so each gets one id, and dispatches to
 * the kind's ops. Writes files.img entries and fdinfo-N.img. Knows no kind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"
#include "freeze.h"

#define FILES_FDINFO_MAX 16384

static const struct files_ops *const files_kinds[] = {
	&files_memfd_ops,	/* before reg: a memfd's link is a path too */
	&files_tty_ops,
	&files_reg_ops,
	&files_pipe_ops,
	&files_fifo_ops,
	&files_eventfd_ops,
	&files_signalfd_ops,
	&files_timerfd_ops,
	&files_epoll_ops,
	&files_unix_ops,
	&files_inotify_ops,
};

/* What an fd crisp cannot dump is, in words, for the refusal. */
static const char *files_kind_words(const char *link)
{
	static const struct { const char *match, *what; } kinds[] = {
		{ "anon_inode:[io_uring]", "an io_uring instance" },
		{ "anon_inode:[perf_event]", "a perf event" },
		{ "anon_inode:[userfaultfd]", "a userfaultfd" },
		{ "anon_inode:[eventpoll]", "an epoll instance" },
		{ "anon_inode:[eventfd]", "an eventfd" },
		{ "anon_inode:[signalfd]", "a signalfd" },
		{ "anon_inode:[timerfd]", "a timerfd" },
		{ "anon_inode:inotify", "an inotify instance" },
		{ "anon_inode:[fanotify]", "a fanotify instance" },
		{ "anon_inode:[pidfd]", "a pidfd" },
		{ "anon_inode:bpf", "a BPF object" },
		{ "anon_inode:", "an anon-inode file" },
		{ "socket:", "a socket" },
		{ "pipe:", "a pipe" },
		{ "/memfd:", "a memfd" },
		{ "/dev/", "a device" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(link, kinds[i].match, strlen(kinds[i].match)))
			return kinds[i].what;
	return "an open file";
}

static const struct files_ops *files_match(const struct files_probe *p)
{
	for (size_t i = 0; i < sizeof(files_kinds) / sizeof(files_kinds[0]); i++)
		if (files_kinds[i]->match(p))
			return files_kinds[i];
	return NULL;
}

void files_dump_init(struct files_dump *fd, const struct crisp_opts *o)
{
	memset(fd, 0, sizeof(*fd));
	fd->o = o;
}

/* A task's /proc directories, opened once: every fd is then looked up
 * relative to them instead of walking /proc/PID each time. */
struct files_proc {
	pid_t pid;
	int pidfd, fd_dir, info_dir;
};

static void files_proc_close(struct files_proc *fp)
{
	if (fp->pidfd >= 0)
		close(fp->pidfd);
	if (fp->fd_dir >= 0)
		close(fp->fd_dir);
	if (fp->info_dir >= 0)
		close(fp->info_dir);
}

static int files_proc_open(struct files_proc *fp, pid_t pid)
{
	char path[64];
	int err;

	fp->pid = pid;
	fp->pidfd = fp->info_dir = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fp->fd_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fp->fd_dir < 0) {
		err = -errno;
		if (err != -ENOENT && err != -ESRCH)
			pr_perror("task %d: cannot open %s", (int)pid, path);
		return err;
	}
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	fp->info_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fp->info_dir < 0 || fp->pidfd < 0) {
		err = -errno;
		pr_perror("task %d: cannot open its fdinfo or a pidfd", (int)pid);
		files_proc_close(fp);
		return err;
	}
	return 0;
}

/* The fd numbers of the task, in the order /proc lists them. */
static int files_list(const struct files_proc *fp, int **out, size_t *nr)
{
	struct dirent *de;
	size_t cap = 0;
	int *v = NULL, dfd = dup(fp->fd_dir);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

	*nr = 0;
	if (!d) {
		int err = -errno;

		if (dfd >= 0)
			close(dfd);
		pr_perror("task %d: cannot list its fds", (int)fp->pid);
		return err;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (*nr == cap) {
			int *n;

			cap = cap ? cap * 2 : 32;
			n = realloc(v, cap * sizeof(*v));
			if (!n) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = n;
		}
		v[(*nr)++] = atoi(de->d_name);
	}
	closedir(d);
	*out = v;
	return 0;
}

/* Fills @p for fd @fd of the task: link, duplicate, stat. */
static int files_probe_fd(struct files_probe *p, const struct files_proc *fp, int fd,
			  char *link, size_t len)
{
	char name[16];
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->pid = fp->pid;
	p->fd = fd;
	p->lfd = -1;
	p->link = link;
	snprintf(name, sizeof(name), "%d", fd);
	n = readlinkat(fp->fd_dir, name, link, len - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	p->lfd = (int)syscall(SYS_pidfd_getfd, fp->pidfd, fd, 0);
	if (p->lfd < 0)
		return -errno;
	if (fstat(p->lfd, &p->st))
		return -errno;
	return 0;
}

/* For a socket: its family in words ("AF_INET"), else NULL. */
static const char *files_sock_family(const struct files_probe *p, char *buf, size_t len)
{
	static const char *const names[] = { [AF_UNIX] = "AF_UNIX", [AF_INET] = "AF_INET",
		[AF_INET6] = "AF_INET6", [AF_NETLINK] = "AF_NETLINK", [AF_PACKET] = "AF_PACKET" };
	int dom = -1;
	socklen_t l = sizeof(dom);

	if (p->lfd < 0 || strncmp(p->link, "socket:", 7) ||
	    getsockopt(p->lfd, SOL_SOCKET, SO_DOMAIN, &dom, &l))
		return NULL;
	if (dom >= 0 && (size_t)dom < sizeof(names) / sizeof(names[0]) && names[dom])
		snprintf(buf, len, "an %s socket", names[dom]);
	else
		snprintf(buf, len, "a socket of family %d", dom);
	return buf;
}

static int files_refuse(pid_t pid, int fd, const char *link, const char *why)
{
	pr_err("task %d: fd %d is %s (%s)%s%s; crisp cannot dump it", (int)pid, fd,
	       files_kind_words(link), link, why ? ": " : "", why ? why : "");
	return -EOPNOTSUPP;
}

int files_check_task(const struct crisp_opts *o, pid_t pid)
{
	char link[PATH_MAX + 1];
	struct files_proc fp;
	int *fds = NULL, bad = 0;
	size_t nr = 0;
	int err;

	(void)o;
	err = files_proc_open(&fp, pid);
	if (err)
		return err;
	err = files_list(&fp, &fds, &nr);
	for (size_t i = 0; i < nr && !err; i++) {
		struct files_probe p;
		int perr = files_probe_fd(&p, &fp, fds[i], link, sizeof(link));

		if (perr == -ENOENT || perr == -EBADF) {
			if (p.lfd >= 0)
				close(p.lfd);
			continue;	/* closed meanwhile */
		}
		if (perr)
			snprintf(link, sizeof(link), "(unreadable: %s)", strerror(-perr));
		if (perr || !files_match(&p)) {
			char fam[64];

			files_refuse(pid, fds[i], link, perr ? NULL : files_sock_family(&p, fam, sizeof(fam)));
			bad++;
		}
		if (p.lfd >= 0)
			close(p.lfd);
	}
	files_proc_close(&fp);
	free(fds);
	pr_debug("task %d: %zu fds checked", (int)pid, nr);
	if (err)
		return err;
	return bad ? -EOPNOTSUPP : 0;
}

static int files_cmp_inode(const struct files_desc *d, const struct stat *st)
{
	if (d->st.st_dev != st->st_dev)
		return d->st.st_dev < st->st_dev ? -1 : 1;
	if (d->st.st_ino != st->st_ino)
		return d->st.st_ino < st->st_ino ? -1 : 1;
	return 0;
}

/* The first place in fd->order whose description is not below inode @st. */
static size_t files_lower_bound(const struct files_dump *fd, const struct stat *st)
{
	size_t lo = 0, hi = fd->nr_ordered;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (files_cmp_inode(&fd->d[fd->order[mid]], st) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ssize_t files_dump_same_inode(const struct files_dump *fd, const struct stat *st, size_t self)
{
	ssize_t best = -1;

	for (size_t i = files_lower_bound(fd, st);
	     i < fd->nr_ordered && !files_cmp_inode(&fd->d[fd->order[i]], st); i++)
		if (fd->order[i] != self && (best < 0 || fd->order[i] < (size_t)best))
			best = (ssize_t)fd->order[i];
	return best;
}

/*
 * The description @p shows, if it was seen before (its index), else -1 with
 * its place in fd->order in *@pos. Descriptions are kept ordered by inode,
 * then by kcmp's order of open files, so each fd costs a binary search and
 * O(log n) kcmp calls, even when thousands share one inode (all eventfds
 * and epolls do: the anon inode).
 */
static ssize_t files_find_desc(const struct files_dump *fd, const struct files_probe *p, size_t *pos)
{
	size_t lo = files_lower_bound(fd, &p->st), hi = lo;
	pid_t self = getpid();	/* both copies are ours */

	while (hi < fd->nr_ordered && !files_cmp_inode(&fd->d[fd->order[hi]], &p->st))
		hi++;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long r = syscall(SYS_kcmp, self, self, KCMP_FILE, fd->d[fd->order[mid]].lfd, p->lfd);

		if (r == 0)
			return (ssize_t)fd->order[mid];
		if (r == 1)		/* that file comes before ours */
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return -1;
}

/* Puts description @idx at place @pos of fd->order. */
static int files_order_insert(struct files_dump *fd, size_t pos, size_t idx)
{
	if (fd->nr_ordered == fd->ord_cap) {
		size_t cap = fd->ord_cap ? fd->ord_cap * 2 : 32;
		size_t *n = realloc(fd->order, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		fd->order = n;
		fd->ord_cap = cap;
	}
	memmove(fd->order + pos + 1, fd->order + pos, (fd->nr_ordered - pos) * sizeof(*fd->order));
	fd->order[pos] = idx;
	fd->nr_ordered++;
	return 0;
}

static int files_read_fdinfo(const struct files_proc *fp, int fd, char *buf, size_t len)
{
	char name[16];
	ssize_t n;
	int f;

	snprintf(name, sizeof(name), "%d", fd);
	f = openat(fp->info_dir, name, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = read(f, buf, len - 1);
	close(f);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int files_new_desc(struct files_dump *fd, const struct files_ops *ops,
			  struct files_probe *p, const char *fdinfo, size_t *idx)
{
	uint64_t v;
	struct files_desc *d;
	int err;

	if (fd->nr == fd->cap) {
		size_t cap = fd->cap ? fd->cap * 2 : 32;
		struct files_desc *n = realloc(fd->d, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		fd->d = n;
		fd->cap = cap;
	}
	d = &fd->d[fd->nr];
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->pid = p->pid;
	d->fd = p->fd;
	d->lfd = p->lfd;
	d->st = p->st;
	d->link = strdup(p->link);
	if (!d->link)
		return -ENOMEM;
	if (fdinfo_u64(fdinfo, strlen(fdinfo), "pos", 10, &v))
		v = 0;
	d->pos = v;
	if (fdinfo_u64(fdinfo, strlen(fdinfo), "flags", 8, &v))
		v = 0;
	d->flags = (uint32_t)v & ~(uint32_t)O_CLOEXEC;
	{
		struct f_owner_ex ex = { 0, 0 };
		int sig = fcntl(p->lfd, F_GETSIG);

		if (!fcntl(p->lfd, F_GETOWN_EX, &ex) && ex.pid > 0) {
			d->own_type = (uint32_t)ex.type;
			d->own_pid = (uint32_t)ex.pid;
		}
		d->own_sig = sig > 0 ? (uint32_t)sig : 0;
	}
	fd->nr++;
	p->lfd = -1;	/* the description keeps it */
	err = ops->dump(fd, d, fdinfo);
	*idx = fd->nr - 1;
	return err;
}

static int files_task_add(struct files_task *t, int fdnum, bool cloexec, size_t desc)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct files_fd *n = realloc(t->fd, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->fd = n;
		t->cap = cap;
	}
	t->fd[t->nr++] = (struct files_fd){ fdnum, cloexec, desc };
	return 0;
}

static struct files_task *files_new_task(struct files_dump *fd, pid_t pid)
{
	if (fd->nr_t == fd->cap_t) {
		size_t cap = fd->cap_t ? fd->cap_t * 2 : 4;
		struct files_task *n = realloc(fd->t, cap * sizeof(*n));

		if (!n)
			return NULL;
		fd->t = n;
		fd->cap_t = cap;
	}
	memset(&fd->t[fd->nr_t], 0, sizeof(fd->t[0]));
	fd->t[fd->nr_t].pid = pid;
	return &fd->t[fd->nr_t++];
}

static int files_dump_one(struct files_dump *fd, struct files_task *t, const struct files_proc *fp,
			  int fdnum, char *link, char *fdinfo)
{
	struct files_probe p;
	const struct files_ops *ops;
	uint64_t fl;
	ssize_t found;
	size_t idx, pos = 0;
	bool cloexec;
	int err;

	err = files_probe_fd(&p, fp, fdnum, link, PATH_MAX + 1);
	if (err == -ENOENT || err == -EBADF)
		return err;	/* cannot happen in the freeze; the caller says so */
	if (!err)
		err = files_read_fdinfo(fp, fdnum, fdinfo, FILES_FDINFO_MAX);
	if (err) {
		pr_err("task %d: fd %d (%s): cannot look at it: %s", (int)t->pid, fdnum,
		       link, strerror(-err));
		goto out;
	}
	cloexec = !fdinfo_u64(fdinfo, strlen(fdinfo), "flags", 8, &fl) && (fl & O_CLOEXEC);
	found = files_find_desc(fd, &p, &pos);
	if (found >= 0) {
		err = files_task_add(t, fdnum, cloexec, (size_t)found);
		if (!err)
			err = files_locks_collect(fd, t->pid, fdnum, (size_t)found, fdinfo);
		goto out;
	}
	ops = files_match(&p);
	if (!ops) {
		char fam[64];

		err = files_refuse(t->pid, fdnum, link, files_sock_family(&p, fam, sizeof(fam)));
		goto out;
	}
	err = files_new_desc(fd, ops, &p, fdinfo, &idx);
	if (!err)
		err = files_order_insert(fd, pos, idx);
	if (!err)
		err = files_task_add(t, fdnum, cloexec, idx);
	if (!err)
		err = files_locks_collect(fd, t->pid, fdnum, idx, fdinfo);
	/* the kinds log their own failures, where they are understood */
	if (err == -ENOMEM)
		pr_err("task %d: fd %d (%s): out of memory", (int)t->pid, fdnum, ops->name);
out:
	if (p.lfd >= 0)
		close(p.lfd);
	return err;
}

int files_dump_task(struct files_dump *fd, pid_t pid)
{
	char *link = malloc(PATH_MAX + 1), *fdinfo = malloc(FILES_FDINFO_MAX);
	struct files_proc fp = { .pidfd = -1, .fd_dir = -1, .info_dir = -1 };
	struct files_task *t = NULL;
	uint64_t t0 = freeze_now_ns();
	int *fds = NULL, err;
	size_t nr = 0;

	err = !link || !fdinfo ? -ENOMEM : files_proc_open(&fp, pid);
	if (!err)
		err = files_list(&fp, &fds, &nr);
	if (!err) {
		t = files_new_task(fd, pid);
		err = t ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < nr && !err; i++)
		err = files_dump_one(fd, t, &fp, fds[i], link, fdinfo);
	if (!err)
		pr_debug("task %d: %zu fds collected in %llu us (%zu descriptions so far)", (int)pid,
			 nr, (unsigned long long)(freeze_now_ns() - t0) / 1000, fd->nr);
	files_proc_close(&fp);
	free(fds);
	free(link);
	free(fdinfo);
	return err;
}

void files_fown(const struct files_desc *d, FownEntry *f)
{
	fown_entry__init(f);
	f->pid_type = d->own_type;
	f->pid = d->own_pid;
	f->signum = d->own_sig;
}

int files_wctx_writer(struct files_wctx *w, const char *kind, struct img_writer **out)
{
	int err;

	for (size_t i = 0; i < w->nr; i++)
		if (!strcmp(w->kind[i], kind)) {
			*out = &w->w[i];
			return 0;
		}
	if (w->nr == FILES_MAX_WRITERS)
		return -ENOSPC;
	err = img_writer_open(&w->w[w->nr], w->dir, img_kind_by_name(kind), 0);
	if (err)
		return err;
	w->kind[w->nr] = kind;
	*out = &w->w[w->nr++];
	return 0;
}

int files_dump_write(struct files_dump *fd, struct img_dir *dir, struct img_writer *files)
{
	struct files_wctx w = { .fdump = fd, .dir = dir, .files = files,
				.next_id = fd->id_base + 1 + (uint32_t)fd->nr };
	int err = 0;

	for (size_t i = 0; i < fd->nr && !err; i++)
		err = fd->d[i].ops->write(&w, &fd->d[i], fd->id_base + 1 + (uint32_t)i);
	if (!err)
		err = files_locks_write(fd, dir);
	for (size_t i = 0; i < w.nr; i++) {
		int err2 = img_writer_close(&w.w[i]);

		if (!err)
			err = err2;
	}
	return err;
}

int files_dump_write_fdinfo(struct files_dump *fd, struct img_dir *dir, pid_t pid,
			    uint32_t files_id)
{
	const struct files_task *t = NULL;
	struct img_writer w;
	int err, err2;

	for (size_t i = 0; i < fd->nr_t; i++)
		if (fd->t[i].pid == pid)
			t = &fd->t[i];
	err = img_writer_open(&w, dir, img_kind_by_name("FDINFO"), files_id);
	if (err)
		return err;
	for (size_t i = 0; t && i < t->nr && !err; i++) {
		FdinfoEntry e = FDINFO_ENTRY__INIT;
		const struct files_desc *d = &fd->d[t->fd[i].desc];

		e.id = fd->id_base + 1 + (uint32_t)t->fd[i].desc;
		e.flags = t->fd[i].cloexec ? FD_CLOEXEC : 0;
		e.type = d->ops->type;
		e.fd = (uint32_t)t->fd[i].fd;
		err = img_writer_entry(&w, &e.base);
	}
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

void files_dump_free(struct files_dump *fd)
{
	for (size_t i = 0; i < fd->nr; i++) {
		struct files_desc *d = &fd->d[i];

		if (d->ops->free)
			d->ops->free(d);
		if (d->lfd >= 0)
			close(d->lfd);
		free(d->link);
	}
	for (size_t i = 0; i < fd->nr_t; i++)
		free(fd->t[i].fd);
	files_locks_free(fd);
	free(fd->d);
	free(fd->order);
	free(fd->t);
	memset(fd, 0, sizeof(*fd));
}
