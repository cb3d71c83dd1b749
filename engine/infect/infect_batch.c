/* infect_batch — queued remote system calls run in one stop (see
 * infect_batch.h), by the pie/batch.c blob or one by one. */
#include "infect_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "batch.h"
#include "blog.h"
#include "pie-batch-blob.h"

#define IB_ALIGN(x, a) (((size_t)(x) + (a) - 1) & ~((size_t)(a) - 1))
#define IB_TABLE_OFF IB_ALIGN(PIE_BATCH_SIZE, 64)	/* the table, after the blob */
#define IB_STACK 1024					/* the blob's stack, at the top */
#define IB_EFLAGS_TF 0x100
#define IB_EFLAGS_DF 0x400

static struct pie_batch_table *ib_table(const struct infect_batch *b)
{
	return (struct pie_batch_table *)b->img;
}

static size_t ib_table_len(uint32_t nr)
{
	return sizeof(struct pie_batch_table) + (size_t)nr * sizeof(struct pie_batch_entry);
}

size_t infect_batch_area_size(size_t calls, size_t buf_bytes)
{
	return IB_ALIGN(ib_table_len(0) + calls * sizeof(struct pie_batch_entry) + buf_bytes +
			IB_STACK, 64);
}

size_t infect_batch_first_area(void)
{
	return IB_TABLE_OFF;
}

size_t infect_batch_scratch_size(size_t calls, size_t buf_bytes)
{
	return IB_ALIGN(IB_TABLE_OFF + infect_batch_area_size(calls, buf_bytes), 4096);
}

int infect_batch_init_at(struct infect_batch *b, struct infect_ctx *c, size_t off, size_t len)
{
	memset(b, 0, sizeof(*b));
	if (!c->scratch || off < IB_TABLE_OFF || off % 64 || off > c->scratch_size ||
	    len > c->scratch_size - off || len < ib_table_len(0) + IB_STACK + 16)
		return -EINVAL;
	b->c = c;
	b->off = off;
	b->img_len = (len - IB_STACK) & ~(size_t)15;
	b->stack_top = (c->scratch + off + len) & ~15ULL;
	b->img = calloc(1, b->img_len);
	if (!b->img)
		return -ENOMEM;
	b->buf_low = b->img_len;
	return 0;
}

int infect_batch_init(struct infect_batch *b, struct infect_ctx *c)
{
	if (!c->scratch || c->scratch_size < IB_TABLE_OFF) {
		memset(b, 0, sizeof(*b));
		return -EINVAL;
	}
	return infect_batch_init_at(b, c, IB_TABLE_OFF, c->scratch_size - IB_TABLE_OFF);
}

void *infect_batch_buf(struct infect_batch *b, size_t len, uint64_t *remote)
{
	size_t need = INFECT_BATCH_BUF_SIZE(len ? len : 1);

	if (b->ran || need > b->buf_low || b->buf_low - need < ib_table_len(b->nr))
		return NULL;
	b->buf_low -= need;
	*remote = b->c->scratch + b->off + b->buf_low;
	return b->img + b->buf_low;
}

int infect_batch_add(struct infect_batch *b, long nr, const uint64_t args[6])
{
	struct pie_batch_entry *e;

	if (b->ran)
		return -EBUSY;
	if (ib_table_len(b->nr + 1) > b->buf_low || b->nr >= INT32_MAX)
		return -ENOSPC;
	e = &ib_table(b)->e[b->nr];
	e->nr = (uint64_t)nr;
	memcpy(e->args, args, sizeof(e->args));
	e->ret = -ENOSYS;
	return (int)b->nr++;
}

long infect_batch_ret(const struct infect_batch *b, int idx)
{
	if (idx < 0 || (uint32_t)idx >= b->nr)
		return -EINVAL;
	return (long)ib_table(b)->e[idx].ret;
}

/*
 * One process_vm_writev (@out) or readv of what the task must see or has
 * written: the table when the blob runs it, and the buffers; with @code
 * (writing) the blob itself too, once per scratch and before a thread runs
 * it.
 */
static int ib_transfer(struct infect_batch *b, bool blob, bool code, bool out)
{
	struct infect_ctx *c = b->c;
	struct iovec l[3], r[3];
	size_t n = 0, total = 0;
	ssize_t done;

	if (blob && code && out) {
		l[n] = (struct iovec){ (void *)pie_batch_blob, PIE_BATCH_SIZE };
		r[n++] = (struct iovec){ (void *)(uintptr_t)c->scratch, PIE_BATCH_SIZE };
	}
	if (blob) {
		size_t len = ib_table_len(b->nr);

		l[n] = (struct iovec){ b->img, len };
		r[n++] = (struct iovec){ (void *)(uintptr_t)(c->scratch + b->off), len };
	}
	if (b->buf_low < b->img_len) {
		size_t len = b->img_len - b->buf_low;

		l[n] = (struct iovec){ b->img + b->buf_low, len };
		r[n++] = (struct iovec){ (void *)(uintptr_t)(c->scratch + b->off + b->buf_low),
					 len };
	}
	for (size_t i = 0; i < n; i++)
		total += l[i].iov_len;
	if (!n)
		return 0;
	done = out ? process_vm_writev(c->pid, l, n, r, n, 0) : process_vm_readv(c->pid, l, n, r, n, 0);
	if (done == (ssize_t)total)
		return 0;
	if (done < 0) {
		int err = -errno;

		pr_perror("task %d: %s its scratch at %#llx", c->pid, out ? "writing" : "reading",
			  (unsigned long long)c->scratch);
		return err;
	}
	pr_err("task %d: %s its scratch: %zd of %zu bytes", c->pid, out ? "writing" : "reading",
	       done, total);
	return -EFAULT;
}

