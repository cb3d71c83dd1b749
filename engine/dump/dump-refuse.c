/* dump-refuse — what crisp cannot dump yet, found before anything changes:
 * fds of kinds engine/files does not handle (io_uring, perf events,
 * userfaultfd, ...), seccomp, and mappings of kinds we cannot save.
 * Only looks and reports; it never touches the task. (Write-protect
 * registrations are crisp's own while it tracks the task: t->uffd_ours.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"

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

int dump_refuse_task(const struct crisp_opts *o, pid_t pid)
{
	/* fds of kinds engine/files cannot dump, named with fd, kind and task */
	int err = files_check_task(o, pid);

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

		if (dump_vma_kernels(name))
			continue;	/* put back by restore */
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
			 strncmp(name, "[anon:", 6))
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
