/* writer — blog's run time, the rarely run part: per-thread record rings
 * (taking a ring, handing a full segment over, the drop and block policies),
 * the log file's header and dictionary, text mode, and the hooks for exit,
 * thread exit, fork and fatal signals. File writes of binary mode are in
 * drain.c; the logging path is in blog.h. It must not parse formats per
 * record. */
#include "blog.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blog-wire.h"
#include "render.h"
#include "writer-int.h"

_Static_assert(sizeof(struct blog_desc) == 64, "descriptor stride must be 64 bytes");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "records are written in host order");

/* Weak: an executable without any call site has no "blog_desc" section. */
extern struct blog_desc __start_blog_desc[] __attribute__((weak));
extern struct blog_desc __stop_blog_desc[] __attribute__((weak));

int blog_level_current = BLOG_DEFAULT_LEVEL;
bool blog_text_mode = true;
__thread char *blog_tpos __attribute__((tls_model("initial-exec")));
__thread char *blog_tend __attribute__((tls_model("initial-exec")));

struct blog_state blog_g = {
	.fd = STDERR_FILENO,
	.list_lock = PTHREAD_MUTEX_INITIALIZER,
	.wlock = PTHREAD_MUTEX_INITIALIZER,
};

__thread struct blog_tbuf *blog_self;

/* The marker a thread writes before its next record after it dropped some
 * (BLOG_FULL_DROP); a normal dictionary entry, so decoders render it. */
static const char blog_drop_types[] = "i";
struct blog_desc blog_drop_desc BLOG_DESC_ATTRS = {
	.fmt = "blog: %u records dropped here (the log writer fell behind)",
	.file = __FILE__, .types = blog_drop_types, .line = __LINE__,
	.level = BLOG_WARN, .nargs = 1,
};

static uint64_t blog_now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t blog_clock_ns(void)
{
	return blog_now(CLOCK_MONOTONIC);
}

static size_t blog_ndesc(void)
{
	uintptr_t a = (uintptr_t)__start_blog_desc, b = (uintptr_t)__stop_blog_desc;

	if (!a || b <= a)
		return 0;
	return (b - a) / sizeof(struct blog_desc);
}

/* Reads each call site's format once: which char * arguments are printed
 * with %p (kept as pointers, not copied), and whether %m needs errno. */
static void blog_init_dictionary(void)
{
	size_t n = blog_ndesc();

	for (size_t i = 0; i < n; i++) {
		struct blog_desc *d = &__start_blog_desc[i];
		char convs[BLOG_MAX_ARGS];
		bool has_m;
		int nc = blog_fmt_plan(d->fmt, convs, BLOG_MAX_ARGS, &has_m);

		d->rt_errno = has_m;
		for (int a = 0; a < d->nargs && a < BLOG_MAX_ARGS; a++) {
			char t = d->types[a];

			if (t == 's' && a < nc && convs[a] == 'p') {
				d->str_ptr_mask |= 1u << a;
				t = 'p';
			}
			d->eff_types[a] = t;
		}
		d->eff_types[d->nargs] = 0;
	}
}

static int blog_find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size, (void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		size_t off = 0;

		if (ph->p_type != PT_NOTE)
			continue;
		while (off + 12 <= ph->p_memsz) {
			uint32_t namesz = blog_get32(p + off), descsz = blog_get32(p + off + 4);
			uint32_t type = blog_get32(p + off + 8);
			size_t name_off = off + 12, desc_off = name_off + ((namesz + 3) & ~3u);

			if (desc_off + descsz > ph->p_memsz)
				break;
			if (type == 3 && namesz == 4 && !memcmp(p + name_off, "GNU", 4)) {
				blog_g.build_id_len = descsz < 64 ? descsz : 64;
				memcpy(blog_g.build_id, p + desc_off, blog_g.build_id_len);
				return 1;
			}
			off = desc_off + ((descsz + 3) & ~3u);
		}
	}
	return 1;	/* the first object is the executable: stop there */
}

static void blog_thread_exit(void *arg);
static void blog_atfork_prepare(void);
static void blog_atfork_parent(void);
static void blog_atfork_child(void);
static void blog_at_exit(void);

