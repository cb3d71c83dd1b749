/* track — dirty-page tracking of one task between dumps: arm, collect the
 * written ranges (re-protecting them), disarm. Modes: userfaultfd
 * write-protect in async mode + PAGEMAP_SCAN (preferred), soft-dirty, or
 * full copies. It reads no page contents and writes no images.
 *
 * Keeping the state between crisp runs (uffd-wp mode). The write-protect
 * bits live in the task's page tables, but they only mean something while
 * the VMAs stay registered, and a registration lives exactly as long as the
 * userfaultfd context: when its last fd is closed the kernel unregisters
 * every VMA and drops the protection. The uffd must therefore outlive the
 * crisp process that armed it. crisp keeps it in a small keeper process
 * (track-keeper.c) outside the task: the task's fd table stays untouched.
 * The next crisp finds the keeper by an abstract unix socket named after
 * the task's pid and start time, checks the peer's credentials and gets the
 * uffd with SCM_RIGHTS. The keeper also remembers which image directory the
 * current tracking state is relative to (dev, inode, dump_uptime): a round
 * marks the state invalid before it re-protects anything and commits the
 * new directory only once its images are complete, so a failed or
 * abandoned round forces a full copy instead of a silently broken chain.
 * `crisp dump` (the last round) disarms: it tells the keeper to quit and
 * closes its own copy, which unregisters every VMA. The keeper also quits
 * when the task exits. Killing the keeper disarms as well.
 */
#ifndef CRISP_TRACK_H
#define CRISP_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "infect.h"
#include "mem_scan.h"

enum track_mode {
	TRACK_FULL = 0,		/* no tracking: every round copies everything */
	TRACK_UFFD_WP,		/* uffd-wp async + PAGEMAP_SCAN */
	TRACK_SOFT_DIRTY,	/* clear_refs 4 + pagemap bit 55 */
};

/* Which image set the tracking state is relative to. */
struct track_stamp {
	uint64_t dev, ino;	/* of the image directory */
	uint64_t uptime;	/* its inventory's dump_uptime */
};

struct track_ctx {
	pid_t pid;
	uint64_t start_time;	/* of the task, /proc/PID/stat field 22 */
	enum track_mode mode;
	int uffd;		/* the engine's copy, -1 when not armed */
	int pagemap_fd;
	int keeper;		/* connection to the keeper, -1 when none */
	bool have_stamp;	/* the keeper knew a committed round */
	struct track_stamp stamp;
	void *vec;		/* PAGEMAP_SCAN regions */
	size_t vec_len;
	uint64_t zero_pfn;	/* soft-dirty mode: pages to leave out */
	uint64_t marker;	/* uffd-wp mode: pagemap entry of a marker (0: unknown) */
	const char *keeper_exe;	/* binary that runs the keeper (default: ourselves) */
};

/* The ranges of one VMA worth saving, and which of them were written.
 * In uffd-wp mode a page never populated (or emptied) since it was
 * protected carries a marker the walks report as swapped: such pages hold
 * nothing and are left out of present, as the zero page is. */
struct track_vma_scan {
	struct mem_ranges present;	/* present or swapped, not the zero page */
	struct mem_ranges written;	/* subset of present written since the last round */
	struct mem_ranges guards;	/* track_collect_final: guard pages (not in present) */
	bool tracked;			/* false: not covered, all of present counts as written */
	bool guards_scanned;		/* guards holds every guard page of the range */
};

/* The mode this kernel gives (probes on a scratch mapping of our own). */
enum track_mode track_probe_mode(void);
const char *track_mode_name(enum track_mode m);

/*
 * Prepares tracking of task @pid in @mode (TRACK_UFFD_WP falls back to what
 * the kernel has). Finds a keeper left by an earlier round and takes the
 * uffd from it; touches nothing in the task. Returns 0 or -errno.
 */
int track_open(struct track_ctx *t, pid_t pid, enum track_mode mode);

/* Whether the written sets collected now are relative to the image set
 * with @parent (false: collect everything as written). */
bool track_relative_to(const struct track_ctx *t, const struct track_stamp *parent);

/* Tells the keeper that the state is about to change (before any
 * re-protection), so that an interrupted round is never trusted. */
int track_begin_round(struct track_ctx *t);

/*
 * uffd-wp mode without a uffd yet: creates it inside the task through
 * @ic (remote userfaultfd()), takes it with pidfd_getfd and closes the
 * task's fd. The task must be seized and stopped. Returns 0 or -errno
 * (the caller may go on with full copies).
 */
int track_create(struct track_ctx *t, struct infect_ctx *ic);

/*
 * Collects the pages of [@start, @end) worth saving and which were
 * written, re-protecting the written ones when @reprotect (in the same
 * atomic walk). @flags: MEM_SCAN_SKIP_FILE. A VMA that is not tracked is
 * reported with tracked false. The task should be stopped. 0 or -errno.
 */
int track_collect(struct track_ctx *t, uint64_t start, uint64_t end,
		  unsigned int flags, bool reprotect, struct track_vma_scan *out);

/*
 * The final dump's collection, the task stopped: what track_collect gives
 * without re-protecting, plus the guard pages, in one walk that returns
 * only what is not plain present memory (written, zero, guard, not present)
 * and takes everything else as present and unchanged. Falls back to
 * track_collect (guards_scanned false) for a VMA that is not tracked, in
 * the other modes, and on a kernel whose walk cannot report guards.
 */
int track_collect_final(struct track_ctx *t, uint64_t start, uint64_t end,
			unsigned int flags, struct track_vma_scan *out);

