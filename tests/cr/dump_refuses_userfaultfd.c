/* A task that owns a userfaultfd (with a registered range) cannot be dumped
 * yet: the dump must refuse, naming userfaultfd, and leave the task running
 * and unchanged: its counters agree, memory intact, no tracer attached, and the
 * range still registered (VmFlags "um"). */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "busy-task.h"

CRT_SCENARIO("!dump @says=userfaultfd; !dump -R @says=userfaultfd; verify");
CRT_DAMAGE_FAILS("lack 'um'");

#define REGION_WORDS (1u << 20)	/* 8 MiB */
#define EXPECTED_FDS 1

static int uffd = -1;
static uint64_t *watched;
#define WATCHED_BYTES (16 * 4096)

int main(int argc, char **argv)
{
	struct bt_task t;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS))
		return 2;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	watched = mmap(NULL, WATCHED_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uffd < 0 || watched == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api))
		return 2;
	/* every page is present: no access can ever wait for a handler */
	for (size_t i = 0; i < WATCHED_BYTES / 8; i++)
		watched[i] = crt_pattern(10, i);
	reg.range.start = (unsigned long)watched;
	reg.range.len = WATCHED_BYTES;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return 2;
	crt_ready();
	bt_count(&t);
	if (crt_damage()) {
		struct uffdio_range range = { (unsigned long)watched, WATCHED_BYTES };

		ioctl(uffd, UFFDIO_UNREGISTER, &range);
	}
	bt_check_unchanged(&t, EXPECTED_FDS);
	if (bt_check_fd_kind(uffd, "[userfaultfd]")) {
		struct crt_vma vma;

		if (crt_vma_of(watched, &vma))
			crt_fail("no mapping holds the registered range %p", (void *)watched);
		else if (!crt_vma_has_flag(&vma, "um"))
			crt_fail("the registered range's VmFlags '%s' lack 'um'", vma.vmflags);
		for (size_t i = 0; i < WATCHED_BYTES / 8; i++)
			if (watched[i] != crt_pattern(10, i)) {
				crt_fail("registered range word %zu is %#llx, expected %#llx", i,
					 (unsigned long long)watched[i], (unsigned long long)crt_pattern(10, i));
				break;
			}
	}

	return crt_finish();
}
