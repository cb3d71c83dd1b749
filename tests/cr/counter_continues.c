/* A counting loop keeps its counters in registers across the checkpoint;
 * after restore it carries on, and the counters still agree with each other
 * (each has a closed form in the iteration count) and with the saved PID. */
#include "counting-task.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("multiple counter is");

int main(int argc, char **argv)
{
	return ct_main(argc, argv);
}
