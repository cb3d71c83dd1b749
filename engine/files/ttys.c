/* ttys — Unix98 ptys whose master is dumped (the slave ends too, if open):
 * index, termios, window size, lock, packet mode and exclusive mode in
 * tty-info.img, each open end a tty_file_entry naming a reg entry with its
 * path. The restore gets the same index from /dev/ptmx. A pty that is a
 * session's controlling terminal: its session and foreground group, taken
 * again by the restored tasks (files_tty_take_ctty, files_tty_foreground).
 * Not kept: unread data in the pty's buffers. A slave whose master is
 * outside the dump (the terminal a job runs on) only with --shell-job, when
 * it is the task's controlling terminal: the restore opens its own for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"
#include "proc_stat.h"

#define TTY_PTMX_MAJOR	5
#define TTY_PTMX_MINOR	2
#define TTY_PTS_MAJOR	136	/* to 143: UNIX98_PTY_SLAVE_MAJOR */
#define TTY_MAX_INDEX	(8 * 256)

struct tty_priv {
	bool master;
	uint32_t index;
	bool info_owner;		/* writes the tty-info entry of its end */
	bool locked, packet, exclusive;
	struct termios tio;
	struct winsize ws;
	uint32_t sid, pgrp;
	bool ctty;			/* a slave: its task's controlling terminal */
};

static bool tty_is_master(const struct stat *st)
{
	return major(st->st_rdev) == TTY_PTMX_MAJOR && minor(st->st_rdev) == TTY_PTMX_MINOR;
}

static bool tty_is_slave(const struct stat *st)
{
	return major(st->st_rdev) >= TTY_PTS_MAJOR && major(st->st_rdev) < TTY_PTS_MAJOR + 8;
}

static bool tty_match(const struct files_probe *p)
{
	return S_ISCHR(p->st.st_mode) && (tty_is_master(&p->st) || tty_is_slave(&p->st));
}

/* Another description of the same end of pty @index dumped before @d? */
static bool tty_seen(const struct files_dump *fd, const struct files_desc *d,
		     const struct tty_priv *tp)
{
	for (size_t i = 0; i < fd->nr; i++) {
		const struct tty_priv *o = fd->d[i].priv;

		if (&fd->d[i] != d && fd->d[i].ops == &files_tty_ops && o && o->master == tp->master &&
		    o->index == tp->index)
			return true;
	}
	return false;
}

static int tty_dump(struct files_dump *fd, struct files_desc *d, const char *fdinfo)
{
	struct tty_priv *tp = calloc(1, sizeof(*tp));
	int v = 0;
	pid_t p;

	(void)fdinfo;
	if (!tp)
		return -ENOMEM;
	d->priv = tp;
	tp->master = tty_is_master(&d->st);
	if (tp->master) {
		if (ioctl(d->lfd, TIOCGPTN, &tp->index)) {
			int err = -errno;

			pr_perror("task %d: fd %d (%s): TIOCGPTN", (int)d->pid, d->fd, d->link);
			return err;
		}
		tp->locked = !ioctl(d->lfd, TIOCGPTLCK, &v) && v;
		tp->packet = !ioctl(d->lfd, TIOCGPKT, &v) && v;
	} else {
		struct proc_stat ps;

		tp->index = (major(d->st.st_rdev) - TTY_PTS_MAJOR) * 256 + minor(d->st.st_rdev);
		/* tty_nr: the kernel's dev encoding, major in bits 8-19 */
		tp->ctty = !proc_read_stat(d->pid, 0, &ps) &&
			   ((ps.tty_nr >> 8) & 0xfff) == major(d->st.st_rdev) &&
			   ((ps.tty_nr & 0xff) | ((ps.tty_nr >> 12) & 0xfff00)) == minor(d->st.st_rdev);
	}
	if (tcgetattr(d->lfd, &tp->tio) || ioctl(d->lfd, TIOCGWINSZ, &tp->ws)) {
		int err = -errno;

		pr_perror("task %d: fd %d (%s): termios or window size", (int)d->pid, d->fd, d->link);
		return err;
	}
	tp->exclusive = !ioctl(d->lfd, TIOCGEXCL, &v) && v;
	if (!ioctl(d->lfd, TIOCGSID, &p))
		tp->sid = (uint32_t)p;
	if (tp->sid && !ioctl(d->lfd, TIOCGPGRP, &p))
		tp->pgrp = (uint32_t)p;
	tp->info_owner = !tty_seen(fd, d, tp);
	return 0;
}

