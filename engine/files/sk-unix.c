/* sk-unix — unix sockets: connected pairs whose both ends are dumped
 * (socketpair, or a connection accepted within the dump; stream, datagram
 * or seqpacket), listeners and bound or unbound unconnected sockets. Type,
 * state, peer, shutdown, backlog (sock_diag through libnl-3), name, buffer
 * sizes and the queued data, peeked with SO_PEEK_OFF (never consumed) into
 * sk-queues.img. A connected pair comes back as a socketpair (its names are
 * not kept). A socket connected to a bound socket outside the dump is,
 * with --ext-unix-sk, saved with that peer as an external entry (CRIU's
 * USK_EXTERN) and connected to its name again at restore. Refused: other
 * outside peers, one-way datagram peers within the dump, listeners with
 * connections not yet accepted, queued fds or credentials.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "blog.h"
#include "files.h"

#define SKU_MAX_QUEUE (64u << 20)	/* bytes queued per socket we save */
#define SKU_CLOSE	7		/* TCP_CLOSE, TCP_LISTEN: unix sockets' states */
#define SKU_LISTEN	10
#define SKU_EXTERN	1		/* CRIU's USK_EXTERN uflag */

struct sku_msg {
	uint32_t len;
	uint8_t *data;
};

struct sku_priv {
	uint32_t ino, peer, type, state, shutdown;
	struct sk_opts opts;
	uint32_t pending, backlog;	/* a listener's queue (UNIX_DIAG_RQLEN) */
	struct sockaddr_un name;
	socklen_t name_len;		/* of sun_path; 0: unbound */
	bool has_perms;
	struct stat perms;		/* of a path name's socket file */
	struct sockaddr_un peer_name;	/* getpeername: an outside peer's name */
	socklen_t peer_name_len;
	struct sku_msg *q;
	size_t nr_q;
	bool diag_ok;
};

static bool sku_match(const struct files_probe *p)
{
	int dom = 0;
	socklen_t l = sizeof(dom);

	if (strncmp(p->link, "socket:", 7) || p->lfd < 0)
		return false;
	return !getsockopt(p->lfd, SOL_SOCKET, SO_DOMAIN, &dom, &l) && dom == AF_UNIX;
}

static int sku_diag_cb(struct nl_msg *msg, void *arg)
{
	struct sku_priv *sp = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	const struct unix_diag_msg *m;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || !nlmsg_valid_hdr(h, sizeof(*m)))
		return NL_SKIP;
	m = nlmsg_data(h);
	if (m->udiag_ino != sp->ino || nlmsg_parse(h, sizeof(*m), tb, UNIX_DIAG_MAX, NULL))
		return NL_SKIP;
	sp->state = m->udiag_state;
	if (tb[UNIX_DIAG_PEER] && nla_len(tb[UNIX_DIAG_PEER]) >= 4)
		sp->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_SHUTDOWN] && nla_len(tb[UNIX_DIAG_SHUTDOWN]) >= 1)
		sp->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_RQLEN] && nla_len(tb[UNIX_DIAG_RQLEN]) >= (int)sizeof(struct unix_diag_rqlen)) {
		const struct unix_diag_rqlen *q = nla_data(tb[UNIX_DIAG_RQLEN]);

		sp->pending = q->udiag_rqueue;
		sp->backlog = q->udiag_wqueue;
	}
	sp->diag_ok = true;
	return NL_OK;
}

/* State, peer and shutdown of socket @sp->ino, asked of the kernel. */
static int sku_diag(struct sku_priv *sp)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0u,
		.udiag_ino = sp->ino,
		.udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
		.udiag_cookie = { ~0u, ~0u },
	};
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (!err) {
		nl_socket_disable_auto_ack(sk);
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, sku_diag_cb, sp);
		err = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &req, sizeof(req));
	}
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (err < 0) {
		pr_err("sock_diag of unix socket %u: %s", sp->ino, nl_geterror(err));
		return -EIO;
	}
	return sp->diag_ok ? 0 : -ENOENT;
}

