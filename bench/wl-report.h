/* wl-report — reading the workload's report (see workload.c) and turning its
 * recorded gaps into the freeze a task saw during a given window.
 *
 * Parses text only; never opens files or talks to the workload.
 */
#ifndef CRISP_WL_REPORT_H
#define CRISP_WL_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* What the workload's spinner saw of a gap (see workload.c); reports of
 * older workloads say nothing: unknown. */
enum wl_gap_kind {
	WL_GAP_KIND_UNKNOWN,
	WL_GAP_KIND_UNSEEN,	/* its CPU time went on: interrupts, its CPU not running */
	WL_GAP_KIND_WAITED,	/* preempted, off the CPU most of it: waiting for a CPU */
	WL_GAP_KIND_STOPPED,	/* switched out not runnable: stopped (frozen) */
};

struct wl_report {
	int pid;
	uint64_t now_ns;
	uint64_t max_gap_ns;
	uint64_t writes[64];
	unsigned int nwriters;
	struct {
		uint64_t start_ns, len_ns;
		enum wl_gap_kind kind;
	} *gaps;
	size_t ngaps;
};

/*
 * Parses the text of a report (@len bytes, need not be NUL-terminated).
 * Returns 0, -EINVAL for malformed text (with the 1-based line number in
 * @bad_line), or -ENOMEM. Free with wl_report_free().
 */
int wl_report_parse(const char *text, size_t len, struct wl_report *out,
		    unsigned int *bad_line);

void wl_report_free(struct wl_report *r);

/*
 * The longest gap that overlaps the window [@from_ns, @to_ns]: the freeze
 * the task saw while a command ran in that window. 0 when none was recorded.
 */
uint64_t wl_report_freeze_in(const struct wl_report *r, uint64_t from_ns,
			     uint64_t to_ns);

/* The same, counting only the gaps of one @kind: WL_GAP_KIND_STOPPED gives
 * the freeze proper, WL_GAP_KIND_WAITED the longest wait for a CPU. */
uint64_t wl_report_gap_in(const struct wl_report *r, uint64_t from_ns, uint64_t to_ns,
			  enum wl_gap_kind kind);

/* The longest gap that began after @from_ns and ended by @to_ns: what the
 * task saw in a window after a command, none of the command's own gaps
 * (which may end after it returned) counted. 0 when none was recorded. */
uint64_t wl_report_gap_within(const struct wl_report *r, uint64_t from_ns, uint64_t to_ns);

#endif
