/* tool — what the parts of crisp-img share: the command entry points and
 * small helpers to load images of a dump directory.
 */
#ifndef CRISP_IMG_TOOL_H
#define CRISP_IMG_TOOL_H

#include <stdbool.h>

#include "img.h"

int cmd_explore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);

/* Loads image @kind_name/@id of the dump in @dfd; quiet when @optional and
 * the file is missing (returns -ENOENT). */
int tool_load(int dfd, const char *kind_name, unsigned long id, bool optional,
	      struct img_file *f);

#endif