static int sku_add_msg(struct sku_priv *sp, const uint8_t *p, size_t len)
{
	struct sku_msg *n = realloc(sp->q, (sp->nr_q + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	sp->q = n;
	n[sp->nr_q].data = malloc(len ? len : 1);
	if (!n[sp->nr_q].data)
		return -ENOMEM;
	memcpy(n[sp->nr_q].data, p, len);
	n[sp->nr_q++].len = (uint32_t)len;
	return 0;
}

/* The receive queue of @fd, message by message, left in place. */
static int sku_peek_queue(const struct files_desc *d, struct sku_priv *sp)
{
	int fd = d->lfd, off = 0, old = -1, err = 0;
	socklen_t l = sizeof(old);
	size_t total = 0, cap = 1 << 16;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, &l);
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
		free(buf);
		return -errno;
	}
	for (;;) {
		char cbuf[CMSG_SPACE(64 * sizeof(int))];
		struct iovec iov = { buf, cap };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		if (mh.msg_controllen) {
			/* peeked fds were installed in our table: they go again */
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
					for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++)
						close(((int *)CMSG_DATA(c))[k]);
			pr_err("task %d: fd %d: unix socket %u has fds or credentials queued; "
			       "crisp cannot dump them yet", (int)d->pid, d->fd, sp->ino);
			err = -EOPNOTSUPP;
			break;
		}
		if ((size_t)n > cap && sp->type != SOCK_STREAM) {
			uint8_t *nb = realloc(buf, (size_t)n);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap = (size_t)n;
			/* the same message again, whole: back to where it starts */
			off = (int)total;
			setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
			continue;
		}
		if (n == 0)
			break;	/* end of stream, or an empty datagram we cannot step over */
		total += (size_t)n;
		if (total > SKU_MAX_QUEUE) {
			err = -EFBIG;
			break;
		}
		err = sku_add_msg(sp, buf, (size_t)n);
		if (err)
			break;
	}
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old));
	free(buf);
	return err;
}

/* The socket's own name (getsockname), and its file's owner and mode
 * when it is a path. */
static int sku_name(const struct files_desc *d, struct sku_priv *sp)
{
	socklen_t l = sizeof(sp->name);

	if (getsockname(d->lfd, (struct sockaddr *)&sp->name, &l))
		return -errno;
	sp->name_len = l > offsetof(struct sockaddr_un, sun_path) ?
		       l - (socklen_t)offsetof(struct sockaddr_un, sun_path) : 0;
	/* an accepted socket shows its listener's name: it is not its own */
	if (sp->peer && sp->state != SKU_LISTEN)
		sp->name_len = 0;
	if (sp->peer) {
		l = sizeof(sp->peer_name);
		if (!getpeername(d->lfd, (struct sockaddr *)&sp->peer_name, &l) &&
		    l > offsetof(struct sockaddr_un, sun_path))
			sp->peer_name_len = l - (socklen_t)offsetof(struct sockaddr_un, sun_path);
	}
	if (sp->name_len && sp->name.sun_path[0] && !stat(sp->name.sun_path, &sp->perms) &&
	    S_ISSOCK(sp->perms.st_mode))
		sp->has_perms = true;
	return 0;
}

static int sku_dump(struct files_dump *fdump, struct files_desc *d, const char *fdinfo)
{
	struct sku_priv *sp = calloc(1, sizeof(*sp));
	socklen_t l = sizeof(int);
	int v, err;

	(void)fdump;
	(void)fdinfo;
	if (!sp)
		return -ENOMEM;
	d->priv = sp;
	sp->ino = (uint32_t)d->st.st_ino;
	if (getsockopt(d->lfd, SOL_SOCKET, SO_TYPE, &v, &l)) {
		err = -errno;
		pr_perror("task %d: fd %d (%s): SO_TYPE", (int)d->pid, d->fd, d->link);
		return err;
	}
	sp->type = (uint32_t)v;
	sk_opts_collect(d->lfd, &sp->opts);
	err = sku_diag(sp);
	if (!err) {
		err = sku_name(d, sp);
		if (err)
			pr_err("task %d: fd %d (%s): getsockname: %s", (int)d->pid, d->fd, d->link,
			       strerror(-err));
	}
	if (err)
		return err;
	if (sp->state == SKU_LISTEN) {
		if (sp->pending) {
			pr_err("task %d: fd %d (%s): a unix listener with %u connections not yet "
			       "accepted; crisp cannot dump them yet", (int)d->pid, d->fd, d->link,
			       sp->pending);
			return -EOPNOTSUPP;
		}
		return 0;
	}
	if (!sp->peer && sp->type != SOCK_DGRAM && sp->state != SKU_CLOSE) {
		pr_err("task %d: fd %d (%s): a unix socket in state %u without a peer; crisp "
		       "cannot dump it", (int)d->pid, d->fd, d->link, sp->state);
		return -EOPNOTSUPP;
	}
	err = sku_peek_queue(d, sp);
	if (err && err != -EOPNOTSUPP)
		pr_err("task %d: fd %d (%s): reading its queue: %s", (int)d->pid, d->fd, d->link,
		       strerror(-err));
	return err;
}

