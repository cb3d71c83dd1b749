/* A restore whose parent image dir is missing fails before any task
 * exists, naming the broken link; with the dir back, the same images
 * restore the task exactly (chain-writer.h). */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; dump --track-mem; spoil 2 gone; "
	     "!restore @says=img-3/parent:; unspoil 2; restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
