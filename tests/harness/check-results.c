/* check-results — the results.json checks of the harness-fake test: every
 * scenario wrote its series, the freeze the workload saw is at least the
 * fake engine's SIGSTOP time, the restored workload verified, the log-cost
 * series are complete, the --baseline series are there, the machine and
 * revision are described.
 *
 *   check-results RESULTS.JSON FREEZE_MS_MIN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tdrv.h"

/* The first series of @scenario/@metric/@round, or NULL (reported). */
static const struct json *series(struct tdrv_checks *c, const struct json *res,
				 const char *scenario, const char *metric, int round)
{
	for (size_t i = 0; res && res->type == JSON_ARR && i < res->len; i++) {
		const struct json *r = res->items[i];
		const char *sc = tdrv_json_str(json_get(r, "scenario"));
		const char *m = tdrv_json_str(json_get(r, "metric"));
		double rd;

		if (sc && m && !strcmp(sc, scenario) && !strcmp(m, metric) &&
		    tdrv_json_num(json_get(r, "round"), &rd) && rd == round)
			return r;
	}
	tdrv_ok(c, false, "missing series %s/%s/r%d", scenario, metric, round);
	return NULL;
}

/* The values array of @s when it has exactly @n numbers, into @v. */
static bool values(const struct json *s, size_t n, double *v)
{
	const struct json *a = json_get(s, "values");

	if (!a || a->type != JSON_ARR || a->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!tdrv_json_num(a->items[i], &v[i]))
			return false;
	return true;
}

static void check_freeze(struct tdrv_checks *c, const struct json *res, double min_ms)
{
	static const struct { const char *sc, *metric; int rounds[3]; int n; } want[] = {
		{ "dump-R", "freeze_ms", { 0 }, 1 }, { "pre-dump", "freeze_ms", { 1, 2, 3 }, 3 },
		{ "live", "freeze_ms_live", { 0 }, 1 }, { "live", "freeze_ms_frozen", { 0 }, 1 },
	};

	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		for (int k = 0; k < want[w].n; k++) {
			const struct json *s = series(c, res, want[w].sc, want[w].metric,
						      want[w].rounds[k]);
			double v[2] = { -1, -1 };
			bool two = s && values(s, 2, v);

			if (s)
				tdrv_ok(c, two && v[0] >= min_ms && v[1] >= min_ms,
					"%s round %d: freeze %s[%g, %g] should be >= %g ms twice",
					want[w].sc, want[w].rounds[k], two ? "" : "(not 2 values) ",
					v[0], v[1], min_ms);
		}
	}
}

/* --baseline: a series beside every freeze, one value per repetition. */
static void check_baseline(struct tdrv_checks *c, const struct json *res)
{
	static const struct { const char *sc, *metric; int round; } want[] = {
		{ "dump-R", "baseline_ms", 0 },		{ "pre-dump", "baseline_ms", 1 },
		{ "pre-dump", "baseline_ms", 3 },	{ "live", "baseline_ms_live", 0 },
		{ "live", "baseline_ms_frozen", 0 },	{ "log-cost", "baseline_ms_v4", 0 },
	};

	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		const struct json *s = series(c, res, want[w].sc, want[w].metric, want[w].round);
		double v[2] = { -1, -1 };

		if (s)
			tdrv_ok(c, values(s, 2, v) && v[0] >= 0 && v[1] >= 0,
				"%s %s: not two values", want[w].sc, want[w].metric);
	}
}

int main(int argc, char **argv)
{
	static const char *const log_cost[] = { "freeze_ms_v0", "freeze_ms_v4", "wall_ms_v0",
						"wall_ms_v4" };
	struct tdrv_checks c = { 0 };
	const struct json *res, *s;
	struct json *doc = NULL;
	double v[2], cpus;
	size_t len;
	char *text;

	if (argc != 3) {
		fprintf(stderr, "usage: check-results RESULTS.JSON FREEZE_MS_MIN\n");
		return 2;
	}
	if (!tdrv_read_file(argv[1], &text, &len)) {
		doc = tdrv_json_parse(text, len);
		free(text);
	}
	res = json_get(doc, "results");
	if (!tdrv_ok(&c, res && res->type == JSON_ARR, "%s: no results array", argv[1]))
		return 1;
	/* SIGSTOP takes effect a little after kill() returns: the caller allows 10 % */
	check_freeze(&c, res, strtod(argv[2], NULL));
	check_baseline(&c, res);
	s = series(&c, res, "dump", "verified", 0);
	if (s)
		tdrv_ok(&c, values(s, 2, v) && v[0] == 1 && v[1] == 1, "dump: not verified twice");
	s = series(&c, res, "pre-dump", "verified", 3);
	if (s)
		tdrv_ok(&c, values(s, 2, v) && v[0] == 1 && v[1] == 1,
			"pre-dump: not verified twice");
	for (size_t i = 0; i < 4; i++) {
		s = series(&c, res, "log-cost", log_cost[i], 0);
		if (s) {
			const struct json *a = json_get(s, "values");

			tdrv_ok(&c, a && a->type == JSON_ARR && a->len == 2, "log-cost %s incomplete",
				log_cost[i]);
		}
	}
	const struct json *rev = json_get(doc, "git_revision");
	tdrv_ok(&c, tdrv_json_num(json_get(json_get(doc, "machine"), "cpus"), &cpus) && cpus >= 1 &&
		tdrv_json_str(rev) && rev->len, "machine description or revision missing");
	if (!c.failures)
		printf("results.json checks out: %zu series\n", res->len);
	json_free(doc);
	return tdrv_summary(&c, "check-results");
}
