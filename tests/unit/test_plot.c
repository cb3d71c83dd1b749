/* Unit tests of the SVG plot writer: every finite point is drawn, bad ones
 * are left out, text is escaped, and an empty plot is refused. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "plot-svg.h"
#include "unit.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_plot(void)
{
	const double x[] = { 64, 256, 1024, 4096 }, y1[] = { 1.5, 2.0, 2.2, NAN };
	const double y2[] = { 10, 40, 160, 640 };
	const struct plot_series s[] = {
		{ "crisp <dump -R>", x, y1, 4 },
		{ "engine & co", x, y2, 4 },
	};
	struct plot p = { "freeze vs size", "MiB", "ms", true, s, 2 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_INT(plot_svg_write(&p, f), 0);
	fclose(f);
	CHECK_CONTAINS(buf, "<svg");
	CHECK_CONTAINS(buf, "</svg>");
	CHECK_INT(count(buf, "<polyline"), 2);
	CHECK_INT(count(buf, "<circle"), 7);	/* the NaN point is left out */
	CHECK_CONTAINS(buf, "crisp &lt;dump -R&gt;");
	CHECK_CONTAINS(buf, "engine &amp; co");
	CHECK_CONTAINS(buf, ">4096<");
	free(buf);
}

static void test_empty(void)
{
	const double x[] = { 0, -1 }, y[] = { 1, 2 };
	const struct plot_series s[] = { { "none", x, y, 2 } };
	struct plot p = { "t", "x", "y", true, s, 1 };
	FILE *f = fopen("/dev/null", "w");

	CHECK_INT(plot_svg_write(&p, f), -EINVAL);	/* log axis: x <= 0 left out */
	p.logx = false;
	CHECK_INT(plot_svg_write(&p, f), 0);
	fclose(f);
}

int main(void)
{
	test_plot();
	test_empty();
	return unit_summary("plot");
}
