/* A dump into a read-only image directory must fail (with and without -R)
 * and leave the task running and unchanged: counters kept in registers
 * still agree, its memory intact, no tracer attached, no fd added. */
#include "busy-task.h"

CRT_SCENARIO("!dump @readonly; !dump -R @readonly; verify");
CRT_DAMAGE_FAILS("region word 4095 is");

#define REGION_WORDS (1u << 20)	/* 8 MiB */

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
