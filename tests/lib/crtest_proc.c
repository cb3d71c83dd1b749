/* crtest_proc — a scenario reads its own state from /proc/self: the mapping
 * holding an address (smaps), its fd count, fields of status. Each call
 * opens what it reads and closes it before returning: no fd is kept. */
#include "crtest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "start-end perms offset dev inode path" into @vma. */
static bool crt_parse_vma_head(const char *line, struct crt_vma *vma)
{
	unsigned long start, end;
	char perms[5];
	int off = 0;

	if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &off) < 3 || !off)
		return false;
	memset(vma, 0, sizeof(*vma));
	vma->start = start;
	vma->end = end;
	memcpy(vma->perms, perms, sizeof(vma->perms));
	snprintf(vma->path, sizeof(vma->path), "%s", line + off);
	vma->path[strcspn(vma->path, "\n")] = '\0';
	return true;
}

static void crt_parse_vma_field(const char *line, struct crt_vma *vma)
{
	if (!strncmp(line, "VmFlags:", 8)) {
		const char *p = line + 8 + strspn(line + 8, " ");

		snprintf(vma->vmflags, sizeof(vma->vmflags), "%s", p);
		vma->vmflags[strcspn(vma->vmflags, "\n")] = '\0';
	} else if (!strncmp(line, "Rss:", 4)) {
		vma->rss_kb = strtoul(line + 4, NULL, 10);
	} else if (!strncmp(line, "AnonHugePages:", 14)) {
		vma->anon_huge_kb = strtoul(line + 14, NULL, 10);
	} else if (!strncmp(line, "Locked:", 7)) {
		vma->locked_kb = strtoul(line + 7, NULL, 10);
	}
}

int crt_vma_of(const void *addr, struct crt_vma *vma)
{
	unsigned long a = (unsigned long)addr;
	char line[512];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct crt_vma head;

		/* a header line starts with a hex digit and has a '-' early on */
		if (strchr(line, '-') && strchr(line, '-') < line + 17 &&
		    crt_parse_vma_head(line, &head)) {
			if (found)
				break;
			in = a >= head.start && a < head.end;
			if (in) {
				*vma = head;
				found = true;
			}
			continue;
		}
		if (in)
			crt_parse_vma_field(line, vma);
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

bool crt_vma_has_flag(const struct crt_vma *vma, const char *flag)
{
	size_t len = strlen(flag);

	for (const char *p = vma->vmflags; (p = strstr(p, flag)); p++)
		if ((p == vma->vmflags || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
	return false;
}

int crt_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static int crt_status_line(const char *name, char *val, size_t len)
{
	char line[256];
	size_t nlen = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, nlen) && line[nlen] == ':') {
			snprintf(val, len, "%s", line + nlen + 1);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int crt_status_field(const char *name, unsigned long long *out)
{
	char val[200];
	int ret = crt_status_line(name, val, sizeof(val));

	if (!ret)
		*out = strtoull(val, NULL, 10);
	return ret;
}

int crt_status_mask(const char *name, unsigned long long *out)
{
	char val[200];
	int ret = crt_status_line(name, val, sizeof(val));

	if (!ret)
		*out = strtoull(val, NULL, 16);
	return ret;
}
