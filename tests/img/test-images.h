/* test-images — the parts of the image tool's test driver (test-images.c:
 * fixture round trips, crit, corrupt images; test-images-dump.c: check, x,
 * anonymize on a dump built from the fixtures). Not used outside tests/img.
 */
#ifndef CRISP_TEST_IMAGES_H
#define CRISP_TEST_IMAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "tdrv.h"

struct timg {
	struct tdrv_checks c;
	const char *tool;	/* crisp-img */
	const char *fixdir;
	const char *crit;	/* NULL: no crit comparison */
	char work[512];		/* private temporary directory */
	char dump[600];		/* work/dump: every fixture encoded */
};

/* tdrv_run() (stderr kept apart) with the arguments listed, NULL-terminated
 * (at most 15). */
int timg_run(struct tdrv_out *o, const char *in, size_t in_len, ...);

/* The JSON that `@cmd @verb -i @path` prints (verb: decode, show, info),
 * or NULL when it fails or prints no JSON. */
struct json *timg_decode(const char *cmd, const char *verb, const char *path);

/* check, x and anonymize on t->dump (after the round trips filled it), and
 * check on a broken copy. */
void timg_dump_tools(struct timg *t);

#endif
