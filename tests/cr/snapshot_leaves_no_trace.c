/* After live snapshots (dump --leave-running, copy-before-write) the task is
 * as it was: the same fds (no userfaultfd left), the same /proc/self/maps,
 * no mapping still registered ("uw" VmFlags), a writer thread that went on
 * writing through the snapshots (the kernel writing into its memory as well,
 * with uname()), and every page writable again, by the task
 * and by the kernel (uname() into it). Protection left behind would hang
 * the writes (the test times out) or fail the uname() with EFAULT. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump -R @says=live_copy_us=; dump -R @says=live_copy_us=; verify");
CRT_DAMAGE_FAILS("fds: ");

#define PAGES 4096u		/* 16 MiB, half of it never touched before the dumps */
#define SHARED_PAGES 256u
#define MAPS_MAX (64u << 10)

static struct {
	volatile uint64_t *mem, *shared;
	volatile uint64_t writes;
	volatile int stop;
	volatile int kernel_err;	/* errno of a failed uname() into the region */
} nt;

static void *nt_writer(void *arg)
{
	uint64_t x = 88172645463325252ull;

	(void)arg;
	while (!nt.stop) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		nt.mem[(x % PAGES) * 512 + (x >> 40) % 512] = x;
		nt.shared[(x % SHARED_PAGES) * 512] = x;
		/* the kernel writes too (copy_to_user): it must wait, not fail */
		if (!(nt.writes % 64) && uname((struct utsname *)(nt.mem + (x % PAGES) * 512 + 64)))
			nt.kernel_err = errno;
		nt.writes++;
	}
	return NULL;
}

/* /proc/self/@name into @buf; its length, or -1. */
static ssize_t nt_read(const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static char maps_before[MAPS_MAX], maps_after[MAPS_MAX], smaps[1u << 20];

int main(int argc, char **argv)
{
	sigset_t block, old;
	uint64_t writes_at_ready;
	pthread_t th;
	int fds, fds_after;
	char *uw;

	crt_init(argc, argv);
	nt.mem = mmap(NULL, PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	nt.shared = mmap(NULL, SHARED_PAGES * 4096ul, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nt.mem == MAP_FAILED || nt.shared == MAP_FAILED)
		return 2;
	for (unsigned int p = 0; p < PAGES; p += 2)
		nt.mem[p * 512] = p + 1;
	sigemptyset(&block);
	sigaddset(&block, CRT_VERIFY_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(&th, NULL, nt_writer, NULL))
		return 2;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	crt_ready();
	writes_at_ready = nt.writes;
	fds = crt_fd_count();
	if (nt_read("maps", maps_before, sizeof(maps_before)) < 0)
		crt_fail("cannot read /proc/self/maps");
	crt_wait_verify();
	nt.stop = 1;
	pthread_join(th, NULL);

	if (crt_damage())
		fds_after = open("/", O_RDONLY | O_DIRECTORY);	/* an fd too many */
	fds_after = crt_fd_count();
	if (fds_after != fds)
		crt_fail("fds: %d open after the snapshots, %d before", fds_after, fds);
	if (nt_read("maps", maps_after, sizeof(maps_after)) < 0 ||
	    strcmp(maps_before, maps_after))
		crt_fail("/proc/self/maps changed across the snapshots");
	if (nt_read("smaps", smaps, sizeof(smaps)) < 0)
		crt_fail("cannot read /proc/self/smaps");
	uw = strstr(smaps, " uw");
	if (uw)
		crt_fail("a mapping is still registered for write-protection: ...%.60s",
			 uw > smaps + 60 ? uw - 60 : smaps);
	if (nt.kernel_err)
		crt_fail("uname() into the region failed during the snapshots: %s",
			 strerror(nt.kernel_err));
	if (nt.writes <= writes_at_ready)
		crt_fail("the writer did not write through the snapshots (%llu writes)",
			 (unsigned long long)nt.writes);
	/* every page written again: none may stay protected */
	for (unsigned int p = 0; p < PAGES; p++)
		nt.mem[p * 512 + 1] = p;
	for (unsigned int p = 0; p < SHARED_PAGES; p++)
		nt.shared[p * 512 + 1] = p;
	for (unsigned int p = 0; p < PAGES; p += 97) {
		if (uname((struct utsname *)(nt.mem + p * 512 + 2))) {
			crt_fail("uname() into page %u failed: %s", p, strerror(errno));
			break;
		}
	}
	for (unsigned int p = 0; p < PAGES; p++)
		if (nt.mem[p * 512 + 1] != p) {
			crt_fail("page %u word 1 reads %llu", p, (unsigned long long)nt.mem[p * 512 + 1]);
			break;
		}
	return crt_finish();
}
