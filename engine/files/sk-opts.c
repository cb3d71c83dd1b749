/* sk-opts — the SOL_SOCKET options every socket kind shares (sk_opts_entry):
 * buffer sizes, timeouts, SO_PASSCRED/PASSSEC, priority, receive low-water
 * mark, mark, SO_REUSEADDR/REUSEPORT, broadcast, keepalive, OOB inline.
 * Read on our duplicate of the socket, set again on the new one. No kind
 * logic here.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "blog.h"
#include "files.h"

static int sk_opt_int(int fd, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, opt, &v, &l) ? 0 : v;
}

int sk_opts_collect(int fd, struct sk_opts *o)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);

	memset(o, 0, sizeof(*o));
	o->sndbuf = (uint32_t)sk_opt_int(fd, SO_SNDBUF);
	o->rcvbuf = (uint32_t)sk_opt_int(fd, SO_RCVBUF);
	if (!getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l)) {
		o->snd_sec = (uint64_t)tv.tv_sec;
		o->snd_usec = (uint64_t)tv.tv_usec;
	}
	l = sizeof(tv);
	if (!getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l)) {
		o->rcv_sec = (uint64_t)tv.tv_sec;
		o->rcv_usec = (uint64_t)tv.tv_usec;
	}
	o->passcred = sk_opt_int(fd, SO_PASSCRED) != 0;
	o->passsec = sk_opt_int(fd, SO_PASSSEC) != 0;
	o->reuseaddr = sk_opt_int(fd, SO_REUSEADDR) != 0;
	o->reuseport = sk_opt_int(fd, SO_REUSEPORT) != 0;
	o->broadcast = sk_opt_int(fd, SO_BROADCAST) != 0;
	o->keepalive = sk_opt_int(fd, SO_KEEPALIVE) != 0;
	o->oobinline = sk_opt_int(fd, SO_OOBINLINE) != 0;
	o->priority = (uint32_t)sk_opt_int(fd, SO_PRIORITY);
	o->rcvlowat = (uint32_t)sk_opt_int(fd, SO_RCVLOWAT);
	o->mark = (uint32_t)sk_opt_int(fd, SO_MARK);
	return 0;
}

void sk_opts_fill(const struct sk_opts *o, SkOptsEntry *e)
{
	e->so_sndbuf = o->sndbuf;
	e->so_rcvbuf = o->rcvbuf;
	e->so_snd_tmo_sec = o->snd_sec;
	e->so_snd_tmo_usec = o->snd_usec;
	e->so_rcv_tmo_sec = o->rcv_sec;
	e->so_rcv_tmo_usec = o->rcv_usec;
	e->has_so_passcred = e->so_passcred = o->passcred;
	e->has_so_passsec = e->so_passsec = o->passsec;
	e->has_reuseaddr = e->reuseaddr = o->reuseaddr;
	e->has_so_reuseport = e->so_reuseport = o->reuseport;
	e->has_so_broadcast = e->so_broadcast = o->broadcast;
	e->has_so_keepalive = e->so_keepalive = o->keepalive;
	e->has_so_oobinline = o->oobinline;
	e->so_oobinline = o->oobinline;
	e->has_so_priority = o->priority != 0;
	e->so_priority = o->priority;
	e->has_so_rcvlowat = o->rcvlowat > 1;	/* 1 is the default */
	e->so_rcvlowat = o->rcvlowat;
	e->has_so_mark = o->mark != 0;
	e->so_mark = o->mark;
}

static int sk_opt_set(int fd, int opt, int v, const char *name)
{
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v))) {
		int err = -errno;

		pr_perror("setsockopt %s = %d", name, v);
		return err;
	}
	return 0;
}

int sk_opts_apply(int fd, const SkOptsEntry *e)
{
	struct timeval snd = { (time_t)e->so_snd_tmo_sec, (suseconds_t)e->so_snd_tmo_usec };
	struct timeval rcv = { (time_t)e->so_rcv_tmo_sec, (suseconds_t)e->so_rcv_tmo_usec };
	int err = 0;

	/* getsockopt showed the doubled sizes; the kernel doubles what it gets */
	if (e->so_sndbuf && sk_opt_set(fd, SO_SNDBUFFORCE, (int)(e->so_sndbuf / 2), "SO_SNDBUFFORCE"))
		err = sk_opt_set(fd, SO_SNDBUF, (int)(e->so_sndbuf / 2), "SO_SNDBUF");
	if (!err && e->so_rcvbuf &&
	    sk_opt_set(fd, SO_RCVBUFFORCE, (int)(e->so_rcvbuf / 2), "SO_RCVBUFFORCE"))
		err = sk_opt_set(fd, SO_RCVBUF, (int)(e->so_rcvbuf / 2), "SO_RCVBUF");
	if (!err && (snd.tv_sec || snd.tv_usec) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd)))
		err = -errno;
	if (!err && (rcv.tv_sec || rcv.tv_usec) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv)))
		err = -errno;
	if (!err && e->has_so_passcred && e->so_passcred)
		err = sk_opt_set(fd, SO_PASSCRED, 1, "SO_PASSCRED");
	if (!err && e->has_so_passsec && e->so_passsec)
		err = sk_opt_set(fd, SO_PASSSEC, 1, "SO_PASSSEC");
	if (!err && e->has_reuseaddr && e->reuseaddr)
		err = sk_opt_set(fd, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (!err && e->has_so_reuseport && e->so_reuseport)
		err = sk_opt_set(fd, SO_REUSEPORT, 1, "SO_REUSEPORT");
	if (!err && e->has_so_broadcast && e->so_broadcast)
		err = sk_opt_set(fd, SO_BROADCAST, 1, "SO_BROADCAST");
	if (!err && e->has_so_keepalive && e->so_keepalive)
		err = sk_opt_set(fd, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	if (!err && e->has_so_oobinline && e->so_oobinline)
		err = sk_opt_set(fd, SO_OOBINLINE, 1, "SO_OOBINLINE");
	if (!err && e->has_so_priority && e->so_priority)
		err = sk_opt_set(fd, SO_PRIORITY, (int)e->so_priority, "SO_PRIORITY");
	if (!err && e->has_so_rcvlowat && e->so_rcvlowat > 1)
		err = sk_opt_set(fd, SO_RCVLOWAT, (int)e->so_rcvlowat, "SO_RCVLOWAT");
	if (!err && e->has_so_mark && e->so_mark)
		err = sk_opt_set(fd, SO_MARK, (int)e->so_mark, "SO_MARK");
	return err;
}
