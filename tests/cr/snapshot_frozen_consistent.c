/* dump --leave-running --snapshot frozen (every page copied while the tree
 * is stopped) of the same full-speed writer as snapshot_live_consistent:
 * the restored region is the state after the recorded write count. */
#define CW_PAGES	16384u
#define CW_PAUSE_NS	0
#include "chain-writer.h"

CRT_SCENARIO("dump -R --snapshot frozen @says=snapshot=frozen; kill; restore; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
