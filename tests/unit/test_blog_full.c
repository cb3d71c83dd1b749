/* test_blog_full — what a log call does when the writer thread falls behind.
 * The log goes into a pipe that nobody reads for a while, so the writer
 * thread is stuck for sure and a thread's buffers fill: BLOG_FULL_DROP must
 * count every dropped record in a marker placed at the gap, BLOG_FULL_BLOCK
 * must wait and lose nothing. No timing is assumed anywhere. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "blog.h"
#include "blog_testlib.h"
#include "unit.h"

#define RECORDS 400000	/* about 9 MiB: far more than the pipe and the buffers */

struct pipe_log {
	int rfd;
	bool wait_for_block;	/* start reading once a call has blocked */
	uint64_t waits0;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
	uint8_t *buf;
	size_t len, cap;
};

static void *pipe_reader(void *arg)
{
	struct pipe_log *p = arg;
	uint8_t chunk[65536];
	ssize_t n;

	if (p->wait_for_block) {
		struct blog_stats st;
		struct timespec ms = { 0, 1000000 };

		/* not a timing threshold: a bound on a hang, if calls never block */
		for (int i = 0; i < 60000; i++) {
			blog_get_stats(&st);
			if (st.waits > p->waits0)
				break;
			nanosleep(&ms, NULL);
		}
	} else {
		pthread_mutex_lock(&p->lock);
		while (!p->go)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	while ((n = read(p->rfd, chunk, sizeof(chunk))) > 0) {
		if (p->len + (size_t)n > p->cap) {
			p->cap = (p->cap + (size_t)n) * 2;
			p->buf = realloc(p->buf, p->cap);
			if (!p->buf)
				return NULL;
		}
		memcpy(p->buf + p->len, chunk, (size_t)n);
		p->len += (size_t)n;
	}
	return NULL;
}

/* Opens the log on a pipe of 1 MiB (the header must fit: nobody reads it
 * yet) and starts its reader, held back. */
static int pipe_log_open(struct pipe_log *p, pthread_t *th, bool wait_for_block)
{
	char path[64];
	struct blog_stats st;
	int fds[2], err;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pipe(fds))
		return -1;
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
	err = blog_open_file(path, BLOG_MODE_BINARY);
	close(fds[1]);	/* blog has its own: EOF comes with blog_close() */
	if (err) {
		close(fds[0]);
		return err;
	}
	p->rfd = fds[0];
	p->wait_for_block = wait_for_block;
	blog_get_stats(&st);
	p->waits0 = st.waits;
	return pthread_create(th, NULL, pipe_reader, p) ? -1 : 0;
}

