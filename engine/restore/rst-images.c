/* rst-images — reads every image a restore needs through engine/img's
 * checked reader and checks what the restore relies on (one task, x86_64
 * cores with registers, pagemap runs inside pages-N.img, pages in parent
 * images resolvable through the chain). A bad image is an error naming the
 * file (and the reader names the offset); nothing starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "inventory.pb-c.h"
#include "page-chain.h"
#include "guard.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "restore.h"

#define RST_PAGE 4096ull

static int rst_read_kind(struct rst_ctx *c, struct img_file *f, const char *kind,
			 unsigned long id, bool optional)
{
	const struct img_kind *k = img_kind_by_name(kind);
	char name[256];
	int err;

	if (!k || img_kind_file(k, id, name, sizeof(name)))
		return -EINVAL;
	if (optional && faccessat(c->dir.dfd, name, F_OK, 0) && errno == ENOENT) {
		memset(f, 0, sizeof(*f));
		return 0;	/* quietly: an image that need not be there */
	}
	err = img_read(f, c->dir.dfd, name, k);
	if (err == -ENOENT && optional) {
		memset(f, 0, sizeof(*f));
		return 0;
	}
	if (err)
		pr_err("cannot read the image %s in %s: %s", name, c->o->images_dir, strerror(-err));
	return err;
}

static int rst_bad(const char *file, const char *what)
{
	pr_err("bad image %s: %s", file, what);
	return -EINVAL;
}

static int rst_check_core(const struct img_file *f, const CoreEntry *ce, bool leader)
{
	if (ce->mtype != CORE_ENTRY__MARCH__X86_64)
		return rst_bad(f->name, "not an x86_64 core");
	if (!ce->thread_info || !ce->thread_info->gpregs || !ce->thread_info->fpregs)
		return rst_bad(f->name, "no registers");
	if (!ce->thread_core)
		return rst_bad(f->name, "no thread core");
	if (leader && !ce->tc)
		return rst_bad(f->name, "the leader has no task core");
	if (leader && ce->tc->task_state != 1 && ce->tc->task_state != 3)
		return rst_bad(f->name, "the task is neither alive nor stopped");
	return 0;
}

static int rst_read_tree(struct rst_ctx *c)
{
	struct rst_images *im = &c->im;
	const PstreeEntry *pe = c->pe;
	int err;

	im->pid = (pid_t)pe->pid;
	im->nr_threads = pe->n_threads ? pe->n_threads : 1;
	im->tids = calloc(im->nr_threads, sizeof(*im->tids));
	im->core = calloc(im->nr_threads, sizeof(*im->core));
	im->cores = calloc(im->nr_threads, sizeof(*im->cores));
	if (!im->tids || !im->core || !im->cores)
		return -ENOMEM;
	im->tids[0] = im->pid;
	for (size_t i = 0, n = 1; i < pe->n_threads; i++) {
		if (pe->threads[i] == pe->pid)
			continue;
		if (n == im->nr_threads || !pe->threads[i] || pe->threads[i] > (1u << 22))
			return rst_bad("pstree.img", "thread list");
		im->tids[n++] = (pid_t)pe->threads[i];
	}
	for (size_t i = 0; i < im->nr_threads; i++) {
		err = rst_read_kind(c, &im->core[i], "CORE", (unsigned long)im->tids[i], false);
		if (err)
			return err;
		if (im->core[i].n != 1)
			return rst_bad(im->core[i].name, "not exactly one entry");
		im->cores[i] = (CoreEntry *)im->core[i].ents[0].msg;
		err = rst_check_core(&im->core[i], im->cores[i], i == 0);
		if (err)
			return err;
	}
	return 0;
}

/* The pagemap's entries as runs: pages here (back to back in pages-N.img)
 * or in the parent chain; lazy pages are refused. */
