/* page-chain — the pages of one task through a chain of image sets: a dump
 * whose pagemap says PE_PARENT for pages that live in `parent/` (a
 * pre-dump), which may itself defer to its own parent, and so on.
 *
 * Offers checked reads of any page range (every pagemap is validated when
 * its level is opened: sorted, non-overlapping, pages file long enough) and
 * clear errors naming the directory, image and address when a chain is
 * broken. Reads only; knows nothing of restore or of memory layout.
 */
#ifndef CRISP_PAGE_CHAIN_H
#define CRISP_PAGE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_CHAIN_MAX_DEPTH 64		/* parent levels followed at most */

/* pagemap_entry.flags */
#define PAGE_CHAIN_PE_PARENT	(1u << 0)
#define PAGE_CHAIN_PE_LAZY	(1u << 1)
#define PAGE_CHAIN_PE_PRESENT	(1u << 2)

struct page_chain;

/* One pagemap entry of the top level, flags normalised (the old in_parent
 * spelling becomes PAGE_CHAIN_PE_PARENT). */
struct page_chain_entry {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint32_t flags;
};

enum page_chain_flags {
	PAGE_CHAIN_ZERO_HOLES = 1 << 0,	/* pages no entry names read as zeros */
};

/*
 * Opens the pages of task @pid in the image set at directory fd @dfd
 * (named @label in messages; the fd is duplicated). Parent levels are
 * opened when first needed. Returns 0 or -errno: -ENOENT (no
 * pagemap-PID.img), -EINVAL (a bad image, reported with file and offset).
 */
int page_chain_open(struct page_chain **pc, int dfd, const char *label, unsigned long pid);

/* The top level's entries, in address order. */
const struct page_chain_entry *page_chain_entries(const struct page_chain *pc, size_t *nr);

/*
 * Reads @nr_pages pages from @vaddr into @buf, following PE_PARENT entries
 * down the chain. A page no top-level entry covers is -ENOENT unless
 * @flags has PAGE_CHAIN_ZERO_HOLES. A PE_PARENT page its parent does not
 * have, a missing parent, a short pages file or a chain deeper than
 * PAGE_CHAIN_MAX_DEPTH (a loop) is -EINVAL, logged with the level's
 * directory and the address. Returns 0 or -errno.
 */
int page_chain_read(struct page_chain *pc, uint64_t vaddr, uint64_t nr_pages,
		    void *buf, unsigned int flags);

/* Called by page_chain_resolve for each piece: @nr_pages pages from @vaddr
 * lie at byte @off of the pages file open as @pages_fd (the chain's own fd:
 * valid until page_chain_close). A nonzero return stops the walk. */
typedef int (*page_chain_fn)(void *arg, int pages_fd, uint64_t off, uint64_t vaddr,
			     uint64_t nr_pages);

/*
 * Like page_chain_read without reading: finds where the data of @nr_pages
 * pages from @vaddr lies down the chain and calls @fn for each piece, in
 * address order. Errors as page_chain_read's (holes are errors), or what
 * @fn returned. Returns 0 or -errno.
 */
int page_chain_resolve(struct page_chain *pc, uint64_t vaddr, uint64_t nr_pages,
		       page_chain_fn fn, void *arg);

/* Checks that every PE_PARENT page of the top level resolves down the
 * chain to a page with data, without reading the data. 0 or -errno. */
int page_chain_verify(struct page_chain *pc);

/* How many levels are open now (1: only the top). */
unsigned int page_chain_depth(const struct page_chain *pc);

void page_chain_close(struct page_chain *pc);

#endif
