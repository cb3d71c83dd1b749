/* Once the tree runs again crisp lowers its own session's scheduler group
 * (the tree is in another session) so that it does not take the task's
 * CPU, and never the task's: after pre-dumps and a dump -R the task's own
 * group has the nice it set for itself, and so do its threads. (The driver
 * checks after every step that crisp gave its own group's nice back.)
 * Needs a kernel with autogroup, as the @says step shows. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("pre-dump @says=lowered; pre-dump; dump -R --track-mem @says=lowered; verify");
CRT_DAMAGE_FAILS("session group has nice 6, it set 3");

#define GROUP_NICE 3	/* what the task sets for its session group */
#define MAIN_NICE 2
#define THREAD_NICE 5

static volatile pid_t thread_tid;

static int group_read(unsigned long long *id, int *nice)
{
	FILE *f = fopen("/proc/self/autogroup", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "/autogroup-%llu nice %d", id, nice);
	fclose(f);
	return n == 2 ? 0 : -1;
}

static int group_set(int nice)
{
	int fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
	char text[8];
	int n = snprintf(text, sizeof(text), "%d", nice), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

static void *idler(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long long id0, id;
	int nice, got;
	pthread_t th;

	crt_init(argc, argv);
	if (group_set(GROUP_NICE) || group_read(&id0, &nice) || nice != GROUP_NICE) {
		fprintf(stderr, "no session group to set (autogroup): %s\n", strerror(errno));
		return 2;
	}
	if (setpriority(PRIO_PROCESS, 0, MAIN_NICE) || pthread_create(&th, NULL, idler, NULL))
		return 2;
	while (!thread_tid)
		usleep(1000);
	if (setpriority(PRIO_PROCESS, (id_t)thread_tid, THREAD_NICE))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		group_set(GROUP_NICE * 2);
	if (group_read(&id, &nice))
		crt_fail("cannot read /proc/self/autogroup");
	else if (id != id0)
		crt_fail("the task moved from session group %llu to %llu", id0, id);
	else if (nice != GROUP_NICE)
		crt_fail("the task's session group has nice %d, it set %d", nice, GROUP_NICE);
	errno = 0;
	got = getpriority(PRIO_PROCESS, 0);
	if (errno || got != MAIN_NICE)
		crt_fail("the main thread has nice %d, it set %d", got, MAIN_NICE);
	errno = 0;
	got = getpriority(PRIO_PROCESS, (id_t)thread_tid);
	if (errno || got != THREAD_NICE)
		crt_fail("the second thread has nice %d, it set %d", got, THREAD_NICE);
	return crt_finish();
}