/* Is @d's peer among the dumped descriptions, and connected back to it? */
static bool sku_peer_pairs(const struct files_dump *fd, const struct files_desc *d,
			   const struct sku_priv *sp)
{
	struct stat st = { .st_dev = d->st.st_dev, .st_ino = sp->peer };	/* sockfs, like d */
	ssize_t i = files_dump_same_inode(fd, &st, fd->nr);

	return i >= 0 && fd->d[i].ops == &files_unix_ops &&
	       ((const struct sku_priv *)fd->d[i].priv)->peer == sp->ino;
}

static int sku_write_queue(struct files_wctx *w, const struct sku_priv *sp, uint32_t id)
{
	struct img_writer *qw;
	int err;

	if (!sp->nr_q)
		return 0;
	err = files_wctx_writer(w, "SK_QUEUES", &qw);
	for (size_t i = 0; i < sp->nr_q && !err; i++) {
		SkPacketEntry pe = SK_PACKET_ENTRY__INIT;

		pe.id_for = id;
		pe.length = sp->q[i].len;
		err = img_writer_entry(qw, &pe.base);
		if (!err)
			err = img_writer_raw(qw, sp->q[i].data, sp->q[i].len);
	}
	return err;
}

/* An outside peer, with --ext-unix-sk: an entry of its own, no fd names
 * it, with the peer's name (once per peer). Our queue must be empty: what
 * the outside peer sent cannot be sent again from it. */
static int sku_write_extern(struct files_wctx *w, const struct files_desc *d,
			    const struct sku_priv *sp)
{
	FileEntry fe = FILE_ENTRY__INIT;
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	SkOptsEntry so = SK_OPTS_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	const struct files_dump *fd = w->fdump;

	if (!fd->o || !fd->o->ext_unix_sk) {
		pr_err("task %d: fd %d (%s): its peer (socket %u) is outside the dump; dump with "
		       "--ext-unix-sk to connect it to the peer's name again at restore",
		       (int)d->pid, d->fd, d->link, sp->peer);
		return -EOPNOTSUPP;
	}
	if (!sp->peer_name_len || sp->nr_q || sp->type == SOCK_SEQPACKET) {
		pr_err("task %d: fd %d (%s): its outside peer (socket %u) %s; crisp cannot dump it",
		       (int)d->pid, d->fd, d->link, sp->peer,
		       !sp->peer_name_len ? "has no name to connect to again" :
		       sp->nr_q ? "sent data still queued here" : "is a seqpacket socket");
		return -EOPNOTSUPP;
	}
	for (const struct files_desc *o = fd->d; o < d; o++)
		if (o->ops == &files_unix_ops && ((const struct sku_priv *)o->priv)->peer == sp->peer &&
		    !sku_peer_pairs(fd, o, o->priv))
			return 0;	/* written with that one */
	ue.id = w->next_id++;
	ue.ino = sp->peer;
	ue.type = sp->type;
	ue.state = sp->type == SOCK_STREAM ? SKU_LISTEN : SKU_CLOSE;
	ue.uflags = SKU_EXTERN;
	ue.fown = &fown;
	ue.opts = &so;
	ue.name.len = sp->peer_name_len;
	ue.name.data = (uint8_t *)sp->peer_name.sun_path;
	fe.type = FD_TYPES__UNIXSK;
	fe.id = ue.id;
	fe.usk = &ue;
	return img_writer_entry(w->files, &fe.base);
}

static int sku_write(struct files_wctx *w, const struct files_desc *d, uint32_t id)
{
	const struct sku_priv *sp = d->priv;
	FileEntry fe = FILE_ENTRY__INIT;
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	SkOptsEntry so = SK_OPTS_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FilePermsEntry perms = FILE_PERMS_ENTRY__INIT;
	int err;

	files_fown(d, &fown);
	bool ext = sp->peer && !sku_peer_pairs(w->fdump, d, sp);

	if (ext) {
		err = sku_write_extern(w, d, sp);
		if (err)
			return err;
	}
	sk_opts_fill(&sp->opts, &so);
	ue.id = id;
	ue.ino = sp->ino;
	ue.type = sp->type;
	ue.state = sp->state;
	ue.flags = d->flags;
	ue.peer = sp->peer;
	ue.fown = &fown;
	ue.opts = &so;
	ue.backlog = sp->state == SKU_LISTEN ? sp->backlog : 0;
	ue.name.len = sp->name_len;
	ue.name.data = (uint8_t *)sp->name.sun_path;
	if (sp->has_perms) {
		perms.mode = sp->perms.st_mode & 07777;
		perms.uid = sp->perms.st_uid;
		perms.gid = sp->perms.st_gid;
		ue.file_perms = &perms;
	}
	ue.has_shutdown = sp->shutdown != 0;
	ue.shutdown = (SkShutdown)(((sp->shutdown & 1) ? SK_SHUTDOWN__READ : 0) |
				   ((sp->shutdown & 2) ? SK_SHUTDOWN__WRITE : 0));
	fe.type = FD_TYPES__UNIXSK;
	fe.id = id;
	fe.usk = &ue;
	err = img_writer_entry(w->files, &fe.base);
	return err ? err : sku_write_queue(w, sp, id);
}

