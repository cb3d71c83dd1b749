/* batch.h — the contract between engine/infect (infect_batch.c) and the
 * batch blob (pie/batch.c): a table of system calls the blob runs in order
 * inside a seized task, storing each result next to its call. The table and
 * every buffer a call points to sit in the task's scratch mapping. Fixed-width
 * types only: the blob is freestanding. No code here.
 */
#ifndef CRISP_PIE_BATCH_H
#define CRISP_PIE_BATCH_H

#include <stdint.h>

/* One call: written by the engine, ret filled by the blob (raw kernel
 * value, -errno on failure). */
struct pie_batch_entry {
	uint64_t nr;
	uint64_t args[6];
	int64_t ret;
};

/* The table's head; nr_entries entries follow it. */
struct pie_batch_table {
	uint32_t nr_entries;	/* engine: calls to run */
	uint32_t nr_done;	/* blob: calls run so far */
	uint64_t reserved;	/* keeps the entries 16-byte aligned */
	struct pie_batch_entry e[];
};

_Static_assert(sizeof(struct pie_batch_entry) == 64, "entry layout");
_Static_assert(sizeof(struct pie_batch_table) == 16, "table layout");

#endif
