/* drain — moves records from the per-thread segment rings into the log file:
 * the background writer thread, the full drains of flush, fork and exit,
 * the wait of BLOG_FULL_BLOCK and the async-signal-safe crash drain. All
 * file writes of binary mode happen here; none on the logging fast path. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blog-wire.h"
#include "writer-int.h"

static uint64_t drain_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void drain_futex_wait(uint32_t *word, uint32_t val, long timeout_ns)
{
	struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL, NULL, 0);
}

static void drain_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void blog_wlock(void)
{
	pthread_mutex_lock(&blog_g.wlock);
	__atomic_store_n(&blog_g.wlock_owner, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
}

void blog_wunlock(void)
{
	__atomic_store_n(&blog_g.wlock_owner, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&blog_g.wlock);
}

/* Writes all of @iov (a short write is finished piece by piece: a reader
 * then sees a torn chunk). Returns 0 or -errno. Async-signal-safe. */
static int drain_writev(struct iovec *iov, int cnt, size_t total)
{
	ssize_t n;

	/* one writev: with O_APPEND a chunk is never split by another writer */
	do {
		n = writev(blog_g.fd, iov, cnt);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n == total)
		return 0;
	for (int i = 0; i < cnt; i++) {
		size_t skip = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
		const char *p = (const char *)iov[i].iov_base + skip;
		size_t left = iov[i].iov_len - skip;

		n -= (ssize_t)skip;
		while (left) {
			ssize_t w = write(blog_g.fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			p += w;
			left -= (size_t)w;
		}
	}
	return 0;
}

/* Writes [from, to) as one chunk of @b's thread; wlock held (or the only
 * thread left). Returns 0 or -errno. Async-signal-safe. */
static int drain_chunk(struct blog_tbuf *b, const char *from, const char *to)
{
	uint8_t hdr[BLOG_CH_SIZE];
	struct iovec iov[2];
	size_t len = (size_t)(to - from);
	uint32_t crc;
	int err;

	if (!len || !blog_g.binary)
		return 0;
	blog_set32(hdr + BLOG_CH_MAGIC, BLOG_CHUNK_MAGIC);
	blog_set32(hdr + BLOG_CH_LEN, (uint32_t)len);
	blog_set32(hdr + BLOG_CH_PID, (uint32_t)getpid());
	blog_set32(hdr + BLOG_CH_TID, (uint32_t)b->tid);
	blog_set32(hdr + BLOG_CH_SEQ, b->seq++);
	blog_set64(hdr + BLOG_CH_CLK, blog_clock());
	blog_set64(hdr + BLOG_CH_MONO, drain_mono_ns());
	crc = blog_crc32c(0, hdr + BLOG_CH_PID, BLOG_CH_SIZE - BLOG_CH_PID);
	crc = blog_crc32c(crc, from, len);
	blog_set32(hdr + BLOG_CH_CRC, crc);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)from, len };
	err = drain_writev(iov, 2, sizeof(hdr) + len);
	if (err) {
		if (!blog_g.write_err)
			blog_g.write_err = err;
		return err;
	}
	__atomic_add_fetch(&blog_g.stats.chunks, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&blog_g.stats.bytes, sizeof(hdr) + len, __ATOMIC_RELAXED);
	return 0;
}

/* The records dropped by @b's thread and not marked yet, as a chunk of one
 * marker record; wlock held. Used where the owner cannot write the marker
 * itself: flush, exit, fork, crash. */
static int drain_drop_marker(struct blog_tbuf *b)
{
	/* a live owner may take the count itself: take it first. An exited
	 * one's count is cleared after the write, as its ring is reused only
	 * then (blog_tbuf_get). */
	bool exited = __atomic_load_n(&b->exited, __ATOMIC_ACQUIRE);
	uint32_t n = exited ? __atomic_load_n(&b->dropped, __ATOMIC_ACQUIRE) :
			      __atomic_exchange_n(&b->dropped, 0, __ATOMIC_ACQ_REL);
	uint8_t rec[BLOG_RH_SIZE + 4];
	int err;

	if (!n)
		return 0;
	/* it goes after all the records: an exited owner's last segment may
	 * have been handed over after the caller looked at @head */
	if (exited)
		blog_drain_ready(b, NULL);
	blog_set32(rec + BLOG_RH_ID, (uint32_t)(&blog_drop_desc - __start_blog_desc));
	blog_set32(rec + BLOG_RH_LEN, sizeof(rec));
	blog_set64(rec + BLOG_RH_CLK, blog_clock());
	blog_set32(rec + BLOG_RH_SIZE, n);
	err = drain_chunk(b, (char *)rec, (char *)rec + sizeof(rec));
	if (exited)
		__atomic_sub_fetch(&b->dropped, n, __ATOMIC_RELEASE);
	return err;
}