static void sku_free(struct files_desc *d)
{
	struct sku_priv *sp = d->priv;

	for (size_t i = 0; sp && i < sp->nr_q; i++)
		free(sp->q[i].data);
	if (sp)
		free(sp->q);
	free(sp);
	d->priv = NULL;
}

/* The queued messages for socket @id, sent into it from @from. */
static int sku_refill(struct files_rst *r, uint32_t id, int from)
{
	const struct img_file *img;
	int err;

	img = files_rst_image(r, "SK_QUEUES", &err);
	if (!img)
		return err;
	for (size_t i = 0; i < img->n; i++) {
		const SkPacketEntry *pe = (const SkPacketEntry *)img->ents[i].msg;

		if (pe->id_for != id)
			continue;
		if (img->ents[i].extra_len != pe->length) {
			pr_err("bad image %s: entry %zu at offset %zu: %u bytes announced, %zu there",
			       img->name, i, img->ents[i].offset, pe->length, img->ents[i].extra_len);
			return -EINVAL;
		}
		if (send(from, img->ents[i].extra, pe->length, MSG_DONTWAIT) != (ssize_t)pe->length) {
			err = errno ? -errno : -EIO;
			pr_perror("unix socket %u: requeueing %u bytes", id, pe->length);
			return err;
		}
	}
	return 0;
}

static int sku_finish(struct files_rst *r, struct files_rfile *f, int fd)
{
	const UnixSkEntry *ue = f->fe->usk;
	int how = -1;

	if (ue->has_shutdown && ue->shutdown == SK_SHUTDOWN__BOTH)
		how = SHUT_RDWR;
	else if (ue->has_shutdown && ue->shutdown == SK_SHUTDOWN__READ)
		how = SHUT_RD;
	else if (ue->has_shutdown && ue->shutdown == SK_SHUTDOWN__WRITE)
		how = SHUT_WR;
	if ((how >= 0 && shutdown(fd, how)) || fcntl(fd, F_SETFL, ue->flags & (O_NONBLOCK | O_ASYNC))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->fd = files_rst_park(r, fd);
	return f->fd < 0 ? f->fd : 0;
}

/* A path @name that is a socket file nobody listens on (left by the
 * dumped task) is removed, so that the name can be bound again. */
static void sku_unlink_stale(const struct sockaddr_un *sa, socklen_t len)
{
	struct stat st;
	int probe;

	if (!sa->sun_path[0] || lstat(sa->sun_path, &st) || !S_ISSOCK(st.st_mode))
		return;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return;
	if (connect(probe, (const struct sockaddr *)sa, len) && errno == ECONNREFUSED)
		unlink(sa->sun_path);
	close(probe);
}

/* Queued datagrams of a bound socket, sent to its name from an unbound
 * socket of ours (their senders' addresses are not kept). */
static int sku_refill_bound(struct files_rst *r, const UnixSkEntry *ue,
			    const struct sockaddr_un *sa, socklen_t len)
{
	int tmp = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0), err;

	if (tmp < 0)
		return -errno;
	err = connect(tmp, (const struct sockaddr *)sa, len) ? -errno : sku_refill(r, ue->id, tmp);
	close(tmp);
	return err;
}

