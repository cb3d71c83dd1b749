/* A final dump -R after pre-dumps copies the pages written since the last
 * pre-dump before its freeze, protecting them again, while the writer here
 * rewrites pages at full speed: pages written between that copy and the
 * freeze must come from the freeze, the others from the early copy, none
 * from the parent. The restored chain must be exactly the state at the
 * dump's freeze (see chain-writer.h). */
#define CW_PAUSE_NS 0
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; "
	     "dump -R --track-mem @says=precopy:; kill; restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
