/* proc_maps — the VMA list of a task from /proc/PID/maps or /proc/PID/smaps.
 *
 * Parses text into plain structs (no images, no protobuf); smaps adds VmFlags
 * and a few sizes. Parsers take buffers, so tests feed fixtures.
 */
#ifndef CRISP_PROC_MAPS_H
#define CRISP_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* VmFlags of smaps, one bit each (the two-letter code in the comment). */
enum proc_vmflag {
	PROC_VMF_READ = 1ULL << 0,	  /* rd */
	PROC_VMF_WRITE = 1ULL << 1,	  /* wr */
	PROC_VMF_EXEC = 1ULL << 2,	  /* ex */
	PROC_VMF_SHARED = 1ULL << 3,	  /* sh */
	PROC_VMF_MAYREAD = 1ULL << 4,	  /* mr */
	PROC_VMF_MAYWRITE = 1ULL << 5,	  /* mw */
	PROC_VMF_MAYEXEC = 1ULL << 6,	  /* me */
	PROC_VMF_MAYSHARE = 1ULL << 7,	  /* ms */
	PROC_VMF_GROWSDOWN = 1ULL << 8,	  /* gd */
	PROC_VMF_PFNMAP = 1ULL << 9,	  /* pf */
	PROC_VMF_LOCKED = 1ULL << 10,	  /* lo */
	PROC_VMF_IO = 1ULL << 11,	  /* io */
	PROC_VMF_SEQ_READ = 1ULL << 12,	  /* sr */
	PROC_VMF_RAND_READ = 1ULL << 13,  /* rr */
	PROC_VMF_DONTFORK = 1ULL << 14,	  /* dc: MADV_DONTFORK */
	PROC_VMF_DONTEXPAND = 1ULL << 15, /* de */
	PROC_VMF_ACCOUNT = 1ULL << 16,	  /* ac */
	PROC_VMF_NORESERVE = 1ULL << 17,  /* nr */
	PROC_VMF_HUGETLB = 1ULL << 18,	  /* ht */
	PROC_VMF_SYNC = 1ULL << 19,	  /* sf */
	PROC_VMF_ARCH = 1ULL << 20,	  /* ar */
	PROC_VMF_WIPEONFORK = 1ULL << 21, /* wf */
	PROC_VMF_DONTDUMP = 1ULL << 22,	  /* dd */
	PROC_VMF_SOFTDIRTY = 1ULL << 23,  /* sd */
	PROC_VMF_MIXEDMAP = 1ULL << 24,	  /* mm */
	PROC_VMF_HUGEPAGE = 1ULL << 25,	  /* hg: MADV_HUGEPAGE */
	PROC_VMF_NOHUGEPAGE = 1ULL << 26, /* nh: MADV_NOHUGEPAGE */
	PROC_VMF_MERGEABLE = 1ULL << 27,  /* mg */
	PROC_VMF_UFFD_MISSING = 1ULL << 28, /* um */
	PROC_VMF_UFFD_WP = 1ULL << 29,	  /* uw */
	PROC_VMF_UFFD_MINOR = 1ULL << 30, /* ui */
	PROC_VMF_LOCKONFAULT = 1ULL << 31, /* lf */
	PROC_VMF_SHADOW_STACK = 1ULL << 32, /* ss */
	PROC_VMF_SEALED = 1ULL << 33,	  /* sl */
	PROC_VMF_UNKNOWN = 1ULL << 63,	  /* a code this parser does not know */
};

struct proc_vma {
	uint64_t start, end;	/* [start, end) */
	uint64_t pgoff;		/* file offset in bytes */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	int prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;		/* 's' (MAP_SHARED) rather than 'p' */
	bool has_smaps;		/* the fields below were filled from smaps */
	uint64_t vmflags;	/* enum proc_vmflag */
	uint64_t rss_kb, anon_kb, swap_kb;
	uint32_t name_off;	/* into proc_maps.names; 0 is "" */
};

struct proc_maps {
	struct proc_vma *vma;
	size_t nr, cap;
	char *names;		/* NUL-separated names; names[0] == '\0' */
	size_t names_len, names_cap;
};

/* The name of @v ("", a path, "[heap]", "[vdso]", ...). */
static inline const char *proc_vma_name(const struct proc_maps *m,
					const struct proc_vma *v)
{
	return m->names + v->name_off;
}

/*
 * Parses @len bytes of /proc/PID/maps or /proc/PID/smaps text into @out
 * (zeroed first; free with proc_maps_free). VMAs must be sorted and
 * non-overlapping. Returns 0, -EINVAL on malformed text (out is left empty)
 * or -ENOMEM.
 */
int proc_parse_maps(const char *buf, size_t len, struct proc_maps *out);

/* Reads and parses /proc/@pid/smaps (@smaps true) or /proc/@pid/maps. */
int proc_read_maps(pid_t pid, bool smaps, struct proc_maps *out);

void proc_maps_free(struct proc_maps *m);

/* The VMA containing @addr, or NULL. */
const struct proc_vma *proc_maps_find(const struct proc_maps *m, uint64_t addr);

#endif
