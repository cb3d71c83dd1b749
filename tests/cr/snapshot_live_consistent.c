/* A live snapshot (dump --leave-running, copy-before-write) of a task whose
 * writer thread rewrites 64 MiB at full speed is one instant: after a
 * restore every page holds exactly the state after the writer's recorded
 * write count (chain-writer.h explains why the check is exact). A copy
 * taken while the writer ran unprotected would hold writes newer than the
 * count it recorded, or older ones, and fail. The writer writes between the
 * pre-arming and the freeze too, so some of its pages are held (read inside
 * the freeze and left writable) and the rest protected again: both must
 * hold the freeze's values. */
#define CW_PAGES	16384u
#define CW_PAUSE_NS	0
#include "chain-writer.h"

CRT_SCENARIO("check --feature uffd_wp_sync; dump -R --snapshot live "
	     "@says=hot_held=; "
	     "kill; restore; verify");
CRT_DAMAGE_FAILS("holds write 0 of page");

int main(int argc, char **argv)
{
	return cw_main(argc, argv);
}
