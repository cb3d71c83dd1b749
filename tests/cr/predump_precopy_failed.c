/* A final dump -R that fails after its copy before the freeze (its image
 * dir is a tmpfs too small for the pages): that copy protected the pages
 * written since the last pre-dump again, so the tracking must not be
 * trusted afterwards. The next dump, on the same parent, must save every
 * page it cannot vouch for, and the restored chain must be exactly the
 * state at its freeze (see chain-writer.h). */
#include "chain-writer.h"

CRT_SCENARIO("pre-dump --track-mem; pre-dump --track-mem; "
	     "!dump -R --track-mem @tmpfs=64k @says=precopy:; "
	     "dump --track-mem --prev-images-dir ../img-2; restore; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
