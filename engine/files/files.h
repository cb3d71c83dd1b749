/* files — open file descriptors: the core that lists a task's fds, gives
 * every open file description one id tree-wide, and hands each to the ops
 * table of its kind (one file per kind: files-reg.c, pipes.c, ...), on the
 * dump side and on the restore side. The core knows no kind's details.
 */
#ifndef CRISP_FILES_H
#define CRISP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdinfo.h"
#include "files.pb-c.h"
#include "img.h"
#include "opts.h"

/* What the core knows of one fd before its kind is chosen. */
struct files_probe {
	pid_t pid;
	int fd;
	int lfd;			/* our duplicate (pidfd_getfd), or -1 */
	const char *link;		/* readlink of /proc/PID/fd/N */
	struct stat st;
};

/* One open file description of the dumped tree. */
struct files_desc {
	const struct files_ops *ops;
	pid_t pid;			/* the first task and fd it was seen in */
	int fd;
	int lfd;			/* our duplicate: the same description */
	struct stat st;
	uint32_t flags;			/* f_flags, O_CLOEXEC left out */
	uint64_t pos;
	uint32_t own_type, own_pid, own_sig;	/* F_GETOWN_EX, F_GETSIG */
	char *link;
	void *priv;			/* the kind's collected state */
};

struct files_fd {
	int fd;
	bool cloexec;
	size_t desc;			/* index in files_dump.d */
};

struct files_task {
	pid_t pid;
	struct files_fd *fd;
	size_t nr, cap;
};

struct files_dump {
	const struct crisp_opts *o;
	struct files_desc *d;
	size_t nr, cap;
	size_t *order;			/* d's indices by (dev, ino, kcmp order) */
	size_t nr_ordered, ord_cap;
	struct files_task *t;
	size_t nr_t, cap_t;
	uint32_t id_base;		/* file ids are id_base + 1 + index */
	struct files_lock *locks;	/* with --file-locks (file-locks.c) */
	size_t nr_locks, cap_locks;
};

/* Writers of the per-kind data images, opened the first time one is used. */
#define FILES_MAX_WRITERS 8
struct files_wctx {
	const struct files_dump *fdump;
	struct img_dir *dir;
	struct img_writer *files;	/* files.img */
	uint32_t next_id;		/* for entries no fd names (a FIFO's path) */
	struct img_writer w[FILES_MAX_WRITERS];
	const char *kind[FILES_MAX_WRITERS];
	size_t nr;
};

/* One file entry the restore opens, with the engine's fd for it. */
struct files_rfile {
	const FileEntry *fe;
	const struct files_ops *ops;
	int fd;				/* engine side, high number; -1 until open */
	bool fixed_up;			/* the fixup ran (once per description) */
	bool owned;			/* its SIGIO owner was set */
	void *priv;
};

/* One fd of the restored task. */
struct files_rfd {
	int fd;
	bool cloexec;
	size_t file;			/* index in files_rst.f */
};

/* An fd table several tasks share (CLONE_FILES), in a page the engine maps
 * MAP_SHARED before the root, so every task sees it: how many of the tasks
 * other than its creator are done with the engine's fds, and whether one
 * of them failed first. */
struct files_rsync {
	uint32_t ready;
	uint32_t failed;
};

/* One restored task's fd table. */
struct files_rtask {
	pid_t pid;			/* the task that creates the table */
	struct img_file fdinfo;
	struct files_rfd *fds;		/* sorted by fd number */
	size_t nr_fds;
	int close_from;			/* every fd of the task is below it */
	uint32_t users;			/* tasks using it, pid's included */
	struct files_rsync *sync;	/* in files_rst.sync_map */
};

#define FILES_MAX_IMAGES 8
struct files_rst {
	const struct crisp_opts *o;
	int dfd;			/* the images dir */
	const struct img_file *files;	/* files.img */
	struct files_rfile *f;		/* every description, tree-wide, once */
	size_t nr, cap;
	struct files_rtask *t;
	size_t nr_t;
	int min_fd;			/* the engine's copies start here */
	void *sync_map;			/* MAP_SHARED: a files_rsync per table */
	size_t sync_len;
	struct img_file img[FILES_MAX_IMAGES];	/* per-kind data images */
	const char *img_kind[FILES_MAX_IMAGES];
	size_t nr_img;
};

