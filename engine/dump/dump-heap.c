/* dump-heap — malloc's memory made ready before the freeze, and a count
 * of the page faults crisp itself takes while the tree is frozen.
 *
 * What the freeze builds (lists of written and present ranges, page runs,
 * pagemap entries) grows on the heap. A fresh page costs a fault at its
 * first touch, and on a machine whose hypervisor fills page tables lazily,
 * as this one, faults are dear: the final dump of a 1 GiB task took 313 of
 * them inside the freeze (12 with this; its scan 2.5-4.1 ms -> 2.0-3.3 ms,
 * 3 runs each). So before the freeze malloc
 * is told to keep what is freed (no trimming, no separate mappings for
 * blocks under its largest threshold), and a block as big as what the
 * freeze will build is touched and freed: the freeze's allocations then
 * reuse pages that are already there. Costs the touched memory for the
 * rest of the command. Does nothing to the tree.
 */
#include <malloc.h>
#include <string.h>
#include <sys/resource.h>

#include "blog.h"
#include "dump.h"

#define DUMP_HEAP_MIN (4ul << 20)
#define DUMP_HEAP_MAX (32ul << 20)	/* glibc's largest mmap threshold on 64-bit */
#define DUMP_HEAP_PER_RANGE 256		/* bytes per parent pagemap entry: ~16 lists */

void dump_heap_warm(struct dump_ctx *c)
{
	size_t want = c->root_parent_has.nr * DUMP_HEAP_PER_RANGE;
	void *p;

	if (want < DUMP_HEAP_MIN)
		want = DUMP_HEAP_MIN;
	if (want > DUMP_HEAP_MAX)
		want = DUMP_HEAP_MAX;
	/* without these a big free() hands its pages back to the kernel */
	mallopt(M_MMAP_THRESHOLD, (int)DUMP_HEAP_MAX);
	mallopt(M_TRIM_THRESHOLD, (int)(DUMP_HEAP_MAX * 4));
	/* and a second thread of the freeze (dump-final-walk) would get an
	 * arena of its own, all fresh pages */
	mallopt(M_ARENA_MAX, 1);
	p = malloc(want);
	if (!p)
		return;
	/* not zeros: the compiler would make malloc+memset a calloc, and
	 * calloc skips memory fresh from the kernel, leaving it untouched */
	memset(p, 0x5a, want);
	/* and the stores must not be dropped as dead before the free */
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
	pr_debug("heap: %zu KiB touched before the freeze", want >> 10);
}

static long dump_heap_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? 0 : ru.ru_minflt + ru.ru_majflt;
}

void dump_heap_frozen(struct dump_ctx *c)
{
	c->faults_frozen = dump_heap_faults();
}

void dump_heap_released(struct dump_ctx *c)
{
	pr_debug("crisp took %ld page faults while the tree was frozen",
		 dump_heap_faults() - c->faults_frozen);
}
