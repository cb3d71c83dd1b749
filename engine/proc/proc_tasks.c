/* proc_tasks — thread and child listings (see proc_tasks.h). */
#include "proc_tasks.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_lex.h"
#include "proc_read.h"

static size_t proc_pids_pos(const struct proc_pids *s, pid_t p)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->pid[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int proc_pids_has(const struct proc_pids *s, pid_t p)
{
	size_t i = proc_pids_pos(s, p);

	return i < s->nr && s->pid[i] == p;
}

int proc_pids_add(struct proc_pids *s, pid_t p)
{
	size_t i = proc_pids_pos(s, p);
	pid_t *np;

	if (i < s->nr && s->pid[i] == p)
		return 0;
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		np = realloc(s->pid, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pid = np;
		s->cap = cap;
	}
	memmove(&s->pid[i + 1], &s->pid[i], (s->nr - i) * sizeof(*s->pid));
	s->pid[i] = p;
	s->nr++;
	return 0;
}

void proc_pids_free(struct proc_pids *s)
{
	free(s->pid);
	memset(s, 0, sizeof(*s));
}

int proc_parse_pid_list(const char *buf, size_t len, struct proc_pids *out)
{
	const char *p = buf, *end = buf + len;
	uint64_t v;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\n'))
			p++;
		if (p == end)
			return 0;
		if (proc_lex_u64(&p, end, 10, &v) || v == 0 || v > INT32_MAX ||
		    (p < end && *p != ' ' && *p != '\n')) {
			err = -EINVAL;
			break;
		}
		err = proc_pids_add(out, (pid_t)v);
		if (err)
			break;
	}
	proc_pids_free(out);
	return err;
}

int proc_list_threads(pid_t pid, struct proc_pids *out)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *p = de->d_name, *end = p + strlen(p);
		uint64_t v;

		if (de->d_name[0] == '.')
			continue;
		if (proc_lex_u64(&p, end, 10, &v) || p != end || !v || v > INT32_MAX) {
			err = -EINVAL;
			break;
		}
		err = proc_pids_add(out, (pid_t)v);
		if (err)
			break;
	}
	closedir(d);
	if (err)
		proc_pids_free(out);
	return err;
}

int proc_read_children(pid_t pid, pid_t tid, struct proc_pids *out)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, tid, "children", &buf, &len);
	if (err)
		return err;
	err = proc_parse_pid_list(buf, len, out);
	free(buf);
	return err;
}
