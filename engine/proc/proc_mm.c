/* proc_mm — mm fields, auxv and exe link of a task (see proc_mm.h). */
#include "proc_mm.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "proc_read.h"
#include "proc_stat.h"

int proc_parse_auxv(const void *buf, size_t len, struct proc_mm *mm)
{
	size_t words = len / sizeof(uint64_t), i;

	if (len % (2 * sizeof(uint64_t)))
		return -EINVAL;
	for (i = 0; i < words; i += 2) {
		uint64_t type;

		if (i + 2 > PROC_AUXV_MAX * 2)
			return -EINVAL;
		memcpy(&mm->auxv[i], (const char *)buf + i * 8, 16);
		type = mm->auxv[i];
		if (type == AT_NULL) {
			mm->auxv_len = i + 2;
			return 0;
		}
	}
	return -EINVAL;
}

int proc_read_mm(pid_t pid, struct proc_mm *mm)
{
	struct proc_stat st;
	char path[64], *buf;
	size_t len;
	ssize_t n;
	int err;

	memset(mm, 0, sizeof(*mm));
	err = proc_read_stat(pid, 0, &st);
	if (err) {
		pr_err("cannot parse /proc/%d/stat: %s", pid, strerror(-err));
		return err;
	}
	if (!st.start_code && !st.start_stack && !st.arg_start) {
		pr_err("task %d: mm fields are hidden (no ptrace access?)", pid);
		return -EPERM;
	}
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_brk = st.start_brk;
	mm->start_stack = st.start_stack;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;

	err = proc_read_file(pid, 0, "auxv", &buf, &len);
	if (err) {
		pr_err("cannot read /proc/%d/auxv: %s", pid, strerror(-err));
		return err;
	}
	err = proc_parse_auxv(buf, len, mm);
	free(buf);
	if (err) {
		pr_err("/proc/%d/auxv: malformed (%zu bytes)", pid, len);
		return err;
	}

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, mm->exe, sizeof(mm->exe) - 1);
	if (n < 0) {
		err = -errno;
		pr_perror("readlink %s", path);
		return err;
	}
	if ((size_t)n == sizeof(mm->exe) - 1) {
		pr_err("%s: link too long", path);
		return -ENAMETOOLONG;
	}
	mm->exe[n] = '\0';
	return 0;
}
