/* dump-refuse — what crisp cannot dump yet, found before anything changes:
 * open file descriptors (files are a later issue; io_uring, perf events and
 * userfaultfd are fds too), seccomp, and mappings of kinds we cannot save.
 * Only looks and reports; it never touches the task. (Write-protect
 * registrations are crisp's own while it tracks the task: t->uffd_ours.)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"

/* What an anon-inode or special fd is, in words, for the message. */
static const char *dump_refuse_fd_kind(const char *target)
{
	static const struct { const char *match, *what; } kinds[] = {
		{ "anon_inode:[io_uring]", "an io_uring instance" },
		{ "anon_inode:[perf_event]", "a perf event" },
		{ "anon_inode:[userfaultfd]", "a userfaultfd" },
		{ "anon_inode:[eventpoll]", "an epoll instance" },
		{ "anon_inode:[eventfd]", "an eventfd" },
		{ "anon_inode:[signalfd]", "a signalfd" },
		{ "anon_inode:[timerfd]", "a timerfd" },
		{ "anon_inode:bpf", "a BPF object" },
		{ "socket:", "a socket" },
		{ "pipe:", "a pipe" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(target, kinds[i].match, strlen(kinds[i].match)))
			return kinds[i].what;
	return "an open file";
}

/* Refuses any open fd of @pid: the files issue has not landed yet. */
static int dump_refuse_fds(pid_t pid)
{
	char path[64], link[PATH_MAX + 1], target[PATH_MAX + 1];
	struct dirent *de;
	int bad = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		int err = -errno;

		pr_perror("task %d: cannot list %s", (int)pid, path);
		return err;
	}
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0) {
			if (errno == ENOENT)
				continue;	/* closed meanwhile */
			snprintf(target, sizeof(target), "(unreadable: %s)", strerror(errno));
		} else {
			target[n] = '\0';
		}
		pr_err("task %d: fd %s is %s (%s); crisp cannot dump open files yet",
		       (int)pid, de->d_name, dump_refuse_fd_kind(target), target);
		bad++;
	}
	closedir(d);
	return bad ? -EOPNOTSUPP : 0;
}

static int dump_refuse_seccomp(pid_t pid)
{
	struct proc_status st;
	int err, mode;

	err = proc_read_status(pid, 0, &st);
	if (err) {
		pr_err("task %d: cannot read its status: %s", (int)pid, strerror(-err));
		return err;
	}
	mode = st.seccomp;
	proc_status_free(&st);
	if (mode == 1) {
		pr_err("task %d is in seccomp strict mode: crisp cannot run its collectors in it", (int)pid);
		return -EOPNOTSUPP;
	}
	if (mode == 2) {
		pr_err("task %d has seccomp filters: crisp cannot save them yet", (int)pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

int dump_refuse_task(pid_t pid)
{
	int err = dump_refuse_fds(pid);

	if (!err)
		err = dump_refuse_seccomp(pid);
	return err;
}

/* Mappings whose contents or kind cannot be saved yet. */
int dump_refuse_vmas(const struct dump_task *t)
{
	for (size_t i = 0; i < t->maps.nr; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		const char *name = proc_vma_name(&t->maps, v);
		const char *why = NULL;

		if (!strcmp(name, "[vdso]") || !strncmp(name, "[vvar", 5) ||
		    !strcmp(name, "[vsyscall]"))
			continue;	/* the kernel's own, put back by restore */
		if (v->vmflags & (PROC_VMF_IO | PROC_VMF_PFNMAP))
			why = "an I/O or PFN mapping";
		else if (v->vmflags & PROC_VMF_HUGETLB)
			why = "a hugetlbfs mapping";
		else if (v->vmflags & (PROC_VMF_UFFD_MISSING | PROC_VMF_UFFD_MINOR |
				       (t->uffd_ours ? 0 : PROC_VMF_UFFD_WP)))
			why = "registered with a userfaultfd";
		else if (v->vmflags & PROC_VMF_SHADOW_STACK)
			why = "a shadow stack";
		else if (!strncmp(name, "anon_inode:", 11))
			why = "an anon-inode mapping (io_uring, perf, ...)";
		else if (!strncmp(name, "/SYSV", 5))
			why = "SysV shared memory";
		else if (!strncmp(name, "/memfd:", 7))
			why = "a memfd mapping";
		else if (v->shared && v->ino == 0)
			why = "shared anonymous memory without an inode";
		else if (strstr(name, " (deleted)") && !(v->shared && !strcmp(name, "/dev/zero (deleted)")))
			why = "a mapping of a deleted file";
		else if (name[0] == '[' && strcmp(name, "[heap]") && strcmp(name, "[stack]") &&
			 strcmp(name, "[vdso]") && strncmp(name, "[vvar", 5) &&
			 strcmp(name, "[vsyscall]") && strncmp(name, "[anon:", 6))
			why = "a special mapping";
		else if (v->shared && name[0] != '/')
			why = "a shared mapping of an unknown kind";
		if (why) {
			pr_err("task %d: mapping %#llx-%#llx %s is %s; crisp cannot dump it yet",
			       (int)t->pid, (unsigned long long)v->start,
			       (unsigned long long)v->end, name, why);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
