/* annot — the pretty-mode annotation table (see annot.h). The field set and
 * the spelling of flag names follow what crit prints, so that pretty output
 * of both tools can be compared. Pure data and lookups.
 */
#include <stddef.h>
#include <string.h>

#include "annot.h"

static const struct annot_name mmap_prot[] = {
	{ "PROT_READ", 0x1 }, { "PROT_WRITE", 0x2 }, { "PROT_EXEC", 0x4 }, { NULL, 0 },
};
static const struct annot_name mmap_flags[] = {
	{ "MAP_SHARED", 0x1 }, { "MAP_PRIVATE", 0x2 }, { "MAP_ANON", 0x20 },
	{ "MAP_GROWSDOWN", 0x100 }, { NULL, 0 },
};
static const struct annot_name vma_status[] = {
	{ "VMA_AREA_REGULAR", 1u << 0 }, { "VMA_AREA_STACK", 1u << 1 },
	{ "VMA_AREA_VSYSCALL", 1u << 2 }, { "VMA_AREA_VDSO", 1u << 3 },
	{ "VMA_AREA_HEAP", 1u << 5 }, { "VMA_FILE_PRIVATE", 1u << 6 },
	{ "VMA_FILE_SHARED", 1u << 7 }, { "VMA_ANON_SHARED", 1u << 8 },
	{ "VMA_ANON_PRIVATE", 1u << 9 }, { "VMA_AREA_SYSVIPC", 1u << 10 },
	{ "VMA_AREA_SOCKET", 1u << 11 }, { "VMA_AREA_VVAR", 1u << 12 },
	{ "VMA_AREA_AIORING", 1u << 13 }, { "VMA_UNSUPP", 1u << 31 }, { NULL, 0 },
};
static const struct annot_name open_flags[] = {
	{ "O_WRONLY", 01 }, { "O_RDWR", 02 }, { "O_CREAT", 0100 }, { "O_EXCL", 0200 },
	{ "O_NOCTTY", 0400 }, { "O_TRUNC", 01000 }, { "O_APPEND", 02000 },
	{ "O_NONBLOCK", 04000 }, { "O_DSYNC", 010000 }, { "FASYNC", 020000 },
	{ "O_DIRECT", 040000 }, { "O_LARGEFILE", 0100000 }, { "O_DIRECTORY", 0200000 },
	{ "O_NOFOLLOW", 0400000 }, { "O_NOATIME", 01000000 }, { "O_CLOEXEC", 02000000 },
	{ NULL, 0 },
};
static const struct annot_name seals[] = {
	{ "F_SEAL_SEAL", 0x1 }, { "F_SEAL_SHRINK", 0x2 }, { "F_SEAL_GROW", 0x4 },
	{ "F_SEAL_WRITE", 0x8 }, { "F_SEAL_FUTURE_WRITE", 0x10 }, { NULL, 0 },
};
static const struct annot_name pagemap_flags[] = {
	{ "PE_PARENT", 1 }, { "PE_LAZY", 2 }, { "PE_PRESENT", 4 }, { NULL, 0 },
};
static const struct annot_name task_state[] = {
	{ "Alive", 1 }, { "Zombie", 3 }, { "Stopped", 6 }, { NULL, 0 },
};
static const struct annot_name sk_family[] = {
	{ "UNIX", 1 }, { "INET", 2 }, { "INET6", 10 }, { "NETLINK", 16 },
	{ "PACKET", 17 }, { NULL, 0 },
};
static const struct annot_name sk_type[] = {
	{ "STREAM", 1 }, { "DGRAM", 2 }, { "RAW", 3 }, { "SEQPACKET", 5 },
	{ "PACKET", 10 }, { NULL, 0 },
};
static const struct annot_name sk_state[] = {
	{ "ESTABLISHED", 1 }, { "SYN_SENT", 2 }, { "SYN_RECV", 3 }, { "FIN_WAIT1", 4 },
	{ "FIN_WAIT2", 5 }, { "TIME_WAIT", 6 }, { "CLOSE", 7 }, { "CLOSE_WAIT", 8 },
	{ "LAST_ACK", 9 }, { "LISTEN", 10 }, { NULL, 0 },
};
static const struct annot_name sk_proto[] = {
	{ "IP", 0 }, { "TCP", 6 }, { "UDP", 17 }, { "UDPLITE", 136 }, { NULL, 0 },
};

static const struct annot hex = { ANNOT_HEX, NULL };
static const struct annot ip = { ANNOT_IP, NULL };
static const struct annot dev = { ANNOT_DEV, NULL };
static const struct annot odev = { ANNOT_ODEV, NULL };
static const struct annot unix_name = { ANNOT_UNIX_NAME, NULL };
#define FLAGS(t) (&(const struct annot){ ANNOT_FLAGS, t })
#define DICT(t) (&(const struct annot){ ANNOT_DICT, t })

