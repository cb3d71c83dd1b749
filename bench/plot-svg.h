/* plot-svg — line plots as standalone SVG files, for the benchmark reports.
 *
 * Draws one or more series of (x, y) points with axes, ticks, a title and a
 * legend. Knows nothing of benchmarks; never reads files.
 */
#ifndef CRISP_PLOT_SVG_H
#define CRISP_PLOT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct plot_series {
	const char *name;
	const double *x, *y;
	size_t n;
};

struct plot {
	const char *title, *xlabel, *ylabel;
	bool logx;		/* x on a log2 axis (memory sizes) */
	const struct plot_series *series;
	size_t nseries;
};

/*
 * Writes @p as an SVG document to @out. Points with a non-finite value, or
 * x <= 0 on a log axis, are left out. Returns 0, or -EINVAL when there is
 * no point to draw, or -EIO when writing fails.
 */
int plot_svg_write(const struct plot *p, FILE *out);

#endif