/* Where the blob starts, with the table in rdi and the area's stack. */
static void ib_blob_regs(const struct infect_batch *b, struct user_regs_struct *r)
{
	const struct infect_ctx *c = b->c;

	*r = c->saved;
	r->rip = c->scratch + PIE_BATCH_OFF_pie_batch_main;
	r->rdi = c->scratch + b->off;
	r->rsp = b->stack_top - 8;	/* as if called: the ABI's alignment at entry */
	r->orig_rax = (unsigned long long)-1;	/* no syscall restart */
	r->eflags &= ~(unsigned long long)(IB_EFLAGS_TF | IB_EFLAGS_DF);
}

static uint64_t ib_trap_ip(const struct infect_batch *b)
{
	return b->c->scratch + PIE_BATCH_OFF_pie_batch_trap + 1;
}

static void ib_blob_failed(const struct infect_batch *b)
{
	pr_err("task %d: thread %d did not finish a batch of %u remote calls", b->c->pid,
	       b->c->tid, b->nr);
}

/* The blob runs the table from the scratch, on the area's stack. */
static int ib_run_blob(struct infect_batch *b)
{
	struct user_regs_struct r;
	int err;

	ib_blob_regs(b, &r);
	err = infect_run_to_trap(b->c, &r, false, ib_trap_ip(b));
	if (err)
		ib_blob_failed(b);
	return err;
}

static int ib_run_calls(struct infect_batch *b)
{
	struct pie_batch_table *t = ib_table(b);

	for (uint32_t i = 0; i < b->nr; i++) {
		long ret;
		int err = infect_syscall(b->c, (long)t->e[i].nr, t->e[i].args, &ret);

		if (err)
			return err;
		t->e[i].ret = ret;
		t->nr_done = i + 1;
	}
	return 0;
}

static bool ib_blob(const struct infect_batch *b)
{
	return b->c->scratch_exec && !(b->c->flags & INFECT_BATCH_BY_CALL);
}

static int ib_begin(struct infect_batch *b)
{
	struct pie_batch_table *t = ib_table(b);

	if (b->ran)
		return -EBUSY;
	b->ran = true;
	t->nr_entries = b->nr;
	t->nr_done = 0;
	return 0;
}

/* After the calls ran: their results back from the task, and checked. */
static int ib_end(struct infect_batch *b, bool blob)
{
	struct infect_ctx *c = b->c;
	struct pie_batch_table *t = ib_table(b);
	int err = ib_transfer(b, blob, false, false);

	if (err)
		return err;
	if (t->nr_entries != b->nr || t->nr_done != b->nr) {
		pr_err("task %d: thread %d ran %u of %u batched calls", c->pid, c->tid,
		       t->nr_done, b->nr);
		return -EIO;
	}
	if (blob) {
		c->nr_calls += b->nr;
		for (uint32_t i = 0; i < b->nr; i++)
			pr_debug("task %d: remote syscall %lld = %lld (batched)", c->pid,
				 (long long)t->e[i].nr, (long long)t->e[i].ret);
	}
	pr_debug("task %d: thread %d ran a batch of %u remote calls %s", c->pid, c->tid, b->nr,
		 blob ? "in one stop" : "one by one");
	return 0;
}

int infect_batch_run(struct infect_batch *b)
{
	bool blob = ib_blob(b);
	int err = ib_begin(b);

	if (err || !b->nr)
		return err;
	err = ib_transfer(b, blob, true, true);
	if (!err)
		err = blob ? ib_run_blob(b) : ib_run_calls(b);
	return err ? err : ib_end(b, blob);
}

int infect_batch_run_many(struct infect_batch *const *bs, size_t n)
{
	bool together = n > 1;
	int err = 0, e;
	size_t up = 0;		/* bs[0..up) are running */

	for (size_t i = 0; i < n; i++)
		together = together && ib_blob(bs[i]);
	if (!together) {	/* one thread after the other */
		for (size_t i = 0; i < n && !err; i++)
			err = infect_batch_run(bs[i]);
		return err;
	}
	for (bool code = true; up < n; up++) {
		struct user_regs_struct r;

		err = ib_begin(bs[up]);
		if (err)
			break;
		if (!bs[up]->nr)
			continue;
		/* the blob once, before the first thread runs it: the others
		 * share the scratch and are not rewritten under it */
		err = ib_transfer(bs[up], true, code, true);
		if (err)
			break;
		code = false;
		ib_blob_regs(bs[up], &r);
		err = infect_launch(bs[up]->c, &r, false);
		if (err)
			break;
	}
	/* every thread launched is waited for, whatever the others did */
	for (size_t i = 0; i < up; i++) {
		struct user_regs_struct r;

		if (!bs[i]->nr)
			continue;
		e = infect_wait_trap(bs[i]->c, &r, false, ib_trap_ip(bs[i]));
		if (e)
			ib_blob_failed(bs[i]);
		else if (!err)
			e = ib_end(bs[i], true);
		if (e && !err)
			err = e;
	}
	return err;
}

void infect_batch_free(struct infect_batch *b)
{
	free(b->img);
	memset(b, 0, sizeof(*b));
}