/* A socket without a peer: bound to its name, listening, queue refilled. */
static int sku_open_alone(struct files_rst *r, struct files_rfile *f)
{
	const UnixSkEntry *ue = f->fe->usk;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)offsetof(struct sockaddr_un, sun_path) + (socklen_t)ue->name.len;
	int fd, err = 0;

	if (ue->name.len > sizeof(sa.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sk_opts_apply(fd, ue->opts);
	if (err) {
		close(fd);
		return err;
	}
	if (ue->name.len) {
		memcpy(sa.sun_path, ue->name.data, ue->name.len);
		sku_unlink_stale(&sa, len);
		if (bind(fd, (struct sockaddr *)&sa, len)) {
			err = -errno;
			pr_perror("unix socket %u: binding to %s%.*s", ue->ino, sa.sun_path[0] ? "" : "@",
				  (int)ue->name.len - !sa.sun_path[0], sa.sun_path + !sa.sun_path[0]);
		} else if (sa.sun_path[0] && ue->file_perms &&
			   (chmod(sa.sun_path, ue->file_perms->mode & 07777) ||
			    lchown(sa.sun_path, ue->file_perms->uid, ue->file_perms->gid))) {
			err = -errno;
			pr_perror("unix socket %u: owner and mode of %s", ue->ino, sa.sun_path);
		}
	}
	if (!err && ue->state == SKU_LISTEN && listen(fd, (int)ue->backlog))
		err = -errno;
	if (!err && ue->name.len && ue->type != SOCK_STREAM && ue->state != SKU_LISTEN)
		err = sku_refill_bound(r, ue, &sa, len);
	if (err) {
		close(fd);
		return err;
	}
	return sku_finish(r, f, fd);
}

/* The external entry (USK_EXTERN) of socket @ino in files.img, or NULL. */
static const UnixSkEntry *sku_extern_peer(const struct files_rst *r, uint32_t ino)
{
	for (size_t i = 0; r->files && i < r->files->n; i++) {
		const FileEntry *fe = (const FileEntry *)r->files->ents[i].msg;

		if (fe->type == FD_TYPES__UNIXSK && fe->usk && fe->usk->ino == ino &&
		    (fe->usk->uflags & SKU_EXTERN))
			return fe->usk;
	}
	return NULL;
}

/* Connected again to the outside peer's name (a new connection). */
static int sku_open_extern(struct files_rst *r, struct files_rfile *f, const UnixSkEntry *pe)
{
	const UnixSkEntry *ue = f->fe->usk;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)offsetof(struct sockaddr_un, sun_path) + (socklen_t)pe->name.len;
	int fd, err;

	if (!pe->name.len || pe->name.len > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, pe->name.data, pe->name.len);
	fd = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sk_opts_apply(fd, ue->opts);
	if (err) {
		close(fd);
		return err;
	}
	if (connect(fd, (struct sockaddr *)&sa, len)) {
		err = -errno;
		pr_perror("unix socket %u: connecting again to its outside peer %s%.*s", ue->ino,
			  sa.sun_path[0] ? "" : "@", (int)pe->name.len - !sa.sun_path[0],
			  sa.sun_path + !sa.sun_path[0]);
		close(fd);
		return err;
	}
	return sku_finish(r, f, fd);
}

static int sku_open(struct files_rst *r, struct files_rfile *f)
{
	const UnixSkEntry *ue = f->fe->usk;
	struct files_rfile *peer = NULL;
	int sv[2], err;

	if (!ue || !ue->fown || !ue->opts)
		return -EINVAL;
	if (!ue->peer)
		return sku_open_alone(r, f);
	if (sku_extern_peer(r, ue->peer))
		return sku_open_extern(r, f, sku_extern_peer(r, ue->peer));
	for (size_t i = 0; i < r->nr; i++)
		if (r->f[i].ops == &files_unix_ops && r->f[i].fe->usk && r->f[i].fe->usk->ino == ue->peer &&
		    r->f[i].fe->usk->peer == ue->ino && r->f[i].fe->usk->opts && r->f[i].fd < 0 &&
		    &r->f[i] != f)
			peer = &r->f[i];
	if (!peer) {
		pr_err("unix socket %u: its peer %u is not among the task's files", ue->ino, ue->peer);
		return -EOPNOTSUPP;
	}
	if (peer->fe->usk->type != ue->type)
		return -EINVAL;
	if (socketpair(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0, sv))
		return -errno;
	err = sk_opts_apply(sv[0], ue->opts);
	if (!err)
		err = sk_opts_apply(sv[1], peer->fe->usk->opts);
	if (!err)
		err = sku_refill(r, ue->id, sv[1]);
	if (!err)
		err = sku_refill(r, peer->fe->id, sv[0]);
	if (err) {
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	err = sku_finish(r, f, sv[0]);
	if (err) {
		close(sv[1]);
		return err;
	}
	return sku_finish(r, peer, sv[1]);
}

const struct files_ops files_unix_ops = {
	.name = "unix socket",
	.type = FD_TYPES__UNIXSK,
	.match = sku_match,
	.dump = sku_dump,
	.write = sku_write,
	.free = sku_free,
	.open = sku_open,
};
