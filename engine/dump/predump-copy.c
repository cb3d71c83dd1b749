/* predump-copy — copies a running task's pages into pages-N.img: batched
 * process_vm_readv straight into the page writer's buffers (io_uring
 * writes, a fixed pool: the memory used is bounded whatever the task's
 * size), written with O_DIRECT where the filesystem takes it. What lands
 * is recorded as the task's runs for the pagemap; a page that vanished
 * meanwhile (munmap) is left out, which is safe: its address is in no
 * tracked VMA any more, so a later round sees it as new.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "dump.h"
#include "mem_read.h"
#include "page-writer.h"

#define PREDUMP_BUF_SIZE (4u << 20)	/* one process_vm_readv fills at most this */
#define PREDUMP_NR_BUFS 8		/* 32 MiB of buffers in all */

int predump_copy(struct dump_ctx *c, struct dump_task *t, const struct mem_ranges *copy,
		 unsigned int pages_id)
{
	/* warmed: a first process_vm_readv into each fresh buffer took 12-20 ms
	 * in one syscall, the task's spinning thread waiting for the CPU (1 GiB
	 * first pre-dump, sched_switch trace) */
	/* O_DIRECT: through the page cache, each byte was copied once more by
	 * crisp, written out later by the kernel's flusher threads (which do
	 * not yield to the task) and throttled as dirty: a 4 GiB first
	 * pre-dump took 10-11 s and 7.4-8.4 s of system CPU, 2.5-2.8 s and
	 * 1.0 s so. A restore right after reads from the disk (README). */
	const struct page_writer_opts po = { .buf_size = PREDUMP_BUF_SIZE,
					     .nr_bufs = PREDUMP_NR_BUFS, .prefault = true,
					     .direct = true };
	struct page_writer *pw = NULL;
	struct mem_reader rd;
	struct mem_batch b;
	uint64_t off = 0;
	char path[64];
	int err, ret, memfd;

	err = page_writer_open(&pw, &c->dir, pages_id, &po);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	mem_reader_init(&rd, t->pid, copy->r, copy->nr, NULL, PREDUMP_BUF_SIZE);
	rd.mem_fd = memfd;
	for (;;) {
		rd.buf = page_writer_reserve(pw, PREDUMP_BUF_SIZE);
		if (!rd.buf) {
			ret = page_writer_error(pw) ? page_writer_error(pw) : -ENOMEM;
			break;
		}
		ret = mem_reader_next(&rd, &b);
		if (ret != 1)
			break;
		for (size_t i = 0; i < b.nr_segs && !err; i++)
			err = dump_pages_add_run(t, b.seg[i].vaddr, b.seg[i].nr_pages,
						 (size_t)(off + b.seg[i].off));
		if (err) {
			ret = err;
			break;
		}
		off += b.bytes;
		ret = page_writer_commit(pw, b.bytes);
		if (ret)
			break;
		c->stats.pages_written += b.bytes / MEM_PAGE_SIZE;
	}
	if (ret == -ESRCH)
		pr_err("task %d is gone: the pre-dump is incomplete", (int)t->pid);
	if (rd.pages_vanished || rd.pages_pread)
		pr_info("task %d: %llu pages vanished while copying, %llu read through %s",
			(int)t->pid, (unsigned long long)rd.pages_vanished,
			(unsigned long long)rd.pages_pread, path);
	if (memfd >= 0)
		close(memfd);
	err = page_writer_close(pw);
	return ret ? ret : err;
}