struct files_ops {
	const char *name;
	FdTypes type;
	/* Is this fd of our kind? Must not change anything. */
	bool (*match)(const struct files_probe *p);
	/* In the freeze: collects what the kind needs of @d into d->priv.
	 * @fdinfo is the text of /proc/PID/fdinfo/N (NUL-terminated; parse it
	 * with fdinfo.h). 0 or -errno, logged. */
	int (*dump)(struct files_dump *fd, struct files_desc *d, const char *fdinfo);
	/* Writes @d as file entry @id into w->files, and its data images. */
	int (*write)(struct files_wctx *w, const struct files_desc *d, uint32_t id);
	void (*free)(struct files_desc *d);
	/* Restore, in the engine: opens f (sets f->fd). 0 or -errno, logged. */
	int (*open)(struct files_rst *r, struct files_rfile *f);
	/* Restore, in the task once its fds are installed, for what is keyed
	 * on fd numbers (epoll targets). Optional. 0 or -errno; @why names it. */
	int (*fixup)(struct files_rst *r, struct files_rfile *f, int fd, char *why, size_t len);
};

extern const struct files_ops files_reg_ops, files_pipe_ops, files_eventfd_ops,
	files_signalfd_ops, files_timerfd_ops, files_epoll_ops, files_unix_ops,
	files_memfd_ops, files_inotify_ops, files_fifo_ops, files_tty_ops;

/* ---- dump (files.c) ---- */

void files_dump_init(struct files_dump *fd, const struct crisp_opts *o);
/* Without changing anything: 0 when every fd of @pid is of a kind crisp
 * dumps, else -EOPNOTSUPP naming the fd, its kind and the task. */
int files_check_task(const struct crisp_opts *o, pid_t pid);
/* In the freeze: every fd of @pid, descriptions shared with fds seen
 * before (in any task) found by kcmp. 0 or -errno, logged. */
int files_dump_task(struct files_dump *fd, pid_t pid);
/* Writes the file entries (ids from fd->id_base + 1) into @files and the
 * kinds' data images into @dir. 0 or -errno. */
int files_dump_write(struct files_dump *fd, struct img_dir *dir, struct img_writer *files);
/* fdinfo-@files_id.img for task @pid. 0 or -errno. */
int files_dump_write_fdinfo(struct files_dump *fd, struct img_dir *dir, pid_t pid,
			    uint32_t files_id);
void files_dump_free(struct files_dump *fd);
/* The lowest index of a description of inode @st (dev, ino) other than
 * @self, or -1. Binary search: cheap inside the freeze. */
ssize_t files_dump_same_inode(const struct files_dump *fd, const struct stat *st, size_t self);
/* @d's owner for SIGIO (F_SETOWN_EX, F_SETSIG) into @f (initialised). */
void files_fown(const struct files_desc *d, FownEntry *f);
/* The writer of data image @kind (by img kind name), opened on first use. */
int files_wctx_writer(struct files_wctx *w, const char *kind, struct img_writer **out);

/* ---- SOL_SOCKET options of any socket kind (sk-opts.c) ---- */

struct sk_opts {
	uint32_t sndbuf, rcvbuf, priority, rcvlowat, mark;
	uint64_t snd_sec, snd_usec, rcv_sec, rcv_usec;
	bool passcred, passsec, reuseaddr, reuseport, broadcast, keepalive, oobinline;
};
/* Reads them on socket @fd (our duplicate). 0. */
int sk_opts_collect(int fd, struct sk_opts *o);
void sk_opts_fill(const struct sk_opts *o, SkOptsEntry *e);
/* Sets them on the new socket @fd. 0 or -errno, logged. */
int sk_opts_apply(int fd, const SkOptsEntry *e);

/* ---- file locks (file-locks.c) ---- */

struct files_lock;
/* The locks fd @fdnum of @pid (description @desc) holds, from its fdinfo;
 * -EOPNOTSUPP (logged) for any lock without --file-locks. */
int files_locks_collect(struct files_dump *fd, pid_t pid, int fdnum, size_t desc,
			const char *fdinfo);
/* filelocks.img, when there is any lock. 0 or -errno. */
int files_locks_write(struct files_dump *fd, struct img_dir *dir);
void files_locks_free(struct files_dump *fd);
/* In the restored task @pid, its fds installed: takes its locks again. */
int files_locks_apply(struct files_rst *r, pid_t pid, char *why, size_t len);

/* ---- unlinked files, for files-reg (files-ghost.c) ---- */

struct files_ghost;
/* In the freeze: @d's contents if it is within --ghost-limit (else
 * -EFBIG, logged); *@out is freed with files_ghost_free. */
int files_ghost_dump(struct files_dump *fd, struct files_desc *d, struct files_ghost **out);
void files_ghost_free(struct files_ghost *g);
/* remap-fpath.img entry for file @id and, once per inode, its ghost image. */
int files_ghost_write(struct files_wctx *w, const struct files_desc *d,
		      const struct files_ghost *g, uint32_t id);
/* The ghost remap id of file @id, or 0 (*@err set if images are bad). */
uint32_t files_ghost_remap(struct files_rst *r, uint32_t id, int *err);
/* Recreates ghost @remap_id (once) and opens it with @flags: fd or -errno. */
int files_ghost_open(struct files_rst *r, struct files_rfile *f, uint32_t remap_id, int flags);

