/* check — does this kernel, with these privileges, give what crisp uses?
 *
 * Runs one probe per kernel feature (each really exercises the interface on
 * a scratch task or mapping of its own) and reports one line per probe. The
 * probes change nothing outside the checking process and its own children.
 */
#ifndef CRISP_CHECK_H
#define CRISP_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "opts.h"

struct probe_result {
	bool ok;
	char detail[200];	/* what was seen, or why it failed */
};

struct check_probe {
	const char *name;		/* crisp's name, also a --feature name */
	const char *const *aliases;	/* CRIU's --feature names mapping to it */
	bool required;			/* needed for the minimum dump + restore */
	void (*run)(struct probe_result *r);
};

/* The probe table, terminated by an entry whose name is NULL. */
extern const struct check_probe check_probes[];

/*
 * `crisp check`: runs every probe (or, with o->feature, the one asked for)
 * and prints one line per probe to @out. Returns the process exit code:
 * 0 when the minimum for dump + restore is there (or the feature is), 1 if
 * not, naming what is missing; 1 for an unknown --feature name as well.
 */
int check_main(const struct crisp_opts *o, FILE *out);

/* Finds a probe by crisp name or CRIU alias; NULL if none matches. */
const struct check_probe *check_find_probe(const char *name);

/*
 * Parses the "CapEff:" line of a /proc/PID/status text into @caps.
 * Returns 0, or -EINVAL when the line is missing or malformed.
 */
int check_parse_cap_eff(const char *status, uint64_t *caps);

/*
 * Reads a pagemap entry's soft-dirty bit from the 8 raw bytes at @entry
 * (host byte order, as /proc/PID/pagemap gives them).
 */
bool check_pagemap_soft_dirty(const unsigned char entry[8]);

/*
 * Which dirty-tracking mode iterative dumps get here, from the probe
 * results: "uffd-wp-async" (preferred), "soft-dirty", or "full-copy".
 */
const char *check_dirty_mode(bool uffd_wp_async, bool pagemap_scan,
			     bool soft_dirty);

#endif
