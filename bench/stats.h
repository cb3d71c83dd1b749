/* stats — the statistics behind crisp's benchmark reports and comparisons.
 *
 * Summaries (min/median/max) of repeated measurements, and the two-sided
 * Mann-Whitney U test that `bench/compare` uses to tell a real change from
 * noise. Pure functions over arrays; no I/O, no allocation beyond a scratch
 * copy that they free.
 */
#ifndef CRISP_STATS_H
#define CRISP_STATS_H

#include <stddef.h>

struct stats_summary {
	size_t n;
	double min, median, max, mean;
};

/* Summarises @n values (n may be 0: then everything is 0). Returns 0 or
 * -ENOMEM. */
int stats_summarise(const double *v, size_t n, struct stats_summary *out);

struct stats_mwu {
	double u;		/* U statistic of sample a */
	double p;		/* two-sided p-value */
	int exact;		/* 1: exact distribution, 0: normal approximation */
};

/*
 * Two-sided Mann-Whitney U test of samples @a (@na values) and @b (@nb).
 * Exact p-value (by counting) when both samples are small and have no ties,
 * else the normal approximation with tie and continuity corrections.
 * Returns 0, -EINVAL when a sample is empty, or -ENOMEM.
 */
int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
		       struct stats_mwu *out);

#endif
