/* Per-task settings a task changes for itself: lowered soft (and some hard)
 * rlimits, umask, the working directory (a directory of its own), nice,
 * the SCHED_BATCH policy and its name: all read back the same after restore. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("umask is 022, expected 027");

#define UMASK_TEST 027
#define NICE_TEST 7
#define COMM_TEST "crt-limits"

static const struct {
	int resource;
	const char *name;
	bool lower_hard;	/* lower the hard limit too (the soft always) */
} limits[] = {
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE", false },
	{ RLIMIT_CORE, "RLIMIT_CORE", true },
	{ RLIMIT_STACK, "RLIMIT_STACK", false },
	{ RLIMIT_NPROC, "RLIMIT_NPROC", false },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", true },
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE", false },
	{ RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", false },
	{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", false },
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

/* A lowered value for limit @i, below the current one (when finite). */
static rlim_t lowered(size_t i, rlim_t cur)
{
	rlim_t want = (rlim_t)(1000 + i * 37) * (limits[i].resource == RLIMIT_STACK ? 4096 : 1);

	if (limits[i].resource == RLIMIT_FSIZE)
		want = (rlim_t)1 << 40;	/* stay big: the verdict file must fit */
	return cur != RLIM_INFINITY && cur < want ? cur : want;
}

int main(int argc, char **argv)
{
	struct rlimit want[NLIMITS], got;
	char dir[600], cwd[PATH_MAX], comm[16];
	struct sched_param sp = { 0 };

	crt_init(argc, argv);
	for (size_t i = 0; i < NLIMITS; i++) {
		if (getrlimit(limits[i].resource, &want[i]))
			return 2;
		want[i].rlim_cur = lowered(i, want[i].rlim_cur);
		if (limits[i].lower_hard)
			want[i].rlim_max = want[i].rlim_cur;
		if (setrlimit(limits[i].resource, &want[i]))
			return 2;
	}
	snprintf(dir, sizeof(dir), "%s/cwd-of-task", crt_dir());
	if ((mkdir(dir, 0750) && errno != EEXIST) || chdir(dir))
		return 2;
	umask(UMASK_TEST);
	errno = 0;
	if (setpriority(PRIO_PROCESS, 0, NICE_TEST) || sched_setscheduler(0, SCHED_BATCH, &sp) ||
	    prctl(PR_SET_NAME, COMM_TEST))
		return 2;
	crt_ready();
	crt_wait_verify();

	if (crt_damage())
		umask(022);
	for (size_t i = 0; i < NLIMITS; i++) {
		if (getrlimit(limits[i].resource, &got))
			crt_fail("%s: getrlimit: %s", limits[i].name, strerror(errno));
		else if (got.rlim_cur != want[i].rlim_cur || got.rlim_max != want[i].rlim_max)
			crt_fail("%s is %llu/%llu (soft/hard), expected %llu/%llu", limits[i].name,
				 (unsigned long long)got.rlim_cur, (unsigned long long)got.rlim_max,
				 (unsigned long long)want[i].rlim_cur,
				 (unsigned long long)want[i].rlim_max);
	}
	mode_t mask = umask(0);

	umask(mask);
	if (mask != UMASK_TEST)
		crt_fail("umask is %03o, expected %03o", (unsigned int)mask, UMASK_TEST);
	if (!getcwd(cwd, sizeof(cwd)))
		crt_fail("getcwd: %s", strerror(errno));
	else if (strcmp(cwd, dir))
		crt_fail("cwd is '%s', expected '%s'", cwd, dir);
	errno = 0;
	int nice_now = getpriority(PRIO_PROCESS, 0);

	if (errno || nice_now != NICE_TEST)
		crt_fail("nice is %d, expected %d", nice_now, NICE_TEST);
	if (sched_getscheduler(0) != SCHED_BATCH)
		crt_fail("scheduling policy is %d, expected %d (SCHED_BATCH)", sched_getscheduler(0),
			 SCHED_BATCH);
	if (prctl(PR_GET_NAME, comm) || strcmp(comm, COMM_TEST))
		crt_fail("comm is '%s', expected '%s'", comm, COMM_TEST);
	return crt_finish();
}