char *blog_tpos_of(struct blog_tbuf *b)
{
	char **pp, *to;

	/* seq_cst: pairs with the exiting owner's switch to dead_pos */
	__atomic_add_fetch(&b->readers, 1, __ATOMIC_SEQ_CST);
	pp = __atomic_load_n(&b->tpos, __ATOMIC_SEQ_CST);
	to = __atomic_load_n(pp, __ATOMIC_ACQUIRE);
	__atomic_sub_fetch(&b->readers, 1, __ATOMIC_RELEASE);
	return to;
}

int blog_drain_ready(struct blog_tbuf *b, bool *wrote)
{
	uint32_t head = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
	int err = 0, e;

	while (b->tail != head) {
		struct blog_seg *s = &b->seg[b->tail % BLOG_NSEG];

		e = drain_chunk(b, s->base + s->flushed, s->base + s->used);
		if (e && !err)
			err = e;
		s->flushed = 0;
		/* seq_cst: pairs with the owner's store of @waiting */
		__atomic_store_n(&b->tail, b->tail + 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST))
			drain_futex_wake(&b->tail);
		if (wrote)
			*wrote = true;
	}
	return err;
}

int blog_drain_all(struct blog_tbuf *b)
{
	int err = 0, e;

	/* the owner may hand a segment over meanwhile: then look again */
	for (int tries = 0; tries < 8; tries++) {
		struct blog_seg *s;
		uint32_t head;
		char *to, *from;

		e = blog_drain_ready(b, NULL);
		if (e && !err)
			err = e;
		if (__atomic_load_n(&b->exited, __ATOMIC_ACQUIRE))
			break;
		head = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
		if (head != b->tail)
			continue;
		s = &b->seg[head % BLOG_NSEG];
		to = blog_tpos_of(b);
		from = s->base + s->flushed;
		if (__atomic_load_n(&b->head, __ATOMIC_ACQUIRE) != head)
			continue;
		if (to && to >= from && to <= s->base + BLOG_SEG_SIZE) {
			e = drain_chunk(b, from, to);
			if (e && !err)
				err = e;
			s->flushed = (uint32_t)(to - s->base);
		}
		break;
	}
	e = drain_drop_marker(b);
	return err ? err : e;
}

int blog_drain_everything(void)
{
	int err = 0, e;

	for (struct blog_tbuf *b = __atomic_load_n(&blog_g.list, __ATOMIC_ACQUIRE); b; b = b->next) {
		e = blog_drain_all(b);
		if (e && !err)
			err = e;
	}
	return err;
}

bool blog_drain_active(void)
{
	return __atomic_load_n(&blog_g.writer_running, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&blog_g.crashing, __ATOMIC_RELAXED) &&
	       blog_g.writer_pid == getpid();
}

void blog_drain_kick(void)
{
	if (__atomic_load_n(&blog_g.writer_idle, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&blog_g.wake_seq, 1, __ATOMIC_SEQ_CST);
		drain_futex_wake(&blog_g.wake_seq);
	}
}

static bool drain_any_ready(void)
{
	for (struct blog_tbuf *b = __atomic_load_n(&blog_g.list, __ATOMIC_ACQUIRE); b; b = b->next)
		if (__atomic_load_n(&b->head, __ATOMIC_SEQ_CST) != __atomic_load_n(&b->tail, __ATOMIC_RELAXED) ||
		    (__atomic_load_n(&b->exited, __ATOMIC_RELAXED) &&
		     __atomic_load_n(&b->dropped, __ATOMIC_RELAXED)))
			return true;
	return false;
}

/* The writer thread: writes full segments as they are handed over, sleeps
 * when there are none. It never logs (it would feed itself). */
