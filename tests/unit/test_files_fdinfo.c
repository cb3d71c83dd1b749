/* test_files_fdinfo — the fdinfo parsers (engine/files/fdinfo.c) on text as
 * Linux 6.x writes it, and on broken text, which must be refused, not
 * misread. */
#include <errno.h>
#include <string.h>

#include "fdinfo.h"
#include "unit.h"

#define T(s) (s), strlen(s)

static const char timerfd_text[] =
	"pos:\t0\nflags:\t02004002\nmnt_id:\t16\nino:\t1039\nclockid: 1\nticks: 3\n"
	"settime flags: 01\nit_value: (2, 999876543)\nit_interval: (0, 50000000)\n";

static const char epoll_text[] =
	"pos:\t0\nflags:\t02\nmnt_id:\t16\nino:\t1039\n"
	"tfd:        4 events:       19 data:              abc  pos:0 ino:40f sdev:10\n"
	"tfd:        5 events: 80000019 data:                7  pos:12 ino:13177b sdev:f\n";

static const char inotify_text[] =
	"pos:\t0\nflags:\t00\nmnt_id:\t17\nino:\t1039\n"
	"inotify wd:2 ino:56e1b0 sdev:fe00000 mask:80000002 ignored_mask:0 fhandle-bytes:8 "
	"fhandle-type:1 f_handle:b0e156000779ea7e\n";

struct collect {
	struct fdinfo_epoll_tfd t[4];
	struct fdinfo_inotify_wd w[2];
	int n;
};

static int on_tfd(const struct fdinfo_epoll_tfd *t, void *arg)
{
	struct collect *c = arg;

	if (c->n == 4)
		return -ENOSPC;
	c->t[c->n++] = *t;
	return 0;
}

static int on_wd(const struct fdinfo_inotify_wd *w, void *arg)
{
	struct collect *c = arg;

	if (c->n == 2)
		return -ENOSPC;
	c->w[c->n++] = *w;
	return 0;
}