__attribute__((constructor)) static void blog_init(void)
{
	if (blog_g.inited)
		return;
	blog_g.inited = true;
	blog_g.clk0 = blog_clock();
	blog_g.mono0 = blog_now(CLOCK_MONOTONIC);
	blog_g.real0 = blog_now(CLOCK_REALTIME);
	blog_init_dictionary();
	dl_iterate_phdr(blog_find_build_id, NULL);
	pthread_key_create(&blog_g.key, blog_thread_exit);
	pthread_atfork(blog_atfork_prepare, blog_atfork_parent, blog_atfork_child);
	atexit(blog_at_exit);
}

static bool blog_dictionary_usable(void)
{
	uintptr_t a = (uintptr_t)__start_blog_desc, b = (uintptr_t)__stop_blog_desc;

	return (b - a) % sizeof(struct blog_desc) == 0;
}

static struct blog_tbuf *blog_tbuf_new(void)
{
	struct blog_tbuf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	for (unsigned int i = 0; i < BLOG_NSEG; i++) {
		b->seg[i].base = malloc(BLOG_SEG_SIZE);
		if (!b->seg[i].base) {
			while (i--)
				free(b->seg[i].base);
			free(b);
			return NULL;
		}
	}
	b->exited = true;
	b->tpos = &b->dead_pos;
	return b;
}

/* The calling thread's ring: a drained one of an exited thread, or a new
 * one. NULL if there is no memory (its records are then lost). */
static struct blog_tbuf *blog_tbuf_get(void)
{
	struct blog_tbuf *b;
	struct blog_seg *s;

	if (!blog_g.inited)
		blog_init();
	pthread_mutex_lock(&blog_g.list_lock);
	for (b = blog_g.list; b; b = b->next)
		if (__atomic_load_n(&b->exited, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE) == b->head &&
		    !__atomic_load_n(&b->dropped, __ATOMIC_ACQUIRE))
			break;
	if (!b) {
		b = blog_tbuf_new();
		if (!b) {
			pthread_mutex_unlock(&blog_g.list_lock);
			return NULL;
		}
		b->next = blog_g.list;
		__atomic_store_n(&blog_g.list, b, __ATOMIC_RELEASE);
	}
	/* drained and exited: no drain side touches it until it is live */
	s = &b->seg[b->head % BLOG_NSEG];
	s->flushed = 0;
	b->tid = (pid_t)syscall(SYS_gettid);
	b->seq = 0;
	blog_tpos = s->base;
	blog_tend = s->base + BLOG_SEG_SIZE;
	b->tpos = &blog_tpos;
	__atomic_store_n(&b->exited, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&blog_g.list_lock);
	blog_self = b;
	pthread_setspecific(blog_g.key, b);
	return b;
}

/* Hands the current segment to the writer thread and starts the next one.
 * False if none is free (the writer is behind). */
static bool blog_seg_handover(struct blog_tbuf *b)
{
	uint32_t head = b->head;
	struct blog_seg *cur = &b->seg[head % BLOG_NSEG], *next;

	if (head - __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE) > BLOG_NSEG - 2)
		return false;
	cur->used = (uint32_t)(blog_tpos - cur->base);
	next = &b->seg[(head + 1) % BLOG_NSEG];
	/* seq_cst: pairs with the writer's going idle (blog_drain_kick) */
	__atomic_store_n(&b->head, head + 1, __ATOMIC_SEQ_CST);
	blog_tend = next->base + BLOG_SEG_SIZE;
	__atomic_store_n(&blog_tpos, next->base, __ATOMIC_RELEASE);
	blog_drain_kick();
	return true;
}

/* No writer thread here: write the current segment out and reuse it. */
static void blog_seg_write_own(struct blog_tbuf *b)
{
	struct blog_seg *s;

	blog_wlock();
	blog_drain_all(b);
	s = &b->seg[b->head % BLOG_NSEG];
	s->flushed = 0;
	__atomic_store_n(&blog_tpos, s->base, __ATOMIC_RELEASE);
	blog_wunlock();
}

/* The marker record, first in a fresh segment. */
static void blog_put_drop_marker(uint32_t n)
{
	char *s = blog_reserve(BLOG_REC_HDR + 4), *p;

	if (!s)
		return;
	p = s + BLOG_REC_HDR;
	memcpy(p, &n, 4);
	blog_commit(&blog_drop_desc, s, p + 4);
}

