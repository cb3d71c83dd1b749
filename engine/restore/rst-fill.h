/* rst-fill — fills one task's premapped memory with its saved pages:
 * pages-N.img runs and PE_PARENT runs through the parent chain. Runs in the
 * new task (engine code, before the restorer); maps nothing and changes no
 * VMA's final layout: the caller premaps, the restorer moves.
 */
#ifndef CRISP_RST_FILL_H
#define CRISP_RST_FILL_H

#include <stddef.h>

#include "restore.h"

/* What one task's fill needs: its images and its premapped VMAs. */
struct rst_fill_task {
	const struct rst_images *im;	/* runs, pages-N.img fd, parent chain */
	const struct rst_vma *vmas;	/* premapped VMAs, in address order */
	const size_t *vma_idx;		/* vmas[i] is im->mme->vmas[vma_idx[i]] */
	size_t nr_vmas;
};

/*
 * Reads every saved page of @t into its premapped place, on up to two
 * cores (a helper thread of the calling task, gone before this returns).
 * Pages not in the page cache are read with O_DIRECT where the filesystem
 * takes it; @direct is set to how many were.
 * Returns 0, or -errno with a message naming the image and offset in @msg.
 */
int rst_fill_task(const struct rst_fill_task *t, uint64_t *direct, char *msg, size_t msg_len);

#endif
