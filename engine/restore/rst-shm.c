/* rst-shm — MAP_SHARED anonymous memory of the restored tree: one object
 * per dumped object (its inode), made by the engine before any task exists
 * and inherited by every task, which maps it through /proc/self/map_files.
 * Its pages are filled once: from pagemap-shmem-SHMID.img (CRIU's layout,
 * which crisp writes too) by the engine, straight into the object; and
 * where they are in tasks' pagemaps (dumps with a parent), a run that an
 * earlier task already brings (same object, same offsets) leaves the later
 * task's fill. Maps nothing inside the tasks itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blog.h"
#include "pagemap.pb-c.h"
#include "restore.h"

#define RST_SHM_PAGE		4096ull
#define RST_VMA_ANON_SHARED	(1u << 8)

static int rst_shm_bad(const char *file, size_t i, size_t at, const char *what)
{
	pr_err("bad image %s: entry %zu at offset %zu: %s", file, i, at, what);
	return -EINVAL;
}

/* The entries of pagemap-shmem-SHMID.img (@f), read from its pages file
 * into the engine's mapping of the object. */
static int rst_shm_read_pages(struct rst_tree *t, struct rst_shm *s, const struct img_file *f)
{
	const PagemapHead *head = (const PagemapHead *)f->ents[0].msg;
	uint64_t off = 0;
	char name[64];
	int fd, err = 0;

	snprintf(name, sizeof(name), "pages-%u.img", head->pages_id);
	fd = openat(t->dir.dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_perror("cannot open %s (named by %s)", name, f->name);
		return err;
	}
	for (size_t i = 1; i < f->n && !err; i++) {
		const PagemapEntry *pe = (const PagemapEntry *)f->ents[i].msg;
		uint64_t len = (uint64_t)pe->nr_pages * RST_SHM_PAGE, done = 0;
		uint32_t flags = pe->has_flags ? pe->flags : 4 /* PE_PRESENT */;

		if ((flags & ~4u) || (pe->has_in_parent && pe->in_parent)) {
			err = rst_shm_bad(f->name, i, f->ents[i].offset, "pages in a parent image or "
					  "lazy: not supported for shared memory");
			break;
		}
		if (pe->vaddr % RST_SHM_PAGE || !len || pe->vaddr > s->size || len > s->size - pe->vaddr) {
			err = rst_shm_bad(f->name, i, f->ents[i].offset, "pages outside the object");
			break;
		}
		while (done < len) {
			ssize_t n = pread(fd, (char *)s->addr + pe->vaddr + done, len - done,
					  (off_t)(off + done));

			if (n <= 0) {
				err = n < 0 ? -errno : -EINVAL;
				pr_err("reading %s at %llu: %s", name, (unsigned long long)(off + done),
				       n < 0 ? strerror(errno) : "short file");
				break;
			}
			done += (uint64_t)n;
		}
		off += len;
	}
	close(fd);
	return err;
}

static int rst_shm_fill_saved(struct rst_tree *t, struct rst_shm *s)
{
	const struct img_kind *k = img_kind_by_name("SHMEM_PAGEMAP");
	struct img_file f;
	char name[64];
	int err;

	if (!k || img_kind_file(k, (unsigned long)s->shmid, name, sizeof(name)))
		return -EINVAL;
	err = img_read(&f, t->dir.dfd, name, k);
	if (err == -ENOENT)
		return 0;	/* its pages are in the tasks' pagemaps, if anywhere */
	if (err) {
		pr_err("cannot read the image %s in %s: %s", name, t->o->images_dir, strerror(-err));
		return err;
	}
	err = f.n ? rst_shm_read_pages(t, s, &f) : rst_shm_bad(name, 0, 0, "no head");
	if (!err)
		pr_info("shared anonymous object %llu (%llu bytes): its pages from %s",
			(unsigned long long)s->shmid, (unsigned long long)s->size, name);
	img_file_free(&f);
	return err;
}