char *blog_reserve_slow(size_t need)
{
	struct blog_tbuf *b = blog_self;
	uint32_t n;

	if (!b) {
		b = blog_tbuf_get();
		if (!b)
			return NULL;
	} else if (!blog_g.binary) {
		/* text mode: records are rendered and dropped at once */
		__atomic_store_n(&blog_tpos, b->seg[b->head % BLOG_NSEG].base, __ATOMIC_RELEASE);
	} else if (__atomic_load_n(&blog_g.full_policy, __ATOMIC_RELAXED) == BLOG_FULL_DROP &&
		   b->head - __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE) > BLOG_NSEG - 2 &&
		   __atomic_load_n(&blog_g.writer_running, __ATOMIC_RELAXED) &&
		   !__atomic_load_n(&blog_g.crashing, __ATOMIC_RELAXED)) {
		/* cheap on purpose: it may happen for every call for a while */
		__atomic_add_fetch(&b->dropped, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&blog_g.stats.dropped, 1, __ATOMIC_RELAXED);
		return NULL;
	} else if (!blog_drain_active()) {
		blog_seg_write_own(b);
	} else if (!blog_seg_handover(b)) {
		/* BLOG_FULL_BLOCK (or the policy changed just now) */
		if (blog_drain_wait(b) || !blog_seg_handover(b))
			blog_seg_write_own(b);
	}
	n = __atomic_exchange_n(&b->dropped, 0, __ATOMIC_ACQ_REL);
	if (n)
		blog_put_drop_marker(n);
	if ((size_t)(blog_tend - blog_tpos) < need)
		return NULL;
	return blog_tpos;
}

void blog_text_emit(char *rec)
{
	struct blog_tbuf *b = blog_self;
	uint32_t id = blog_get32((uint8_t *)rec + BLOG_RH_ID);
	uint32_t len = blog_get32((uint8_t *)rec + BLOG_RH_LEN);
	const struct blog_desc *d = &__start_blog_desc[id];
	size_t msg_len, line_len;
	ssize_t n;

	__atomic_store_n(&blog_tpos, rec, __ATOMIC_RELEASE);	/* drop the record */
	if (!b->msg) {
		b->msg = malloc(BLOG_MSG_MAX);
		b->line = malloc(BLOG_MSG_MAX + 4096);
		if (!b->msg || !b->line) {
			free(b->msg);
			free(b->line);
			b->msg = b->line = NULL;
			return;
		}
	}
	msg_len = blog_render_msg(b->msg, BLOG_MSG_MAX, d->fmt, d->eff_types,
				  d->flags | (d->rt_errno ? BLOG_DF_HAS_M : 0),
				  (uint8_t *)rec + BLOG_RH_SIZE, len - BLOG_RH_SIZE);
	line_len = blog_render_line(b->line, BLOG_MSG_MAX + 4096,
				    blog_now(CLOCK_MONOTONIC) - blog_g.mono0, d->level,
				    d->file, d->line, b->msg, msg_len);
	do {
		n = write(blog_g.fd, b->line, line_len);
	} while (n < 0 && errno == EINTR);
}

int blog_flush(void)
{
	int err;

	blog_wlock();
	err = blog_drain_everything();
	if (!err)
		err = blog_g.write_err;
	blog_g.write_err = 0;
	blog_wunlock();
	return err;
}

/* A thread ends: its records go to the writer thread (or out at once if
 * there is none), and its ring waits, drained, for the next thread. */
static void blog_thread_exit(void *arg)
{
	struct blog_tbuf *b = arg;
	struct blog_seg *cur = &b->seg[b->head % BLOG_NSEG];

	if (blog_drain_active() && blog_g.binary) {
		/* no lock: exit must not wait for a write in progress */
		cur->used = (uint32_t)(blog_tpos - cur->base);
		__atomic_store_n(&b->head, b->head + 1, __ATOMIC_SEQ_CST);
	} else {
		blog_wlock();
		blog_drain_all(b);
		cur->flushed = 0;
		blog_wunlock();
	}
	b->dead_pos = NULL;
	__atomic_store_n(&b->tpos, &b->dead_pos, __ATOMIC_SEQ_CST);
	/* our TLS goes away: wait for whoever is reading blog_tpos through it */
	while (__atomic_load_n(&b->readers, __ATOMIC_SEQ_CST))
		sched_yield();
	__atomic_store_n(&b->exited, true, __ATOMIC_RELEASE);
	blog_drain_kick();
	blog_self = NULL;
	blog_tpos = blog_tend = NULL;
}

static void blog_at_exit(void)
{
	blog_flush();
}

