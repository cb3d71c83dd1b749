/* fuzz_img_read — the image reader on arbitrary bytes: parse by magic, then
 * render every entry as plain and pretty JSON. Must never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>

#include "blog.h"
#include "imgjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_file f;
	FILE *null;

	blog_set_level(BLOG_MSG);	/* bad input is the normal case here */
	if (img_parse(&f, "fuzz", data, size, NULL))
		return 0;
	null = fopen("/dev/null", "w");
	for (int pretty = 0; pretty < 2; pretty++) {
		struct json *doc = imgj_decode(&f, pretty);

		if (doc && null)
			json_write(null, doc, pretty ? 4 : 0);
		json_free(doc);
	}
	if (null)
		fclose(null);
	img_file_free(&f);
	return 0;
}