/* At write time every end is known: a slave needs its master dumped. */
static bool tty_master_dumped(const struct files_dump *fd, uint32_t index)
{
	for (size_t i = 0; i < fd->nr; i++) {
		const struct tty_priv *o = fd->d[i].priv;

		if (fd->d[i].ops == &files_tty_ops && o && o->master && o->index == index)
			return true;
	}
	return false;
}

int files_tty_check_ctty(const struct files_dump *fd, pid_t pid, int64_t tty_nr, bool callers)
{
	unsigned int maj = (unsigned int)((tty_nr >> 8) & 0xfff);
	unsigned int min = (unsigned int)((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));

	/* none, or the caller's, which a --shell-job restore gives its own */
	if (!tty_nr || callers)
		return 0;
	if (maj >= TTY_PTS_MAJOR && maj < TTY_PTS_MAJOR + 8 &&
	    tty_master_dumped(fd, (maj - TTY_PTS_MAJOR) * 256 + min))
		return 0;
	pr_err("task %d: its controlling terminal (device %u:%u) is not a pty whose master is in "
	       "the dump; crisp cannot restore it", (int)pid, maj, min);
	return -EOPNOTSUPP;
}

static void tty_termios(TermiosEntry *te, uint32_t *cc, const struct termios *t)
{
	te->c_iflag = t->c_iflag;
	te->c_oflag = t->c_oflag;
	te->c_cflag = t->c_cflag;
	te->c_lflag = t->c_lflag;
	te->c_line = t->c_line;
	te->c_ispeed = (uint32_t)cfgetispeed(t);
	te->c_ospeed = (uint32_t)cfgetospeed(t);
	for (size_t i = 0; i < NCCS; i++)
		cc[i] = t->c_cc[i];
	te->n_c_cc = NCCS;
	te->c_cc = cc;
}

/* The info id of an end: the pty's index, masters and slaves apart. */
static uint32_t tty_info_id(const struct tty_priv *tp)
{
	return tp->index * 2 + (tp->master ? 1 : 2);
}

static int tty_write_info(struct files_wctx *w, const struct files_desc *d, const struct tty_priv *tp)
{
	TtyInfoEntry ie = TTY_INFO_ENTRY__INIT;
	TermiosEntry te = TERMIOS_ENTRY__INIT;
	WinsizeEntry we = WINSIZE_ENTRY__INIT;
	TtyPtyEntry pe = TTY_PTY_ENTRY__INIT;
	uint32_t cc[NCCS];
	struct img_writer *iw;
	int err = files_wctx_writer(w, "TTY_INFO", &iw);

	if (err)
		return err;
	tty_termios(&te, cc, &tp->tio);
	we.ws_row = tp->ws.ws_row;
	we.ws_col = tp->ws.ws_col;
	we.ws_xpixel = tp->ws.ws_xpixel;
	we.ws_ypixel = tp->ws.ws_ypixel;
	pe.index = tp->index;
	ie.id = tty_info_id(tp);
	ie.type = TTY_TYPE__PTY;
	ie.locked = tp->locked;
	ie.exclusive = tp->exclusive;
	ie.packet_mode = tp->packet;
	ie.sid = tp->sid;
	ie.pgrp = tp->pgrp;
	/* a slave's TIOCGSID works only in its session: the master's says it */
	for (size_t i = 0; !tp->master && !ie.sid && i < w->fdump->nr; i++) {
		const struct tty_priv *o = w->fdump->d[i].priv;

		if (w->fdump->d[i].ops == &files_tty_ops && o && o->master && o->index == tp->index) {
			ie.sid = o->sid;
			ie.pgrp = o->pgrp;
		}
	}
	ie.rdev = (uint32_t)d->st.st_rdev;
	ie.termios = &te;
	ie.winsize = &we;
	ie.pty = &pe;
	ie.has_uid = ie.has_gid = true;
	ie.uid = d->st.st_uid;
	ie.gid = d->st.st_gid;
	return img_writer_entry(iw, &ie.base);
}

