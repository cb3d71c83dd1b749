/* Lightweight guard regions (madvise MADV_GUARD_INSTALL, Linux 6.13) inside
 * one writable mapping: after restore the guard pages still fault on access
 * without splitting the mapping, and the pages around them keep their data.
 * (PROT_NONE guard pages are covered by mem_mprotect_holes.) */
#define GR_PAGES	12
#define GR_GUARDS	{ 3, 4, 9 }
#define GR_DAMAGED	9
#include "guard-regions.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("page 9 is a guard page, but reading it did not fault");

int main(int argc, char **argv)
{
	return gr_main(argc, argv);
}
