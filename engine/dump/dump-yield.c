/* dump-yield — crisp's share of the CPU once the tree runs again.
 *
 * What crisp still does after the release (copying pages, writing images)
 * competes with the tree for the CPU; on a machine with few cores the task
 * then waits for crisp, a freeze in all but name (the first pre-dump of
 * 1 GiB: a 7-30 ms gap in the task at nice 0, 1.3-4 ms at nice 19). So every
 * thread of crisp, io_uring workers included, goes to nice 19. Threads that
 * run while the tree waits on them (the live snapshot's fault handler) have
 * a real-time policy, which nice does not touch.
 *
 * Nice alone is not enough where the kernel groups tasks by session
 * (autogroup): crisp's session then shares the CPU with the tree's session
 * as one nice-0 task would, whatever the nice of its threads. When the tree
 * is in another session, crisp lowers its own session's group to nice 19
 * for the rest of the command and gives it back at the end. A tree in
 * crisp's own session is left alone: lowering the group would slow it too.
 * Never touches the tree's group or its threads.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "blog.h"
#include "dump.h"
#include "proc_autogroup.h"

#define DUMP_YIELD_NICE 19

static void dump_yield_threads(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !setpriority(PRIO_PROCESS, (id_t)strtoul(de->d_name, NULL, 10), DUMP_YIELD_NICE))
			n++;
	closedir(d);
	pr_debug("the tree runs again: %d threads of crisp now at nice %d", n, DUMP_YIELD_NICE);
}

static void dump_yield_group(struct dump_ctx *c)
{
	struct proc_autogroup mine, tree;
	int err;

	err = proc_read_autogroup(0, &mine);
	if (!err)
		err = proc_read_autogroup(c->o->tree_pid, &tree);
	if (err) {
		pr_debug("no session groups to weigh (autogroup: %s)", strerror(-err));
		return;
	}
	if (mine.id == tree.id || mine.nice >= DUMP_YIELD_NICE) {
		pr_debug("crisp's session group %llu (nice %d) stays as it is; the tree's is %llu",
			 (unsigned long long)mine.id, mine.nice, (unsigned long long)tree.id);
		return;
	}
	err = proc_set_autogroup_nice(DUMP_YIELD_NICE);
	if (err) {
		pr_debug("cannot lower crisp's session group to nice %d: %s", DUMP_YIELD_NICE,
			 strerror(-err));
		return;
	}
	c->yield_group_was = mine.nice;
	c->yield_group_lowered = true;
	pr_debug("crisp's session group %llu lowered from nice %d to %d until the end (the "
		 "tree's group is %llu)", (unsigned long long)mine.id, mine.nice, DUMP_YIELD_NICE,
		 (unsigned long long)tree.id);
}

void dump_yield_cpu(struct dump_ctx *c)
{
	dump_yield_threads();
	if (!c->yield_group_lowered)
		dump_yield_group(c);
}

void dump_yield_end(struct dump_ctx *c)
{
	struct timespec rate_limit = { 0, 110 * 1000 * 1000 };
	int err;

	if (!c->yield_group_lowered)
		return;
	err = proc_set_autogroup_nice(c->yield_group_was);
	if (err == -EAGAIN) {
		nanosleep(&rate_limit, NULL);
		err = proc_set_autogroup_nice(c->yield_group_was);
	}
	if (err)
		pr_warn("cannot give crisp's session group its nice %d back: %s; `echo %d > "
			"/proc/self/autogroup` in that session does", c->yield_group_was,
			strerror(-err), c->yield_group_was);
	c->yield_group_lowered = false;
}