static int rst_pagemap_runs(struct rst_ctx *c, uint64_t *here_len)
{
	struct rst_images *im = &c->im;
	uint64_t off = 0;

	for (size_t i = 1; i < im->pagemap.n; i++) {
		PagemapEntry *pe = (PagemapEntry *)im->pagemap.ents[i].msg;
		uint32_t flags = pe->has_flags ? pe->flags :
				 pe->has_in_parent && pe->in_parent ? PAGE_CHAIN_PE_PARENT :
								      PAGE_CHAIN_PE_PRESENT;
		bool parent = (flags & PAGE_CHAIN_PE_PARENT) || (pe->has_in_parent && pe->in_parent);

		if (flags & PAGE_CHAIN_PE_LAZY) {
			pr_err("%s: entry %zu at offset %zu (%#llx, %u pages) is lazy (PE_LAZY); "
			       "lazy restore is not supported", im->pagemap.name, i,
			       im->pagemap.ents[i].offset, (unsigned long long)pe->vaddr, pe->nr_pages);
			return -EOPNOTSUPP;
		}
		if (parent && (flags & PAGE_CHAIN_PE_PRESENT))
			return rst_bad(im->pagemap.name, "an entry both present and in the parent");
		if (pe->vaddr % RST_PAGE || !pe->nr_pages || pe->vaddr >= (1ull << 47) ||
		    pe->nr_pages > ((1ull << 47) - pe->vaddr) / RST_PAGE) {
			pr_err("bad image %s: entry %zu at offset %zu: range %#llx+%u pages",
			       im->pagemap.name, i, im->pagemap.ents[i].offset,
			       (unsigned long long)pe->vaddr, pe->nr_pages);
			return -EINVAL;
		}
		im->runs[im->nr_runs++] = (struct rst_pages_run){ pe->vaddr, pe->nr_pages,
								  parent ? 0 : off, parent };
		if (parent)
			im->parent_pages += pe->nr_pages;
		else
			off += (uint64_t)pe->nr_pages * RST_PAGE;
	}
	*here_len = off;
	return 0;
}

/* Opens the parent chain and checks, without reading page data, that every
 * PE_PARENT page resolves to a level that has it (parent directories there,
 * pagemaps valid, pages files long enough): a broken chain stops the
 * restore here, before any task exists. */
static int rst_open_chain(struct rst_ctx *c)
{
	struct rst_images *im = &c->im;
	int err;

	err = page_chain_open(&im->chain, c->dir.dfd, c->o->images_dir, (unsigned long)im->pid);
	if (!err)
		err = page_chain_verify(im->chain);
	if (err) {
		pr_err("%s: %llu pages of task %d are in parent images, but the parent chain is "
		       "broken (see above)", c->o->images_dir,
		       (unsigned long long)im->parent_pages, (int)im->pid);
		return err == -ENOENT ? -EINVAL : err;
	}
	im->chain_depth = page_chain_depth(im->chain);
	pr_info("%s: %llu pages here, parent_pages=%llu from %u parent levels", c->o->images_dir,
		(unsigned long long)(im->pages_len / RST_PAGE), (unsigned long long)im->parent_pages,
		im->chain_depth - 1);
	return 0;
}

/* pagemap runs, each checked against pages-N.img's size */
static int rst_read_pagemap(struct rst_ctx *c)
{
	struct rst_images *im = &c->im;
	uint64_t off = 0;
	struct stat st;
	char name[64];
	int err;

	err = rst_read_kind(c, &im->pagemap, "PAGEMAP", (unsigned long)im->pid, false);
	if (err)
		return err;
	if (im->pagemap.n < 1)
		return rst_bad(im->pagemap.name, "no head");
	im->pages_id = ((PagemapHead *)im->pagemap.ents[0].msg)->pages_id;
	im->runs = calloc(im->pagemap.n, sizeof(*im->runs));
	if (!im->runs)
		return -ENOMEM;
	err = rst_pagemap_runs(c, &off);
	if (err)
		return err;
	snprintf(name, sizeof(name), "pages-%u.img", im->pages_id);
	im->pages_fd = openat(c->dir.dfd, name, O_RDONLY | O_CLOEXEC);
	if (im->pages_fd < 0) {
		err = -errno;
		pr_perror("cannot open %s", name);
		return err;
	}
	if (fstat(im->pages_fd, &st))
		return -errno;
	if ((uint64_t)st.st_size < off) {
		pr_err("bad image %s: %llu bytes, %s needs %llu", name,
		       (unsigned long long)st.st_size, im->pagemap.name, (unsigned long long)off);
		return -EINVAL;
	}
	im->pages_len = off;
	return im->parent_pages ? rst_open_chain(c) : 0;
}

