/* A pre-dump chain whose pages files are all out of the page cache (however
 * they were written) is restored: the fill reads them with O_DIRECT, and
 * the restore says how many pages it read so; the task's memory is exactly
 * the state at the final freeze (see chain-writer.h for why the check is
 * exact). */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; dump -R --track-mem; kill; "
	     "evict 1; evict 2; evict 3; restore @says=direct_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
