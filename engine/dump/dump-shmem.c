/* dump-shmem — MAP_SHARED anonymous memory saved once per object, as CRIU
 * does: the pages of every task's shared anonymous VMAs leave the tasks'
 * pagemaps and go, by object offset and without duplicates, into
 * pagemap-shmem-SHMID.img (entries' vaddr: the offset in the object) and a
 * pages file of their own. Only for a dump without a parent: pages left to
 * a parent stay in the tasks' pagemaps, and so do the shared ones then.
 * Reads nothing from the tasks: it regroups what dump-pages staged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "dump.h"
#include "page-writer.h"
#include "pagemap.pb-c.h"

struct dump_shm {
	uint64_t shmid;
	uint64_t nr_pages;	/* the object's extent, as far as VMAs show it */
	uint64_t *src;		/* per page: staging offset + 1, 0 when not saved */
	uint64_t saved;
};

struct dump_shms {
	struct dump_shm *o;
	size_t nr;
};

static struct dump_shm *dump_shm_find(struct dump_shms *s, uint64_t shmid)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->o[i].shmid == shmid)
			return &s->o[i];
	return NULL;
}

/* Every object any task maps, as large as its furthest VMA reaches. */
static int dump_shm_objects(struct dump_ctx *c, struct dump_shms *s)
{
	for (size_t i = 0; i < c->nr_tasks; i++) {
		const struct dump_task *t = &c->tasks[i];

		for (size_t v = 0; !t->zombie && v < t->maps.nr; v++) {
			const struct proc_vma *pv = &t->maps.vma[v];
			uint64_t end = (pv->pgoff + pv->end - pv->start) / MEM_PAGE_SIZE;
			struct dump_shm *o;

			if (!(t->vmas[v].status & DUMP_VMA_ANON_SHARED))
				continue;
			o = dump_shm_find(s, t->vmas[v].shmid);
			if (!o) {
				o = realloc(s->o, (s->nr + 1) * sizeof(*o));
				if (!o)
					return -ENOMEM;
				s->o = o;
				o = &s->o[s->nr++];
				memset(o, 0, sizeof(*o));
				o->shmid = t->vmas[v].shmid;
			}
			if (end > o->nr_pages)
				o->nr_pages = end;
		}
	}
	for (size_t k = 0; k < s->nr; k++) {
		s->o[k].src = calloc(s->o[k].nr_pages ? s->o[k].nr_pages : 1, sizeof(uint64_t));
		if (!s->o[k].src)
			return -ENOMEM;
	}
	return 0;
}

struct dump_shm_keep {
	struct dump_run *r;
	size_t nr, cap;
};

