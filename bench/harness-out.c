/* harness-out — the harness's report: a table for people, JSON for
 * machines (bench/compare reads it), SVG plots (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crisp-config.h"
#include "plot-svg.h"
#include "stats.h"

static const char *hx_engine_label(const struct hx_config *c, unsigned int e)
{
	return c->labels[e];
}

void hx_print_table(const struct hx_config *c, const struct hx_results *r, FILE *out)
{
	fprintf(out, "%-10s %-9s %7s %7s %5s %-20s %10s %10s %10s %s\n", "engine", "scenario",
		"MiB", "MB/s", "round", "metric", "min", "median", "max", "n");
	for (size_t i = 0; i < r->n; i++) {
		const struct hx_series *s = &r->s[i];
		struct stats_summary sum;

		if (stats_summarise(s->values, s->nvalues, &sum))
			continue;
		fprintf(out, "%-10s %-9s %7u %7g %5u %-20s ", hx_engine_label(c, s->engine),
			hx_scenario_name(s->scenario), s->size_mib, s->rate_mbps, s->round, s->metric);
		if (s->nvalues)
			fprintf(out, "%10.3f %10.3f %10.3f %zu", sum.min, sum.median, sum.max, s->nvalues);
		else
			fprintf(out, "%10s %10s %10s 0", "-", "-", "-");
		fprintf(out, "%s\n", s->failures ? "  (failed runs)" : "");
	}
}

/* Median of one series, NAN when it has no value. */
static double hx_median(const struct hx_results *r, unsigned int e, enum hx_scenario sc,
			unsigned int size, double rate, unsigned int round, const char *metric);

void hx_print_rounds(const struct hx_config *c, const struct hx_results *r, FILE *out)
{
	if (!c->scenarios[HX_PREDUMP])
		return;
	for (unsigned int e = 0; e < c->nengines; e++)
		for (unsigned int si = 0; si < c->nsizes; si++)
			for (unsigned int ri = 0; ri < c->nrates; ri++) {
				unsigned int size = c->sizes[si];
				double rate = c->rates[ri];

				fprintf(out, "\n%s: %u MiB dirtied at %g MB/s, %u pre-dumps then a final dump "
					"(medians; the task's longest gap, the longest it was "
					"stopped in, the engine's frozen time%s)\n"
					"%-7s %16s %16s %16s %14s %14s %10s",
					hx_engine_label(c, e), size, rate, c->rounds,
					c->baseline ? "; baseline: the task's longest gap in as "
						      "long a window after, no engine running" : "",
					"round", "freeze (task)", "stopped (task)", "frozen (engine)",
					"pages written", "from parent", "wall");
				fprintf(out, c->baseline ? " %16s\n" : "\n", "baseline (task)");
				for (unsigned int k = 1; k <= c->rounds + 1; k++) {
					double f = hx_median(r, e, HX_PREDUMP, size, rate, k, "freeze_ms");
					double fs = hx_median(r, e, HX_PREDUMP, size, rate, k, "stopped_ms");
					double fe = hx_median(r, e, HX_PREDUMP, size, rate, k, "engine_frozen_ms");
					double pw = hx_median(r, e, HX_PREDUMP, size, rate, k, "pages_written");
					double pp = hx_median(r, e, HX_PREDUMP, size, rate, k, "pages_skipped_parent");
					double w = hx_median(r, e, HX_PREDUMP, size, rate, k, "wall_ms");

					char label[16];

					if (k <= c->rounds)
						snprintf(label, sizeof(label), "pre %u", k);
					else
						snprintf(label, sizeof(label), "final");
					fprintf(out, "%-7s %13.3f ms %13.3f ms %13.3f ms %14.0f %14.0f %7.1f ms",
						label, f, fs, fe, pw, pp, w);
					if (c->baseline)
						fprintf(out, " %13.3f ms", hx_median(r, e, HX_PREDUMP, size,
										     rate, k, "baseline_ms"));
					fputc('\n', out);
				}
				double rw = hx_median(r, e, HX_PREDUMP, size, rate, c->rounds + 1, "restore_wall_ms");
				double ok = hx_median(r, e, HX_PREDUMP, size, rate, c->rounds + 1, "verified");

				fprintf(out, "restore %.1f ms; restored task's memory %s\n", rw,
					ok == 1 ? "verified" : isnan(ok) ? "not checked" : "WRONG");
			}
}

static void hx_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void hx_json_machine(FILE *f)
{
	struct utsname u;
	char cpu[256] = "unknown", line[512];
	FILE *ci = fopen("/proc/cpuinfo", "re");

	if (ci) {
		while (fgets(line, sizeof(line), ci))
			if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
				snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		fclose(ci);
	}
	uname(&u);
	fprintf(f, "\"machine\":{\"cpu\":");
	hx_json_str(f, cpu);
	fprintf(f, ",\"cpus\":%ld,\"memory_mib\":%lld,\"kernel\":",
		sysconf(_SC_NPROCESSORS_ONLN),
		(long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1024 * 1024));
	hx_json_str(f, u.release);
	fprintf(f, ",\"arch\":");
	hx_json_str(f, u.machine);
	fprintf(f, "}");
}

