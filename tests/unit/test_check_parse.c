/* Unit tests of the parsing behind `crisp check`: capability masks from
 * /proc/PID/status, pagemap bits, the dirty-tracking choice, feature names. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "unit.h"

static void test_cap_eff(void)
{
	uint64_t caps = 0;

	CHECK_INT(check_parse_cap_eff("Name:\tx\nCapInh:\t0000000000000000\n"
				      "CapPrm:\t000001ffffffffff\n"
				      "CapEff:\t000001fffeffffff\nCapBnd:\t0\n", &caps), 0);
	CHECK(caps == 0x000001fffeffffffULL);
	CHECK(!(caps & (1ULL << 24)));	/* CAP_SYS_RESOURCE dropped */
	CHECK(caps & (1ULL << 40));	/* CAP_CHECKPOINT_RESTORE */

	CHECK_INT(check_parse_cap_eff("CapEff:\t0000000000000000", &caps), 0);
	CHECK(caps == 0);
	CHECK_INT(check_parse_cap_eff("CapEff: 00000000a80425fb\n", &caps), 0);
	CHECK(caps == 0xa80425fbULL);
	CHECK_INT(check_parse_cap_eff("Name:\tx\n", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("CapEff:\tzz\n", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("CapEff:\t12x4\n", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("CapEff:\t\n", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("XCapEff:\t1\n", &caps), -EINVAL);
	CHECK_INT(check_parse_cap_eff("CapEff:\t11111111111111111111111\n", &caps), -EINVAL);
}

static void test_soft_dirty_bit(void)
{
	uint64_t v;
	unsigned char e[8];

	v = (1ULL << 63) | (1ULL << 55) | 0x1234;
	memcpy(e, &v, 8);
	CHECK(check_pagemap_soft_dirty(e));
	v = (1ULL << 63) | 0x1234;
	memcpy(e, &v, 8);
	CHECK(!check_pagemap_soft_dirty(e));
}

static void test_dirty_mode(void)
{
	CHECK_STR(check_dirty_mode(true, true, false), "uffd-wp-async");
	CHECK_STR(check_dirty_mode(true, true, true), "uffd-wp-async");
	CHECK_STR(check_dirty_mode(true, false, true), "soft-dirty");
	CHECK_STR(check_dirty_mode(false, true, true), "soft-dirty");
	CHECK_STR(check_dirty_mode(false, true, false), "full-copy");
	CHECK_STR(check_dirty_mode(false, false, false), "full-copy");
}

static void test_feature_names(void)
{
	CHECK(check_find_probe("mem_dirty_track") != NULL);
	CHECK_STR(check_find_probe("mem_dirty_track")->name, "mem_dirty_track");
	CHECK_STR(check_find_probe("uffd-noncoop")->name, "uffd_noncoop");
	CHECK_STR(check_find_probe("uffd")->name, "uffd");
	CHECK_STR(check_find_probe("clone3_set_tid")->name, "clone3_set_tid");
	CHECK_STR(check_find_probe("pidfd_store")->name, "pidfd");
	CHECK_STR(check_find_probe("timens")->name, "timens");
	CHECK_STR(check_find_probe("pagemap_scan")->name, "pagemap_scan");
	CHECK(check_find_probe("no_such_feature") == NULL);
	CHECK(check_find_probe("") == NULL);

	/* every probe has a runner and a distinct name */
	for (const struct check_probe *p = check_probes; p->name; p++) {
		CHECK(p->run != NULL);
		CHECK(check_find_probe(p->name) == p);
	}
}

int main(void)
{
	test_cap_eff();
	test_soft_dirty_bit();
	test_dirty_mode();
	test_feature_names();
	return unit_summary("check-parse");
}
