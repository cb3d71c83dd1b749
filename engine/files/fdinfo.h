/* fdinfo — parsers of /proc/PID/fdinfo/N text: plain functions of the text,
 * no I/O, safe on any bytes (fuzzed: tests/fuzz/fuzz_fdinfo.c). The kinds
 * in engine/files call them; nothing here knows a dump.
 */
#ifndef CRISP_FDINFO_H
#define CRISP_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value after "@key:" on a line of @text (@len bytes, NUL not needed)
 * into @out (at most @cap - 1 bytes, blanks around it dropped). 0, or
 * -ENOENT when no line has the key. */
int fdinfo_field(const char *text, size_t len, const char *key, char *out, size_t cap);

/* An unsigned number of "@key:" in @base (8, 10, 16). 0 or -ENOENT/-EINVAL. */
int fdinfo_u64(const char *text, size_t len, const char *key, int base, uint64_t *out);

struct fdinfo_timerfd {
	uint32_t clockid, settime_flags;
	uint64_t ticks, vsec, vnsec, isec, insec;
};
/* clockid, ticks, settime flags, it_value and it_interval. 0 or -EINVAL. */
int fdinfo_timerfd(const char *text, size_t len, struct fdinfo_timerfd *t);

struct fdinfo_epoll_tfd {
	uint32_t tfd, events, sdev;
	uint64_t data, ino, pos;
};
/* Calls @cb for each "tfd:" line; stops at its first non-zero return,
 * which is returned. -EINVAL for a line that does not parse. */
int fdinfo_epoll(const char *text, size_t len,
		 int (*cb)(const struct fdinfo_epoll_tfd *t, void *arg), void *arg);

#define FDINFO_HANDLE_MAX 128	/* MAX_HANDLE_SZ */
struct fdinfo_inotify_wd {
	uint32_t wd, sdev, mask, ignored_mask, bytes, type;
	uint64_t ino;
	uint8_t handle[FDINFO_HANDLE_MAX];
};
/* Calls @cb for each "inotify wd:" line, as fdinfo_epoll does. */
int fdinfo_inotify(const char *text, size_t len,
		   int (*cb)(const struct fdinfo_inotify_wd *w, void *arg), void *arg);

/* A "lock:" line: what the task holds through this fd. */
#define FDINFO_LK_POSIX	1	/* CRIU's FL_POSIX, FL_FLOCK, FL_OFD */
#define FDINFO_LK_FLOCK	2
#define FDINFO_LK_OFD	4
struct fdinfo_lock {
	uint32_t kind;		/* FDINFO_LK_*, 0 for a kind crisp does not know */
	bool write;		/* WRITE, else READ */
	bool mandatory;
	uint64_t start, len;	/* len 0: to the end of the file */
	char kind_name[16];	/* as fdinfo says it ("LEASE") */
};
/* Calls @cb for each "lock:" line, as fdinfo_epoll does. */
int fdinfo_locks(const char *text, size_t len,
		 int (*cb)(const struct fdinfo_lock *l, void *arg), void *arg);

#endif