static int tty_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct tty_priv *tp = d->priv;
	FileEntry fe = FILE_ENTRY__INIT, re_fe = FILE_ENTRY__INIT;
	TtyFileEntry tf = TTY_FILE_ENTRY__INIT;
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	/* a job's terminal (--shell-job): written as the pty slave it is,
	 * without a master, as CRIU does; the restore gives it its own */
	if (!tp->master && !tty_master_dumped(w->fdump, tp->index) &&
	    (!w->fdump->o->shell_job || !tp->ctty)) {
		pr_err("task %d: fd %d is %s, a terminal whose master is outside the dump; crisp "
		       "dumps it only %s", (int)d->pid, d->fd, d->link,
		       w->fdump->o->shell_job ? "if it is the task's controlling terminal" :
		       "with --shell-job, as the caller's terminal");
		return -EOPNOTSUPP;
	}
	re.id = w->next_id++;
	re.flags = d->flags;
	re.fown = &fown;
	re.name = d->link;
	re_fe.type = FD_TYPES__REG;
	re_fe.id = re.id;
	re_fe.reg = &re;
	tf.id = id;
	tf.tty_info_id = tty_info_id(tp);
	tf.flags = d->flags;
	tf.fown = &fown;
	tf.has_regf_id = true;
	tf.regf_id = re.id;
	fe.type = FD_TYPES__TTY;
	fe.id = id;
	fe.tty = &tf;
	err = img_writer_entry(w->files, &re_fe.base);
	if (!err)
		err = img_writer_entry(w->files, &fe.base);
	if (!err && tp->info_owner)
		err = tty_write_info(w, d, tp);
	return err;
}

static void tty_free(struct files_desc *d)
{
	free(d->priv);
	d->priv = NULL;
}

/* ---- restore ---- */

static const TtyInfoEntry *tty_info(struct files_rst *r, uint32_t id, int *err)
{
	const struct img_file *img = files_rst_image(r, "TTY_INFO", err);

	for (size_t i = 0; img && i < img->n; i++)
		if (((const TtyInfoEntry *)img->ents[i].msg)->id == id)
			return (const TtyInfoEntry *)img->ents[i].msg;
	if (img)
		pr_err("tty-info.img has no entry %u", id);
	*err = *err ? *err : -EINVAL;
	return NULL;
}

/* A master of pty @index from /dev/ptmx: lower free indices are taken
 * meanwhile and let go. The fd or -errno. */
static int tty_ptmx(uint32_t index)
{
	int held[64], nheld = 0, fd = -1, err = -EBUSY;

	while (nheld < 64) {
		unsigned int got;

		fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			break;
		}
		if (ioctl(fd, TIOCGPTN, &got)) {
			err = -errno;
			close(fd);
			fd = -1;
			break;
		}
		if (got == index)
			break;
		if (got > index) {
			pr_err("pty %u is taken (/dev/ptmx gave %u)", index, got);
			close(fd);
			fd = -1;
			break;
		}
		held[nheld++] = fd;
		fd = -1;
	}
	while (nheld)
		close(held[--nheld]);
	return fd >= 0 ? fd : err;
}

/* termios always; the window size and exclusive mode only if @all (not
 * on a terminal that is not the dumped one). */
