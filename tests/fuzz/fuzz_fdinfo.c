/* fuzz_fdinfo — the fdinfo text parsers of engine/files over any bytes:
 * none may crash or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "fdinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_tfd(const struct fdinfo_epoll_tfd *t, void *arg)
{
	*(uint64_t *)arg += t->tfd;
	return 0;
}

static int fuzz_wd(const struct fdinfo_inotify_wd *w, void *arg)
{
	*(uint64_t *)arg += w->handle[w->bytes ? w->bytes - 1 : 0];
	return 0;
}

static int fuzz_lock(const struct fdinfo_lock *l, void *arg)
{
	*(uint64_t *)arg += l->start + l->len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct fdinfo_timerfd t;
	uint64_t v, sum = 0;
	char buf[32];

	fdinfo_field(text, size, "flags", buf, sizeof(buf));
	fdinfo_u64(text, size, "pos", 10, &v);
	fdinfo_u64(text, size, "eventfd-count", 16, &v);
	fdinfo_timerfd(text, size, &t);
	fdinfo_epoll(text, size, fuzz_tfd, &sum);
	fdinfo_inotify(text, size, fuzz_wd, &sum);
	fdinfo_locks(text, size, fuzz_lock, &sum);
	return (int)(sum & 0);
}
