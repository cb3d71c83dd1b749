/* crisp-harness — the freeze-time benchmark harness's command line and its
 * matrix loop (see harness.h). Runs as a subreaper so that every task it
 * starts, restored or not, is reaped here.
 *
 *   crisp-harness [--engine PATH]... [--sizes 64,256,1024] [--rates 8]
 *                 [--scenarios dump-R,dump,pre-dump,log-cost,live] [--reps 5]
 *                 [--rounds 5] [--dir DIR] [--json FILE] [--plot PREFIX]
 *                 [--quick] [--keep]
 */
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const hx_names[HX_NSCENARIOS] = {
	[HX_DUMP_R] = "dump-R",
	[HX_DUMP_KILL] = "dump",
	[HX_PREDUMP] = "pre-dump",
	[HX_LOGCOST] = "log-cost",
	[HX_LIVE] = "live",
};

const char *hx_scenario_name(enum hx_scenario s)
{
	return s < HX_NSCENARIOS ? hx_names[s] : "?";
}

int hx_scenario_parse(const char *name)
{
	for (int i = 0; i < HX_NSCENARIOS; i++)
		if (!strcmp(name, hx_names[i]))
			return i;
	return -EINVAL;
}

static struct hx_series *hx_find(struct hx_results *r, unsigned int engine, enum hx_scenario sc,
				 unsigned int size, double rate, unsigned int round,
				 const char *metric)
{
	for (size_t i = 0; i < r->n; i++) {
		struct hx_series *s = &r->s[i];

		if (s->engine == engine && s->scenario == sc && s->size_mib == size &&
		    s->rate_mbps == rate && s->round == round && !strcmp(s->metric, metric))
			return s;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		void *ns = realloc(r->s, cap * sizeof(*r->s));

		if (!ns)
			return NULL;
		r->s = ns;
		r->cap = cap;
	}
	r->s[r->n] = (struct hx_series){ .engine = engine, .scenario = sc, .size_mib = size,
					 .rate_mbps = rate, .round = round, .metric = metric };
	return &r->s[r->n++];
}

int hx_record(struct hx_results *r, unsigned int engine, enum hx_scenario sc,
	      unsigned int size, double rate, unsigned int round, const char *metric,
	      double value)
{
	struct hx_series *s = hx_find(r, engine, sc, size, rate, round, metric);

	if (!s)
		return -ENOMEM;
	if (s->nvalues == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		double *nv = realloc(s->values, cap * sizeof(double));

		if (!nv)
			return -ENOMEM;
		s->values = nv;
		s->cap = cap;
	}
	s->values[s->nvalues++] = value;
	return 0;
}

int hx_record_failure(struct hx_results *r, unsigned int engine, enum hx_scenario sc,
		      unsigned int size, double rate, unsigned int round, const char *metric)
{
	struct hx_series *s = hx_find(r, engine, sc, size, rate, round, metric);

	if (!s)
		return -ENOMEM;
	s->failures++;
	return 0;
}

void hx_results_free(struct hx_results *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->s[i].values);
	free(r->s);
	memset(r, 0, sizeof(*r));
}

/* Parses "a,b,c" into @out (at most HX_MAX_LIST). Returns the count or -1. */
static int hx_parse_list(const char *arg, double *out, double min, double max)
{
	char buf[256], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		double v = strtod(t, &end);

		if (*end || v < min || v > max || n == HX_MAX_LIST)
			return -1;
		out[n++] = v;
	}
	return n ? n : -1;
}

/* A file next to this executable, or in @rel from its folder. */
static char *hx_beside_me(const char *rel)
{
	char self[PATH_MAX], *slash, *out;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if (asprintf(&out, "%s/%s", self, rel) < 0)
		return NULL;
	return out;
}

