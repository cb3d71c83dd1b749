/* A task written to while it is pre-dumped three times and then dumped is
 * restored from the chain (most of its pages are in the parents, at every
 * depth) and its memory is exactly the state at the final freeze: see
 * chain-writer.h for why the check is exact. */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; pre-dump --track-mem; "
	     "dump --track-mem; restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
