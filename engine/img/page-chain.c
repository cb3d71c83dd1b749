/* page-chain — checked reads of a task's pages through parent image sets
 * (see page-chain.h). Each level holds its validated pagemap entries with
 * their offsets in the pages file; parents are opened lazily through the
 * `parent` link of the level above.
 */
#include "page-chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "img.h"
#include "pagemap.pb-c.h"

#define PC_PAGE 4096ull

struct pc_level {
	int dfd;
	char *label;			/* directory, for messages */
	struct page_chain_entry *e;
	uint64_t *off;			/* byte offset of e[i] in the pages file (PRESENT) */
	size_t n;
	int pages_fd;
	char pages_name[32];
	unsigned int depth;
	struct pc_level *parent;	/* opened on demand */
	bool parent_tried;
};

struct page_chain {
	unsigned long pid;
	struct pc_level *top;
};

static void pc_level_free(struct pc_level *l)
{
	while (l) {
		struct pc_level *p = l->parent;

		if (l->dfd >= 0)
			close(l->dfd);
		if (l->pages_fd >= 0)
			close(l->pages_fd);
		free(l->label);
		free(l->e);
		free(l->off);
		free(l);
		l = p;
	}
}

/* Loads and validates pagemap-PID.img of @l and opens its pages file. */
static int pc_level_load(struct pc_level *l, unsigned long pid)
{
	char name[64];
	struct img_file f;
	struct stat st;
	uint64_t pos = 0;
	int err;

	snprintf(name, sizeof(name), "pagemap-%lu.img", pid);
	err = img_read(&f, l->dfd, name, img_kind_by_name("PAGEMAP"));
	if (err) {
		pr_err("%s/%s: %s", l->label, name, err == -ENOENT ? "missing" : "unreadable or bad");
		return err;
	}
	err = -EINVAL;
	if (f.n == 0) {
		pr_err("%s/%s: no head entry", l->label, name);
		goto out;
	}
	snprintf(l->pages_name, sizeof(l->pages_name), "pages-%u.img",
		 ((PagemapHead *)f.ents[0].msg)->pages_id);
	l->n = f.n - 1;
	l->e = calloc(l->n ? l->n : 1, sizeof(*l->e));
	l->off = calloc(l->n ? l->n : 1, sizeof(*l->off));
	if (!l->e || !l->off) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		const PagemapEntry *pe = (const PagemapEntry *)f.ents[i + 1].msg;
		struct page_chain_entry *e = &l->e[i];

		e->vaddr = pe->vaddr;
		e->nr_pages = pe->nr_pages;
		e->flags = pe->has_flags ? pe->flags :
			   (pe->has_in_parent && pe->in_parent ? PAGE_CHAIN_PE_PARENT :
								 PAGE_CHAIN_PE_PRESENT);
		if (e->vaddr % PC_PAGE || !e->nr_pages || e->vaddr + e->nr_pages * PC_PAGE < e->vaddr ||
		    (i && e->vaddr < l->e[i - 1].vaddr + l->e[i - 1].nr_pages * PC_PAGE)) {
			pr_err("%s/%s: entry %zu at offset %zu (%#llx, %llu pages) is unaligned, "
			       "empty or not after the one before", l->label, name, i + 1,
			       f.ents[i + 1].offset, (unsigned long long)e->vaddr,
			       (unsigned long long)e->nr_pages);
			goto out;
		}
		if ((e->flags & PAGE_CHAIN_PE_PRESENT) && (e->flags & PAGE_CHAIN_PE_PARENT)) {
			pr_err("%s/%s: entry %zu at offset %zu is both present and in the parent",
			       l->label, name, i + 1, f.ents[i + 1].offset);
			goto out;
		}
		l->off[i] = pos;
		if (e->flags & PAGE_CHAIN_PE_PRESENT)
			pos += e->nr_pages * PC_PAGE;
	}
	l->pages_fd = openat(l->dfd, l->pages_name, O_RDONLY | O_CLOEXEC);
	if (l->pages_fd < 0 || fstat(l->pages_fd, &st)) {
		err = -errno;
		pr_err("%s/%s (named by %s): %s", l->label, l->pages_name, name, strerror(-err));
		goto out;
	}
	if ((uint64_t)st.st_size < pos) {
		pr_err("%s/%s holds %lld bytes, %s says %llu", l->label, l->pages_name,
		       (long long)st.st_size, name, (unsigned long long)pos);
		err = -EINVAL;
		goto out;
	}
	err = 0;
out:
	img_file_free(&f);
	return err;
}

static struct pc_level *pc_level_new(int dfd, const char *label, unsigned int depth)
{
	struct pc_level *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->dfd = dfd;
	l->pages_fd = -1;
	l->depth = depth;
	l->label = strdup(label);
	if (!l->label) {
		free(l);
		return NULL;
	}
	return l;
}

int page_chain_open(struct page_chain **pcp, int dfd, const char *label, unsigned long pid)
{
	struct page_chain *pc = calloc(1, sizeof(*pc));
	int fd, err;

	if (!pc)
		return -ENOMEM;
	fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		free(pc);
		return -errno;
	}
	pc->pid = pid;
	pc->top = pc_level_new(fd, label, 0);
	if (!pc->top) {
		close(fd);
		free(pc);
		return -ENOMEM;
	}
	err = pc_level_load(pc->top, pid);
	if (err) {
		page_chain_close(pc);
		return err;
	}
	*pcp = pc;
	return 0;
}

const struct page_chain_entry *page_chain_entries(const struct page_chain *pc, size_t *nr)
{
	*nr = pc->top->n;
	return pc->top->e;
}

static struct pc_level *pc_parent(struct page_chain *pc, struct pc_level *l)
{
	char label[4096];
	int fd;

