/* check — the probe table and `crisp check` itself (see check.h). */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "probes.h"
#include "uapi-compat.h"

int check_parse_cap_eff(const char *status, uint64_t *caps)
{
	const char *p = status;
	char *end;
	unsigned long long v;

	while (p && *p) {
		if (strncmp(p, "CapEff:", 7) == 0) {
			p += 7;
			while (*p == ' ' || *p == '\t')
				p++;
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F')))
				return -EINVAL;
			errno = 0;
			v = strtoull(p, &end, 16);
			if (errno || (*end != '\n' && *end != '\0'))
				return -EINVAL;
			*caps = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

bool check_pagemap_soft_dirty(const unsigned char entry[8])
{
	uint64_t v;

	memcpy(&v, entry, sizeof(v));
	return v & PM_ENTRY_SOFT_DIRTY;
}

const char *check_dirty_mode(bool uffd_wp_async, bool pagemap_scan,
			     bool soft_dirty)
{
	if (uffd_wp_async && pagemap_scan)
		return "uffd-wp-async";
	if (soft_dirty)
		return "soft-dirty";
	return "full-copy";
}

static int check_read_status(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

static void probe_cap(struct probe_result *r, int cap, const char *why)
{
	char status[8192];
	uint64_t caps;
	int err = check_read_status(status, sizeof(status));

	if (!err)
		err = check_parse_cap_eff(status, &caps);
	if (err) {
		snprintf(r->detail, sizeof(r->detail), "cannot read CapEff: %s", strerror(-err));
		r->ok = false;
		return;
	}
	r->ok = caps & (1ULL << cap);
	snprintf(r->detail, sizeof(r->detail), "%s%s", r->ok ? "" : "not held: ", why);
}

static void probe_cap_sys_admin(struct probe_result *r)
{
	probe_cap(r, CAP_SYS_ADMIN, "namespaces, PR_SET_MM fields, set_tid");
}

static void probe_cap_sys_ptrace(struct probe_result *r)
{
	probe_cap(r, CAP_SYS_PTRACE, "seizing and reading tasks of other users");
}

static void probe_cap_checkpoint_restore(struct probe_result *r)
{
	probe_cap(r, CAP_CHECKPOINT_RESTORE, "set_tid, exe file, map_files");
}

static void probe_cap_sys_resource(struct probe_result *r)
{
	probe_cap(r, CAP_SYS_RESOURCE, "prlimit on other uids, raising hard rlimits");
}

static void probe_mem_dirty_track(struct probe_result *r)
{
	struct probe_result wp, scan, sd;

	probe_uffd_wp_async(&wp);
	probe_pagemap_scan(&scan);
	probe_soft_dirty(&sd);
	const char *mode = check_dirty_mode(wp.ok, scan.ok, sd.ok);

	r->ok = strcmp(mode, "full-copy") != 0;
	snprintf(r->detail, sizeof(r->detail), "pre-dumps use %s%s", mode,
		 r->ok ? "" : " (every round copies all memory)");
}

static const char *const al_ptrace[] = { "ptrace", "ptrace_seize", NULL };
static const char *const al_uffd[] = { "uffd", NULL };
static const char *const al_uffd_noncoop[] = { "uffd-noncoop", NULL };
static const char *const al_clone3[] = { "clone3_set_tid", "clone3", NULL };
static const char *const al_pidfd[] = { "pidfd_store", "pidfd", NULL };
static const char *const al_timens[] = { "timens", "time_ns", NULL };
static const char *const al_memfd[] = { "memfd", NULL };
static const char *const al_dirty[] = { "mem_dirty_track", "dirty_track", NULL };
static const char *const al_snap[] = { "live_snapshot", NULL };
static const char *const al_none[] = { NULL };

const struct check_probe check_probes[] = {
	{ "ptrace_seize",	  al_ptrace,	   true,  probe_ptrace },
	{ "process_vm_readv",	  al_none,	   true,  probe_process_vm_readv },
	{ "clone3_set_tid",	  al_clone3,	   true,  probe_clone3_set_tid },
	{ "prctl_mm_map",	  al_none,	   true,  probe_prctl_mm_map },
	{ "io_uring",		  al_none,	   false, probe_io_uring },
	{ "pagemap_scan",	  al_none,	   false, probe_pagemap_scan },
	{ "guard_regions",	  al_none,	   false, probe_guard_regions },
	{ "uffd",		  al_uffd,	   false, probe_uffd },
	{ "uffd_noncoop",	  al_uffd_noncoop, false, probe_uffd_noncoop },
	{ "uffd_wp_async",	  al_none,	   false, probe_uffd_wp_async },
	{ "uffd_wp_sync",	  al_snap,	   false, probe_uffd_wp_sync },
	{ "soft_dirty",		  al_none,	   false, probe_soft_dirty },
	{ "mem_dirty_track",	  al_dirty,	   false, probe_mem_dirty_track },
	{ "pidfd",		  al_pidfd,	   false, probe_pidfd },
	{ "procmap_query",	  al_none,	   false, probe_procmap_query },
	{ "memfd",		  al_memfd,	   false, probe_memfd },
	{ "timens",		  al_timens,	   false, probe_timens },
	{ "bpf",		  al_none,	   false, probe_bpf },
	{ "cap_sys_admin",	  al_none,	   false, probe_cap_sys_admin },
	{ "cap_sys_ptrace",	  al_none,	   true,  probe_cap_sys_ptrace },
	{ "cap_checkpoint_restore", al_none,	   false, probe_cap_checkpoint_restore },
	{ "cap_sys_resource",	  al_none,	   false, probe_cap_sys_resource },
	{ NULL, NULL, false, NULL },
};

const struct check_probe *check_find_probe(const char *name)
{
	for (const struct check_probe *p = check_probes; p->name; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
		for (const char *const *a = p->aliases; *a; a++)
			if (strcmp(*a, name) == 0)
				return p;
	}
	return NULL;
}

static int check_one_feature(const char *name, FILE *out)
{
	const struct check_probe *p = check_find_probe(name);
	struct probe_result r = { 0 };

	if (!p) {
		fprintf(out, "unknown feature '%s'; known:", name);
		for (p = check_probes; p->name; p++)
			fprintf(out, " %s", p->name);
		fprintf(out, "\n");
		return 1;
	}
	p->run(&r);
	pr_debug("probe %s: %s: %s", p->name, r.ok ? "ok" : "no", r.detail);
	fprintf(out, "%s is %s: %s\n", name, r.ok ? "supported" : "NOT supported", r.detail);
	return r.ok ? 0 : 1;
}

int check_main(const struct crisp_opts *o, FILE *out)
{
	char missing[512] = "";
	size_t mlen = 0;

	if (o->feature)
		return check_one_feature(o->feature, out);

	for (const struct check_probe *p = check_probes; p->name; p++) {
		struct probe_result r = { 0 };

		p->run(&r);
		pr_debug("probe %s: %s: %s", p->name, r.ok ? "ok" : "no", r.detail);
		fprintf(out, "%-24s %-4s %s%s\n", p->name, r.ok ? "ok" : "no",
			r.detail, !r.ok && p->required ? "  [REQUIRED]" : "");
		if (!r.ok && p->required) {
			int n = snprintf(missing + mlen, sizeof(missing) - mlen, "%s%s",
					 mlen ? ", " : "", p->name);
			if (n > 0 && (size_t)n < sizeof(missing) - mlen)
				mlen += (size_t)n;
		}
	}
	if (mlen) {
		fprintf(out, "crisp cannot dump and restore here: missing %s\n", missing);
		return 1;
	}
	fprintf(out, "Looks good.\n");
	return 0;
}
