/* The harness must notice a scenario whose state differs: this one changes
 * its own memory and must be reported as failing with that message. */
#include <stdint.h>

#include "crtest.h"

CRT_SCENARIO("check; verify");
CRT_EXPECT_FAIL("word 7 is 0xdead, expected 0x7");

static volatile uint32_t words[16];

int main(int argc, char **argv)
{
	crt_init(argc, argv);
	for (uint32_t i = 0; i < 16; i++)
		words[i] = i;
	crt_ready();
	crt_wait_verify();
	words[7] = 0xdead;	/* what a broken restore would look like */
	for (uint32_t i = 0; i < 16; i++)
		if (words[i] != i)
			crt_fail("word %u is %#x, expected %#x", i, words[i], i);
	return crt_finish();
}