/* fork(): everything buffered is written before, so the child starts with
 * nothing of its parent's, and no lock is held across the fork. */
static void blog_atfork_prepare(void)
{
	pthread_mutex_lock(&blog_g.list_lock);
	blog_wlock();
	blog_drain_everything();
}

static void blog_atfork_parent(void)
{
	blog_wunlock();
	pthread_mutex_unlock(&blog_g.list_lock);
}

/* In a new child: the parent's writer thread and other threads do not
 * exist here, and what the parent had not written is the parent's. */
static void blog_forget_parent(void)
{
	pthread_mutex_init(&blog_g.list_lock, NULL);
	pthread_mutex_init(&blog_g.wlock, NULL);
	blog_g.wlock_owner = 0;
	blog_g.writer_running = false;
	blog_g.writer_idle = 0;
	blog_g.writer_stop = 0;
	for (struct blog_tbuf *b = blog_g.list; b; b = b->next) {
		b->tail = b->head;
		b->waiting = 0;
		b->dropped = 0;
		for (unsigned int i = 0; i < BLOG_NSEG; i++)
			b->seg[i].flushed = 0;
		if (b == blog_self) {
			struct blog_seg *s = &b->seg[b->head % BLOG_NSEG];

			blog_tpos = s->base;
			blog_tend = s->base + BLOG_SEG_SIZE;
			b->tid = (pid_t)syscall(SYS_gettid);
			b->seq = 0;
		} else {
			b->dead_pos = NULL;
			b->tpos = &b->dead_pos;
			b->exited = true;
		}
	}
}

static void blog_atfork_child(void)
{
	blog_forget_parent();
}

void blog_child_reset(void)
{
	blog_forget_parent();
}

/* Fatal signals, and the ones that end a process by default when someone
 * stops it (Ctrl-C, kill, a closed terminal): write out what every thread
 * committed, then die as the signal would have made us die. A signal the
 * process ignored when the log was opened (nohup's SIGHUP) stays ignored. */
static const int blog_fatal_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE,
					  SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define BLOG_NR_FATAL (sizeof(blog_fatal_signals) / sizeof(blog_fatal_signals[0]))
static struct sigaction blog_old_actions[BLOG_NR_FATAL];

static void blog_crash_handler(int sig)
{
	int saved = errno;

	blog_drain_crash();
	for (size_t i = 0; i < BLOG_NR_FATAL; i++)
		if (blog_fatal_signals[i] == sig)
			sigaction(sig, &blog_old_actions[i], NULL);
	errno = saved;
	raise(sig);
}

static void blog_install_crash_handlers(void)
{
	struct sigaction sa = { .sa_handler = blog_crash_handler, .sa_flags = SA_RESETHAND };

	if (blog_g.crash_handlers)
		return;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < BLOG_NR_FATAL; i++) {
		if (sigaction(blog_fatal_signals[i], NULL, &blog_old_actions[i]) ||
		    blog_old_actions[i].sa_handler == SIG_IGN)
			continue;
		sigaction(blog_fatal_signals[i], &sa, NULL);
	}
	blog_g.crash_handlers = true;
}

