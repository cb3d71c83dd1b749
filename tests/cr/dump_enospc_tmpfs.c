/* A dump that runs out of space (64 MiB of memory into a 4 MiB tmpfs) must
 * fail (with and without -R) and leave the task running and unchanged:
 * its counters still agree, its memory is intact, no tracer is
 * attached, no fd added. */
#include "busy-task.h"

CRT_SCENARIO("!dump @tmpfs=4m; !dump -R @tmpfs=4m; verify");
CRT_DAMAGE_FAILS("region word 4095 is");

#define REGION_WORDS (8u << 20)	/* 64 MiB, none of it zero */

int main(int argc, char **argv)
{
	struct bt_task t;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS))
		return 2;
	crt_ready();
	bt_count(&t);
	if (crt_damage())
		t.region[4095] ^= 8;
	bt_check_unchanged(&t, 0);
	return crt_finish();
}
