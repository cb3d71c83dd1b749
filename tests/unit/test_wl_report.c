/* Unit tests of the workload report parser and the freeze-in-window rule. */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "wl-report.h"

static void test_parse_good(void)
{
	const char *t = "pid 42\nnow_ns 5000\nmax_gap_ns 900\nwrites 10 20\n"
			"gap 1000 300\ngap 2000 900\ngap 4000 250\n";
	struct wl_report r;
	unsigned int bad;

	CHECK_INT(wl_report_parse(t, strlen(t), &r, &bad), 0);
	CHECK_INT(r.pid, 42);
	CHECK_INT(r.now_ns, 5000);
	CHECK_INT(r.nwriters, 2);
	CHECK_INT(r.writes[1], 20);
	CHECK_INT(r.ngaps, 3);
	/* a window holding only the second gap */
	CHECK_INT(wl_report_freeze_in(&r, 1900, 2100), 900);
	/* a gap that began before the window and lasted into it counts */
	CHECK_INT(wl_report_freeze_in(&r, 1200, 1250), 300);
	CHECK_INT(wl_report_freeze_in(&r, 3000, 3500), 0);
	CHECK_INT(wl_report_freeze_in(&r, 0, 10000), 900);
	wl_report_free(&r);

	/* each gap may say what the spinner saw of it */
	t = "pid 7\ngap 1000 300 stopped\ngap 2000 900 waited\ngap 4000 250 unseen\n"
	    "gap 5000 400 stopped\ngap 6000 999\n";
	CHECK_INT(wl_report_parse(t, strlen(t), &r, &bad), 0);
	CHECK_INT(r.ngaps, 5);
	CHECK_INT(r.gaps[0].kind, WL_GAP_KIND_STOPPED);
	CHECK_INT(r.gaps[2].kind, WL_GAP_KIND_UNSEEN);
	CHECK_INT(r.gaps[4].kind, WL_GAP_KIND_UNKNOWN);
	CHECK_INT(wl_report_freeze_in(&r, 0, 10000), 999);
	CHECK_INT(wl_report_gap_in(&r, 0, 10000, WL_GAP_KIND_STOPPED), 400);
	CHECK_INT(wl_report_gap_in(&r, 0, 4500, WL_GAP_KIND_STOPPED), 300);
	CHECK_INT(wl_report_gap_in(&r, 0, 10000, WL_GAP_KIND_WAITED), 900);
	CHECK_INT(wl_report_gap_in(&r, 0, 10000, WL_GAP_KIND_UNSEEN), 250);
	CHECK_INT(wl_report_gap_in(&r, 3000, 3500, WL_GAP_KIND_WAITED), 0);
	/* within: only gaps that began after the start and ended by the end */
	CHECK_INT(wl_report_gap_within(&r, 1100, 10000), 999);
	CHECK_INT(wl_report_gap_within(&r, 1100, 5400), 900);
	CHECK_INT(wl_report_gap_within(&r, 2000, 5399), 250);
	CHECK_INT(wl_report_gap_within(&r, 4000, 4249), 0);
	wl_report_free(&r);

	/* no trailing newline, no gaps */
	CHECK_INT(wl_report_parse("pid 1\nwrites 5", 14, &r, &bad), 0);
	CHECK_INT(r.writes[0], 5);
	CHECK_INT(r.ngaps, 0);
	wl_report_free(&r);
}

static void test_parse_bad(void)
{
	static const struct { const char *text; unsigned int line; } cases[] = {
		{ "pid x\n", 1 },
		{ "pid 1\ngap 5\n", 2 },
		{ "pid 1\ngap 5 6 7\n", 2 },
		{ "pid 1\ngap 5 6 frozen\n", 2 },
		{ "pid 1\ngap 5 6 stopped x\n", 2 },
		{ "pid 1\ngap 5 6 stoppedx\n", 2 },
		{ "pid 1\nfrob 3\n", 2 },
		{ "pid 1\nnow_ns 99999999999999999999999\n", 2 },
		{ "now_ns 5\n", 2 },	/* no pid at all */
		{ "pid 1\nwrites 1 2 a\n", 2 },
		{ "", 1 },
	};
	struct wl_report r;
	unsigned int bad;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(wl_report_parse(cases[i].text, strlen(cases[i].text), &r, &bad), -EINVAL);
		CHECK_INT(bad, cases[i].line);
	}
}

int main(void)
{
	test_parse_good();
	test_parse_bad();
	return unit_summary("wl-report");
}
