/* track-keeper — the small process that holds a task's userfaultfd between
 * crisp runs (see track.h for why), and the client side of its protocol.
 * It serves the uffd over an abstract unix socket to peers of its own uid
 * (or root) and remembers the committed image stamp; it never touches the
 * task and exits when the task does or when told to quit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "blog.h"
#include "proc_autogroup.h"
#include "track.h"

#define KEEPER_MAGIC 0x6b747263u	/* "crtk" */
#define KEEPER_FD_LISTEN 3
#define KEEPER_FD_UFFD 4
#define KEEPER_FD_PIDFD 5

enum keeper_op {
	KEEPER_GET = 1,		/* reply carries the uffd and the stamp */
	KEEPER_INVALIDATE,	/* forget the stamp */
	KEEPER_COMMIT,		/* remember the stamp */
	KEEPER_QUIT,		/* close the uffd and exit */
};

struct keeper_msg {
	uint32_t magic;
	uint32_t op;
	int32_t status;		/* replies: 0 or -errno */
	uint32_t have_stamp;
	struct track_stamp stamp;
};

static socklen_t keeper_addr(struct sockaddr_un *a, pid_t pid, uint64_t start_time)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* abstract: sun_path[0] stays NUL */
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "crisp-track.%d.%llu",
		     (int)pid, (unsigned long long)start_time);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* ---- the keeper process ------------------------------------------------- */

static bool keeper_peer_ok(int sk)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return false;
	return cr.uid == 0 || cr.uid == getuid();
}

static int keeper_send(int sk, const struct keeper_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sk, &h, MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

/* Serves one client until it hangs up; returns true when told to quit. */
static bool keeper_serve(int sk, bool *have_stamp, struct track_stamp *stamp)
{
	struct keeper_msg m;

	for (;;) {
		ssize_t n = recv(sk, &m, sizeof(m), 0);

		if (n != (ssize_t)sizeof(m) || m.magic != KEEPER_MAGIC)
			return false;
		m.status = 0;
		switch (m.op) {
		case KEEPER_GET:
			m.have_stamp = *have_stamp;
			m.stamp = *stamp;
			keeper_send(sk, &m, KEEPER_FD_UFFD);
			continue;
		case KEEPER_INVALIDATE:
			*have_stamp = false;
			break;
		case KEEPER_COMMIT:
			*have_stamp = true;
			*stamp = m.stamp;
			break;
		case KEEPER_QUIT:
			/* closed before the reply: the client's close is the last */
			close(KEEPER_FD_UFFD);
			keeper_send(sk, &m, -1);
			return true;
		default:
			m.status = -EINVAL;
		}
		keeper_send(sk, &m, -1);
	}
}

int track_keeper_main(void)
{
	struct track_stamp stamp = { 0, 0, 0 };
	bool have_stamp = false;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "crisp-track", 0, 0, 0);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = KEEPER_FD_LISTEN, .events = POLLIN },
			{ .fd = KEEPER_FD_PIDFD, .events = POLLIN },
		};
		int sk;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[1].revents)
			return 0;	/* the task is gone: nothing to keep */
		if (!(p[0].revents & POLLIN))
			continue;
		sk = accept4(KEEPER_FD_LISTEN, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0)
			continue;
		if (keeper_peer_ok(sk) && keeper_serve(sk, &have_stamp, &stamp)) {
			close(sk);
			return 0;	/* exiting closes the uffd: VMAs unregistered */
		}
		close(sk);
	}
}

/* ---- starting one ------------------------------------------------------- */

int track_keeper_spawn(const char *exe, pid_t pid, uint64_t start_time, int uffd)
{
	struct sockaddr_un a;
	socklen_t alen = keeper_addr(&a, pid, start_time);
	int ls, pidfd, err;
	pid_t child;

	ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	if (bind(ls, (struct sockaddr *)&a, alen) || listen(ls, 4)) {
		err = -errno;
		close(ls);
		if (err == -EADDRINUSE)
			pr_err("task %d: another crisp-track keeper already tracks it", (int)pid);
		else
			pr_perror("task %d: cannot listen for the tracking keeper", (int)pid);
		return err;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		err = -errno;
		close(ls);
		pr_perror("task %d: pidfd_open", (int)pid);
		return err;
	}
	child = fork();
	if (child == 0) {
		/* fds 3, 4, 5 as track_keeper_main expects; nothing else */
		int fds[3] = { ls, uffd, pidfd };

		for (int i = 0; i < 3; i++)
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 16);
		for (int i = 0; i < 3; i++)
			if (fds[i] < 0 || dup2(fds[i], KEEPER_FD_LISTEN + i) < 0)
				_exit(127);
		syscall(SYS_close_range, KEEPER_FD_PIDFD + 1, ~0u, 0);
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		setsid();
		/* it idles; starting it must not take CPU time from the task,
		 * and its new session has a scheduler group of its own */
		setpriority(PRIO_PROCESS, 0, 19);
		proc_set_autogroup_nice(19);
		execl(exe, "crisp", TRACK_KEEPER_ARG, (char *)NULL);
		_exit(127);
	}
	err = child < 0 ? -errno : 0;
	if (err)
		pr_perror("task %d: cannot start the tracking keeper", (int)pid);
	close(ls);
	close(pidfd);
	return err;
}

/* ---- the client side ---------------------------------------------------- */

int track_keeper_connect(pid_t pid, uint64_t start_time)
{
	struct sockaddr_un a;
	socklen_t alen = keeper_addr(&a, pid, start_time);
	int sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (sk < 0)
		return -errno;
	if (connect(sk, (struct sockaddr *)&a, alen)) {
		int err = -errno;

		close(sk);
		return err;
	}
	return sk;
}

/* Sends @op and waits for the reply; *@fd gets a passed fd, if any. */
static int keeper_call(int sk, struct keeper_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	uint32_t op = m->op;
	ssize_t n;

	m->magic = KEEPER_MAGIC;
	if (send(sk, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		return -EPIPE;
	n = recvmsg(sk, &h, MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(*m) || m->magic != KEEPER_MAGIC || m->op != op)
		return -EPROTO;
	if (fd)
		*fd = -1;
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	return m->status;
}

int track_keeper_get(int sk, int *uffd, bool *have_stamp, struct track_stamp *s)
{
	struct keeper_msg m = { .op = KEEPER_GET };
	int err = keeper_call(sk, &m, uffd);

	if (err)
		return err;
	if (*uffd < 0)
		return -EPROTO;
	*have_stamp = m.have_stamp != 0;
	*s = m.stamp;
	return 0;
}

int track_keeper_invalidate(int sk)
{
	struct keeper_msg m = { .op = KEEPER_INVALIDATE };

	return keeper_call(sk, &m, NULL);
}

int track_keeper_commit(int sk, const struct track_stamp *s)
{
	struct keeper_msg m = { .op = KEEPER_COMMIT, .have_stamp = 1, .stamp = *s };

	return keeper_call(sk, &m, NULL);
}

int track_keeper_quit(int sk)
{
	struct keeper_msg m = { .op = KEEPER_QUIT };

	return keeper_call(sk, &m, NULL);
}
