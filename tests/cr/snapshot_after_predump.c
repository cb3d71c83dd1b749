/* dump --leave-running --track-mem after a pre-dump: the task is tracked
 * (async write-protection held by the keeper), so the dump takes the frozen
 * path with its parent instead of a live snapshot, and the restored chain
 * is exactly the state at the dump's freeze (see chain-writer.h). */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; dump -R --track-mem @says=tracked_by_earlier_pre-dumps; "
	     "kill; restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
