/* tdrv-proc — see tdrv.h: snapshots of a task from /proc (parent, fd
 * table, VmFlags per mapping) as comparable text, and a search for tasks
 * by name and parent. Reads /proc only; never signals or waits for a task.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdrv.h"

/* A growing NUL-terminated text. */
struct text {
	char *s;
	size_t len, cap;
	int err;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->err)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *ns;

		while (cap < t->len + n + 1)
			cap *= 2;
		ns = realloc(t->s, cap);
		if (!ns) {
			t->err = -ENOMEM;
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static int text_done(struct text *t, char **out)
{
	if (!t->err && !t->s)
		text_add(t, "", 0);
	if (t->err) {
		free(t->s);
		*out = NULL;
		return t->err;
	}
	*out = t->s;
	return 0;
}

/* The fields of /proc/PID/stat after the comm, into @buf; the comm into
 * @comm when not NULL. A pointer into @buf, or NULL when gone. */
static char *stat_rest(pid_t pid, char *buf, size_t size, char *comm, size_t comm_size)
{
	char path[64], *open_p, *close_p;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	len = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[len] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');	/* comm may hold ')' itself */
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return NULL;
	if (comm) {
		size_t n = (size_t)(close_p - open_p - 1);

		if (n >= comm_size)
			n = comm_size - 1;
		memcpy(comm, open_p + 1, n);
		comm[n] = '\0';
	}
	return close_p + 2;
}

pid_t tdrv_task_ppid(pid_t pid)
{
	char buf[1024], state;
	char *rest = stat_rest(pid, buf, sizeof(buf), NULL, 0);
	int ppid;

	if (!rest || sscanf(rest, "%c %d", &state, &ppid) != 2)
		return -ESRCH;
	return ppid;
}

int tdrv_proc_fds(pid_t pid, char **text)
{
	char dir[64], path[128], target[4096], **names;
	struct text t = { 0 };
	int n;

	*text = NULL;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	n = tdrv_list_dir(dir, &names);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;	/* closed since the listing */
		target[len] = '\0';
		text_add(&t, names[i], strlen(names[i]));
		text_add(&t, " -> ", 4);
		text_add(&t, target, (size_t)len);
		text_add(&t, "\n", 1);
	}
	tdrv_names_free(names, n);
	return text_done(&t, text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "START-END: " then the flags of one "VmFlags:" line, sorted. */
static void add_vmflags(struct text *t, const char *range, char *flags)
{
	char *words[64], *save = NULL;
	size_t n = 0;

	for (char *w = strtok_r(flags, " \t\n", &save); w && n < 64;
	     w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	qsort(words, n, sizeof(*words), cmp_str);
	text_add(t, range, strlen(range));
	text_add(t, ":", 1);
	for (size_t i = 0; i < n; i++) {
		text_add(t, " ", 1);
		text_add(t, words[i], strlen(words[i]));
	}
	text_add(t, "\n", 1);
}

int tdrv_proc_vmflags(pid_t pid, char **text)
{
	char path[64], line[4096], range[128] = "";
	struct text t = { 0 };
	FILE *f;

	*text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t first = strcspn(line, " \n");

		if (!strncmp(line, "VmFlags:", 8)) {
			add_vmflags(&t, range, line + 8);
		} else if (memchr(line, '-', first) && !memchr(line, ':', first) &&
			   first < sizeof(range)) {
			memcpy(range, line, first);	/* a mapping's header line */
			range[first] = '\0';
		}
	}
	fclose(f);
	return text_done(&t, text);
}

int tdrv_find_tasks(const char *comm, pid_t ppid, pid_t *pids, int max)
{
	char **names, buf[1024], name[64], state;
	int n = tdrv_list_dir("/proc", &names), found = 0;

	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char *end, *rest;
		long pid = strtol(names[i], &end, 10);
		int parent;

		if (*end || pid <= 0)
			continue;
		rest = stat_rest((pid_t)pid, buf, sizeof(buf), name, sizeof(name));
		if (!rest || sscanf(rest, "%c %d", &state, &parent) != 2)
			continue;
		if (strcmp(name, comm) || state == 'Z' || parent != ppid)
			continue;
		if (found < max)
			pids[found] = (pid_t)pid;
		found++;
	}
	tdrv_names_free(names, n);
	return found;
}
