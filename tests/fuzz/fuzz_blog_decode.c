/* fuzz_blog_decode — blog-decode's engine on arbitrary bytes: whole, and fed
 * in two pieces as --follow does; every record found is rendered. Must
 * never crash, hang or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "decode.h"
#include "render.h"

static char fz_msg[BLOG_MSG_MAX], fz_line[BLOG_MSG_MAX + 4096];

static void fz_record(void *ctx, const struct bd_rec *r)
{
	size_t ml;

	(void)ctx;
	bd_render(r, r->ns, fz_msg, sizeof(fz_msg), &ml, fz_line, sizeof(fz_line));
}

static void fz_error(void *ctx, const struct bd_file *f, uint64_t off, const char *msg)
{
	(void)ctx, (void)f, (void)off, (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_ops ops = { fz_record, fz_error, NULL };
	struct bd_file f = { .name = "fuzz" };
	size_t half = size / 2;

	if (!bd_feed(&f, data, size))
		bd_process(&f, true, &ops);
	bd_file_free(&f);

	f = (struct bd_file){ .name = "fuzz" };
	if (!bd_feed(&f, data, half)) {
		bd_process(&f, false, &ops);
		if (!bd_feed(&f, data + half, size - half))
			bd_process(&f, true, &ops);
	}
	bd_file_free(&f);
	return 0;
}
