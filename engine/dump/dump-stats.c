/* dump-stats — stats-dump (CRIU's STATS service image: phase times in
 * microseconds and page counts) and the --display-stats printout.
 * Measures nothing itself: the orchestrator fills dump_ctx.stats.
 */
#include <stdio.h>

#include "blog.h"
#include "dump.h"
#include "stats.pb-c.h"

int dump_stats_write(struct dump_ctx *c)
{
	const struct dump_stats *s = &c->stats;
	DumpStatsEntry ds = DUMP_STATS_ENTRY__INIT;
	StatsEntry se = STATS_ENTRY__INIT;
	struct img_writer w;
	int err, err2;

	ds.freezing_time = (uint32_t)s->freezing_us;
	ds.frozen_time = (uint32_t)s->frozen_us;
	ds.memdump_time = (uint32_t)s->memdump_us;
	ds.memwrite_time = (uint32_t)s->memwrite_us;
	ds.pages_scanned = s->pages_scanned;
	ds.pages_skipped_parent = s->pages_skipped_parent;
	ds.pages_written = s->pages_written;
	ds.pages_lazy = 0;
	se.dump = &ds;
	err = img_writer_open(&w, &c->dir, img_kind_by_file("stats-dump", NULL), 0);
	if (err)
		return err;
	err = img_writer_entry(&w, &se.base);
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

void dump_stats_print(const struct dump_ctx *c)
{
	const struct dump_stats *s = &c->stats;

	printf("Displaying dump stats:\n");
	printf("Freezing time: %llu us\n", (unsigned long long)s->freezing_us);
	printf("Frozen time: %llu us\n", (unsigned long long)s->frozen_us);
	printf("Memory dump time: %llu us\n", (unsigned long long)s->memdump_us);
	printf("Memory write time: %llu us\n", (unsigned long long)s->memwrite_us);
	if (c->live)
		printf("Live copy time: %llu us (%llu write faults)\n",
		       (unsigned long long)s->livecopy_us, (unsigned long long)s->live_faults);
	printf("Memory pages scanned: %llu (0x%llx)\n", (unsigned long long)s->pages_scanned,
	       (unsigned long long)s->pages_scanned);
	printf("Memory pages skipped from parent: %llu (0x%llx)\n",
	       (unsigned long long)s->pages_skipped_parent,
	       (unsigned long long)s->pages_skipped_parent);
	printf("Memory pages written: %llu (0x%llx)\n", (unsigned long long)s->pages_written,
	       (unsigned long long)s->pages_written);
	fflush(stdout);
}
