/* writer — blog's run time: per-thread record buffers, the log file (its
 * header and dictionary, then CRC-framed chunks), text mode, and flushing at
 * exit, on fork and on fatal signals. The logging path lives in blog.h; this
 * file holds only what runs rarely. It must not parse formats per record. */
#include "blog.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blog-wire.h"
#include "render.h"

_Static_assert(sizeof(struct blog_desc) == 64, "descriptor stride must be 64 bytes");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "records are written in host order");

#define BLOG_TBUF_SIZE (256u << 10)

/* Weak: an executable without any call site has no "blog_desc" section. */
extern struct blog_desc __start_blog_desc[] __attribute__((weak));
extern struct blog_desc __stop_blog_desc[] __attribute__((weak));

int blog_level_current = BLOG_DEFAULT_LEVEL;
bool blog_text_mode = true;
__thread char *blog_tpos __attribute__((tls_model("initial-exec")));
__thread char *blog_tend __attribute__((tls_model("initial-exec")));

/* One thread's buffer. Records sit in [base, *tpos); [base, flushed) is
 * already written. Only the owner appends; flushing takes @lock. Buffers are
 * never freed (a crash handler may walk the list at any time): a finished
 * thread's buffer is marked dead and reused by the next thread. */
struct blog_tbuf {
	char *base, *end;
	char *flushed;
	char **tpos;		/* the owner's blog_tpos */
	char *dead_pos;		/* what tpos points at while dead */
	pid_t tid;
	uint32_t seq;
	bool dead;
	pthread_mutex_t lock;
	char *msg, *line;	/* text mode rendering, allocated on first use */
	struct blog_tbuf *next;
};

/* The log, the one piece of global state crisp has. */
static struct {
	int fd;
	bool binary;
	bool crash_handlers;
	uint64_t clk0, mono0, real0;
	uint8_t build_id[64];
	uint32_t build_id_len;
	pthread_mutex_t list_lock;
	struct blog_tbuf *list;
	pthread_key_t key;
	bool inited;
} blog = { .fd = STDERR_FILENO, .list_lock = PTHREAD_MUTEX_INITIALIZER };

static __thread struct blog_tbuf *blog_self;

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
				blog.build_id_len = descsz < 64 ? descsz : 64;
				memcpy(blog.build_id, p + desc_off, blog.build_id_len);
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
	if (blog.inited)
		return;
	blog.inited = true;
	blog.clk0 = blog_clock();
	blog.mono0 = blog_now(CLOCK_MONOTONIC);
	blog.real0 = blog_now(CLOCK_REALTIME);
	blog_init_dictionary();
	dl_iterate_phdr(blog_find_build_id, NULL);
	pthread_key_create(&blog.key, blog_thread_exit);
	pthread_atfork(blog_atfork_prepare, blog_atfork_parent, blog_atfork_child);
	atexit(blog_at_exit);
}

static bool blog_dictionary_usable(void)
{
	uintptr_t a = (uintptr_t)__start_blog_desc, b = (uintptr_t)__stop_blog_desc;

	return (b - a) % sizeof(struct blog_desc) == 0;
}

/* Writes [from, to) of @b as one chunk; the caller holds @b->lock or is the
 * only thread left. Returns 0 or -errno. Async-signal-safe. */
static int blog_write_chunk(struct blog_tbuf *b, const char *from, const char *to)
{
	uint8_t hdr[BLOG_CH_SIZE];
	struct iovec iov[2];
	size_t len = (size_t)(to - from), total;
	struct timespec ts;
	ssize_t n;
	uint32_t crc;

	if (!len || !blog.binary)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	blog_set32(hdr + BLOG_CH_MAGIC, BLOG_CHUNK_MAGIC);
	blog_set32(hdr + BLOG_CH_LEN, (uint32_t)len);
	blog_set32(hdr + BLOG_CH_PID, (uint32_t)getpid());
	blog_set32(hdr + BLOG_CH_TID, (uint32_t)b->tid);
	blog_set32(hdr + BLOG_CH_SEQ, b->seq++);
	blog_set64(hdr + BLOG_CH_CLK, blog_clock());
	blog_set64(hdr + BLOG_CH_MONO, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	crc = blog_crc32c(0, hdr + BLOG_CH_PID, BLOG_CH_SIZE - BLOG_CH_PID);
	crc = blog_crc32c(crc, from, len);
	blog_set32(hdr + BLOG_CH_CRC, crc);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)from, len };
	total = sizeof(hdr) + len;
	/* one writev: with O_APPEND a chunk is never split by another writer */
	do {
		n = writev(blog.fd, iov, 2);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < total) {
		/* rare (disk full): finish the rest; a reader sees a torn chunk */
		for (int i = 0; i < 2 && n >= 0; i++) {
			size_t skip = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
			const char *p = (const char *)iov[i].iov_base + skip;
			size_t left = iov[i].iov_len - skip;

			n -= (ssize_t)skip;
			while (left) {
				ssize_t w = write(blog.fd, p, left);

				if (w <= 0)
					return w < 0 ? -errno : -EIO;
				p += w;
				left -= (size_t)w;
			}
		}
	}
	return 0;
}

/* Writes what @b holds that is not written yet; @b->lock held. */
static int blog_flush_locked(struct blog_tbuf *b)
{
	char *to = __atomic_load_n(b->tpos, __ATOMIC_ACQUIRE);
	int err = 0;

	if (!to || to < b->flushed)
		return 0;
	err = blog_write_chunk(b, b->flushed, to);
	b->flushed = to;
	return err;
}

static struct blog_tbuf *blog_tbuf_get(void)
{
	struct blog_tbuf *b;

