/* The chain scenario with 256 MiB: big enough that the final dump's walk
 * of the written pages is cut into pieces walked by two threads at once
 * (@says), whose results are joined in address order. Pages present and
 * unchanged run across the seams between pieces; a join that lost, doubled
 * or misplaced a range shows as a word that differs after the restore
 * (chain-writer.h explains why the check is exact). */
#define CW_PAGES	65536u
#define CW_PAUSE_NS	200000
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; dump --track-mem @says=threads=2; "
	     "restore; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