static void hx_usage(FILE *f)
{
	fprintf(f,
		"usage: crisp-harness [options]\n"
		"  --engine PATH     an engine with a CRIU-compatible command line; repeat to\n"
		"                    compare engines in the same run (default: this build's crisp)\n"
		"  --workload PATH   the workload program (default: crisp-workload beside me)\n"
		"  --sizes LIST      touched memory in MiB (default 64,256,1024)\n"
		"  --rates LIST      dirtying rates in MB/s (default 8)\n"
		"  --scenarios LIST  dump-R, dump (kill, then restore), pre-dump, log-cost,\n"
		"                    live (dump -R --snapshot live vs frozen; crisp only)\n"
		"                    (default: all)\n"
		"  --reps N          repetitions of each measurement (default 5)\n"
		"  --rounds N        pre-dumps before the final dump (default 5)\n"
		"  --timeout SEC     per engine command (default 600)\n"
		"  --dir DIR         work directory (default: a new one under TMPDIR or /tmp)\n"
		"  --json FILE       results (default DIR/results.json)\n"
		"  --plot PREFIX     SVG plots PREFIX-by-size.svg, PREFIX-by-round.svg\n"
		"                    (default DIR/freeze)\n"
		"  --quick           64 MiB only, 2 repetitions, 2 rounds\n"
		"  --keep            keep every repetition's images and logs\n"
		"  --baseline        after each measured engine command, wait as long again\n"
		"                    (at most 10 s) with no engine running and record the\n"
		"                    task's longest gap then (baseline_ms): this machine's\n"
		"                    own noise at the scale of that command\n"
		"  --settle SEC      after the workload has touched its memory, wait this\n"
		"                    long before the first engine command (default 3): the\n"
		"                    machine may still be settling from that (a fresh\n"
		"                    workload is no long-running service)\n"
		"  --verbosity N     log level of the engine's commands, 0..4 (default 0;\n"
		"                    log-cost always compares 0 with 4)\n");
}

