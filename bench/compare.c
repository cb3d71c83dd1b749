/* compare — tells whether a benchmark run got worse than an earlier one.
 *
 *   compare [--threshold PCT] [--alpha P] OLD.json NEW.json
 *
 * Reads two results files of the same kind: the freeze-time harness's
 * (crisp-harness) or google-benchmark's JSON (crisp-bench
 * --benchmark_format=json --benchmark_repetitions=N). For every metric in
 * both it prints the medians, the change in percent, and the p-value of a
 * two-sided Mann-Whitney U test over the repetitions; then a verdict line.
 * Exit status: 0 no regression, 1 a metric got worse by more than the
 * threshold (default 5 %) with p below alpha (default 0.05), 2 bad input.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stats.h"

struct cmp_metric {
	char *name;
	bool higher_is_better;
	double *values;
	size_t n, cap;
};

struct cmp_set {
	struct cmp_metric *m;
	size_t n, cap;
};

static bool cmp_number(const struct json *j, double *out)
{
	if (!j)
		return false;
	switch (j->type) {
	case JSON_FLOAT: *out = j->d; return true;
	case JSON_INT: *out = (double)j->i; return true;
	case JSON_UINT: *out = (double)j->u; return true;
	default: return false;
	}
}

static struct cmp_metric *cmp_get(struct cmp_set *s, const char *name, bool higher)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		void *p = realloc(s->m, cap * sizeof(*s->m));

		if (!p)
			return NULL;
		s->m = p;
		s->cap = cap;
	}
	s->m[s->n] = (struct cmp_metric){ .name = strdup(name), .higher_is_better = higher };
	if (!s->m[s->n].name)
		return NULL;
	return &s->m[s->n++];
}

static int cmp_add(struct cmp_set *s, const char *name, bool higher, double v)
{
	struct cmp_metric *m = cmp_get(s, name, higher);

	if (!m)
		return -ENOMEM;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		double *p = realloc(m->values, cap * sizeof(double));

		if (!p)
			return -ENOMEM;
		m->values = p;
		m->cap = cap;
	}
	m->values[m->n++] = v;
	return 0;
}

/* The harness's "verified" and anything per second: more is better. */
static bool cmp_higher_is_better(const char *metric)
{
	return strstr(metric, "per_second") || !strcmp(metric, "verified");
}

static int cmp_load_harness(const struct json *results, struct cmp_set *s)
{
	for (size_t i = 0; i < results->len; i++) {
		const struct json *r = results->items[i];
		const struct json *name = json_get(r, "name"), *metric = json_get(r, "metric");
		const struct json *vals = json_get(r, "values");

		if (!name || name->type != JSON_STR || !metric || metric->type != JSON_STR ||
		    !vals || vals->type != JSON_ARR)
			return -EINVAL;
		for (size_t k = 0; k < vals->len; k++) {
			double v;

			if (!cmp_number(vals->items[k], &v) ||
			    cmp_add(s, name->s, cmp_higher_is_better(metric->s), v))
				return -EINVAL;
		}
		if (!vals->len && !cmp_get(s, name->s, cmp_higher_is_better(metric->s)))
			return -ENOMEM;
	}
	return 0;
}

/* google-benchmark: each repetition is an "iteration" entry; aggregates
 * (mean, median, stddev) are skipped. Every numeric field but the
 * bookkeeping ones is a metric. */
static int cmp_load_gbench(const struct json *benchmarks, struct cmp_set *s)
{
	static const char *const skip[] = {
		"family_index", "per_family_instance_index", "repetitions",
		"repetition_index", "threads", "iterations", "cpu_time",
	};
	char name[512];

	for (size_t i = 0; i < benchmarks->len; i++) {
		const struct json *b = benchmarks->items[i];
		const struct json *rn = json_get(b, "run_name"), *rt = json_get(b, "run_type");

		if (!rn)
			rn = json_get(b, "name");
		if (!rn || rn->type != JSON_STR || b->type != JSON_OBJ)
			return -EINVAL;
		if (rt && rt->type == JSON_STR && strcmp(rt->s, "iteration"))
			continue;
		for (size_t k = 0; k < b->len; k++) {
			const char *key = b->keys[k];
			bool skipped = false;
			double v;

			for (size_t q = 0; q < sizeof(skip) / sizeof(skip[0]); q++)
				skipped |= !strcmp(key, skip[q]);
			if (skipped || !cmp_number(b->items[k], &v))
				continue;
			snprintf(name, sizeof(name), "%s/%s", rn->s, key);
			if (cmp_add(s, name, cmp_higher_is_better(key), v))
				return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_load(const char *path, struct cmp_set *s, int *kind)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, err[256];
	size_t len = 0;
	struct json *doc, *arr;
	int ret = -EINVAL;

	if (!f) {
		fprintf(stderr, "compare: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	{
		size_t cap = 0, n;

		do {
			if (cap - len < 65536) {
				char *p = realloc(text, cap + 1048576);

				if (!p) {
					fclose(f);
					free(text);
					return -ENOMEM;
				}
				text = p;
				cap += 1048576;
			}
			n = fread(text + len, 1, cap - len, f);
			len += n;
		} while (n);
	}
	fclose(f);
	doc = json_parse(text, len, err, sizeof(err));
	free(text);
	if (!doc) {
		fprintf(stderr, "compare: %s: %s\n", path, err);
		return -EINVAL;
	}
	if ((arr = json_get(doc, "results")) && arr->type == JSON_ARR) {
		*kind = 1;
		ret = cmp_load_harness(arr, s);
	} else if ((arr = json_get(doc, "benchmarks")) && arr->type == JSON_ARR) {
		*kind = 2;
		ret = cmp_load_gbench(arr, s);
	} else {
		fprintf(stderr, "compare: %s: neither harness results nor google-benchmark output\n", path);
	}
	if (ret == -EINVAL)
		fprintf(stderr, "compare: %s: malformed entry\n", path);
	json_free(doc);
	return ret;
}

static void cmp_free(struct cmp_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].values);
	}
	free(s->m);
}