static int tty_apply(int fd, const TtyInfoEntry *ie, bool all)
{
	struct termios t;
	struct winsize ws;

	if (ie->termios) {
		const TermiosEntry *te = ie->termios;

		if (tcgetattr(fd, &t))
			return -errno;
		t.c_iflag = te->c_iflag;
		t.c_oflag = te->c_oflag;
		t.c_cflag = te->c_cflag;
		t.c_lflag = te->c_lflag;
		t.c_line = (cc_t)te->c_line;
		for (size_t i = 0; i < NCCS && i < te->n_c_cc; i++)
			t.c_cc[i] = (cc_t)te->c_cc[i];
		cfsetispeed(&t, (speed_t)te->c_ispeed);
		cfsetospeed(&t, (speed_t)te->c_ospeed);
		if (tcsetattr(fd, TCSANOW, &t))
			return -errno;
	}
	if (!all)
		return 0;
	if (ie->winsize) {
		ws.ws_row = (unsigned short)ie->winsize->ws_row;
		ws.ws_col = (unsigned short)ie->winsize->ws_col;
		ws.ws_xpixel = (unsigned short)ie->winsize->ws_xpixel;
		ws.ws_ypixel = (unsigned short)ie->winsize->ws_ypixel;
		if (ioctl(fd, TIOCSWINSZ, &ws))
			return -errno;
	}
	if (ie->exclusive && ioctl(fd, TIOCEXCL))
		return -errno;
	return 0;
}

static const char *tty_path(const struct files_rst *r, const TtyFileEntry *tf)
{
	for (size_t i = 0; tf->has_regf_id && r->files && i < r->files->n; i++) {
		const FileEntry *fe = (const FileEntry *)r->files->ents[i].msg;

		if (fe->id == tf->regf_id && fe->type == FD_TYPES__REG && fe->reg && fe->reg->name)
			return fe->reg->name;
	}
	return NULL;
}

/* Every end of pty @index: the master first (from /dev/ptmx), the slaves
 * opened by the path the new master gives. */
