/* wl-report — parse the workload's report (see wl-report.h). */
#include "wl-report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int wlr_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (s < end && *s == ' ')
		s++;
	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

/* " stopped", " waited" or " unseen" at *@p, up to @end; UNKNOWN if none */
static enum wl_gap_kind wlr_kind(const char **p, const char *end)
{
	static const struct { const char *name; enum wl_gap_kind kind; } kinds[] = {
		{ " stopped", WL_GAP_KIND_STOPPED },
		{ " waited", WL_GAP_KIND_WAITED },
		{ " unseen", WL_GAP_KIND_UNSEEN },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].name);

		if ((size_t)(end - *p) >= n && !memcmp(*p, kinds[i].name, n)) {
			*p += n;
			return kinds[i].kind;
		}
	}
	return WL_GAP_KIND_UNKNOWN;
}

static int wlr_line(const char *s, const char *end, struct wl_report *r, size_t *cap)
{
	uint64_t a, b;

#define WLR_KEY(k) (end - s >= (long)sizeof(k) - 1 && !memcmp(s, k, sizeof(k) - 1) && \
		    ((s += sizeof(k) - 1), 1))
	if (WLR_KEY("pid ")) {
		if (wlr_u64(&s, end, &a) || a > 0x7fffffff)
			return -EINVAL;
		r->pid = (int)a;
	} else if (WLR_KEY("now_ns ")) {
		if (wlr_u64(&s, end, &r->now_ns))
			return -EINVAL;
	} else if (WLR_KEY("max_gap_ns ")) {
		if (wlr_u64(&s, end, &r->max_gap_ns))
			return -EINVAL;
	} else if (WLR_KEY("writes")) {
		r->nwriters = 0;
		while (s < end) {
			if (r->nwriters >= sizeof(r->writes) / sizeof(r->writes[0]) ||
			    wlr_u64(&s, end, &r->writes[r->nwriters]))
				return -EINVAL;
			r->nwriters++;
		}
	} else if (WLR_KEY("gap ")) {
		enum wl_gap_kind kind = WL_GAP_KIND_UNKNOWN;

		if (wlr_u64(&s, end, &a) || wlr_u64(&s, end, &b))
			return -EINVAL;
		if (s < end) {
			kind = wlr_kind(&s, end);
			if (kind == WL_GAP_KIND_UNKNOWN)
				return -EINVAL;
		}
		if (r->ngaps == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			void *g = realloc(r->gaps, ncap * sizeof(*r->gaps));

			if (!g)
				return -ENOMEM;
			r->gaps = g;
			*cap = ncap;
		}
		r->gaps[r->ngaps].start_ns = a;
		r->gaps[r->ngaps].len_ns = b;
		r->gaps[r->ngaps].kind = kind;
		r->ngaps++;
	} else {
		return -EINVAL;
	}
#undef WLR_KEY
	return s == end ? 0 : -EINVAL;
}

int wl_report_parse(const char *text, size_t len, struct wl_report *out,
		    unsigned int *bad_line)
{
	const char *p = text, *end = text + len;
	unsigned int line = 0;
	size_t cap = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	*bad_line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		line++;
		if (eol > p) {
			ret = wlr_line(p, eol, out, &cap);
			if (ret) {
				*bad_line = line;
				wl_report_free(out);
				return ret;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (!out->pid) {
		*bad_line = line + 1;
		wl_report_free(out);
		return -EINVAL;
	}
	return 0;
}

void wl_report_free(struct wl_report *r)
{
	free(r->gaps);
	r->gaps = NULL;
	r->ngaps = 0;
}

/* The longest gap overlapping [@from_ns, @to_ns] of @kind (any if @any). */
static uint64_t wlr_longest(const struct wl_report *r, uint64_t from_ns, uint64_t to_ns,
			    bool any, enum wl_gap_kind kind)
{
	uint64_t best = 0;

	for (size_t i = 0; i < r->ngaps; i++) {
		uint64_t s = r->gaps[i].start_ns, e = s + r->gaps[i].len_ns;

		if ((any || r->gaps[i].kind == kind) && e >= from_ns && s <= to_ns &&
		    r->gaps[i].len_ns > best)
			best = r->gaps[i].len_ns;
	}
	return best;
}

uint64_t wl_report_freeze_in(const struct wl_report *r, uint64_t from_ns,
			     uint64_t to_ns)
{
	return wlr_longest(r, from_ns, to_ns, true, WL_GAP_KIND_UNKNOWN);
}

uint64_t wl_report_gap_in(const struct wl_report *r, uint64_t from_ns, uint64_t to_ns,
			  enum wl_gap_kind kind)
{
	return wlr_longest(r, from_ns, to_ns, false, kind);
}

uint64_t wl_report_gap_within(const struct wl_report *r, uint64_t from_ns, uint64_t to_ns)
{
	uint64_t best = 0;

	for (size_t i = 0; i < r->ngaps; i++) {
		uint64_t s = r->gaps[i].start_ns, e = s + r->gaps[i].len_ns;

		if (s > from_ns && e <= to_ns && r->gaps[i].len_ns > best)
			best = r->gaps[i].len_ns;
	}
	return best;
}
