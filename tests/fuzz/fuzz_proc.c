/* fuzz_proc — every /proc text parser over the same input: none may crash,
 * read out of bounds or leak, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>

#include "proc_autogroup.h"
#include "proc_limits.h"
#include "proc_maps.h"
#include "proc_mm.h"
#include "proc_stat.h"
#include "proc_status.h"
#include "proc_tasks.h"
#include "proc_timers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct proc_maps maps;
	struct proc_stat st;
	struct proc_status status;
	struct proc_limits lim;
	struct proc_pids pids;
	struct proc_timers timers;
	struct proc_mm mm;
	struct proc_autogroup ag;

	if (!proc_parse_maps(buf, size, &maps))
		proc_maps_free(&maps);
	proc_parse_stat(buf, size, &st);
	if (!proc_parse_status(buf, size, &status))
		proc_status_free(&status);
	proc_parse_limits(buf, size, &lim);
	if (!proc_parse_pid_list(buf, size, &pids))
		proc_pids_free(&pids);
	if (!proc_parse_timers(buf, size, &timers))
		proc_timers_free(&timers);
	proc_parse_auxv(data, size, &mm);
	proc_parse_autogroup(buf, size, &ag);
	return 0;
}