static const struct {
	const char *msg, *field;
	const struct annot *a;
} table[] = {
	{ "task_core_entry", "task_state", DICT(task_state) },
	{ "task_core_entry", "blk_sigset", &hex },
	{ "task_core_entry", "blk_sigset_extended", &hex },
	{ "thread_info_x86", "clear_tid_addr", &hex },
	{ "thread_info_x86", "gpregs", &hex },
	{ "sa_entry", "sigaction", &hex },
	{ "sa_entry", "flags", &hex },
	{ "sa_entry", "restorer", &hex },
	{ "sa_entry", "mask", &hex },
	{ "sa_entry", "mask_extended", &hex },
	{ "mm_entry", "mm_start_code", &hex },
	{ "mm_entry", "mm_end_code", &hex },
	{ "mm_entry", "mm_start_data", &hex },
	{ "mm_entry", "mm_end_data", &hex },
	{ "mm_entry", "mm_start_stack", &hex },
	{ "mm_entry", "mm_start_brk", &hex },
	{ "mm_entry", "mm_brk", &hex },
	{ "mm_entry", "mm_arg_start", &hex },
	{ "mm_entry", "mm_arg_end", &hex },
	{ "mm_entry", "mm_env_start", &hex },
	{ "mm_entry", "mm_env_end", &hex },
	{ "vma_entry", "start", &hex },
	{ "vma_entry", "end", &hex },
	{ "vma_entry", "prot", FLAGS(mmap_prot) },
	{ "vma_entry", "flags", FLAGS(mmap_flags) },
	{ "vma_entry", "status", FLAGS(vma_status) },
	{ "vma_entry", "madv", &hex },
	{ "vma_entry", "fdflags", &hex },
	{ "pagemap_entry", "vaddr", &hex },
	{ "pagemap_entry", "flags", FLAGS(pagemap_flags) },
	{ "reg_file_entry", "flags", FLAGS(open_flags) },
	{ "memfd_file_entry", "flags", FLAGS(open_flags) },
	{ "bpfmap_file_entry", "flags", FLAGS(open_flags) },
	{ "memfd_inode_entry", "seals", FLAGS(seals) },
	{ "inet_sk_entry", "family", DICT(sk_family) },
	{ "inet_sk_entry", "type", DICT(sk_type) },
	{ "inet_sk_entry", "proto", DICT(sk_proto) },
	{ "inet_sk_entry", "state", DICT(sk_state) },
	{ "inet_sk_entry", "flags", &hex },
	{ "inet_sk_entry", "src_addr", &ip },
	{ "inet_sk_entry", "dst_addr", &ip },
	{ "unix_sk_entry", "type", DICT(sk_type) },
	{ "unix_sk_entry", "state", DICT(sk_state) },
	{ "unix_sk_entry", "flags", &hex },
	{ "unix_sk_entry", "uflags", &hex },
	{ "unix_sk_entry", "name", &unix_name },
	{ "packet_sock_entry", "flags", &hex },
	{ "netlink_sk_entry", "flags", &hex },
	{ "signalfd_entry", "flags", &hex },
	{ "signalfd_entry", "sigmask", &hex },
	{ "tun_link_entry", "flags", &hex },
	{ "timerfd_entry", "flags", &hex },
	{ "timerfd_entry", "settime_flags", &hex },
	{ "inotify_wd_entry", "mask", &hex },
	{ "inotify_wd_entry", "ignored_mask", &hex },
	{ "inotify_wd_entry", "s_dev", &dev },
	{ "inotify_file_entry", "flags", &hex },
	{ "fanotify_mark_entry", "mflags", &hex },
	{ "fanotify_mark_entry", "mask", &hex },
	{ "fanotify_mark_entry", "ignored_mask", &hex },
	{ "fanotify_mark_entry", "s_dev", &dev },
	{ "fanotify_file_entry", "flags", &hex },
	{ "fanotify_file_entry", "faflags", &hex },
	{ "fanotify_file_entry", "evflags", &hex },
	{ "pipe_entry", "flags", &hex },
	{ "tty_file_entry", "flags", &hex },
	{ "tcp_stream_entry", "opt_mask", &hex },
	{ "ghost_file_entry", "dev", &dev },
	{ "ghost_file_entry", "rdev", &odev },
	{ "irmap_cache_entry", "dev", &odev },
};

const struct annot *annot_find(const char *msg, const char *field)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].field, field) && !strcmp(table[i].msg, msg))
			return table[i].a;
	return NULL;
}
