/* A task that owns an io_uring instance cannot be dumped yet: the dump must
 * refuse, naming io_uring, and leave the task running and unchanged: its
 * counters agree, memory intact, no tracer attached, and its ring still works
 * (a NOP submitted after the failed dump completes). */
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "busy-task.h"

CRT_SCENARIO("!dump @says=io_uring; !dump -R @says=io_uring; verify");
CRT_DAMAGE_FAILS("the task has 0 open fds, expected 1");

#define REGION_WORDS (1u << 20)	/* 8 MiB */
#define EXPECTED_FDS 1

static struct io_uring ring;

int main(int argc, char **argv)
{
	struct bt_task t;

	crt_init(argc, argv);
	if (bt_map(&t, REGION_WORDS))
		return 2;
	if (io_uring_queue_init(4, &ring, 0))
		return 2;
	crt_ready();
	bt_count(&t);
	if (crt_damage())
		io_uring_queue_exit(&ring);
	bt_check_unchanged(&t, EXPECTED_FDS);
	if (bt_check_fd_kind(ring.ring_fd, "[io_uring]")) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe = NULL;
		int err;

		if (!sqe) {
			crt_fail("the ring has no free submission entry, expected 4 free");
		} else {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, 0x5eed);
			err = io_uring_submit(&ring);
			if (err != 1 || io_uring_wait_cqe(&ring, &cqe) || !cqe)
				crt_fail("a NOP on the ring did not complete (submit gave %d), expected it to", err);
			else if (cqe->user_data != 0x5eed || cqe->res != 0)
				crt_fail("the NOP completed with data %#llx res %d, expected 0x5eed and 0",
					 (unsigned long long)cqe->user_data, cqe->res);
		}
	}

	return crt_finish();
}
