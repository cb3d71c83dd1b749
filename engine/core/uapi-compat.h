/* uapi-compat — kernel interfaces newer than the system headers (Linux 6.1).
 *
 * Every definition is guarded by #ifndef so that newer headers win. Values and
 * layouts are the kernel's ABI; the kernel is probed at run time (crisp check),
 * never assumed from these definitions being present.
 */
#ifndef CRISP_UAPI_COMPAT_H
#define CRISP_UAPI_COMPAT_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

/* --- PAGEMAP_SCAN (Linux 6.7) on /proc/PID/pagemap ----------------------- */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1ULL << 0)
#define PAGE_IS_WRITTEN		(1ULL << 1)
#define PAGE_IS_FILE		(1ULL << 2)
#define PAGE_IS_PRESENT		(1ULL << 3)
#define PAGE_IS_SWAPPED		(1ULL << 4)
#define PAGE_IS_PFNZERO		(1ULL << 5)
#define PAGE_IS_HUGE		(1ULL << 6)
#define PAGE_IS_SOFT_DIRTY	(1ULL << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	(1ULL << 0)
#define PM_SCAN_CHECK_WPASYNC	(1ULL << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif

/* --- PROCMAP_QUERY (Linux 6.11) on /proc/PID/maps ------------------------ */
#ifndef PROCMAP_QUERY
#define PROCMAP_QUERY_VMA_READABLE		0x01
#define PROCMAP_QUERY_VMA_WRITABLE		0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE		0x04
#define PROCMAP_QUERY_VMA_SHARED		0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA	0x10
#define PROCMAP_QUERY_FILE_BACKED_VMA		0x20

struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};

#define PROCMAP_QUERY	_IOWR('f', 17, struct procmap_query)
#endif

/* --- userfaultfd features newer than 6.1 ---------------------------------- */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	(1ULL << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1ULL << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1ULL << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1ULL << 16)
#endif

/* PAGEMAP_SCAN category of guard regions (Linux 6.15; older kernels reject it) */
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1ULL << 8)
#endif

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_ENTRY_SOFT_DIRTY	(1ULL << 55)
#define PM_ENTRY_EXCLUSIVE	(1ULL << 56)
#define PM_ENTRY_UFFD_WP	(1ULL << 57)
#define PM_ENTRY_GUARD		(1ULL << 58)	/* guard region marker (Linux 6.15); SWAP is set too */
#define PM_ENTRY_FILE		(1ULL << 61)
#define PM_ENTRY_SWAP		(1ULL << 62)
#define PM_ENTRY_PRESENT	(1ULL << 63)

/* capability numbers newer than some libcs know */
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE	40
#endif

/* --- lightweight guard regions (Linux 6.13): madvise advice -------------- */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif

/* --- syscall user dispatch seen by a tracer (Linux 6.4) ------------------ */
#ifndef PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG
#define PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG 0x4211

struct ptrace_sud_config {
	__u64 mode;		/* PR_SYS_DISPATCH_OFF (0), or on */
	__u64 selector;
	__u64 offset;
	__u64 len;
};
#endif

#endif
