/* Guard regions in a 256 MiB mapping, big enough that the freeze's scan for
 * them is cut into pieces walked by two threads at once (@says). Guards
 * sit on both sides of the seams between pieces (every 64 MiB) and on
 * page-table boundaries: a join that lost or misplaced one shows as a
 * guard page that reads, or a page that faults, after the restore. */
#define GR_PAGES	65536
#define GR_GUARDS	{ 0, 511, 512, 16383, 16384, 16385, 32767, 32768, 40000, 49151, \
			  49152, 65535 }
#define GR_DAMAGED	16384
#include "guard-regions.h"

CRT_SCENARIO("dump @says=threads=2; restore; verify");
CRT_DAMAGE_FAILS("page 16384 is a guard page, but reading it did not fault");

int main(int argc, char **argv)
{
	return gr_main(argc, argv);
}
