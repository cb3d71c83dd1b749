/* dump-mm — mm-PID.img: the mm_struct boundaries, saved auxv, exe file and
 * every VMA classified as CRIU does (status bits, mmap flags, madvise bits,
 * file ids). Decides which VMAs have pages to save; reads no pages itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blog.h"
#include "dump.h"
#include "mm.pb-c.h"

bool dump_vma_kernels(const char *name)
{
	return !strcmp(name, "[vdso]") || !strncmp(name, "[vvar", 5) || !strcmp(name, "[vsyscall]");
}

static uint64_t dump_mm_madv(uint64_t vmf)
{
	static const struct { uint64_t vmf; int advice; } map[] = {
		{ PROC_VMF_SEQ_READ, MADV_SEQUENTIAL },
		{ PROC_VMF_RAND_READ, MADV_RANDOM },
		{ PROC_VMF_DONTFORK, MADV_DONTFORK },
		{ PROC_VMF_DONTDUMP, MADV_DONTDUMP },
		{ PROC_VMF_MERGEABLE, MADV_MERGEABLE },
		{ PROC_VMF_HUGEPAGE, MADV_HUGEPAGE },
		{ PROC_VMF_NOHUGEPAGE, MADV_NOHUGEPAGE },
		{ PROC_VMF_WIPEONFORK, MADV_WIPEONFORK },
	};
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (vmf & map[i].vmf)
			m |= 1ull << map[i].advice;
	return m;
}

static int dump_mm_classify(struct dump_ctx *c, const struct proc_maps *m,
			    const struct proc_vma *v, struct dump_vma *d)
{
	const char *name = proc_vma_name(m, v);
	uint32_t id;
	int err;

	memset(d, 0, sizeof(*d));
	d->madv = dump_mm_madv(v->vmflags);
	if (v->vmflags & PROC_VMF_GROWSDOWN)
		d->flags |= MAP_GROWSDOWN;
	if (v->vmflags & PROC_VMF_LOCKED)
		d->flags |= MAP_LOCKED;
	if (v->vmflags & PROC_VMF_NORESERVE)
		d->flags |= MAP_NORESERVE;

	if (!strcmp(name, "[vsyscall]")) {
		d->status = DUMP_VMA_VSYSCALL;
		d->flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		return 0;
	}
	d->status = DUMP_VMA_REGULAR;
	if (!strcmp(name, "[vdso]") || !strncmp(name, "[vvar", 5)) {
		/* the running kernel's own: not saved, put back by restore */
		d->status |= name[2] == 'd' ? DUMP_VMA_VDSO : DUMP_VMA_VVAR;
		d->flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		return 0;
	}
	if (v->shared && (!strcmp(name, "/dev/zero (deleted)") || !strcmp(name, "/dev/zero"))) {
		/* MAP_SHARED|MAP_ANONYMOUS: shmem named after /dev/zero */
		d->status |= DUMP_VMA_ANON_SHARED;
		d->flags |= MAP_SHARED | MAP_ANONYMOUS;
		d->shmid = v->ino;
		d->dump_pages = true;
		return 0;
	}
	if (v->ino && name[0] == '/') {
		uint32_t oflags = v->shared && (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY;

		err = dump_files_add(&c->files, name, oflags, &id);
		if (err)
			return err;
		d->shmid = id;
		if (v->shared) {
			d->status |= DUMP_VMA_FILE_SHARED;
			d->flags |= MAP_SHARED;
		} else {
			d->status |= DUMP_VMA_FILE_PRIVATE;
			d->flags |= MAP_PRIVATE;
			d->dump_pages = true;
			d->file_skip = true;	/* only the pages that differ from the file */
		}
		return 0;
	}
	d->status |= DUMP_VMA_ANON_PRIVATE;
	d->flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	if (!strcmp(name, "[heap]"))
		d->status |= DUMP_VMA_HEAP;
	else if (!strcmp(name, "[stack]"))
		d->status |= DUMP_VMA_STACK;
	d->dump_pages = true;
	return 0;
}

/* Before the freeze: the root's smaps, whose walk of every page table
 * (about 18 ms per GiB) is kept out of the frozen window. */
void dump_mm_preread(struct dump_ctx *c)
{
	if (!proc_read_maps(c->o->tree_pid, true, &c->pre_smaps))
		c->have_pre_smaps = true;
}

/*
 * Inside the freeze: the cheap /proc/PID/maps, with each VMA's VmFlags taken
 * from the smaps read before the freeze when the same mapping is there
 * (same bounds, file, offset and protection). Any other mapping means the
 * layout changed since: then smaps is read again, frozen.
 */