static int hx_parse(int argc, char **argv, struct hx_config *c, const char **json,
		    const char **plot)
{
	static const struct option lo[] = {
		{ "engine", required_argument, NULL, 'e' }, { "workload", required_argument, NULL, 'w' },
		{ "sizes", required_argument, NULL, 's' }, { "rates", required_argument, NULL, 'r' },
		{ "scenarios", required_argument, NULL, 'S' }, { "reps", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'R' }, { "timeout", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'd' }, { "json", required_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' }, { "quick", no_argument, NULL, 'q' },
		{ "keep", no_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
		{ "verbosity", required_argument, NULL, 'v' },
		{ "baseline", no_argument, NULL, 'b' },
		{ "settle", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	double list[HX_MAX_LIST];
	bool any_scenario = false;
	int ch, n;

	c->nsizes = 3;
	c->sizes[0] = 64, c->sizes[1] = 256, c->sizes[2] = 1024;
	c->nrates = 1;
	c->rates[0] = 8;
	c->reps = 5;
	c->rounds = 5;
	c->timeout_s = 600;
	c->verbosity = "-v0";
	c->settle_ms = 3000;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (c->nengines == HX_MAX_ENGINES)
				return -1;
			c->engines[c->nengines++] = optarg;
			break;
		case 'w': c->workload = optarg; break;
		case 's':
			if ((n = hx_parse_list(optarg, list, 1, 1 << 20)) < 0)
				return -1;
			for (int i = 0; i < n; i++)
				c->sizes[i] = (unsigned int)list[i];
			c->nsizes = (unsigned int)n;
			break;
		case 'r':
			if ((n = hx_parse_list(optarg, c->rates, 0, 100000)) < 0)
				return -1;
			c->nrates = (unsigned int)n;
			break;
		case 'S': {
			char buf[256], *save = NULL;

			snprintf(buf, sizeof(buf), "%s", optarg);
			for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int sc = hx_scenario_parse(t);

				if (sc < 0) {
					fprintf(stderr, "crisp-harness: unknown scenario '%s'\n", t);
					return -1;
				}
				c->scenarios[sc] = any_scenario = true;
			}
			break;
		}
		case 'n': c->reps = (unsigned int)atoi(optarg); break;
		case 'R': c->rounds = (unsigned int)atoi(optarg); break;
		case 't': c->timeout_s = (unsigned int)atoi(optarg); break;
		case 'd': c->dir = optarg; break;
		case 'j': *json = optarg; break;
		case 'p': *plot = optarg; break;
		case 'q':
			c->nsizes = 1;
			c->sizes[0] = 64;
			c->reps = 2;
			c->rounds = 2;
			break;
		case 'k': c->keep = true; break;
		case 'b': c->baseline = true; break;
		case 'W':
			if (hx_parse_list(optarg, list, 0, 600) != 1)
				return -1;
			c->settle_ms = (unsigned int)(list[0] * 1000 + 0.5);
			break;
		case 'v': {
			static char vbuf[8];
			int lvl = atoi(optarg);

			if (lvl < 0 || lvl > 4 || strlen(optarg) != 1)
				return -1;
			snprintf(vbuf, sizeof(vbuf), "-v%d", lvl);
			c->verbosity = vbuf;
			break;
		}
		case 'h': hx_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind < argc || !c->reps || !c->rounds || !c->timeout_s)
		return -1;
	if (!any_scenario)
		for (int i = 0; i < HX_NSCENARIOS; i++)
			c->scenarios[i] = true;
	return 0;
}

/* Each engine's name in the results: its file name, with "#N" (its place
 * on the command line) when another engine has the same one, so that two
 * builds of crisp compared side by side stay apart. */
static void hx_label_engines(struct hx_config *c)
{
	for (unsigned int e = 0; e < c->nengines; e++) {
		const char *slash = strrchr(c->engines[e], '/');
		const char *base = slash ? slash + 1 : c->engines[e];
		bool twin = false;

		for (unsigned int o = 0; o < c->nengines; o++) {
			const char *os = strrchr(c->engines[o], '/');

			twin |= o != e && !strcmp(os ? os + 1 : c->engines[o], base);
		}
		if (twin)
			snprintf(c->labels[e], sizeof(c->labels[e]), "%.50s#%u", base, e + 1);
		else
			snprintf(c->labels[e], sizeof(c->labels[e]), "%.60s", base);
	}
}

int main(int argc, char **argv)
{
	struct hx_config c = { 0 };
	struct hx_results res = { 0 };
	const char *json = NULL, *plot = NULL;
	char *jpath = NULL, *ppath = NULL, dirbuf[512];
	unsigned int total = 0, done = 0, failed = 0;
	bool tty = isatty(STDERR_FILENO);

	if (hx_parse(argc, argv, &c, &json, &plot)) {
		hx_usage(stderr);
		return 2;
	}
	if (!c.nengines && !(c.engines[c.nengines++] = hx_beside_me("../engine/crisp")))
		return 2;
	if (!c.workload && !(c.workload = hx_beside_me("crisp-workload")))
		return 2;
	if (access(c.workload, X_OK)) {
		fprintf(stderr, "crisp-harness: no workload at %s\n", c.workload);
		return 2;
	}
	for (unsigned int e = 0; e < c.nengines; e++) {
		/* absolute: a relative path would be resolved against wherever
		 * the engine is started from */
		char *abs = realpath(c.engines[e], NULL);

		if (!abs || access(abs, X_OK)) {
			fprintf(stderr, "crisp-harness: engine %s is not executable\n", c.engines[e]);
			return 2;
		}
		c.engines[e] = abs;
	}
	hx_label_engines(&c);
	if (!c.dir) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dirbuf, sizeof(dirbuf), "%s/crisp-harness-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dirbuf)) {
			perror("crisp-harness: mkdtemp");
			return 2;
		}
		c.dir = dirbuf;
	} else if (mkdir(c.dir, 0755) && errno != EEXIST) {
		perror("crisp-harness: mkdir");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("crisp-harness: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	for (int sc = 0; sc < HX_NSCENARIOS; sc++)
		if (c.scenarios[sc])
			total += c.nsizes * c.nrates * c.reps * c.nengines;

	/* repetitions outermost and engines innermost: engines alternate, so
	 * drift in the machine's speed touches all of them alike */
	for (unsigned int rep = 0; rep < c.reps; rep++)
		for (int sc = 0; sc < HX_NSCENARIOS; sc++) {
			if (!c.scenarios[sc])
				continue;
			for (unsigned int si = 0; si < c.nsizes; si++)
				for (unsigned int ri = 0; ri < c.nrates; ri++)
					for (unsigned int e = 0; e < c.nengines; e++) {
						done++;
						fprintf(stderr, "%s[%u/%u] %s %s %u MiB %g MB/s rep %u%s",
							tty ? "\r\033[K" : "", done, total, c.engines[e],
							hx_scenario_name(sc), c.sizes[si], c.rates[ri],
							rep + 1, tty ? "" : "\n");
						if (hx_run_one(&c, e, sc, c.sizes[si], c.rates[ri], rep, &res))
							failed++;
					}
		}
	if (tty)
		fprintf(stderr, "\r\033[K");

	hx_print_table(&c, &res, stdout);
	hx_print_rounds(&c, &res, stdout);
	if (!json && asprintf(&jpath, "%s/results.json", c.dir) > 0)
		json = jpath;
	if (!plot && asprintf(&ppath, "%s/freeze", c.dir) > 0)
		plot = ppath;
	if (json && hx_write_json(&c, &res, json))
		fprintf(stderr, "crisp-harness: cannot write %s\n", json);
	else if (json)
		printf("results: %s\n", json);
	if (plot && !hx_write_plots(&c, &res, plot))
		printf("plots: %s-by-size.svg, %s-by-round.svg\n", plot, plot);
	printf("%u of %u runs failed\n", failed, total);
	hx_results_free(&res);
	free(jpath);
	free(ppath);
	return failed ? 1 : 0;
}
