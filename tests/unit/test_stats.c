/* Unit tests of bench/stats: summaries and Mann-Whitney U p-values checked
 * against values computed by hand from the exact distribution. */
#include <errno.h>
#include <math.h>

#include "stats.h"
#include "unit.h"

#define CHECK_NEAR(got, want, tol)                                            \
	UNIT_RECORD(fabs((got) - (want)) <= (tol), "%s = %.6f, expected %.6f", \
		    #got, (double)(got), (double)(want))

static void test_summary(void)
{
	const double v[] = { 5, 1, 4, 2, 3 };
	const double w[] = { 10, 2, 8, 4 };
	struct stats_summary s;

	CHECK_INT(stats_summarise(v, 5, &s), 0);
	CHECK_NEAR(s.min, 1, 0);
	CHECK_NEAR(s.max, 5, 0);
	CHECK_NEAR(s.median, 3, 0);
	CHECK_NEAR(s.mean, 3, 1e-12);
	CHECK_INT(stats_summarise(w, 4, &s), 0);
	CHECK_NEAR(s.median, 6, 0);
	CHECK_INT(stats_summarise(v, 0, &s), 0);
	CHECK_INT(s.n, 0);
}

static void test_mwu_exact(void)
{
	/* completely separated 5 vs 5: U = 0, P(U <= 0) = 1/252, two-sided 2/252 */
	const double a[] = { 1, 2, 3, 4, 5 }, b[] = { 6, 7, 8, 9, 10 };
	struct stats_mwu r;

	CHECK_INT(stats_mann_whitney(a, 5, b, 5, &r), 0);
	CHECK(r.exact);
	CHECK_NEAR(r.u, 0, 0);
	CHECK_NEAR(r.p, 2.0 / 252, 1e-12);
	/* symmetric: b vs a gives U = 25 and the same p */
	CHECK_INT(stats_mann_whitney(b, 5, a, 5, &r), 0);
	CHECK_NEAR(r.u, 25, 0);
	CHECK_NEAR(r.p, 2.0 / 252, 1e-12);

	/* 3 vs 3, one swap: a = {1,2,4}, b = {3,5,6}: U = 1;
	 * arrangements with U <= 1 are 2 of 20, two-sided p = 0.2 */
	const double c[] = { 1, 2, 4 }, d[] = { 3, 5, 6 };

	CHECK_INT(stats_mann_whitney(c, 3, d, 3, &r), 0);
	CHECK_NEAR(r.u, 1, 0);
	CHECK_NEAR(r.p, 0.2, 1e-12);

	/* interleaved: no evidence */
	const double e[] = { 1, 3, 5, 7, 9 }, f[] = { 2, 4, 6, 8, 10 };

	CHECK_INT(stats_mann_whitney(e, 5, f, 5, &r), 0);
	CHECK(r.p > 0.5);
}

static void test_mwu_ties_and_edges(void)
{
	const double a[] = { 1, 1, 1 }, b[] = { 1, 1, 1 };
	const double c[] = { 1, 2, 2, 3 }, d[] = { 2, 3, 4, 4 };
	struct stats_mwu r;

	CHECK_INT(stats_mann_whitney(a, 3, b, 3, &r), 0);
	CHECK(!r.exact);
	CHECK_NEAR(r.p, 1, 0);
	CHECK_INT(stats_mann_whitney(c, 4, d, 4, &r), 0);
	CHECK(!r.exact);
	CHECK(r.p > 0.05 && r.p < 1);
	CHECK_INT(stats_mann_whitney(a, 0, b, 3, &r), -EINVAL);
	CHECK_INT(stats_mann_whitney(a, 3, b, 0, &r), -EINVAL);
}

static void test_mwu_large(void)
{
	double a[40], b[40];
	struct stats_mwu r;

	/* 40 vs 40, shifted by a tenth of the spread: normal approximation.
	 * 630 pairs with b < a plus 36 tied pairs at one half each: U = 648;
	 * mean 800, var = 1600/12 * (81 - 216/6320),
	 * z = (152 - 0.5) / sqrt(var) = 1.4582, p = erfc(z / sqrt 2) = 0.1448 */
	for (int i = 0; i < 40; i++) {
		a[i] = 100 + i;
		b[i] = 104 + i;
	}
	CHECK_INT(stats_mann_whitney(a, 40, b, 40, &r), 0);
	CHECK(!r.exact);
	CHECK_NEAR(r.u, 648, 0);
	CHECK_NEAR(r.p, 0.1448, 0.0005);
	for (int i = 0; i < 40; i++)
		b[i] = 150 + i;
	CHECK_INT(stats_mann_whitney(a, 40, b, 40, &r), 0);
	CHECK(r.p < 1e-6);
}

int main(void)
{
	test_summary();
	test_mwu_exact();
	test_mwu_ties_and_edges();
	test_mwu_large();
	return unit_summary("stats");
}