/* ---- restore (files-rst.c) ---- */

/*
 * Restore, tree-wide: files_rst_init once, files_rst_add_task for each task
 * that has an fd table of its own (tasks sharing one by CLONE_FILES: only
 * the one that creates it), files_rst_open once in the engine before any
 * task is created, then files_rst_install in each new task (a clone of the
 * engine, or of a restored parent: the copies are inherited). A description
 * shared by several tasks is opened once, so its offset stays shared.
 * A table shared by CLONE_FILES: files_rst_add_user for each other task
 * using it, and each task of it calls files_rst_install_shared instead,
 * once it is done with the engine's fds; the creator installs.
 */
void files_rst_init(struct files_rst *r, const struct crisp_opts *o, int dfd,
		    const struct img_file *files);
/* Reads fdinfo-@files_id.img for task @pid and picks the file entries it
 * uses. 0 or -errno, logged. */
int files_rst_add_task(struct files_rst *r, pid_t pid, uint32_t files_id);
/* In the engine, before the tasks exist: opens every description once,
 * above every task's fd numbers. */
int files_rst_open(struct files_rst *r);
/* Every fd of task @pid is below this: the restorer closes the rest. */
int files_rst_close_from(const struct files_rst *r, pid_t pid);
/* In the new task @pid: installs its fds with their numbers and flags,
 * runs the kinds' fixups, closes the engine's copies and every other fd
 * below its close_from, takes its file locks. On failure @why says what
 * went wrong. 0 or -errno. */
int files_rst_install(struct files_rst *r, pid_t pid, char *why, size_t len);
/* In the engine, after files_rst_add_task(@owner), before files_rst_open:
 * one more task uses @owner's table (it was created with CLONE_FILES). */
int files_rst_add_user(struct files_rst *r, pid_t owner);
/* In task @self, which uses the table of @owner and is done with the
 * engine's fds (its children created, its memory filled, its exe open):
 * another task says so and returns at once; @owner waits until every other
 * task of the table has, then installs it (files_rst_install). Waiting ends
 * with an error when one of them failed (files_rst_user_failed) or after a
 * minute. 0 or -errno, @why says why. */
int files_rst_install_shared(struct files_rst *r, pid_t owner, pid_t self, char *why,
			     size_t len);
/* In a task of @owner's table that fails before it was done: @owner stops
 * waiting for it. */
void files_rst_user_failed(struct files_rst *r, pid_t owner);
/* The fd numbers below @pid's close_from that are none of its table's fds,
 * range by range into *@lo..*@hi, from *@pos (0 at first); false when no
 * range is left. In the engine, for closing what is not the table's own. */
bool files_rst_hole(const struct files_rst *r, pid_t pid, size_t *pos, int *lo, int *hi);
void files_rst_free(struct files_rst *r);
/* Data image @kind (e.g. "PIPES_DATA"), read on first use; NULL with
 * *@err set when it is unreadable (an absent image reads as empty). */
const struct img_file *files_rst_image(struct files_rst *r, const char *kind, int *err);
/* The file entry with id @id, or NULL. */
struct files_rfile *files_rst_find(struct files_rst *r, uint32_t id);
/* ---- the controlling terminal (ttys.c) ---- */

/* Dump, every fd collected: task @pid's controlling terminal (tty_nr of its
 * stat) must be a pty whose master is dumped, unless @callers (a job of the
 * caller's session with --shell-job). 0 or -EOPNOTSUPP, logged. */
int files_tty_check_ctty(const struct files_dump *fd, pid_t pid, int64_t tty_nr, bool callers);

/* In the leader of session @sid, right after setsid and before it creates
 * any task (they inherit the terminal at fork): acquires the pty that was
 * the session's controlling terminal, if one was dumped. 0 or -errno (@why). */
int files_tty_take_ctty(struct files_rst *r, pid_t sid, char *why, size_t len);
/* In a task of session @sid once it is in group @pgid: makes the group
 * the terminal's foreground if it was. 0 or -errno (@why). */
int files_tty_foreground(struct files_rst *r, pid_t sid, pid_t pgid, char *why, size_t len);

/* In the root of a --shell-job tree, leading its group @pgid: when the job
 * was on the caller's terminal and crisp runs in the foreground of its own
 * (stdin), the job's group takes the foreground, as under CRIU. 0 or -errno. */
int files_tty_job_foreground(struct files_rst *r, pid_t pgid, char *why, size_t len);

/* Moves @fd to r->min_fd or above (close-on-exec), closing @fd. */
int files_rst_park(struct files_rst *r, int fd);

#endif