static const struct cmp_metric *cmp_find(const struct cmp_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	return NULL;
}

struct cmp_opts {
	double threshold_pct, alpha;
};

/* Compares every metric present in both sets; returns the regressions. */
static unsigned int cmp_report(const struct cmp_set *old, const struct cmp_set *new,
			       const struct cmp_opts *o, unsigned int *compared,
			       unsigned int *underpowered)
{
	unsigned int worse = 0;

	printf("%-56s %12s %12s %8s %8s  %s\n", "metric", "old", "new", "change", "p", "verdict");
	for (size_t i = 0; i < new->n; i++) {
		const struct cmp_metric *nm = &new->m[i], *om = cmp_find(old, nm->name);
		struct stats_summary so, sn;
		struct stats_mwu u;
		const char *verdict;

		if (!om || !om->n || !nm->n)
			continue;
		if (stats_summarise(om->values, om->n, &so) || stats_summarise(nm->values, nm->n, &sn) ||
		    stats_mann_whitney(om->values, om->n, nm->values, nm->n, &u))
			continue;
		(*compared)++;
		double change = so.median != 0 ? (sn.median - so.median) / fabs(so.median) * 100
					       : (sn.median != 0 ? INFINITY : 0);
		double bad = nm->higher_is_better ? -change : change;
		/* the smallest p the test can give with these sample sizes */
		struct stats_mwu best;
		double lo[64], hi[64];
		size_t a = om->n < 64 ? om->n : 64, b = nm->n < 64 ? nm->n : 64;

		for (size_t k = 0; k < a; k++)
			lo[k] = (double)k;
		for (size_t k = 0; k < b; k++)
			hi[k] = 1000.0 + (double)k;
		stats_mann_whitney(lo, a, hi, b, &best);
		bool can_tell = best.p < o->alpha;

		if (!can_tell)
			(*underpowered)++;
		if (bad > o->threshold_pct && u.p < o->alpha) {
			verdict = "WORSE";
			worse++;
		} else if (-bad > o->threshold_pct && u.p < o->alpha) {
			verdict = "better";
		} else if (fabs(bad) > o->threshold_pct) {
			verdict = can_tell ? "noise" : "noise (too few runs to tell)";
		} else {
			verdict = "same";
		}
		printf("%-56s %12.4g %12.4g %+7.1f%% %8.3g  %s\n", nm->name, so.median, sn.median,
		       change, u.p, verdict);
	}
	return worse;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmp_opts o = { 5.0, 0.05 };
	struct cmp_set old = { 0 }, new = { 0 };
	unsigned int compared = 0, underpowered = 0, worse;
	int c, kind_old = 0, kind_new = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.threshold_pct = atof(optarg); break;
		case 'a': o.alpha = atof(optarg); break;
		case 'h':
			printf("usage: compare [--threshold PCT] [--alpha P] OLD.json NEW.json\n");
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind != 2 || o.threshold_pct < 0 || o.alpha <= 0 || o.alpha >= 1) {
		fprintf(stderr, "usage: compare [--threshold PCT] [--alpha P] OLD.json NEW.json\n");
		return 2;
	}
	if (cmp_load(argv[optind], &old, &kind_old) || cmp_load(argv[optind + 1], &new, &kind_new)) {
		cmp_free(&old);
		cmp_free(&new);
		return 2;
	}
	if (kind_old != kind_new) {
		fprintf(stderr, "compare: the two files are not of the same kind\n");
		cmp_free(&old);
		cmp_free(&new);
		return 2;
	}
	worse = cmp_report(&old, &new, &o, &compared, &underpowered);
	if (underpowered)
		printf("note: %u metrics have too few repetitions for the test to reach p < %g\n",
		       underpowered, o.alpha);
	if (!compared)
		printf("verdict: nothing to compare (no metric in both files)\n");
	else if (worse)
		printf("verdict: REGRESSION: %u of %u metrics worse by more than %g %% (p < %g)\n",
		       worse, compared, o.threshold_pct, o.alpha);
	else
		printf("verdict: OK: no metric of %u worse by more than %g %% with p < %g\n",
		       compared, o.threshold_pct, o.alpha);
	cmp_free(&old);
	cmp_free(&new);
	return worse ? 1 : (compared ? 0 : 2);
}
