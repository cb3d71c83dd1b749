/* fdinfo — the fdinfo text parsers (see fdinfo.h): every read is bounded by
 * the text's length and every number checked; a line that does not parse is
 * -EINVAL, never a crash. No I/O, no allocation.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fdinfo.h"

#define FDINFO_LINE 512

/* Line @i of @text into @buf (NUL-terminated, cut at @cap - 1); the
 * offset of the next line, or @len when it was the last. */
static size_t fdinfo_line(const char *text, size_t len, size_t at, char *buf, size_t cap)
{
	size_t n = 0;

	while (at < len && text[at] != '\n') {
		if (n + 1 < cap)
			buf[n++] = text[at] ? text[at] : ' ';
		at++;
	}
	buf[n] = '\0';
	return at < len ? at + 1 : len;
}

int fdinfo_field(const char *text, size_t len, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	char line[FDINFO_LINE];

	for (size_t at = 0; at < len;) {
		at = fdinfo_line(text, len, at, line, sizeof(line));
		if (strncmp(line, key, kl) || line[kl] != ':')
			continue;
		const char *v = line + kl + 1;
		size_t n;

		while (*v == ' ' || *v == '\t')
			v++;
		n = strlen(v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (!cap)
			return -EINVAL;
		if (n >= cap)
			n = cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* A whole unsigned number in @s; true when it is one. */
static bool fdinfo_num(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;
	bool any = false;

	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
		any = true;
	}
	*out = v;
	return any;
}

int fdinfo_u64(const char *text, size_t len, const char *key, int base, uint64_t *out)
{
	char v[64];
	int err = fdinfo_field(text, len, key, v, sizeof(v));

	if (err)
		return err;
	return fdinfo_num(v, base, out) ? 0 : -EINVAL;
}

/* "(SEC, NSEC)" into two numbers. */
static int fdinfo_pair(const char *text, size_t len, const char *key, uint64_t *a, uint64_t *b)
{
	char v[64], *comma, *end;
	int err = fdinfo_field(text, len, key, v, sizeof(v));

	if (err)
		return err;
	comma = strchr(v, ',');
	end = strchr(v, ')');
	if (v[0] != '(' || !comma || !end || end < comma || end[1])
		return -EINVAL;
	*comma = *end = '\0';
	for (char *p = comma + 1; *p == ' '; p++)
		comma = p;
	return fdinfo_num(v + 1, 10, a) && fdinfo_num(comma + 1, 10, b) ? 0 : -EINVAL;
}

int fdinfo_timerfd(const char *text, size_t len, struct fdinfo_timerfd *t)
{
	uint64_t clk, fl;

	memset(t, 0, sizeof(*t));
	if (fdinfo_u64(text, len, "clockid", 10, &clk) || clk > 64 ||
	    fdinfo_u64(text, len, "ticks", 10, &t->ticks) ||
	    fdinfo_u64(text, len, "settime flags", 8, &fl) || fl > UINT32_MAX ||
	    fdinfo_pair(text, len, "it_value", &t->vsec, &t->vnsec) ||
	    fdinfo_pair(text, len, "it_interval", &t->isec, &t->insec) ||
	    t->vnsec >= 1000000000ull || t->insec >= 1000000000ull)
		return -EINVAL;
	t->clockid = (uint32_t)clk;
	t->settime_flags = (uint32_t)fl;
	return 0;
}

/* The number after "@key:" among the blank-separated words of @line. */
static bool fdinfo_word(const char *line, const char *key, int base, uint64_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = line; *p;) {
		char w[80];
		size_t n = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		while (*p && *p != ' ' && *p != '\t') {
			if (n + 1 < sizeof(w))
				w[n++] = *p;
			p++;
		}
		w[n] = '\0';
		if (!strncmp(w, key, kl) && w[kl] == ':') {
			const char *v = w + kl + 1;

			if (!*v) {
				/* "tfd:    5": the value is the next word */
				n = 0;
				while (*p == ' ' || *p == '\t')
					p++;
				while (*p && *p != ' ' && *p != '\t' && n + 1 < sizeof(w))
					w[n++] = *p++;
				w[n] = '\0';
				v = w;
			}
			return fdinfo_num(v, base, out);
		}
	}
	return false;
}

int fdinfo_epoll(const char *text, size_t len,
		 int (*cb)(const struct fdinfo_epoll_tfd *t, void *arg), void *arg)
{
	char line[FDINFO_LINE];

	for (size_t at = 0; at < len;) {
		struct fdinfo_epoll_tfd t;
		uint64_t tfd, ev, sdev;
		int err;

		at = fdinfo_line(text, len, at, line, sizeof(line));
		if (strncmp(line, "tfd:", 4))
			continue;
		if (!fdinfo_word(line, "tfd", 10, &tfd) || tfd > INT32_MAX ||
		    !fdinfo_word(line, "events", 16, &ev) || ev > UINT32_MAX ||
		    !fdinfo_word(line, "data", 16, &t.data) ||
		    !fdinfo_word(line, "pos", 10, &t.pos) ||
		    !fdinfo_word(line, "ino", 16, &t.ino) ||
		    !fdinfo_word(line, "sdev", 16, &sdev) || sdev > UINT32_MAX)
			return -EINVAL;
		t.tfd = (uint32_t)tfd;
		t.events = (uint32_t)ev;
		t.sdev = (uint32_t)sdev;
		err = cb(&t, arg);
		if (err)
			return err;
	}
	return 0;
}

static int fdinfo_hex_bytes(const char *line, uint8_t *out, uint32_t bytes)
{
	const char *p = strstr(line, "f_handle:");

	if (!p)
		return -EINVAL;
	p += strlen("f_handle:");
	for (uint32_t i = 0; i < bytes; i++) {
		uint64_t b;
		char two[3] = { p[2 * i], p[2 * i] ? p[2 * i + 1] : '\0', '\0' };

		if (!two[0] || !two[1] || !fdinfo_num(two, 16, &b))
			return -EINVAL;
		out[i] = (uint8_t)b;
	}
	return 0;
}

int fdinfo_inotify(const char *text, size_t len,
		   int (*cb)(const struct fdinfo_inotify_wd *w, void *arg), void *arg)
{
	char line[FDINFO_LINE];

	for (size_t at = 0; at < len;) {
		struct fdinfo_inotify_wd w;
		uint64_t v[7];
		int err;

		at = fdinfo_line(text, len, at, line, sizeof(line));
		if (strncmp(line, "inotify ", 8))
			continue;
		memset(&w, 0, sizeof(w));
		if (!fdinfo_word(line, "wd", 16, &v[0]) || !fdinfo_word(line, "ino", 16, &w.ino) ||
		    !fdinfo_word(line, "sdev", 16, &v[1]) || !fdinfo_word(line, "mask", 16, &v[2]) ||
		    !fdinfo_word(line, "ignored_mask", 16, &v[3]) ||
		    !fdinfo_word(line, "fhandle-bytes", 16, &v[4]) ||
		    !fdinfo_word(line, "fhandle-type", 16, &v[5]))
			return -EINVAL;
		for (int i = 0; i < 6; i++)
			if (v[i] > UINT32_MAX)
				return -EINVAL;
		if (v[4] > FDINFO_HANDLE_MAX || v[0] > INT32_MAX)
			return -EINVAL;
		w.wd = (uint32_t)v[0];
		w.sdev = (uint32_t)v[1];
		w.mask = (uint32_t)v[2];
		w.ignored_mask = (uint32_t)v[3];
		w.bytes = (uint32_t)v[4];
		w.type = (uint32_t)v[5];
		err = fdinfo_hex_bytes(line, w.handle, w.bytes);
		if (!err)
			err = cb(&w, arg);
		if (err)
			return err;
	}
	return 0;
}

/* "lock:\t1: POSIX  ADVISORY  WRITE 1234 fe:00:42 10 29" (or "... 0 EOF") */
int fdinfo_locks(const char *text, size_t len,
		 int (*cb)(const struct fdinfo_lock *l, void *arg), void *arg)
{
	char line[FDINFO_LINE];

	for (size_t at = 0; at < len;) {
		char kind[16], mode[16], type[16], dev[64], start[24], end[24];
		struct fdinfo_lock l;
		uint64_t s, e;
		int err;

		at = fdinfo_line(text, len, at, line, sizeof(line));
		if (strncmp(line, "lock:", 5))
			continue;
		memset(&l, 0, sizeof(l));
		if (sscanf(line + 5, " %*[0-9]: %15s %15s %15s %*d %63s %23s %23s", kind, mode, type,
			   dev, start, end) != 6 || !fdinfo_num(start, 10, &s))
			return -EINVAL;
		if (!strcmp(end, "EOF"))
			e = UINT64_MAX;
		else if (!fdinfo_num(end, 10, &e) || e < s || e == UINT64_MAX)
			return -EINVAL;
		memcpy(l.kind_name, kind, sizeof(l.kind_name));
		l.kind = !strcmp(kind, "POSIX") ? FDINFO_LK_POSIX : !strcmp(kind, "FLOCK") ? FDINFO_LK_FLOCK :
			 !strcmp(kind, "OFDLCK") ? FDINFO_LK_OFD : 0;
		if (strcmp(type, "READ") && strcmp(type, "WRITE"))
			l.kind = 0;	/* UNLCK, or a lease's own states */
		l.write = !strcmp(type, "WRITE");
		l.mandatory = strcmp(mode, "ADVISORY") != 0;
		l.start = s;
		l.len = e == UINT64_MAX ? 0 : e - s + 1;
		err = cb(&l, arg);
		if (err)
			return err;
	}
	return 0;
}