static void *drain_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "blog-writer");
	for (;;) {
		uint32_t seen = __atomic_load_n(&blog_g.wake_seq, __ATOMIC_SEQ_CST);
		bool wrote = false;

		blog_wlock();
		if (__atomic_load_n(&blog_g.crashing, __ATOMIC_RELAXED)) {
			blog_wunlock();
			for (;;)	/* the crash handler writes from now on */
				drain_futex_wait(&blog_g.crashing, 1, 0);
		}
		for (struct blog_tbuf *b = __atomic_load_n(&blog_g.list, __ATOMIC_ACQUIRE); b; b = b->next) {
			blog_drain_ready(b, &wrote);
			/* an exited thread cannot write its own marker */
			if (__atomic_load_n(&b->exited, __ATOMIC_ACQUIRE) && b->dropped)
				drain_drop_marker(b);
		}
		blog_wunlock();
		if (wrote)
			continue;
		if (__atomic_load_n(&blog_g.writer_stop, __ATOMIC_ACQUIRE))
			break;
		/* seq_cst: either a producer sees us idle, or we see its segment */
		__atomic_store_n(&blog_g.writer_idle, 1, __ATOMIC_SEQ_CST);
		if (!drain_any_ready() && !__atomic_load_n(&blog_g.writer_stop, __ATOMIC_SEQ_CST))
			drain_futex_wait(&blog_g.wake_seq, seen, 0);
		__atomic_store_n(&blog_g.writer_idle, 0, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

int blog_drain_wait(struct blog_tbuf *b)
{
	uint64_t t0 = drain_mono_ns(), dt, max;
	int ret = 0;

	__atomic_add_fetch(&blog_g.stats.waits, 1, __ATOMIC_RELAXED);
	for (;;) {
		uint32_t tail = __atomic_load_n(&b->tail, __ATOMIC_SEQ_CST);

		if (b->head - tail <= BLOG_NSEG - 2)
			break;
		if (!blog_drain_active()) {
			ret = -ESRCH;
			break;
		}
		__atomic_store_n(&b->waiting, 1, __ATOMIC_SEQ_CST);
		blog_drain_kick();
		/* the timeout only re-checks that the writer still exists */
		if (__atomic_load_n(&b->tail, __ATOMIC_SEQ_CST) == tail)
			drain_futex_wait(&b->tail, tail, 100 * 1000000L);
	}
	__atomic_store_n(&b->waiting, 0, __ATOMIC_RELAXED);
	dt = drain_mono_ns() - t0;
	__atomic_add_fetch(&blog_g.stats.wait_ns_total, dt, __ATOMIC_RELAXED);
	max = __atomic_load_n(&blog_g.stats.wait_ns_max, __ATOMIC_RELAXED);
	while (dt > max && !__atomic_compare_exchange_n(&blog_g.stats.wait_ns_max, &max, dt, true,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return ret;
}

int blog_drain_start(void)
{
	sigset_t all, old;
	int err;

	if (blog_drain_active())
		return 0;
	blog_g.writer_stop = 0;
	blog_g.writer_idle = 0;
	/* no signal is ever handled on the writer thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&blog_g.writer, NULL, drain_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	blog_g.writer_pid = getpid();
	__atomic_store_n(&blog_g.writer_running, true, __ATOMIC_RELEASE);
	return 0;
}

void blog_drain_stop(void)
{
	if (!blog_drain_active())
		return;
	__atomic_store_n(&blog_g.writer_stop, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&blog_g.wake_seq, 1, __ATOMIC_SEQ_CST);
	drain_futex_wake(&blog_g.wake_seq);
	pthread_join(blog_g.writer, NULL);
	__atomic_store_n(&blog_g.writer_running, false, __ATOMIC_RELEASE);
	blog_wlock();
	blog_drain_everything();
	blog_wunlock();
	/* callers waiting for it write their buffers themselves now */
	for (struct blog_tbuf *b = __atomic_load_n(&blog_g.list, __ATOMIC_ACQUIRE); b; b = b->next)
		if (__atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST))
			drain_futex_wake(&b->tail);
}

void blog_drain_crash(void)
{
	pid_t me = (pid_t)syscall(SYS_gettid);
	bool locked = false;

	__atomic_store_n(&blog_g.crashing, 1, __ATOMIC_SEQ_CST);
	/* wait for a write in progress (the writer thread's, or a flush's), up
	 * to 2 s, unless this thread is the one that holds the lock */
	for (int i = 0; i < 2000; i++) {
		struct timespec ms = { 0, 1000000 };

		if (!pthread_mutex_trylock(&blog_g.wlock)) {
			locked = true;
			break;
		}
		if (__atomic_load_n(&blog_g.wlock_owner, __ATOMIC_RELAXED) == me)
			break;
		nanosleep(&ms, NULL);
	}
	blog_drain_everything();
	if (locked)
		pthread_mutex_unlock(&blog_g.wlock);
}