	if (!blog.inited)
		blog_init();
	pthread_mutex_lock(&blog.list_lock);
	for (b = blog.list; b; b = b->next)
		if (b->dead)
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (b)
			b->base = malloc(BLOG_TBUF_SIZE);
		if (!b || !b->base) {
			if (b)
				free(b);
			pthread_mutex_unlock(&blog.list_lock);
			return NULL;
		}
		b->end = b->base + BLOG_TBUF_SIZE;
		pthread_mutex_init(&b->lock, NULL);
		b->next = blog.list;
		__atomic_store_n(&blog.list, b, __ATOMIC_RELEASE);
	}
	pthread_mutex_lock(&b->lock);
	b->dead = false;
	b->tid = (pid_t)syscall(SYS_gettid);
	b->seq = 0;
	b->flushed = b->base;
	blog_tpos = b->base;
	blog_tend = b->end;
	b->tpos = &blog_tpos;
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&blog.list_lock);
	blog_self = b;
	pthread_setspecific(blog.key, b);
	return b;
}

char *blog_reserve_slow(size_t need)
{
	struct blog_tbuf *b = blog_self;

	if (!b) {
		b = blog_tbuf_get();
		if (!b)
			return NULL;
	} else {
		pthread_mutex_lock(&b->lock);
		blog_flush_locked(b);
		b->flushed = b->base;
		__atomic_store_n(&blog_tpos, b->base, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&b->lock);
	}
	if ((size_t)(b->end - b->base) < need)
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
				    blog_now(CLOCK_MONOTONIC) - blog.mono0, d->level,
				    d->file, d->line, b->msg, msg_len);
	do {
		n = write(blog.fd, b->line, line_len);
	} while (n < 0 && errno == EINTR);
}

int blog_flush(void)
{
	int err = 0, e;

	pthread_mutex_lock(&blog.list_lock);
	for (struct blog_tbuf *b = blog.list; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		e = blog_flush_locked(b);
		if (e && !err)
			err = e;
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&blog.list_lock);
	return err;
}

static void blog_thread_exit(void *arg)
{
	struct blog_tbuf *b = arg;

	pthread_mutex_lock(&b->lock);
	blog_flush_locked(b);
	b->dead_pos = b->flushed = b->base;
	b->tpos = &b->dead_pos;
	b->dead = true;
	pthread_mutex_unlock(&b->lock);
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
	pthread_mutex_lock(&blog.list_lock);
	for (struct blog_tbuf *b = blog.list; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		blog_flush_locked(b);
	}
}

static void blog_atfork_parent(void)
{
	for (struct blog_tbuf *b = blog.list; b; b = b->next)
		pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&blog.list_lock);
}

static void blog_forget_others(void)
{
	for (struct blog_tbuf *b = blog.list; b; b = b->next) {
		pthread_mutex_init(&b->lock, NULL);
		if (b == blog_self) {
			/* anything not written yet is the parent's to write */
			blog_tpos = b->flushed = b->base;
			b->tid = (pid_t)syscall(SYS_gettid);
			b->seq = 0;
		} else {
			/* that thread does not exist here */
			b->dead_pos = b->flushed = b->base;
			b->tpos = &b->dead_pos;
			b->dead = true;
		}
	}
}

static void blog_atfork_child(void)
{
	blog_forget_others();
	pthread_mutex_init(&blog.list_lock, NULL);
}

void blog_child_reset(void)
{
	pthread_mutex_init(&blog.list_lock, NULL);
	blog_forget_others();
}

/* Fatal signals: write out what every thread committed, then die as the
 * signal would have made us die. Locks are only tried: a thread holding one
 * may be the one that crashed. */
static const int blog_fatal_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE };
static struct sigaction blog_old_actions[5];

static void blog_crash_handler(int sig)
{
	int saved = errno;

	for (struct blog_tbuf *b = __atomic_load_n(&blog.list, __ATOMIC_ACQUIRE); b; b = b->next) {
		if (pthread_mutex_trylock(&b->lock))
			continue;
		blog_flush_locked(b);
		pthread_mutex_unlock(&b->lock);
	}
	for (size_t i = 0; i < 5; i++)
		if (blog_fatal_signals[i] == sig)
			sigaction(sig, &blog_old_actions[i], NULL);
	errno = saved;
	raise(sig);
}

static void blog_install_crash_handlers(void)
{
	struct sigaction sa = { .sa_handler = blog_crash_handler, .sa_flags = SA_RESETHAND };

	if (blog.crash_handlers)
		return;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 5; i++)
		sigaction(blog_fatal_signals[i], &sa, &blog_old_actions[i]);
	blog.crash_handlers = true;
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
	blog_set64(h + BLOG_FH_CLK0, blog.clk0);
	blog_set64(h + BLOG_FH_MONO0, blog.mono0);
	blog_set64(h + BLOG_FH_REAL0, blog.real0);
	blog_set32(h + BLOG_FH_BUILDID_LEN, blog.build_id_len);
	memcpy(h + BLOG_FH_BUILDID, blog.build_id, blog.build_id_len);
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
	int old = blog.fd;

	blog_flush();
	blog.fd = fd;
	blog.binary = binary;
	blog_text_mode = !binary;
	if (old != STDERR_FILENO && old != fd)
		close(old);
}

int blog_open_file(const char *path, enum blog_mode mode)
{
	uint8_t *hdr = NULL;
	size_t len = 0;
	int fd;

	if (!blog.inited)
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
	blog_set_fd(fd, mode == BLOG_MODE_BINARY);
	return 0;
}

void blog_close(void)
{
	blog_set_fd(STDERR_FILENO, false);
}

void blog_set_level(int level)
{
	blog_level_current = level < BLOG_ERROR ? BLOG_ERROR : level;
}