int rst_images_read(struct rst_ctx *c)
{
	struct rst_images *im = &c->im;
	int err;

	im->pages_fd = -1;
	err = rst_read_kind(c, &im->inventory, "INVENTORY", 0, false);
	if (!err)
		err = rst_read_tree(c);
	if (!err)
		err = rst_read_kind(c, &im->mm, "MM", (unsigned long)im->pid, false);
	if (!err && im->mm.n != 1)
		err = rst_bad(im->mm.name, "not exactly one entry");
	if (err)
		return err;
	im->mme = (MmEntry *)im->mm.ents[0].msg;
	if (im->mme->n_mm_saved_auxv > 64)
		return rst_bad(im->mm.name, "more than 64 auxv words");
	for (size_t i = 0; i < im->mme->n_vmas; i++) {
		const VmaEntry *v = im->mme->vmas[i];

		if (v->start % RST_PAGE || v->end % RST_PAGE || v->end <= v->start ||
		    (i && v->start < im->mme->vmas[i - 1]->end))
			return rst_bad(im->mm.name, "VMAs unaligned, empty or out of order");
	}
	err = rst_read_pagemap(c);
	if (!err)
		err = rst_read_kind(c, &im->files, "FILES", 0, true);
	if (!err)
		err = rst_read_kind(c, &im->fs, "FS", (unsigned long)im->pid, true);
	if (!err && im->fs.n)
		im->fse = (FsEntry *)im->fs.ents[0].msg;
	if (!err)
		err = rst_read_kind(c, &im->guards, "GUARDS", (unsigned long)im->pid, true);
	for (size_t i = 0; !err && i < im->guards.n; i++) {
		const GuardRangeEntry *g = (const GuardRangeEntry *)im->guards.ents[i].msg;
		const GuardRangeEntry *p = i ? (const GuardRangeEntry *)im->guards.ents[i - 1].msg : NULL;

		if (g->start % RST_PAGE || !g->nr_pages || g->nr_pages > (UINT64_MAX - g->start) / RST_PAGE ||
		    (p && g->start < p->start + p->nr_pages * RST_PAGE)) {
			pr_err("bad image %s: entry %zu at offset %zu: guard range %#llx + %llu pages "
			       "unaligned, empty, overflowing or out of order", im->guards.name, i,
			       im->guards.ents[i].offset, (unsigned long long)g->start,
			       (unsigned long long)g->nr_pages);
			err = -EINVAL;
		}
	}
	return err;
}

const char *rst_images_file_path(const struct rst_images *im, uint32_t id)
{
	for (size_t i = 0; i < im->files.n; i++) {
		const FileEntry *fe = (const FileEntry *)im->files.ents[i].msg;

		if (fe->id == id && fe->reg && fe->reg->name)
			return fe->reg->name;
	}
	return NULL;
}

void rst_images_free(struct rst_images *im)
{
	img_file_free(&im->inventory);
	img_file_free(&im->mm);
	img_file_free(&im->pagemap);
	img_file_free(&im->files);
	img_file_free(&im->fs);
	img_file_free(&im->guards);
	for (size_t i = 0; im->core && i < im->nr_threads; i++)
		img_file_free(&im->core[i]);
	free(im->core);
	free(im->cores);
	free(im->tids);
	free(im->runs);
	if (im->pages_fd >= 0)
		close(im->pages_fd);
	page_chain_close(im->chain);
	memset(im, 0, sizeof(*im));
	im->pages_fd = -1;
}
