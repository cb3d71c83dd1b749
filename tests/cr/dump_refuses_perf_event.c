/* A task that owns a perf event fd cannot be dumped yet: the dump must
 * refuse, naming perf, and leave the task running and unchanged: its
 * counters agree, memory intact, no tracer attached, and its task-clock event
 * still counts (it advances over work done after the failed dump). */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "busy-task.h"

CRT_SCENARIO("!dump @says=perf; !dump -R @says=perf; verify");
CRT_DAMAGE_FAILS("the perf event did not count");

#define REGION_WORDS (1u << 20)	/* 8 MiB */
#define EXPECTED_FDS 1

static int perf_fd = -1;

int main(int argc, char **argv)
{
	struct bt_task t;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS))
		return 2;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_TASK_CLOCK,
	};

	perf_fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (perf_fd < 0)
		return 2;
	crt_ready();
	bt_count(&t);
	if (crt_damage())
		ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
	bt_check_unchanged(&t, EXPECTED_FDS);
	if (bt_check_fd_kind(perf_fd, "[perf_event]")) {
		uint64_t before = 0, after = 0;
		volatile uint64_t work = 0;

		if (read(perf_fd, &before, 8) != 8)
			crt_fail("reading the perf event failed, expected a count");
		for (int i = 0; i < 10000000; i++)
			work += (uint64_t)i;
		__asm__ volatile("" : : "r"(work));
		if (read(perf_fd, &after, 8) != 8)
			crt_fail("reading the perf event failed, expected a count");
		else if (after <= before)
			crt_fail("the perf event did not count: %llu ns before some work, %llu after, expected more",
				 (unsigned long long)before, (unsigned long long)after);
	}

	return crt_finish();
}