	if (l->parent || l->parent_tried)
		return l->parent;
	l->parent_tried = true;
	if (l->depth + 1 >= PAGE_CHAIN_MAX_DEPTH) {
		pr_err("%s: the parent chain is deeper than %d levels (a loop?)", l->label,
		       PAGE_CHAIN_MAX_DEPTH);
		return NULL;
	}
	snprintf(label, sizeof(label), "%s/parent", l->label);
	fd = openat(l->dfd, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("%s: pages are in the parent, but it does not open: %s", label,
		       strerror(errno));
		return NULL;
	}
	l->parent = pc_level_new(fd, label, l->depth + 1);
	if (!l->parent) {
		close(fd);
		return NULL;
	}
	if (pc_level_load(l->parent, pc->pid)) {
		pc_level_free(l->parent);
		l->parent = NULL;
	}
	return l->parent;
}

/* The entry of @l containing @va, or the first one after it (or n). */
static size_t pc_find(const struct pc_level *l, uint64_t va)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->e[mid].vaddr + l->e[mid].nr_pages * PC_PAGE <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Where the pages found go: read into @buf, handed to @fn, or (neither)
 * only resolved. */
struct pc_sink {
	uint8_t *buf;
	page_chain_fn fn;
	void *arg;
};

/* Reads, hands over or only resolves [va, va + nr pages) at @l. */
static int pc_read(struct page_chain *pc, struct pc_level *l, uint64_t va, uint64_t nr,
		   struct pc_sink *to, unsigned int flags)
{
	while (nr) {
		size_t i = pc_find(l, va);
		const struct page_chain_entry *e = i < l->n ? &l->e[i] : NULL;
		uint8_t *at = to->buf;	/* a parent's read moves to->buf on by itself */
		uint64_t take;
		int err;

		if (!e || e->vaddr > va) {
			/* a hole: how far it goes */
			uint64_t gap = e ? (e->vaddr - va) / PC_PAGE : nr;

			take = gap < nr ? gap : nr;
			if (l->depth > 0 || !(flags & PAGE_CHAIN_ZERO_HOLES)) {
				pr_err("%s/pagemap-%lu.img has no entry for page %#llx%s", l->label,
				       pc->pid, (unsigned long long)va,
				       l->depth ? ", which the level above leaves to it" : "");
				return l->depth ? -EINVAL : -ENOENT;
			}
			if (to->buf)
				memset(to->buf, 0, take * PC_PAGE);
		} else {
			uint64_t in = (va - e->vaddr) / PC_PAGE;

			take = e->nr_pages - in < nr ? e->nr_pages - in : nr;
			if (e->flags & PAGE_CHAIN_PE_PRESENT) {
				uint64_t off = l->off[i] + in * PC_PAGE;

				if (to->fn) {
					err = to->fn(to->arg, l->pages_fd, off, va, take);
					if (err)
						return err;
				} else if (to->buf) {
					ssize_t got = pread(l->pages_fd, to->buf, take * PC_PAGE, (off_t)off);

					if (got != (ssize_t)(take * PC_PAGE)) {
						pr_err("%s/%s: short read of %llu bytes at offset %llu",
						       l->label, l->pages_name,
						       (unsigned long long)(take * PC_PAGE),
						       (unsigned long long)off);
						return -EIO;
					}
				}
			} else if (e->flags & PAGE_CHAIN_PE_PARENT) {
				struct pc_level *p = pc_parent(pc, l);

				if (!p)
					return -EINVAL;
				err = pc_read(pc, p, va, take, to, flags);
				if (err)
					return err;
			} else {
				pr_err("%s/pagemap-%lu.img: page %#llx has no data here nor in the "
				       "parent (flags %#x: lazy pages are not supported)", l->label,
				       pc->pid, (unsigned long long)va, e->flags);
				return -EINVAL;
			}
		}
		va += take * PC_PAGE;
		nr -= take;
		if (at)
			to->buf = at + take * PC_PAGE;
	}
	return 0;
}

int page_chain_read(struct page_chain *pc, uint64_t vaddr, uint64_t nr_pages,
		    void *buf, unsigned int flags)
{
	struct pc_sink to = { .buf = buf };

	if (vaddr % PC_PAGE || vaddr + nr_pages * PC_PAGE < vaddr || !buf)
		return -EINVAL;
	return pc_read(pc, pc->top, vaddr, nr_pages, &to, flags);
}

int page_chain_resolve(struct page_chain *pc, uint64_t vaddr, uint64_t nr_pages,
		       page_chain_fn fn, void *arg)
{
	struct pc_sink to = { .fn = fn, .arg = arg };

	if (vaddr % PC_PAGE || vaddr + nr_pages * PC_PAGE < vaddr || !fn)
		return -EINVAL;
	return pc_read(pc, pc->top, vaddr, nr_pages, &to, 0);
}

int page_chain_verify(struct page_chain *pc)
{
	for (size_t i = 0; i < pc->top->n; i++) {
		const struct page_chain_entry *e = &pc->top->e[i];
		struct pc_sink none = { 0 };
		int err;

		if (!(e->flags & PAGE_CHAIN_PE_PARENT))
			continue;
		err = pc_read(pc, pc->top, e->vaddr, e->nr_pages, &none, 0);
		if (err)
			return err;
	}
	return 0;
}

unsigned int page_chain_depth(const struct page_chain *pc)
{
	unsigned int d = 0;

	for (const struct pc_level *l = pc->top; l; l = l->parent)
		d++;
	return d;
}

void page_chain_close(struct page_chain *pc)
{
	if (!pc)
		return;
	pc_level_free(pc->top);
	free(pc);
}