int hx_write_json(const struct hx_config *c, const struct hx_results *r, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "{\"format\":\"crisp-harness-1\",\"crisp_version\":\"%s\",\"git_revision\":",
		CRISP_VERSION);
	hx_json_str(f, CRISP_GITREV);
	fputc(',', f);
	hx_json_machine(f);
	fprintf(f, ",\"options\":{\"engines\":[");
	for (unsigned int e = 0; e < c->nengines; e++) {
		fputs(e ? "," : "", f);
		hx_json_str(f, c->engines[e]);
	}
	fprintf(f, "],\"reps\":%u,\"rounds\":%u,\"timeout_s\":%u,\"settle_ms\":%u},\"results\":[",
		c->reps, c->rounds, c->timeout_s, c->settle_ms);
	for (size_t i = 0; i < r->n; i++) {
		const struct hx_series *s = &r->s[i];
		struct stats_summary sum;

		stats_summarise(s->values, s->nvalues, &sum);
		fprintf(f, "%s\n{\"name\":\"%s/%s/%uMiB/%gMBps/r%u/%s\",\"engine\":", i ? "," : "",
			hx_engine_label(c, s->engine), hx_scenario_name(s->scenario), s->size_mib,
			s->rate_mbps, s->round, s->metric);
		hx_json_str(f, hx_engine_label(c, s->engine));
		fprintf(f, ",\"scenario\":\"%s\",\"size_mib\":%u,\"rate_mbps\":%g,\"round\":%u,"
			"\"metric\":\"%s\",\"failures\":%u,\"values\":[",
			hx_scenario_name(s->scenario), s->size_mib, s->rate_mbps, s->round,
			s->metric, s->failures);
		for (size_t v = 0; v < s->nvalues; v++)
			fprintf(f, "%s%.6g", v ? "," : "", s->values[v]);
		fprintf(f, "],\"min\":%.6g,\"median\":%.6g,\"max\":%.6g}", sum.min, sum.median, sum.max);
	}
	fprintf(f, "\n]}\n");
	return fclose(f) ? -errno : 0;
}

/* Median of one series, NAN when it has no value. */
static double hx_median(const struct hx_results *r, unsigned int e, enum hx_scenario sc,
			unsigned int size, double rate, unsigned int round, const char *metric)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct hx_series *s = &r->s[i];
		struct stats_summary sum;

		if (s->engine == e && s->scenario == sc && s->size_mib == size &&
		    s->rate_mbps == rate && s->round == round && !strcmp(s->metric, metric) &&
		    s->nvalues && !stats_summarise(s->values, s->nvalues, &sum))
			return sum.median;
	}
	return NAN;
}

static int hx_plot_file(const char *path, const struct plot *p)
{
	FILE *f = fopen(path, "we");
	int err;

	if (!f)
		return -errno;
	err = plot_svg_write(p, f);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

int hx_write_plots(const struct hx_config *c, const struct hx_results *r, const char *prefix)
{
	enum { MAXS = HX_MAX_ENGINES * 2 };
	struct plot_series ser[MAXS];
	static char names[MAXS][96];
	double xs[MAXS][HX_MAX_LIST], ys[MAXS][HX_MAX_LIST];
	double rx[MAXS][64], ry[MAXS][64];
	char path[1024];
	size_t n = 0;
	int err = 0;
	double rate = c->rates[0];

	/* freeze against memory size: dump -R, and the final dump of a series */
	for (unsigned int e = 0; e < c->nengines; e++) {
		static const struct { enum hx_scenario sc; const char *what; } k[] = {
			{ HX_DUMP_R, "dump -R" }, { HX_PREDUMP, "final dump after pre-dumps" },
		};
		for (size_t j = 0; j < 2 && n < MAXS; j++) {
			if (!c->scenarios[k[j].sc])
				continue;
			for (unsigned int i = 0; i < c->nsizes; i++) {
				xs[n][i] = c->sizes[i];
				ys[n][i] = hx_median(r, e, k[j].sc, c->sizes[i], rate,
						     k[j].sc == HX_PREDUMP ? c->rounds + 1 : 0, "freeze_ms");
			}
			snprintf(names[n], sizeof(names[n]), "%s %s", hx_engine_label(c, e), k[j].what);
			ser[n] = (struct plot_series){ names[n], xs[n], ys[n], c->nsizes };
			n++;
		}
	}
	struct plot p = { "Freeze seen by the task (median)", "touched memory, MiB",
			  "freeze, ms", true, ser, n };

	snprintf(path, sizeof(path), "%s-by-size.svg", prefix);
	if (n && hx_plot_file(path, &p))
		err = -EIO;

	/* freeze against round, per size, for the first engine's series */
	n = 0;
	if (c->scenarios[HX_PREDUMP]) {
		for (unsigned int i = 0; i < c->nsizes && n < MAXS; i++) {
			unsigned int rounds = c->rounds + 1 < 64 ? c->rounds + 1 : 64;

			for (unsigned int k = 0; k < rounds; k++) {
				rx[n][k] = k + 1;
				ry[n][k] = hx_median(r, 0, HX_PREDUMP, c->sizes[i], rate, k + 1, "freeze_ms");
			}
			snprintf(names[n], sizeof(names[n]), "%s %u MiB", hx_engine_label(c, 0), c->sizes[i]);
			ser[n] = (struct plot_series){ names[n], rx[n], ry[n], rounds };
			n++;
		}
		struct plot q = { "Freeze per round: pre-dumps, then the final dump (median)",
				  "round", "freeze, ms", false, ser, n };

		snprintf(path, sizeof(path), "%s-by-round.svg", prefix);
		if (n && hx_plot_file(path, &q))
			err = -EIO;
	}
	return err;
}
