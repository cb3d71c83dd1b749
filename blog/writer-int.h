/* writer-int — what blog's two run-time files share: the per-thread ring of
 * record segments, the log's global state and the drain entry points
 * (drain.c) used by writer.c. Internal to libblog: nothing here is API, and
 * nothing here may be called on the logging fast path (blog.h). */
#ifndef CRISP_BLOG_WRITER_INT_H
#define CRISP_BLOG_WRITER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "blog.h"

/* Each thread owns BLOG_NSEG segments of BLOG_SEG_SIZE bytes, used as a
 * ring. The owner appends records to the current one; a full segment is
 * handed over to the writer thread, which writes it as one chunk. */
#define BLOG_SEG_SIZE (256u << 10)
#define BLOG_NSEG 4u

/* The largest record a call can make: header, 16 strings, errno. */
#define BLOG_REC_MAX (BLOG_REC_HDR + BLOG_MAX_ARGS * (2 + BLOG_STR_MAX) + 4)
_Static_assert(BLOG_REC_MAX + 64 <= BLOG_SEG_SIZE, "a record must fit in a segment");

struct blog_seg {
	char *base;
	uint32_t used;		/* owner: record bytes, set before it hands it over */
	uint32_t flushed;	/* drain side: bytes already written (a partial flush) */
};

/* One thread's ring. seg[head % N] is the owner's current segment; seg[tail
 * % N] .. seg[(head - 1) % N] are full and wait for the drain side, which
 * advances @tail as it writes them. Only the owner moves @head; only the
 * holder of blog_g.wlock moves @tail, @seq and the segments' @flushed.
 * Rings are never freed (a crash handler may walk them at any time): an
 * exited thread's ring is reused by a new thread once it is drained. */
struct blog_tbuf {
	struct blog_seg seg[BLOG_NSEG];
	uint32_t head, tail;
	uint32_t waiting;	/* the owner sleeps on @tail (BLOG_FULL_BLOCK) */
	uint32_t dropped;	/* records dropped and not yet marked */
	char **tpos;		/* the owner's blog_tpos, or &dead_pos */
	uint32_t readers;	/* drain sides reading *tpos (the owner's TLS) */
	char *dead_pos;		/* NULL: what tpos points at after exit */
	pid_t tid;
	uint32_t seq;		/* chunks written for this thread */
	bool exited;
	char *msg, *line;	/* text mode rendering, allocated on first use */
	struct blog_tbuf *next;
};

/* The log, the one piece of global state crisp has. */
struct blog_state {
	int fd;
	bool binary;
	bool crash_handlers;
	bool inited;
	int full_policy;	/* enum blog_full_policy */
	uint64_t clk0, mono0, real0;
	uint8_t build_id[64];
	uint32_t build_id_len;
	pthread_mutex_t list_lock;	/* adding or reusing a ring */
	struct blog_tbuf *list;
	pthread_key_t key;

	pthread_mutex_t wlock;	/* whoever writes to fd: writer thread, flush, fork, exit */
	pid_t wlock_owner;	/* tid holding wlock, 0 if none (for the crash handler) */
	int write_err;		/* first write error since the last blog_flush() */

	/* the writer thread of process @writer_pid, if @writer_running */
	pthread_t writer;
	pid_t writer_pid;
	bool writer_running;
	uint32_t writer_stop;
	uint32_t writer_idle;	/* it sleeps on @wake_seq */
	uint32_t wake_seq;
	uint32_t crashing;	/* a fatal signal is being handled: no more writer */

	struct blog_stats stats;	/* updated with atomics */
};

extern struct blog_state blog_g;
extern __thread struct blog_tbuf *blog_self;

/* The descriptor of the "records dropped" marker (writer.c). */
extern struct blog_desc blog_drop_desc;

/* What the owner of @b committed: its *tpos, read safely from another
 * thread (the owner waits for readers before its TLS goes away). */
char *blog_tpos_of(struct blog_tbuf *b);

/* drain.c */
void blog_wlock(void);
void blog_wunlock(void);
/* Writes @b's full segments, in order; wlock held. Returns 0 or -errno. */
int blog_drain_ready(struct blog_tbuf *b, bool *wrote);
/* Writes all @b holds: full segments, then what its owner committed to the
 * current one; then a marker chunk if records were dropped. wlock held. */
int blog_drain_all(struct blog_tbuf *b);
/* blog_drain_all() for every ring; wlock held. */
int blog_drain_everything(void);
/* True if this process has a running writer thread. */
bool blog_drain_active(void);
/* Wakes the writer thread if it sleeps. */
void blog_drain_kick(void);
/* BLOG_FULL_BLOCK: waits until @b has a free segment. Returns 0, or
 * -ESRCH if the writer thread is gone (the caller then writes itself). */
int blog_drain_wait(struct blog_tbuf *b);
/* Starts or stops (after draining everything) the writer thread. */
int blog_drain_start(void);
void blog_drain_stop(void);
/* Fatal signal: stops the writer thread (waiting a bounded time for its
 * current write) and writes what every thread committed. Signal-safe. */
void blog_drain_crash(void);

#endif
