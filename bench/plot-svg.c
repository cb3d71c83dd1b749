/* plot-svg — write line plots as SVG (see plot-svg.h). */
#include "plot-svg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define W 880.0
#define H 440.0
#define ML 70.0		/* margins: left, right, top, bottom */
#define MR 300.0
#define MT 40.0
#define MB 50.0

static const char *const plot_colours[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
};

struct plot_frame {
	double x0, x1, y0, y1;
	bool logx;
	bool integral_x;	/* every x is a whole number */
};

static bool plot_point_ok(const struct plot_frame *f, double x, double y)
{
	return isfinite(x) && isfinite(y) && (!f->logx || x > 0);
}

static double plot_px(const struct plot_frame *f, double x)
{
	double a = f->logx ? log2(x) : x, lo = f->logx ? log2(f->x0) : f->x0;
	double hi = f->logx ? log2(f->x1) : f->x1;

	return ML + (hi > lo ? (a - lo) / (hi - lo) : 0.5) * (W - ML - MR);
}

static double plot_py(const struct plot_frame *f, double y)
{
	return H - MB - (f->y1 > f->y0 ? (y - f->y0) / (f->y1 - f->y0) : 0.5) * (H - MT - MB);
}

/* A round step giving about @n ticks over @span. */
static double plot_step(double span, int n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw))), r = raw / mag;

	return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void plot_text(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

static int plot_find_frame(const struct plot *p, struct plot_frame *f)
{
	size_t count = 0;

	f->logx = p->logx;
	f->integral_x = true;
	f->x0 = f->y0 = INFINITY;
	f->x1 = f->y1 = -INFINITY;
	for (size_t s = 0; s < p->nseries; s++)
		for (size_t i = 0; i < p->series[s].n; i++) {
			double x = p->series[s].x[i], y = p->series[s].y[i];

			if (!plot_point_ok(f, x, y))
				continue;
			count++;
			if (x != floor(x))
				f->integral_x = false;
			f->x0 = fmin(f->x0, x);
			f->x1 = fmax(f->x1, x);
			f->y1 = fmax(f->y1, y);
		}
	if (!count)
		return -EINVAL;
	f->y0 = 0;
	f->y1 = f->y1 > 0 ? f->y1 * 1.1 : 1;
	return 0;
}

static void plot_axes(const struct plot *p, const struct plot_frame *f, FILE *out)
{
	double step = plot_step(f->y1 - f->y0, 6);

	fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='black'/>\n",
		ML, H - MB, W - MR, H - MB);
	fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='black'/>\n",
		ML, MT, ML, H - MB);
	for (double y = f->y0; y <= f->y1 + step / 1e6; y += step) {
		double py = plot_py(f, y);

		fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n",
			ML, py, W - MR, py);
		fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%g</text>\n",
			ML - 6, py + 4, y);
	}
	if (f->logx) {
		for (double x = exp2(floor(log2(f->x0))); x <= f->x1 * 1.0001; x *= 2)
			if (x >= f->x0 / 1.0001)
				fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%g</text>\n",
					plot_px(f, x), H - MB + 16, x);
	} else {
		double xs = plot_step(f->x1 - f->x0 > 0 ? f->x1 - f->x0 : 1, 8);

		if (xs < 1 && f->integral_x)
			xs = 1;	/* rounds, counts: no tick between two integers */

		for (double x = ceil(f->x0 / xs) * xs; x <= f->x1 + xs / 1e6; x += xs)
			fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%g</text>\n",
				plot_px(f, x), H - MB + 16, x);
	}
	fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>", (ML + W - MR) / 2, H - 10);
	plot_text(out, p->xlabel);
	fprintf(out, "</text>\n<text x='16' y='%.1f' text-anchor='middle' font-size='12' "
		"transform='rotate(-90 16 %.1f)'>", (MT + H - MB) / 2, (MT + H - MB) / 2);
	plot_text(out, p->ylabel);
	fprintf(out, "</text>\n<text x='%.1f' y='24' text-anchor='middle' font-size='14'>", W / 2);
	plot_text(out, p->title);
	fprintf(out, "</text>\n");
}

static void plot_series_draw(const struct plot_series *s, const struct plot_frame *f,
			     const char *colour, size_t idx, FILE *out)
{
	fprintf(out, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colour);
	for (size_t i = 0; i < s->n; i++)
		if (plot_point_ok(f, s->x[i], s->y[i]))
			fprintf(out, "%.1f,%.1f ", plot_px(f, s->x[i]), plot_py(f, s->y[i]));
	fprintf(out, "'/>\n");
	for (size_t i = 0; i < s->n; i++)
		if (plot_point_ok(f, s->x[i], s->y[i]))
			fprintf(out, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n",
				plot_px(f, s->x[i]), plot_py(f, s->y[i]), colour);
	fprintf(out, "<rect x='%.1f' y='%.1f' width='12' height='12' fill='%s'/>"
		"<text x='%.1f' y='%.1f' font-size='12'>", W - MR + 14, MT + 20.0 * (double)idx,
		colour, W - MR + 32, MT + 20.0 * (double)idx + 10);
	plot_text(out, s->name);
	fprintf(out, "</text>\n");
}

int plot_svg_write(const struct plot *p, FILE *out)
{
	struct plot_frame f;

	if (plot_find_frame(p, &f))
		return -EINVAL;
	fprintf(out, "<?xml version='1.0' encoding='UTF-8'?>\n"
		"<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
		"font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n", W, H);
	plot_axes(p, &f, out);
	for (size_t s = 0; s < p->nseries; s++)
		plot_series_draw(&p->series[s], &f,
				 plot_colours[s % (sizeof(plot_colours) / sizeof(plot_colours[0]))], s, out);
	fprintf(out, "</svg>\n");
	return ferror(out) ? -EIO : 0;
}
