/* A restore whose grandparent's pages file lost its last page fails before
 * any task exists, naming that file through the chain; with the file back,
 * the same images restore the task exactly (chain-writer.h). */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; dump --track-mem; "
	     "spoil 1 short-pages; !restore @says=img-3/parent/parent/pages-; unspoil 1; "
	     "restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