static int dump_mm_read_maps(struct dump_ctx *c, struct dump_task *t)
{
	const struct proc_maps *pre = &c->pre_smaps;
	size_t j = 0;
	int err;

	if (!c->have_pre_smaps || t->pid != c->o->tree_pid)
		return proc_read_maps(t->pid, true, &t->maps);
	err = proc_read_maps(t->pid, false, &t->maps);
	if (err)
		return err;
	for (size_t i = 0; i < t->maps.nr; i++) {
		struct proc_vma *v = &t->maps.vma[i];

		while (j < pre->nr && pre->vma[j].end <= v->start)
			j++;
		if (j == pre->nr || pre->vma[j].start != v->start || pre->vma[j].end != v->end ||
		    pre->vma[j].ino != v->ino || pre->vma[j].pgoff != v->pgoff ||
		    pre->vma[j].prot != v->prot || pre->vma[j].shared != v->shared) {
			pr_debug("task %d: %#llx-%#llx changed since the smaps read before the freeze",
				 (int)t->pid, (unsigned long long)v->start,
				 (unsigned long long)v->end);
			proc_maps_free(&t->maps);
			return proc_read_maps(t->pid, true, &t->maps);
		}
		v->vmflags = pre->vma[j].vmflags;
		v->has_smaps = true;
		v->rss_kb = pre->vma[j].rss_kb;
		v->anon_kb = pre->vma[j].anon_kb;
		v->swap_kb = pre->vma[j].swap_kb;
	}
	return 0;
}

int dump_mm_collect(struct dump_ctx *c, struct dump_task *t)
{
	int err = dump_mm_read_maps(c, t);

	if (err) {
		pr_err("task %d: cannot read its smaps: %s", (int)t->pid, strerror(-err));
		return err;
	}
	err = proc_read_mm(t->pid, &t->mm);
	if (err) {
		pr_err("task %d: cannot read its mm fields: %s", (int)t->pid, strerror(-err));
		return err;
	}
	err = dump_files_add(&c->files, t->mm.exe, O_RDONLY, &t->exe_id);
	if (err)
		return err;
	t->vmas = calloc(t->maps.nr ? t->maps.nr : 1, sizeof(*t->vmas));
	if (!t->vmas)
		return -ENOMEM;
	for (size_t i = 0; i < t->maps.nr; i++) {
		err = dump_mm_classify(c, &t->maps, &t->maps.vma[i], &t->vmas[i]);
		if (err)
			return err;
	}
	return 0;
}

int dump_mm_write(struct dump_ctx *c, const struct dump_task *t)
{
	MmEntry me = MM_ENTRY__INIT;
	VmaEntry *ve = calloc(t->maps.nr ? t->maps.nr : 1, sizeof(*ve));
	VmaEntry **vp = calloc(t->maps.nr ? t->maps.nr : 1, sizeof(*vp));
	struct img_writer w;
	int err, err2;

	if (!ve || !vp) {
		free(ve);
		free(vp);
		return -ENOMEM;
	}
	me.mm_start_code = t->mm.start_code;
	me.mm_end_code = t->mm.end_code;
	me.mm_start_data = t->mm.start_data;
	me.mm_end_data = t->mm.end_data;
	me.mm_start_stack = t->mm.start_stack;
	me.mm_start_brk = t->mm.start_brk;
	me.mm_brk = t->prctl.brk;
	me.mm_arg_start = t->mm.arg_start;
	me.mm_arg_end = t->mm.arg_end;
	me.mm_env_start = t->mm.env_start;
	me.mm_env_end = t->mm.env_end;
	me.exe_file_id = t->exe_id;
	me.n_mm_saved_auxv = t->mm.auxv_len;
	me.mm_saved_auxv = (uint64_t *)t->mm.auxv;
	me.has_dumpable = true;
	me.dumpable = (int32_t)t->prctl.dumpable;
	me.has_thp_disabled = true;
	me.thp_disabled = t->prctl.thp_disable != 0;
	for (size_t i = 0; i < t->maps.nr; i++) {
		const struct proc_vma *v = &t->maps.vma[i];
		const struct dump_vma *d = &t->vmas[i];

		vma_entry__init(&ve[i]);
		ve[i].start = v->start;
		ve[i].end = v->end;
		ve[i].pgoff = v->pgoff;
		ve[i].shmid = d->shmid;
		ve[i].prot = (uint32_t)v->prot;
		ve[i].flags = d->flags;
		ve[i].status = d->status;
		ve[i].fd = -1;
		ve[i].has_madv = d->madv != 0;
		ve[i].madv = d->madv;
		if (d->status & (DUMP_VMA_FILE_PRIVATE | DUMP_VMA_FILE_SHARED)) {
			ve[i].has_fdflags = true;
			ve[i].fdflags = d->status & DUMP_VMA_FILE_SHARED && (v->prot & PROT_WRITE) ?
					O_RDWR : O_RDONLY;
		}
		vp[i] = &ve[i];
	}
	me.n_vmas = t->maps.nr;
	me.vmas = vp;
	err = img_writer_open(&w, &c->dir, img_kind_by_name("MM"), (unsigned long)t->pid);
	if (!err) {
		err = img_writer_entry(&w, &me.base);
		err2 = img_writer_close(&w);
		if (!err)
			err = err2;
	}
	free(ve);
	free(vp);
	return err;
}
