/* rst-stats — stats-restore (CRIU's STATS service image, restore part:
 * times in microseconds, page counts) and the --display-stats printout.
 * Measures nothing itself: the orchestrator fills rst_ctx.stats.
 */
#include <stdio.h>

#include "blog.h"
#include "restore.h"
#include "stats.pb-c.h"

int rst_stats_write(struct img_dir *dir, const struct rst_ctx *c)
{
	RestoreStatsEntry rs = RESTORE_STATS_ENTRY__INIT;
	StatsEntry se = STATS_ENTRY__INIT;
	struct img_writer w;
	int err, err2;

	rs.pages_compared = 0;
	rs.pages_skipped_cow = 0;
	rs.forking_time = (uint32_t)c->stats.forking_us;
	rs.restore_time = (uint32_t)c->stats.restore_us;
	rs.has_pages_restored = true;
	rs.pages_restored = c->stats.pages_restored;
	se.restore = &rs;
	err = img_writer_open(&w, dir, img_kind_by_file("stats-restore", NULL), 0);
	if (err)
		return err;
	err = img_writer_entry(&w, &se.base);
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

void rst_stats_print(const struct rst_ctx *c)
{
	printf("Displaying restore stats:\n");
	printf("Forking time: %llu us\n", (unsigned long long)c->stats.forking_us);
	printf("Restore time: %llu us\n", (unsigned long long)c->stats.restore_us);
	printf("Pages compared: 0 (0x0)\n");
	printf("Pages skipped COW: 0 (0x0)\n");
	printf("Pages restored: %llu (0x%llx)\n", (unsigned long long)c->stats.pages_restored,
	       (unsigned long long)c->stats.pages_restored);
	fflush(stdout);
}