static int tty_open_pty(struct files_rst *r, uint32_t index)
{
	const TtyInfoEntry *mi = NULL;
	int master = -1, one = 0, err = 0;
	char slave[64];

	for (size_t i = 0; i < r->nr && !err; i++) {
		struct files_rfile *o = &r->f[i];
		const TtyInfoEntry *ie;
		int fd;

		if (o->ops != &files_tty_ops || o->fd >= 0 || !o->fe->tty)
			continue;
		ie = tty_info(r, o->fe->tty->tty_info_id, &err);
		if (!ie || !ie->pty || ie->pty->index != index)
			continue;
		if (ie->rdev == makedev(TTY_PTMX_MAJOR, TTY_PTMX_MINOR)) {
			/* a second master description of one pty cannot be made */
			if (master >= 0) {
				pr_err("pty %u: two descriptions of its master; crisp cannot restore that",
				       index);
				err = -EOPNOTSUPP;
				break;
			}
			master = tty_ptmx(index);
			if (master < 0) {
				err = master;
				break;
			}
			mi = ie;
			/* unlocked while the slaves are opened; locked again after */
			if (ioctl(master, TIOCSPTLCK, &(int){ 0 }) || (err = tty_apply(master, ie, true))) {
				err = err ? err : -errno;
				break;
			}
			fd = dup(master);
		} else {
			if (master < 0)
				continue;	/* after the master */
			snprintf(slave, sizeof(slave), "/dev/pts/%u", index);
			fd = open(slave, (int)(o->fe->tty->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
			if (fd >= 0 && (err = tty_apply(fd, ie, true)))
				close(fd);
		}
		if (err)
			break;
		if (fd < 0 || fcntl(fd, F_SETFL, o->fe->tty->flags & (O_NONBLOCK | O_ASYNC))) {
			err = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		o->fd = files_rst_park(r, fd);
		if (o->fd < 0)
			err = o->fd;
		if (master >= 0 && !one++)
			i = (size_t)-1;	/* the master is open: go over the slaves again */
	}
	if (!err && master >= 0 && mi) {
		if (mi->packet_mode && ioctl(master, TIOCPKT, &(int){ 1 }))
			err = -errno;
		if (!err && mi->locked && ioctl(master, TIOCSPTLCK, &(int){ 1 }))
			err = -errno;
	}
	if (master >= 0)
		close(master);
	return err;
}

/* Is the master of pty @index in the images? */
static bool tty_has_master(struct files_rst *r, uint32_t index, int *err)
{
	const struct img_file *img = files_rst_image(r, "TTY_INFO", err);

	for (size_t i = 0; img && i < img->n; i++) {
		const TtyInfoEntry *ie = (const TtyInfoEntry *)img->ents[i].msg;

		if (ie->rdev == makedev(TTY_PTMX_MAJOR, TTY_PTMX_MINOR) && ie->pty &&
		    ie->pty->index == index)
			return true;
	}
	return false;
}

/* The slave of a job's terminal (--shell-job): this crisp's terminal, its
 * stdin if that is a tty, else its controlling terminal, opened anew with
 * the dumped flags and termios. */
static int tty_open_job(struct files_rst *r, struct files_rfile *f, const TtyInfoEntry *ie)
{
	int acc = (int)(f->fe->tty->flags & O_ACCMODE), fd, err;
	const char *how = isatty(0) ? "/proc/self/fd/0" : "/dev/tty";

	if (!r->o->shell_job) {
		pr_err("tty file %u is pty %u, the terminal of the job at dump (its master was not "
		       "dumped); restore it with --shell-job", f->fe->id, ie->pty->index);
		return -EOPNOTSUPP;
	}
	fd = open(how, acc | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("--shell-job: tty file %u was the job's terminal; this crisp has none to give "
		       "it (stdin is not a tty, %s: %s)", f->fe->id, how, strerror(errno));
		return err == -ENXIO ? -ENOTTY : err;
	}
	err = tty_apply(fd, ie, false);
	if (!err && fcntl(fd, F_SETFL, f->fe->tty->flags & (O_NONBLOCK | O_ASYNC)))
		err = -errno;
	if (err) {
		pr_err("--shell-job: tty file %u on %s: %s", f->fe->id, how, strerror(-err));
		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

static int tty_open(struct files_rst *r, struct files_rfile *f)
{
	const TtyInfoEntry *ie;
	int err = 0;

	if (!f->fe->tty || !f->fe->tty->fown || !tty_path(r, f->fe->tty))
		return -EINVAL;
	ie = tty_info(r, f->fe->tty->tty_info_id, &err);
	if (!ie)
		return err;
	if (ie->type != TTY_TYPE__PTY || !ie->pty) {
		pr_err("tty file %u: only ptys can be restored", f->fe->id);
		return -EOPNOTSUPP;
	}
	if (!tty_has_master(r, ie->pty->index, &err))
		return err ? err : tty_open_job(r, f, ie);
	err = tty_open_pty(r, ie->pty->index);
	if (!err && f->fd < 0) {
		pr_err("tty file %u: a slave of pty %u without its master", f->fe->id, ie->pty->index);
		err = -EINVAL;
	}
	return err;
}

/* The entry of tty-info.img that names the pty (master in the images) that
 * was session @sid's controlling terminal (CRIU writes it on the slave's,
 * crisp on both ends'), or NULL. Reads nothing when the tree has no pty:
 * this runs in the restored tasks too, where the image is read already. */
static const TtyInfoEntry *tty_ctty_info(struct files_rst *r, pid_t sid, int *err)
{
	const struct img_file *img = NULL;

	*err = 0;
	for (size_t i = 0; i < r->nr && !img; i++)
		if (r->f[i].ops == &files_tty_ops)
			img = files_rst_image(r, "TTY_INFO", err);
	for (size_t i = 0; img && i < img->n; i++) {
		const TtyInfoEntry *ie = (const TtyInfoEntry *)img->ents[i].msg;

		if (ie->type == TTY_TYPE__PTY && ie->pty && ie->sid == (uint32_t)sid &&
		    tty_has_master(r, ie->pty->index, err))
			return ie;
	}
	return NULL;
}

/* The engine's copy of a slave of pty @index, or -1. */
static int tty_parked_slave(struct files_rst *r, uint32_t index)
{
	for (size_t i = 0; i < r->nr; i++) {
		const struct files_rfile *o = &r->f[i];
		const TtyInfoEntry *ie;
		int err;

		if (o->ops != &files_tty_ops || o->fd < 0 || !o->fe->tty)
			continue;
		ie = tty_info(r, o->fe->tty->tty_info_id, &err);
		if (ie && ie->pty && ie->pty->index == index &&
		    ie->rdev != makedev(TTY_PTMX_MAJOR, TTY_PTMX_MINOR))
			return o->fd;
	}
	return -1;
}

int files_tty_take_ctty(struct files_rst *r, pid_t sid, char *why, size_t len)
{
	const TtyInfoEntry *ie;
	char path[64];
	int fd, parked, err;

	ie = tty_ctty_info(r, sid, &err);
	if (!ie) {
		if (err)
			snprintf(why, len, "tty-info.img: %s", strerror(-err));
		return err;
	}
	/* the engine's slave (opened before the pty was locked again) or anew */
	snprintf(path, sizeof(path), "/dev/pts/%u", ie->pty->index);
	fd = parked = tty_parked_slave(r, ie->pty->index);
	if (fd < 0)
		fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0)) {
		err = -errno;
		snprintf(why, len, "session %d: making %s its controlling terminal: %s", (int)sid,
			 path, strerror(errno));
	}
	/* TIOCSCTTY made our group the foreground; files_tty_foreground may
	 * give it to another */
	if (fd >= 0 && fd != parked)
		close(fd);
	return err;
}

int files_tty_foreground(struct files_rst *r, pid_t sid, pid_t pgid, char *why, size_t len)
{
	const TtyInfoEntry *ie = tty_ctty_info(r, sid, &(int){ 0 });
	int fd, err = 0;

	if (!ie || ie->pgrp != (uint32_t)pgid)
		return 0;
	/* the session's terminal: inherited from its leader */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TIOCSPGRP, &pgid)) {
		err = -errno;
		snprintf(why, len, "making group %d the foreground of pty %u: %s", (int)pgid,
			 ie->pty->index, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

int files_tty_job_foreground(struct files_rst *r, pid_t pgid, char *why, size_t len)
{
	bool job = false;

	for (size_t i = 0; r->o->shell_job && i < r->nr && !job; i++) {
		const struct files_rfile *o = &r->f[i];
		const TtyInfoEntry *ie;
		int err;

		if (o->ops != &files_tty_ops || !o->fe->tty)
			continue;
		ie = tty_info(r, o->fe->tty->tty_info_id, &err);
		job = ie && ie->pty && !tty_has_master(r, ie->pty->index, &err);
	}
	/* crisp's stdin is still ours here; crisp itself in the background:
	 * the terminal stays with whoever has it */
	if (!job || !isatty(0) || tcgetpgrp(0) != getpgid(getppid()))
		return 0;
	if (tcsetpgrp(0, pgid)) {
		snprintf(why, len, "--shell-job: making group %d the terminal's foreground: %s",
			 (int)pgid, strerror(errno));
		return -errno;
	}
	return 0;
}

const struct files_ops files_tty_ops = {
	.name = "pty",
	.type = FD_TYPES__TTY,
	.match = tty_match,
	.dump = tty_dump,
	.write = tty_write,
	.free = tty_free,
	.open = tty_open,
};
