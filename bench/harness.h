/* harness — crisp's freeze-time benchmark harness.
 *
 * Runs a matrix of scenarios (dump, restore, pre-dump series, ...) against
 * one or more engines with a CRIU-compatible command line, on the
 * self-measuring workload (workload.c), and collects for every measurement
 * the freeze the task saw, the wall time of each engine command, and whether
 * the restored task verified its memory. harness-run.c runs, harness-out.c
 * reports; this header is the data model they share.
 */
#ifndef CRISP_HARNESS_H
#define CRISP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HX_MAX_ENGINES 4
#define HX_MAX_LIST 8

enum hx_scenario {
	HX_DUMP_R,	/* dump --leave-running: freeze and wall time */
	HX_DUMP_KILL,	/* dump (the task is killed), then restore and verify */
	HX_PREDUMP,	/* N pre-dumps, a final dump -R, restore, verify */
	HX_LOGCOST,	/* dump -R at -v0 and at -v4, alternating */
	HX_LIVE,	/* dump -R --snapshot live and frozen, alternating */
	HX_NSCENARIOS,
};

struct hx_config {
	const char *engines[HX_MAX_ENGINES];
	char labels[HX_MAX_ENGINES][64];	/* basename, "#N" added when two share it */
	unsigned int nengines;
	const char *workload;
	unsigned int sizes[HX_MAX_LIST];	/* MiB */
	unsigned int nsizes;
	double rates[HX_MAX_LIST];		/* MB/s */
	unsigned int nrates;
	bool scenarios[HX_NSCENARIOS];
	unsigned int rounds, reps;
	unsigned int timeout_s;			/* per engine command */
	const char *verbosity;			/* "-vN" for engine commands */
	const char *dir;
	bool keep;
	bool baseline;		/* after each measured command, as long again with none */
	unsigned int settle_ms;	/* after the workload is ready, before the first command */
};

/* One measured quantity under one set of conditions, over the repetitions. */
struct hx_series {
	unsigned int engine;
	enum hx_scenario scenario;
	unsigned int size_mib;
	double rate_mbps;
	unsigned int round;		/* pre-dump round (1..), 0 otherwise */
	const char *metric;		/* static string: "freeze_ms", ... */
	double *values;
	size_t nvalues, cap;
	unsigned int failures;		/* repetitions that failed */
};

struct hx_results {
	struct hx_series *s;
	size_t n, cap;
};

const char *hx_scenario_name(enum hx_scenario s);
int hx_scenario_parse(const char *name);

/* Adds @value to the series with these conditions, creating it. 0/-ENOMEM. */
int hx_record(struct hx_results *r, unsigned int engine, enum hx_scenario sc,
	      unsigned int size, double rate, unsigned int round,
	      const char *metric, double value);

/* Counts a failed repetition for the series with these conditions. */
int hx_record_failure(struct hx_results *r, unsigned int engine,
		      enum hx_scenario sc, unsigned int size, double rate,
		      unsigned int round, const char *metric);

void hx_results_free(struct hx_results *r);

/* Runs one repetition of scenario @sc for @engine, at @size and @rate,
 * recording into @res. Returns 0 or a negative errno (already reported). */
int hx_run_one(const struct hx_config *c, unsigned int engine,
	       enum hx_scenario sc, unsigned int size, double rate,
	       unsigned int rep, struct hx_results *res);

/* The report: a table on @out, JSON and SVG plots into files. */
void hx_print_table(const struct hx_config *c, const struct hx_results *r,
		    FILE *out);
/* Per round of the pre-dump series: the task's and the engine's view. */
void hx_print_rounds(const struct hx_config *c, const struct hx_results *r,
		     FILE *out);
int hx_write_json(const struct hx_config *c, const struct hx_results *r,
		  const char *path);
int hx_write_plots(const struct hx_config *c, const struct hx_results *r,
		   const char *prefix);

#endif
