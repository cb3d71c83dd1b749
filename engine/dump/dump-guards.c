/* dump-guards — the guard regions (madvise MADV_GUARD_INSTALL) of a task's
 * VMAs, found in its page tables and written to guards-PID.img (a crisp
 * extension, proto/EXTENSIONS.md). Reads no page contents.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "dump.h"
#include "guard.pb-c.h"

int dump_guards_collect(struct dump_task *t)
{
	int err = dump_guards_walk(t);

	if (!err && t->guards.nr)
		pr_info("task %d: %llu guard pages in %zu ranges", (int)t->pid,
			(unsigned long long)t->guards.pages, t->guards.nr);
	return err;
}

int dump_guards_write(struct dump_ctx *c, const struct dump_task *t)
{
	struct img_writer w;
	int err = 0, err2;

	if (!t->guards.nr)
		return 0;
	err = img_writer_open(&w, &c->dir, img_kind_by_name("GUARDS"), (unsigned long)t->pid);
	if (err)
		return err;
	for (size_t i = 0; i < t->guards.nr && !err; i++) {
		GuardRangeEntry e = GUARD_RANGE_ENTRY__INIT;

		e.start = t->guards.r[i].start;
		e.nr_pages = t->guards.r[i].nr_pages;
		err = img_writer_entry(&w, &e.base);
	}
	err2 = img_writer_close(&w);
	return err ? err : err2;
}