static int dump_shm_keep(struct dump_shm_keep *k, uint64_t vaddr, uint64_t nr, size_t off)
{
	struct dump_run *last = k->nr ? &k->r[k->nr - 1] : NULL;

	if (last && last->vaddr + last->nr_pages * MEM_PAGE_SIZE == vaddr &&
	    last->off + last->nr_pages * MEM_PAGE_SIZE == off) {
		last->nr_pages += nr;
		return 0;
	}
	if (k->nr == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct dump_run *n = realloc(k->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		k->r = n;
		k->cap = cap;
	}
	k->r[k->nr++] = (struct dump_run){ vaddr, nr, off };
	return 0;
}

/* @t's runs without the pages of shared anonymous VMAs, which go to their
 * objects (a page some task before gave already is not taken twice). */
static int dump_shm_take(struct dump_task *t, struct dump_shms *s)
{
	struct dump_shm_keep keep = { NULL, 0, 0 };
	size_t vi = 0;
	int err = 0;

	for (size_t r = 0; r < t->nr_runs; r++) {
		uint64_t a = t->runs[r].vaddr, end = a + t->runs[r].nr_pages * MEM_PAGE_SIZE;
		size_t off = t->runs[r].off;

		while (a < end && !err) {
			const struct proc_vma *pv;
			uint64_t stop = end;
			bool shared;

			while (vi < t->maps.nr && t->maps.vma[vi].end <= a)
				vi++;
			pv = vi < t->maps.nr && t->maps.vma[vi].start <= a ? &t->maps.vma[vi] : NULL;
			if (pv && pv->end < stop)
				stop = pv->end;
			shared = pv && (t->vmas[vi].status & DUMP_VMA_ANON_SHARED);
			if (shared) {
				struct dump_shm *o = dump_shm_find(s, t->vmas[vi].shmid);
				uint64_t first = (pv->pgoff + a - pv->start) / MEM_PAGE_SIZE;

				for (uint64_t p = 0; o && p < (stop - a) / MEM_PAGE_SIZE; p++)
					if (first + p < o->nr_pages && !o->src[first + p]) {
						o->src[first + p] = off + p * MEM_PAGE_SIZE + 1;
						o->saved++;
					}
			} else {
				err = dump_shm_keep(&keep, a, (stop - a) / MEM_PAGE_SIZE, off);
			}
			off += stop - a;
			a = stop;
		}
	}
	if (err) {
		free(keep.r);
		return err;
	}
	free(t->runs);
	t->runs = keep.r;
	t->nr_runs = keep.nr;
	t->cap_runs = keep.cap;
	return 0;
}

/* pagemap-shmem-SHMID.img and pages-@pages_id.img of one object. */
static int dump_shm_write(struct dump_ctx *c, const struct dump_shm *o, unsigned int pages_id)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	struct page_writer *pw = NULL;
	struct img_writer w;
	int err, err2;

	err = img_writer_open(&w, &c->dir, img_kind_by_name("SHMEM_PAGEMAP"), (unsigned long)o->shmid);
	if (err)
		return err;
	head.pages_id = pages_id;
	err = img_writer_entry(&w, &head.base);
	if (!err)
		err = page_writer_open(&pw, &c->dir, pages_id, NULL);
	for (uint64_t p = 0; !err && p < o->nr_pages;) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;
		uint64_t q = p;

		if (!o->src[p]) {
			p++;
			continue;
		}
		while (q < o->nr_pages && o->src[q] && q - p < UINT32_MAX)
			q++;
		pe.vaddr = p * MEM_PAGE_SIZE;
		pe.nr_pages = (uint32_t)(q - p);
		pe.has_flags = true;
		pe.flags = DUMP_PE_PRESENT;
		err = img_writer_entry(&w, &pe.base);
		/* the bytes, in runs that are back to back in staging */
		for (uint64_t k = p; !err && k < q;) {
			uint64_t m = k + 1;

			while (m < q && o->src[m] == o->src[m - 1] + MEM_PAGE_SIZE)
				m++;
			err = page_writer_write(pw, c->staging + o->src[k] - 1, (m - k) * MEM_PAGE_SIZE);
			k = m;
		}
		if (!err)
			c->stats.pages_written += q - p;
		p = q;
	}
	err2 = pw ? page_writer_close(pw) : 0;
	if (!err)
		err = err2;
	err2 = img_writer_close(&w);
	return err ? err : err2;
}

bool dump_shmem_wanted(const struct dump_ctx *c)
{
	bool any = false;

	for (size_t i = 0; i < c->nr_tasks; i++) {
		const struct dump_task *t = &c->tasks[i];

		if (t->relative || t->parent.nr)
			return false;
		for (size_t v = 0; !t->zombie && v < t->maps.nr; v++)
			any |= (t->vmas[v].status & DUMP_VMA_ANON_SHARED) != 0;
	}
	return any;
}

int dump_shmem_split(struct dump_ctx *c, struct dump_shms **out)
{
	struct dump_shms *s = calloc(1, sizeof(*s));
	int err;

	*out = s;
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < c->nr_tasks; i++)
		if (c->tasks[i].relative || c->tasks[i].parent.nr)
			return 0;	/* with a parent: as before, in the tasks' pagemaps */
	err = dump_shm_objects(c, s);
	for (size_t i = 0; !err && i < c->nr_tasks; i++)
		if (!c->tasks[i].zombie)
			err = dump_shm_take(&c->tasks[i], s);
	return err;
}

int dump_shmem_write(struct dump_ctx *c, const struct dump_shms *s, unsigned int first_pages_id)
{
	int err = 0;

	for (size_t k = 0; s && k < s->nr && !err; k++)
		if (s->o[k].saved)
			err = dump_shm_write(c, &s->o[k], first_pages_id + (unsigned int)k);
	return err;
}

void dump_shmem_free(struct dump_shms *s)
{
	for (size_t k = 0; s && k < s->nr; k++)
		free(s->o[k].src);
	if (s)
		free(s->o);
	free(s);
}
