/* Credentials of a task that dropped root after setting up: distinct real,
 * effective and saved uids and gids, supplementary groups, kept and chosen
 * capabilities (permitted, effective, inheritable, ambient, a smaller
 * bounding set), securebits, no_new_privs and dumpable. All read back the
 * same after restore. The work dir is handed to the new euid first, so the
 * task can still write its verdict. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("effective capabilities are");

#define RUID 1001
#define EUID 1002
#define SUID 1003
#define RGID 1501
#define EGID 1502
#define SGID 1503
#define CAP_BIT(c) (1ull << (c))

static const gid_t groups_want[] = { 2001, 2002, 2003 };
#define NGROUPS (sizeof(groups_want) / sizeof(groups_want[0]))

struct caps {
	uint64_t effective, permitted, inheritable;
};

static int caps_get(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	c->effective = d[0].effective | (uint64_t)d[1].effective << 32;
	c->permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inheritable = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable },
		{ (uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32),
		  (uint32_t)(c->inheritable >> 32) },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static uint64_t bounding_set(void)
{
	uint64_t set = 0;

	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			set |= CAP_BIT(c);
	return set;
}

static uint64_t ambient_set(void)
{
	uint64_t set = 0;

	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			set |= CAP_BIT(c);
	return set;
}

int main(int argc, char **argv)
{
	const struct caps chosen = {
		.effective = CAP_BIT(CAP_KILL),
		.permitted = CAP_BIT(CAP_KILL) | CAP_BIT(CAP_NET_BIND_SERVICE),
		.inheritable = CAP_BIT(CAP_NET_BIND_SERVICE),
	};
	struct caps caps_now = { 0 };
	uint64_t bset_want, amb_want = CAP_BIT(CAP_NET_BIND_SERVICE);
	int securebits_want;
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[64];

	crt_init(argc, argv);
	if (chown(crt_dir(), EUID, EGID) ||
	    prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    setgroups(NGROUPS, groups_want) ||
	    setresgid(RGID, EGID, SGID) ||
	    setresuid(RUID, EUID, SUID) ||
	    caps_set(&chosen) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return 2;
	bset_want = bounding_set();
	securebits_want = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	crt_ready();
	crt_wait_verify();

	if (crt_damage()) {
		struct caps less = chosen;

		less.effective = 0;
		caps_set(&less);
	}
	if (getresuid(&r, &e, &s) || r != RUID || e != EUID || s != SUID)
		crt_fail("uids are %u/%u/%u (real/effective/saved), expected %u/%u/%u", r, e, s,
			 RUID, EUID, SUID);
	if (getresgid(&rg, &eg, &sg) || rg != RGID || eg != EGID || sg != SGID)
		crt_fail("gids are %u/%u/%u (real/effective/saved), expected %u/%u/%u", rg, eg, sg,
			 RGID, EGID, SGID);
	if (setfsuid((uid_t)-1) != EUID)
		crt_fail("fsuid is %d, expected %d", setfsuid((uid_t)-1), EUID);
	if (setfsgid((gid_t)-1) != EGID)
		crt_fail("fsgid is %d, expected %d", setfsgid((gid_t)-1), EGID);
	int n = getgroups(64, groups);

	if (n != (int)NGROUPS)
		crt_fail("there are %d supplementary groups, expected %zu", n, NGROUPS);
	else
		for (size_t i = 0; i < NGROUPS; i++)
			if (groups[i] != groups_want[i])
				crt_fail("supplementary group %zu is %u, expected %u", i, groups[i],
					 groups_want[i]);
	if (caps_get(&caps_now))
		crt_fail("capget failed");
	else {
		if (caps_now.effective != chosen.effective)
			crt_fail("effective capabilities are %#llx, expected %#llx",
				 (unsigned long long)caps_now.effective,
				 (unsigned long long)chosen.effective);
		if (caps_now.permitted != chosen.permitted)
			crt_fail("permitted capabilities are %#llx, expected %#llx",
				 (unsigned long long)caps_now.permitted,
				 (unsigned long long)chosen.permitted);
		if (caps_now.inheritable != chosen.inheritable)
			crt_fail("inheritable capabilities are %#llx, expected %#llx",
				 (unsigned long long)caps_now.inheritable,
				 (unsigned long long)chosen.inheritable);
	}
	if (ambient_set() != amb_want)
		crt_fail("ambient capabilities are %#llx, expected %#llx",
			 (unsigned long long)ambient_set(), (unsigned long long)amb_want);
	if (bounding_set() != bset_want)
		crt_fail("the bounding set is %#llx, expected %#llx",
			 (unsigned long long)bounding_set(), (unsigned long long)bset_want);
	if (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) != securebits_want)
		crt_fail("securebits are %#x, expected %#x", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0),
			 securebits_want);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		crt_fail("no_new_privs is %d, expected 1", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		crt_fail("dumpable is %d, expected 1", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	return crt_finish();
}