/*
 * track_collect_final's walk into the caller's vector (@vec_len regions),
 * for threads that walk parts of one task at once: calls on the same @t
 * with different vectors may run in parallel. Never falls back: -EAGAIN
 * where track_collect_final would (the caller then calls that); on any
 * error @out is left empty. 0 or -errno.
 */
int track_collect_final_walk(struct track_ctx *t, struct page_region *vec, size_t vec_len,
			     uint64_t start, uint64_t end, unsigned int flags,
			     struct track_vma_scan *out);

/*
 * The pages of [@start, @end) whose page-table entries are not
 * write-protected now, appended to @out, protecting nothing: one walk on
 * the kernel's written-pages fast path, into the caller's vector (threads
 * may call it at once with other vectors). In a private anonymous VMA that
 * is every page changed since it was last protected: written, dropped
 * (MADV_DONTNEED leaves an empty entry, or frees the page table, and both
 * come back), read again after a drop (the zero page is mapped
 * unprotected), or a guard region set or removed. Not so in a file-backed
 * VMA, where dropping a page leaves a protected marker: use
 * track_collect_final there. -EAGAIN where the range is not registered
 * (or not in uffd-wp mode); 0 or -errno.
 */
int track_collect_touched(struct track_ctx *t, struct page_region *vec, size_t vec_len,
			  uint64_t start, uint64_t end, struct mem_ranges *out);

/*
 * A pre-dump's re-protecting walk (uffd-wp mode): appends to @written the pages
 * of [@start, @end) written since the last round and write-protects them
 * again, in one walk on the kernel's fast path (written pages only, zero
 * and file pages included). *@tracked is false (and nothing is appended)
 * for a VMA that is not registered. 0 or -errno.
 */
int track_collect_written(struct track_ctx *t, uint64_t start, uint64_t end,
			  struct mem_ranges *written, bool *tracked);

/*
 * Write-protecting a VMA gives each page never touched a marker, in page
 * tables the kernel allocates for it: 4 KiB per 2 MiB, resident or not.
 * True for a VMA over TRACK_SPARSE_BYTES with less than 1/64 of it
 * resident (AddressSanitizer's shadow reserves terabytes and uses
 * megabytes: protecting it whole took 24 GB of page tables here, and the
 * task was killed for want of memory). Such a VMA is left untracked, and
 * each round copies what it holds; a live snapshot copies it frozen.
 */
#define TRACK_SPARSE_BYTES (4ull << 30)
bool track_too_sparse(int pagemap_fd, uint64_t start, uint64_t end);

/*
 * Starts tracking [@start, @end) (one whole VMA): registers it and
 * write-protects it. May run while the task runs: pages must be copied
 * after this returns. -EBUSY: the VMA belongs to another userfaultfd (the
 * task uses userfaultfd itself). -E2BIG: too sparse (track_too_sparse).
 * Other errors leave the VMA untracked too.
 */
int track_protect(struct track_ctx *t, uint64_t start, uint64_t end);

/*
 * An estimate, the task running: the present pages written since the last
 * round (those of mappings not tracked count in full). Reads, protects
 * nothing. 0 or -errno (-EOPNOTSUPP: not in uffd-wp mode).
 */
int track_count_written(struct track_ctx *t, uint64_t *pages);

/* Soft-dirty mode: clears the bits of the whole task (clear_refs 4). */
int track_sd_reset(struct track_ctx *t);

/*
 * After a complete round: makes sure a keeper holds the uffd (starting one
 * if needed) and records @s as the image set the state is relative to.
 */
int track_commit(struct track_ctx *t, const struct track_stamp *s);

/* The last round: the keeper quits and our uffd is closed, so every VMA is
 * unregistered and no protection is left behind. */
int track_disarm(struct track_ctx *t);

/* Releases what @t holds; an armed state stays with the keeper. */
void track_close(struct track_ctx *t);

void track_vma_scan_free(struct track_vma_scan *s);

/*
 * Soft-dirty parsing (unit-tested; this kernel has no soft-dirty): sorts
 * @n pagemap entries starting at @start into present and written ranges.
 * Zero-page (@zero_pfn, 0: unknown) and, with MEM_SCAN_SKIP_FILE, file
 * pages are left out. 0 or -ENOMEM.
 */
int track_sd_parse(const uint64_t *pm, size_t n, uint64_t start,
		   uint64_t zero_pfn, unsigned int flags,
		   struct track_vma_scan *out);

/* ---- the keeper (track-keeper.c) ---------------------------------------- */

/* argv[1] that makes the crisp binary run as a keeper. */
#define TRACK_KEEPER_ARG "--internal-track-keeper"

/* The keeper's main: serves the uffd on fd 3 (listening socket), holds the
 * uffd on fd 4 and watches the task's pidfd on fd 5. Returns an exit code. */
int track_keeper_main(void);

/* Connects to the keeper of (@pid, @start_time); the fd or -errno
 * (-ECONNREFUSED / -ENOENT when there is none). */
int track_keeper_connect(pid_t pid, uint64_t start_time);

/* Starts a keeper for the uffd @uffd of (@pid, @start_time), running @exe.
 * Returns 0 once it listens, or -errno. */
int track_keeper_spawn(const char *exe, pid_t pid, uint64_t start_time, int uffd);

/* Requests on a keeper connection. */
int track_keeper_get(int sk, int *uffd, bool *have_stamp, struct track_stamp *s);
int track_keeper_invalidate(int sk);
int track_keeper_commit(int sk, const struct track_stamp *s);
int track_keeper_quit(int sk);

#endif