/* The objects, as large as the furthest VMA of any task reaches into each. */
static int rst_shm_objects(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_ctx *c = &t->task[i];

		for (size_t v = 0; c->im.mme && v < c->im.mme->n_vmas; v++) {
			const VmaEntry *ve = c->im.mme->vmas[v];
			uint64_t end = ve->pgoff + (ve->end - ve->start);
			struct rst_shm *s = NULL;

			if (!(ve->status & RST_VMA_ANON_SHARED))
				continue;
			if (ve->pgoff % RST_SHM_PAGE || end < ve->pgoff) {
				pr_err("bad image %s: shared VMA %#llx with offset %#llx",
				       c->im.mm.name, (unsigned long long)ve->start,
				       (unsigned long long)ve->pgoff);
				return -EINVAL;
			}
			for (size_t k = 0; k < t->nr_shm && !s; k++)
				if (t->shm[k].shmid == ve->shmid)
					s = &t->shm[k];
			if (!s) {
				s = realloc(t->shm, (t->nr_shm + 1) * sizeof(*s));
				if (!s)
					return -ENOMEM;
				t->shm = s;
				s = &t->shm[t->nr_shm++];
				*s = (struct rst_shm){ ve->shmid, 0, NULL };
			}
			if (end > s->size)
				s->size = end;
		}
	}
	for (size_t k = 0; k < t->nr_shm; k++) {
		int err;
		void *p = mmap(NULL, t->shm[k].size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			err = -errno;

			pr_perror("a shared anonymous object of %llu bytes",
				  (unsigned long long)t->shm[k].size);
			return err;
		}
		t->shm[k].addr = p;
		err = rst_shm_fill_saved(t, &t->shm[k]);
		if (err)
			return err;
	}
	return 0;
}

/* The shared anonymous VMA holding all of [vaddr, vaddr + len), or NULL. */
static const VmaEntry *rst_shm_vma(const MmEntry *mm, uint64_t vaddr, uint64_t len)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const VmaEntry *v = mm->vmas[mid];

		if (v->end <= vaddr)
			lo = mid + 1;
		else if (v->start > vaddr)
			hi = mid;
		else
			return vaddr + len <= v->end && (v->status & RST_VMA_ANON_SHARED) ? v : NULL;
	}
	return NULL;
}

struct rst_shm_span {
	uint64_t shmid, start, end;	/* object offsets some task fills */
};

struct rst_shm_spans {
	struct rst_shm_span *s;
	size_t nr, cap;
};

static bool rst_shm_covered(const struct rst_shm_spans *sp, uint64_t shmid, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < sp->nr; i++)
		if (sp->s[i].shmid == shmid && sp->s[i].start <= s && e <= sp->s[i].end)
			return true;
	return false;
}

static int rst_shm_cover(struct rst_shm_spans *sp, uint64_t shmid, uint64_t s, uint64_t e)
{
	if (sp->nr == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		struct rst_shm_span *n = realloc(sp->s, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		sp->s = n;
		sp->cap = cap;
	}
	sp->s[sp->nr++] = (struct rst_shm_span){ shmid, s, e };
	return 0;
}

/* Drops the runs whose object pages an earlier task fills already (a run
 * only partly covered stays: the same bytes are written twice). */
static int rst_shm_fill_once(struct rst_tree *t)
{
	struct rst_shm_spans sp = { NULL, 0, 0 };
	uint64_t dropped = 0;
	int err = 0;

	for (size_t i = 0; i < t->nr && !err && t->nr_shm; i++) {
		struct rst_images *im = &t->task[i].im;
		size_t out = 0;

		for (size_t r = 0; im->mme && r < im->nr_runs; r++) {
			const struct rst_pages_run *run = &im->runs[r];
			uint64_t len = run->nr_pages * RST_SHM_PAGE;
			const VmaEntry *v = rst_shm_vma(im->mme, run->vaddr, len);

			if (v) {
				uint64_t s = v->pgoff + (run->vaddr - v->start);

				if (rst_shm_covered(&sp, v->shmid, s, s + len)) {
					dropped += run->nr_pages;
					continue;
				}
				err = rst_shm_cover(&sp, v->shmid, s, s + len);
				if (err)
					break;
			}
			im->runs[out++] = *run;
		}
		if (im->mme && !err)
			im->nr_runs = out;
	}
	free(sp.s);
	if (dropped)
		pr_info("%llu pages of shared anonymous memory are filled once, not by every task "
			"that maps them", (unsigned long long)dropped);
	return err;
}

int rst_shm_prepare(struct rst_tree *t)
{
	int err = rst_shm_objects(t);

	return err ? err : rst_shm_fill_once(t);
}

int rst_shm_open(const struct rst_ctx *c, uint64_t shmid)
{
	const struct rst_tree *t = c->tree;
	char path[96];

	for (size_t k = 0; k < t->nr_shm; k++) {
		const struct rst_shm *s = &t->shm[k];
		int fd;

		if (s->shmid != shmid)
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
			 (unsigned long)(uintptr_t)s->addr,
			 (unsigned long)((uintptr_t)s->addr + s->size));
		fd = open(path, O_RDWR | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	return -ENOENT;
}

void rst_shm_free(struct rst_tree *t)
{
	for (size_t k = 0; k < t->nr_shm; k++)
		if (t->shm[k].addr)
			munmap(t->shm[k].addr, t->shm[k].size);
	free(t->shm);
	t->shm = NULL;
	t->nr_shm = 0;
}
