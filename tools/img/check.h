/* check — what `crisp-img check` (check.c) shares with its part for the
 * open files (check-files.c): the state of one check and the problem
 * report. Reads only.
 */
#ifndef CRISP_IMG_CHECK_H
#define CRISP_IMG_CHECK_H

#include <stdbool.h>

#include "img.h"

struct chk {
	int dfd;
	const char *dir;
	unsigned int problems;
	struct img_file files;
	bool have_files;
};

/* One line per problem, prefixed by the directory; counted. */
void problem(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* check-files.c: the fds of task @pid (its fdinfo @fdi) against files.img:
 * types agree, epoll targets are fds of the task. */
void check_files_task(struct chk *c, unsigned int pid, const struct img_file *fdi);
/* The data images of the open files (pipes-data, sk-queues, memfd,
 * remap-fpath and ghost files) against files.img. */
void check_files_images(struct chk *c);

#endif
