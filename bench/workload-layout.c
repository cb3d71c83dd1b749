/* workload-layout — page contents and write schedule (see workload.h). */
#include "workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t wl_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

enum wl_kind wl_page_kind(const struct wl_layout *l, size_t index)
{
	unsigned int bucket = (unsigned int)(wl_mix(index) % 100);

	if (bucket < l->zero_pct)
		return WL_ZERO;
	if (bucket < l->zero_pct + l->text_pct)
		return WL_TEXT;
	return WL_RANDOM;
}

size_t wl_target(const struct wl_layout *l, unsigned int t, uint64_t k)
{
	size_t slice = (l->pages + l->writers - 1 - t) / l->writers;
	size_t j;

	if (!slice)
		return SIZE_MAX;
	j = l->random_order ? (size_t)(wl_mix(k ^ ((uint64_t)t << 56)) % slice)
			    : (size_t)((k - 1) % slice);
	/* walk on from the chosen page until a non-zero page turns up */
	for (size_t i = 0; i < slice; i++, j = (j + 1) % slice) {
		size_t p = t + j * l->writers;

		if (wl_page_kind(l, p) != WL_ZERO)
			return p;
	}
	return SIZE_MAX;
}

static void wl_body(const struct wl_layout *l, uint64_t *body, size_t words,
		    size_t index, uint64_t k)
{
	if (wl_page_kind(l, index) == WL_TEXT) {
		/* a short repeating record: compresses well */
		for (size_t i = 0; i < words; i++)
			body[i] = ((uint64_t)index << 32) ^ (k << 8) ^ (i & 7);
		return;
	}
	uint64_t s = wl_mix(((uint64_t)index << 40) ^ k ^ 0x9e3779b97f4a7c15ULL) | 1;

	for (size_t i = 0; i < words; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		body[i] = s;
	}
}

void wl_fill(const struct wl_layout *l, void *page, size_t index, uint64_t k)
{
	struct wl_header *h = page;

	wl_body(l, (uint64_t *)(h + 1), (WL_PAGE - sizeof(*h)) / 8, index, k);
	h->index = (uint32_t)index;
	h->write = k;
	h->magic = WL_MAGIC;
}

bool wl_page_ok(const struct wl_layout *l, const void *page, size_t index,
		uint64_t *k_out)
{
	const struct wl_header *h = page;
	uint64_t body[(WL_PAGE - sizeof(struct wl_header)) / 8];

	*k_out = h->write;
	if (h->magic != WL_MAGIC || h->index != (uint32_t)index)
		return false;
	wl_body(l, body, sizeof(body) / 8, index, h->write);
	return memcmp(body, h + 1, sizeof(body)) == 0;
}

int wl_verify_region(const struct wl_layout *l, const void *region,
		     uint64_t *last_writes, char *why, size_t whylen)
{
	const unsigned char *base = region;
	uint64_t *seen, *want = NULL;
	int ret = 0;

	seen = calloc(l->pages, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	for (unsigned int t = 0; t < l->writers; t++)
		last_writes[t] = 0;
	for (size_t p = 0; p < l->pages; p++) {
		const unsigned char *page = base + p * WL_PAGE;

		if (wl_page_kind(l, p) == WL_ZERO) {
			for (size_t i = 0; i < WL_PAGE; i++)
				if (page[i]) {
					snprintf(why, whylen, "zero page %zu has byte %zu = %#x",
						 p, i, page[i]);
					ret = -EINVAL;
					goto out;
				}
			continue;
		}
		if (!wl_page_ok(l, page, p, &seen[p])) {
			snprintf(why, whylen, "page %zu is torn or foreign (header says write %llu)",
				 p, (unsigned long long)seen[p]);
			ret = -EINVAL;
			goto out;
		}
		if (seen[p] > last_writes[p % l->writers])
			last_writes[p % l->writers] = seen[p];
	}
	/* replay each writer's schedule up to its newest write: every page must
	 * hold its last write numbered at most that, and nothing newer */
	want = calloc(l->pages, sizeof(*want));
	if (!want) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned int t = 0; t < l->writers; t++)
		for (uint64_t k = 1; k <= last_writes[t]; k++) {
			size_t p = wl_target(l, t, k);

			if (p != SIZE_MAX)
				want[p] = k;
		}
	for (size_t p = 0; p < l->pages; p++) {
		if (wl_page_kind(l, p) != WL_ZERO && seen[p] != want[p]) {
			snprintf(why, whylen,
				 "page %zu holds write %llu, but the state after write %llu of its writer has %llu there",
				 p, (unsigned long long)seen[p],
				 (unsigned long long)last_writes[p % l->writers],
				 (unsigned long long)want[p]);
			ret = -EINVAL;
			break;
		}
	}
out:
	free(want);
	free(seen);
	return ret;
}
