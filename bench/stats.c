/* stats — summaries and the Mann-Whitney U test (see stats.h). */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATS_EXACT_MAX 30	/* per sample, for the exact distribution */

static int stats_cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

int stats_summarise(const double *v, size_t n, struct stats_summary *out)
{
	double *s, sum = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), stats_cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	out->min = s[0];
	out->max = s[n - 1];
	out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	out->mean = sum / (double)n;
	free(s);
	return 0;
}

struct stats_ranked {
	double v;
	int from_a;
};

static int stats_cmp_ranked(const void *x, const void *y)
{
	return stats_cmp_double(&((const struct stats_ranked *)x)->v,
				&((const struct stats_ranked *)y)->v);
}

/*
 * P(U <= u) under the null hypothesis for sample sizes m and n without
 * ties: counts the arrangements with each U by the classic recurrence
 * c(m, n, u) = c(m-1, n, u-n) + c(m, n-1, u), built up row by row.
 */
static double stats_exact_cdf(size_t m, size_t n, double u)
{
	size_t umax = m * n, k = (size_t)floor(u);
	/* table[i][j][*]: too big for the stack in general; keep two layers */
	double *prev, *cur, total = 0, below = 0;
	size_t stride = umax + 1;
	int ret = 0;

	prev = calloc((n + 1) * stride, sizeof(double));
	cur = calloc((n + 1) * stride, sizeof(double));
	if (!prev || !cur) {
		ret = -1;
		goto out;
	}
	/* i = 0 samples of a: one arrangement, U = 0, whatever j */
	for (size_t j = 0; j <= n; j++)
		prev[j * stride] = 1;
	for (size_t i = 1; i <= m; i++) {
		memset(cur, 0, (n + 1) * stride * sizeof(double));
		cur[0] = 1;	/* j = 0: U = 0 */
		for (size_t j = 1; j <= n; j++)
			for (size_t w = 0; w <= i * j; w++) {
				double c = cur[(j - 1) * stride + w];

				if (w >= j)
					c += prev[j * stride + w - j];
				cur[j * stride + w] = c;
			}
		double *t = prev;
		prev = cur;
		cur = t;
	}
	for (size_t w = 0; w <= umax; w++) {
		total += prev[n * stride + w];
		if (w <= k)
			below += prev[n * stride + w];
	}
out:
	free(prev);
	free(cur);
	return ret ? -1 : below / total;
}

int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
		       struct stats_mwu *out)
{
	size_t n = na + nb;
	struct stats_ranked *r;
	double rank_sum_a = 0, tie_term = 0;
	int ties = 0;

	memset(out, 0, sizeof(*out));
	if (!na || !nb)
		return -EINVAL;
	r = malloc(n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < na; i++)
		r[i] = (struct stats_ranked){ a[i], 1 };
	for (size_t i = 0; i < nb; i++)
		r[na + i] = (struct stats_ranked){ b[i], 0 };
	qsort(r, n, sizeof(*r), stats_cmp_ranked);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && r[j + 1].v == r[i].v)
			j++;
		double rank = (double)(i + j) / 2 + 1, t = (double)(j - i + 1);

		if (t > 1) {
			ties = 1;
			tie_term += t * t * t - t;
		}
		for (size_t k = i; k <= j; k++)
			if (r[k].from_a)
				rank_sum_a += rank;
		i = j + 1;
	}
	free(r);

	double m = (double)na, k = (double)nb;
	double u = rank_sum_a - m * (m + 1) / 2;
	double mean = m * k / 2;

	out->u = u;
	if (!ties && na <= STATS_EXACT_MAX && nb <= STATS_EXACT_MAX) {
		double lo = u < mean ? u : m * k - u;	/* the smaller tail */
		double p = stats_exact_cdf(na, nb, lo);

		if (p < 0)
			return -ENOMEM;
		out->p = fmin(1.0, 2 * p);
		out->exact = 1;
		return 0;
	}
	double nn = m + k;
	double var = m * k / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)));

	if (var <= 0) {
		out->p = 1;	/* every value equal: no evidence of a change */
		return 0;
	}
	double z = (fabs(u - mean) - 0.5) / sqrt(var);

	if (z < 0)
		z = 0;
	out->p = fmin(1.0, erfc(z / sqrt(2)));
	return 0;
}