static void pipe_log_release(struct pipe_log *p)
{
	pthread_mutex_lock(&p->lock);
	p->go = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *drop_logger(void *arg)
{
	(void)arg;
	for (int i = 0; i < RECORDS; i++)
		pr_debug("drop test record %d", i);
	return NULL;
}

/* @in_thread: the records come from a thread that ends while its last ones
 * are still being dropped: no later record of its own can carry the
 * marker, the drain side writes it. */
static void test_drop(bool in_thread)
{
	struct pipe_log p;
	struct blog_stats st0, st1;
	struct tl_log l;
	pthread_t th, logger;
	long next = 0, bad = 0, markers = 0, marked = 0;

	blog_set_full_policy(BLOG_FULL_DROP);
	blog_get_stats(&st0);
	CHECK_INT(pipe_log_open(&p, &th, false), 0);
	if (in_thread) {
		CHECK_INT(pthread_create(&logger, NULL, drop_logger, NULL), 0);
		pthread_join(logger, NULL);
	} else {
		drop_logger(NULL);
	}
	blog_get_stats(&st1);
	/* nothing was read: most records cannot have found room */
	CHECK(st1.dropped - st0.dropped > RECORDS / 2);
	pipe_log_release(&p);
	CHECK_INT(blog_flush(), 0);
	blog_close();
	pthread_join(th, NULL);
	close(p.rfd);
	blog_get_stats(&st1);
	CHECK_INT(tl_decode_buf(p.buf, p.len, &l, NULL), 0);
	CHECK_INT(l.errors, 0);
	for (size_t i = 0; i < l.n; i++) {
		long d = tl_dropped(l.recs[i].msg);
		int k;

		if (d >= 0) {
			/* a marker counts the gap right where it is */
			markers++;
			marked += d;
			bad += d == 0;
			next += d;
			CHECK_CONTAINS(l.recs[i].line, "Warn");
			continue;
		}
		bad += sscanf(l.recs[i].msg, "drop test record %d", &k) != 1 || k != next++;
	}
	CHECK_INT(next, RECORDS);
	CHECK_INT(bad, 0);
	CHECK(markers >= 1);
	CHECK_INT(marked, (long)(st1.dropped - st0.dropped));
	CHECK_INT(l.n - markers + marked, RECORDS);
	tl_free(&l);
	free(p.buf);
}

static void test_block(void)
{
	struct pipe_log p;
	struct blog_stats st0, st1;
	struct tl_log l;
	pthread_t th;
	long bad = 0;

	blog_set_full_policy(BLOG_FULL_BLOCK);
	blog_get_stats(&st0);
	CHECK_INT(pipe_log_open(&p, &th, true), 0);
	/* the reader starts only once a call here has had to wait */
	for (int i = 0; i < RECORDS; i++)
		pr_debug("block test record %d", i);
	CHECK_INT(blog_flush(), 0);
	blog_close();
	pthread_join(th, NULL);
	close(p.rfd);
	blog_get_stats(&st1);
	blog_set_full_policy(BLOG_FULL_DROP);
	CHECK(st1.waits > st0.waits);
	CHECK(st1.wait_ns_max > 0);
	CHECK_INT(st1.dropped - st0.dropped, 0);
	CHECK_INT(tl_decode_buf(p.buf, p.len, &l, NULL), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, RECORDS);
	for (size_t i = 0; i < l.n; i++) {
		int k;

		bad += sscanf(l.recs[i].msg, "block test record %d", &k) != 1 || k != (int)i;
	}
	CHECK_INT(bad, 0);
	tl_free(&l);
	free(p.buf);
}

/* Without a writer thread (stopped), full buffers are written by the call
 * itself: nothing is dropped whatever the policy, nothing is lost. */
static void test_no_writer(void)
{
	char path[4096];
	struct blog_stats st0, st1;
	struct tl_log l;
	long bad = 0;

	tl_tmpname(path, sizeof(path), "no-writer");
	CHECK_INT(blog_open_file(path, BLOG_MODE_BINARY), 0);
	blog_writer_stop();
	blog_set_full_policy(BLOG_FULL_DROP);
	blog_get_stats(&st0);
	for (int i = 0; i < RECORDS / 4; i++)
		pr_debug("own record %d", i);
	blog_get_stats(&st1);
	CHECK_INT(st1.dropped - st0.dropped, 0);
	/* and a writer thread again, for the rest */
	CHECK_INT(blog_writer_start(), 0);
	blog_set_full_policy(BLOG_FULL_BLOCK);
	for (int i = RECORDS / 4; i < RECORDS / 2; i++)
		pr_debug("own record %d", i);
	blog_close();
	blog_set_full_policy(BLOG_FULL_DROP);
	CHECK_INT(blog_writer_start(), -EINVAL);	/* text mode: nothing to write */
	CHECK_INT(tl_decode_file(path, &l), 0);
	CHECK_INT(l.errors, 0);
	CHECK_INT(l.n, RECORDS / 2);
	for (size_t i = 0; i < l.n; i++) {
		int k;

		bad += sscanf(l.recs[i].msg, "own record %d", &k) != 1 || k != (int)i;
	}
	CHECK_INT(bad, 0);
	tl_free(&l);
	unlink(path);
}

int main(void)
{
	blog_set_level(BLOG_DEBUG);
	test_drop(false);
	test_drop(true);
	test_block();
	test_no_writer();
	return unit_summary("blog-full");
}