/* The file header and dictionary, in one malloc'd block. */
static uint8_t *blog_build_header(size_t *lenp)
{
	size_t n = blog_ndesc(), len = BLOG_FH_SIZE + 4;
	uint8_t *h, *p;

	for (size_t i = 0; i < n; i++) {
		const struct blog_desc *d = &__start_blog_desc[i];
		size_t fl = strnlen(d->fmt, 65535), il = strnlen(d->file, 65535);

		len += BLOG_DE_SIZE + d->nargs + fl + il;
	}
	h = calloc(1, len);
	if (!h)
		return NULL;
	memcpy(h + BLOG_FH_MAGIC, BLOG_FILE_MAGIC, 8);
	blog_set32(h + BLOG_FH_VERSION, BLOG_FILE_VERSION);
	blog_set32(h + BLOG_FH_HDR_LEN, (uint32_t)len);
#if defined(__x86_64__) || defined(__i386__)
	blog_set32(h + BLOG_FH_FLAGS, BLOG_FF_CLOCK_TSC);
#endif
	blog_set32(h + BLOG_FH_PID, (uint32_t)getpid());
	blog_set64(h + BLOG_FH_CLK0, blog_g.clk0);
	blog_set64(h + BLOG_FH_MONO0, blog_g.mono0);
	blog_set64(h + BLOG_FH_REAL0, blog_g.real0);
	blog_set32(h + BLOG_FH_BUILDID_LEN, blog_g.build_id_len);
	memcpy(h + BLOG_FH_BUILDID, blog_g.build_id, blog_g.build_id_len);
	blog_set32(h + BLOG_FH_NDICT, (uint32_t)n);
	p = h + BLOG_FH_SIZE;
	for (size_t i = 0; i < n; i++) {
		const struct blog_desc *d = &__start_blog_desc[i];
		size_t fl = strnlen(d->fmt, 65535), il = strnlen(d->file, 65535);
		size_t el = BLOG_DE_SIZE + d->nargs + fl + il;

		blog_set32(p + BLOG_DE_LEN, (uint32_t)el);
		blog_set32(p + BLOG_DE_LINE, d->line);
		p[BLOG_DE_LEVEL] = d->level;
		p[BLOG_DE_FLAGS] = (uint8_t)(d->flags | (d->rt_errno ? BLOG_DF_HAS_M : 0));
		p[BLOG_DE_NARGS] = d->nargs;
		blog_set16(p + BLOG_DE_FMT_LEN, (uint16_t)fl);
		blog_set16(p + BLOG_DE_FILE_LEN, (uint16_t)il);
		memcpy(p + BLOG_DE_SIZE, d->eff_types, d->nargs);
		memcpy(p + BLOG_DE_SIZE + d->nargs, d->fmt, fl);
		memcpy(p + BLOG_DE_SIZE + d->nargs + fl, d->file, il);
		p += el;
	}
	blog_set32(p, blog_crc32c(0, h, len - 4));
	*lenp = len;
	return h;
}

static void blog_set_fd(int fd, bool binary)
{
	int old;

	blog_wlock();
	blog_drain_everything();
	old = blog_g.fd;
	blog_g.fd = fd;
	blog_g.binary = binary;
	blog_text_mode = !binary;
	blog_wunlock();
	if (old != STDERR_FILENO && old != fd)
		close(old);
}

int blog_open_file(const char *path, enum blog_mode mode)
{
	uint8_t *hdr = NULL;
	size_t len = 0;
	int fd;

	if (!blog_g.inited)
		blog_init();
	if (mode == BLOG_MODE_BINARY && !blog_dictionary_usable())
		return -ENOEXEC;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (mode == BLOG_MODE_BINARY) {
		hdr = blog_build_header(&len);
		if (!hdr || write(fd, hdr, len) != (ssize_t)len) {
			int err = hdr ? (errno ? -errno : -EIO) : -ENOMEM;

			free(hdr);
			close(fd);
			return err;
		}
		free(hdr);
		blog_install_crash_handlers();
	}
	if (mode != BLOG_MODE_BINARY)
		blog_drain_stop();
	blog_set_fd(fd, mode == BLOG_MODE_BINARY);
	/* without a writer thread, calls write their full buffers themselves */
	if (mode == BLOG_MODE_BINARY)
		blog_drain_start();
	return 0;
}

void blog_close(void)
{
	blog_drain_stop();
	blog_set_fd(STDERR_FILENO, false);
}

void blog_set_full_policy(enum blog_full_policy policy)
{
	__atomic_store_n(&blog_g.full_policy, (int)policy, __ATOMIC_RELAXED);
}

void blog_get_stats(struct blog_stats *st)
{
	st->chunks = __atomic_load_n(&blog_g.stats.chunks, __ATOMIC_RELAXED);
	st->bytes = __atomic_load_n(&blog_g.stats.bytes, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&blog_g.stats.dropped, __ATOMIC_RELAXED);
	st->waits = __atomic_load_n(&blog_g.stats.waits, __ATOMIC_RELAXED);
	st->wait_ns_total = __atomic_load_n(&blog_g.stats.wait_ns_total, __ATOMIC_RELAXED);
	st->wait_ns_max = __atomic_load_n(&blog_g.stats.wait_ns_max, __ATOMIC_RELAXED);
}

int blog_writer_start(void)
{
	if (!blog_g.binary)
		return -EINVAL;
	return blog_drain_start();
}

void blog_writer_stop(void)
{
	blog_drain_stop();
}

void blog_set_level(int level)
{
	blog_level_current = level < BLOG_ERROR ? BLOG_ERROR : level;
}