static void test_fields(void)
{
	uint64_t v;
	char buf[16];

	CHECK_INT(fdinfo_u64(T(timerfd_text), "flags", 8, &v), 0);
	CHECK_INT(v, 02004002);
	CHECK_INT(fdinfo_u64(T(timerfd_text), "ino", 10, &v), 0);
	CHECK_INT(v, 1039);
	CHECK_INT(fdinfo_u64(T(timerfd_text), "nothere", 10, &v), -ENOENT);
	CHECK_INT(fdinfo_u64(T("flags:\t0x\n"), "flags", 8, &v), -EINVAL);
	CHECK_INT(fdinfo_u64(T("pos:\t99999999999999999999999\n"), "pos", 10, &v), -EINVAL);
	CHECK_INT(fdinfo_u64(T("pos:\t-1\n"), "pos", 10, &v), -EINVAL);
	/* a prefix is not the key */
	CHECK_INT(fdinfo_u64(T("position: 4\n"), "pos", 10, &v), -ENOENT);
	/* the last line needs no newline; a long value is cut, not overrun */
	CHECK_INT(fdinfo_field(T("a: 0123456789abcdefghij"), "a", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "0123456789abcde");
}

static void test_timerfd(void)
{
	struct fdinfo_timerfd t;

	CHECK_INT(fdinfo_timerfd(T(timerfd_text), &t), 0);
	CHECK_INT(t.clockid, 1);
	CHECK_INT(t.ticks, 3);
	CHECK_INT(t.settime_flags, 1);
	CHECK_INT(t.vsec, 2);
	CHECK_INT(t.vnsec, 999876543);
	CHECK_INT(t.isec, 0);
	CHECK_INT(t.insec, 50000000);
	CHECK_INT(fdinfo_timerfd(T("clockid: 1\nticks: 0\nsettime flags: 0\nit_value: (2 3)\n"
				   "it_interval: (0, 0)\n"), &t), -EINVAL);
	CHECK_INT(fdinfo_timerfd(T("clockid: 1\nticks: 0\nsettime flags: 0\n"
				   "it_value: (0, 1000000000)\nit_interval: (0, 0)\n"), &t), -EINVAL);
	CHECK_INT(fdinfo_timerfd(T("clockid: 1\n"), &t), -EINVAL);
}

static void test_epoll(void)
{
	struct collect c = { .n = 0 };

	CHECK_INT(fdinfo_epoll(T(epoll_text), on_tfd, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.t[0].tfd, 4);
	CHECK_INT(c.t[0].events, 0x19);
	CHECK_INT(c.t[0].data, 0xabc);
	CHECK_INT(c.t[0].ino, 0x40f);
	CHECK_INT(c.t[0].sdev, 0x10);
	CHECK_INT(c.t[1].events, 0x80000019);
	CHECK_INT(c.t[1].pos, 12);
	c.n = 0;
	CHECK_INT(fdinfo_epoll(T("tfd: 4 events: 19 data: zz pos:0 ino:1 sdev:2\n"), on_tfd, &c),
		  -EINVAL);
	CHECK_INT(fdinfo_epoll(T("tfd: 4 events: 19\n"), on_tfd, &c), -EINVAL);
	CHECK_INT(c.n, 0);
}

static void test_inotify(void)
{
	struct collect c = { .n = 0 };
	static const uint8_t handle[8] = { 0xb0, 0xe1, 0x56, 0x00, 0x07, 0x79, 0xea, 0x7e };

	CHECK_INT(fdinfo_inotify(T(inotify_text), on_wd, &c), 0);
	CHECK_INT(c.n, 1);
	CHECK_INT(c.w[0].wd, 2);
	CHECK_INT(c.w[0].ino, 0x56e1b0);
	CHECK_INT(c.w[0].sdev, 0xfe00000);
	CHECK_INT(c.w[0].mask, 0x80000002);
	CHECK_INT(c.w[0].bytes, 8);
	CHECK_INT(c.w[0].type, 1);
	CHECK(!memcmp(c.w[0].handle, handle, 8));
	c.n = 0;
	/* a handle shorter than its announced length */
	CHECK_INT(fdinfo_inotify(T("inotify wd:2 ino:1 sdev:0 mask:2 ignored_mask:0 "
				   "fhandle-bytes:8 fhandle-type:1 f_handle:b0e1\n"), on_wd, &c), -EINVAL);
	/* longer than any handle can be */
	CHECK_INT(fdinfo_inotify(T("inotify wd:2 ino:1 sdev:0 mask:2 ignored_mask:0 "
				   "fhandle-bytes:ff fhandle-type:1 f_handle:00\n"), on_wd, &c), -EINVAL);
	CHECK_INT(c.n, 0);
}

static int on_lock(const struct fdinfo_lock *l, void *arg)
{
	struct fdinfo_lock *out = arg;

	out[out[3].start++] = *l;	/* out[3].start counts */
	return out[3].start > 3 ? -ENOSPC : 0;
}

static void test_locks(void)
{
	struct fdinfo_lock l[4];

	memset(l, 0, sizeof(l));
	CHECK_INT(fdinfo_locks(T("pos:\t0\nlock:\t1: FLOCK  ADVISORY  READ 25754 fe:00:10953162 0 EOF\n"
				 "lock:\t1: POSIX  ADVISORY  WRITE 25754 fe:00:10953174 10 29\n"
				 "lock:\t1: OFDLCK ADVISORY  READ -1 fe:00:10953186 0 EOF\n"), on_lock, l), 0);
	CHECK_INT(l[3].start, 3);
	CHECK_INT(l[0].kind, FDINFO_LK_FLOCK);
	CHECK(!l[0].write);
	CHECK_INT(l[0].len, 0);
	CHECK_INT(l[1].kind, FDINFO_LK_POSIX);
	CHECK(l[1].write);
	CHECK_INT(l[1].start, 10);
	CHECK_INT(l[1].len, 20);
	CHECK_INT(l[2].kind, FDINFO_LK_OFD);
	memset(l, 0, sizeof(l));
	CHECK_INT(fdinfo_locks(T("lock:\t1: LEASE  ACTIVE    READ 1 fe:00:1 0 EOF\n"), on_lock, l), 0);
	CHECK_INT(l[0].kind, 0);
	CHECK_INT(fdinfo_locks(T("lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 30 29\n"), on_lock, l), -EINVAL);
	CHECK_INT(fdinfo_locks(T("lock:\t1: POSIX\n"), on_lock, l), -EINVAL);
}

int main(void)
{
	test_fields();
	test_timerfd();
	test_epoll();
	test_inotify();
	test_locks();
	return unit_summary("files-fdinfo");
}
