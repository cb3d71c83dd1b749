/* A final dump -R after pre-dumps walks the task's memory while it still
 * runs, after the copy before the freeze, and inside the freeze walks again
 * only the pages changed since. The writer here rewrites pages at full
 * speed and drops every third one it comes to (MADV_DONTNEED), so pages are
 * emptied between that walk and the freeze: they must restore as zeros,
 * not as the data the parent or the early copy holds, and the restored
 * chain must be exactly the state at the dump's freeze (see chain-writer.h). */
#define CW_PAUSE_NS 0
#define CW_DROP_EVERY 3
/* 256 MiB: a page comes round again only after the freeze, so most pages
 * dropped after the walk before it were not written since the copy before
 * it, which must not be restored for them */
#define CW_PAGES 65536u
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; "
	     "dump -R --track-mem @says=reused_pieces=; kill; restore @says=parent_pages=; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
