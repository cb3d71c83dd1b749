/* With --leave-running the original keeps counting and verifies itself
 * (then exits, freeing its PID); the copy restored from the same images
 * continues from the dump with counters that agree and the same PID. */
#include "counting-task.h"

CRT_SCENARIO("dump -R; verify; restore; verify");
CRT_DAMAGE_FAILS("multiple counter is");

int main(int argc, char **argv)
{
	return ct_main(argc, argv);
}
