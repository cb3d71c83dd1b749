/* img-kinds — the table of image kinds: file name pattern, magic numbers
 * (CRIU's values) and the protobuf schema of the entries. Adding a kind is
 * one row here; nothing else in the image layer changes. No I/O here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "img.h"

#include "core.pb-c.h"
#include "file-event.pb-c.h"
#include "file-pipe.pb-c.h"
#include "file-reg.pb-c.h"
#include "file-tty.pb-c.h"
#include "files.pb-c.h"
#include "fs.pb-c.h"
#include "guard.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "namespaces.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "creds.pb-c.h"
#include "seccomp.pb-c.h"
#include "sockets.pb-c.h"
#include "stats.pb-c.h"

#define KIND(n, pat, mg, d) \
	{ .name = n, .pattern = pat, .magic = mg, .hdr = IMG_HDR_COMMON, .desc = &d }

static const struct img_kind img_kinds[] = {
	{ .name = "INVENTORY", .pattern = "inventory.img", .magic = 0x58313116,
	  .hdr = IMG_HDR_OWN, .desc = &inventory_entry__descriptor },
	KIND("PSTREE",         "pstree.img",          0x50273030, pstree_entry__descriptor),
	KIND("CORE",           "core-%u.img",         0x55053847, core_entry__descriptor),
	KIND("IDS",            "ids-%u.img",          0x54432030, task_kobj_ids_entry__descriptor),
	KIND("MM",             "mm-%u.img",           0x57492820, mm_entry__descriptor),
	{ .name = "PAGEMAP", .pattern = "pagemap-%u.img", .magic = 0x56084025,
	  .hdr = IMG_HDR_COMMON, .desc = &pagemap_entry__descriptor,
	  .first_desc = &pagemap_head__descriptor },
	{ .name = "SHMEM_PAGEMAP", .pattern = "pagemap-shmem-%u.img", .magic = 0x56084025,
	  .hdr = IMG_HDR_COMMON, .desc = &pagemap_entry__descriptor,
	  .first_desc = &pagemap_head__descriptor },
	{ .name = "PAGES", .pattern = "pages-%u.img", .hdr = IMG_HDR_RAW },
	/* shared memory contents (memfd): CRIU gives it the PAGEMAP magic */
	{ .name = "SHMEM_PAGEMAP", .pattern = "pagemap-shmem-%u.img", .magic = 0x56084025,
	  .hdr = IMG_HDR_COMMON, .desc = &pagemap_entry__descriptor,
	  .first_desc = &pagemap_head__descriptor },
	KIND("FDINFO",         "fdinfo-%u.img",       0x56213732, fdinfo_entry__descriptor),
	KIND("FILES",          "files.img",           0x56303138, file_entry__descriptor),
	KIND("FS",             "fs-%u.img",           0x51403912, fs_entry__descriptor),
	KIND("CREDS",          "creds-%u.img",        0x54023547, creds_entry__descriptor),
	KIND("REG_FILES",      "reg-files.img",       0x50363636, reg_file_entry__descriptor),
	KIND("PIPES",          "pipes.img",           0x56513555, pipe_entry__descriptor),
	{ .name = "PIPES_DATA", .pattern = "pipes-data.img", .magic = 0x56453709,
	  .hdr = IMG_HDR_COMMON, .desc = &pipe_data_entry__descriptor,
	  .extra = IMG_EXTRA_FIELD, .extra_field = "bytes" },
	KIND("FIFO",           "fifo.img",            0x58364939, fifo_entry__descriptor),
	{ .name = "FIFO_DATA", .pattern = "fifo-data.img", .magic = 0x59333054,
	  .hdr = IMG_HDR_COMMON, .desc = &pipe_data_entry__descriptor,
	  .extra = IMG_EXTRA_FIELD, .extra_field = "bytes" },
	KIND("TTY_FILES",      "tty.img",             0x59433025, tty_file_entry__descriptor),
	KIND("TTY_INFO",       "tty-info.img",        0x59453036, tty_info_entry__descriptor),
	KIND("TTY_DATA",       "tty-data.img",        0x59413026, tty_data_entry__descriptor),
	KIND("EVENTFD_FILE",   "eventfd.img",         0x44523722, eventfd_file_entry__descriptor),
	KIND("EVENTPOLL_FILE", "eventpoll.img",       0x45023858, eventpoll_file_entry__descriptor),
	KIND("EVENTPOLL_TFD",  "eventpoll-tfd.img",   0x44433746, eventpoll_tfd_entry__descriptor),
	KIND("SIGNALFD",       "signalfd.img",        0x57323820, signalfd_entry__descriptor),
	KIND("TIMERFD",        "timerfd.img",         0x50493712, timerfd_entry__descriptor),
	KIND("INOTIFY_FILE",   "inotify.img",         0x48424431, inotify_file_entry__descriptor),
	KIND("INOTIFY_WD",     "inotify-wd.img",      0x54562009, inotify_wd_entry__descriptor),
	KIND("FANOTIFY_FILE",  "fanotify.img",        0x55096122, fanotify_file_entry__descriptor),
	KIND("FANOTIFY_MARK",  "fanotify-mark.img",   0x56506035, fanotify_mark_entry__descriptor),
	KIND("UNIXSK",         "unixsk.img",          0x54373943, unix_sk_entry__descriptor),
	KIND("INETSK",         "inetsk.img",          0x56443851, inet_sk_entry__descriptor),
	KIND("PACKETSK",       "packetsk.img",        0x60454618, packet_sock_entry__descriptor),
	KIND("NETLINK_SK",     "netlinksk.img",       0x58005614, netlink_sk_entry__descriptor),
	{ .name = "SK_QUEUES", .pattern = "sk-queues.img", .magic = 0x56264026,
	  .hdr = IMG_HDR_COMMON, .desc = &sk_packet_entry__descriptor,
	  .extra = IMG_EXTRA_FIELD, .extra_field = "length" },
	{ .name = "TCP_STREAM", .pattern = "tcp-stream-%x.img", .magic = 0x51465506,
	  .hdr = IMG_HDR_COMMON, .desc = &tcp_stream_entry__descriptor,
	  .extra = IMG_EXTRA_TCP },
	KIND("MEMFD_INODE",    "memfd.img",           0x48453499, memfd_inode_entry__descriptor),
	KIND("NS_FILES",       "ns-files.img",        0x61394011, ns_file_entry__descriptor),
	KIND("EXT_FILES",      "ext-files.img",       0x59255641, ext_file_entry__descriptor),
	KIND("TUNFILE",        "tunfile.img",         0x57143751, tunfile_entry__descriptor),
	KIND("REMAP_FPATH",    "remap-fpath.img",     0x59133954, remap_file_path_entry__descriptor),
	{ .name = "GHOST_FILE", .pattern = "ghost-file-%x.img", .magic = 0x52583605,
	  .hdr = IMG_HDR_COMMON, .desc = &ghost_chunk_entry__descriptor,
	  .first_desc = &ghost_file_entry__descriptor, .extra = IMG_EXTRA_GHOST },
	KIND("FILE_LOCKS",     "filelocks.img",       0x54323616, file_lock_entry__descriptor),
	KIND("SECCOMP",        "seccomp.img",         0x64413049, seccomp_entry__descriptor),
	KIND("TIMENS",         "timens-%u.img",       0x43114433, timens_entry__descriptor),
	KIND("UTSNS",          "utsns-%u.img",        0x54473203, utsns_entry__descriptor),
	{ .name = "STATS", .pattern = "stats-dump", .magic = 0x57093306,
	  .hdr = IMG_HDR_SERVICE, .desc = &stats_entry__descriptor },
	{ .name = "STATS", .pattern = "stats-restore", .magic = 0x57093306,
	  .hdr = IMG_HDR_SERVICE, .desc = &stats_entry__descriptor },
	/* crisp extensions (proto/EXTENSIONS.md): magics outside CRIU's table */
	KIND("GUARDS",         "guards-%u.img",       0x2A475244, guard_range_entry__descriptor),
	{ .name = "IRMAP_CACHE", .pattern = "irmap-cache.img", .magic = 0x57004059,
	  .hdr = IMG_HDR_SERVICE, .desc = &irmap_cache_entry__descriptor },
};

#define N_KINDS (sizeof(img_kinds) / sizeof(img_kinds[0]))

size_t img_kind_count(void)
{
	return N_KINDS;
}

const struct img_kind *img_kind_at(size_t i)
{
	return i < N_KINDS ? &img_kinds[i] : NULL;
}

const struct img_kind *img_kind_by_name(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (!strcmp(img_kinds[i].name, name))
			return &img_kinds[i];
	return NULL;
}

const struct img_kind *img_kind_by_magic(uint32_t magic)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (img_kinds[i].hdr != IMG_HDR_RAW && img_kinds[i].magic == magic)
			return &img_kinds[i];
	return NULL;
}

/* Does @file match @pat (with at most one %u or %x)? */
static bool pattern_match(const char *pat, const char *file, unsigned long *id)
{
	const char *pc = strchr(pat, '%');
	size_t pre, flen = strlen(file), suf;
	char *end;
	unsigned long v;

	if (!pc)
		return !strcmp(pat, file);
	pre = (size_t)(pc - pat);
	suf = strlen(pc + 2);
	if (flen <= pre + suf || strncmp(pat, file, pre) ||
	    strcmp(file + flen - suf, pc + 2))
		return false;
	if (file[pre] == '-' || file[pre] == '+' || file[pre] == ' ')
		return false;
	errno = 0;
	v = strtoul(file + pre, &end, pc[1] == 'x' ? 16 : 10);
	if (errno || end != file + flen - suf)
		return false;
	if (id)
		*id = v;
	return true;
}

const struct img_kind *img_kind_by_file(const char *file, unsigned long *id)
{
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	for (size_t i = 0; i < N_KINDS; i++)
		if (pattern_match(img_kinds[i].pattern, base, id))
			return &img_kinds[i];
	return NULL;
}

int img_kind_file(const struct img_kind *k, unsigned long id, char *buf, size_t len)
{
	int n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(buf, len, k->pattern, (unsigned int)id);
#pragma GCC diagnostic pop
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const ProtobufCMessageDescriptor *img_kind_desc(const struct img_kind *k, size_t index)
{
	if (index == 0 && k->first_desc)
		return k->first_desc;
	return k->desc;
}

bool img_msg_uint(const ProtobufCMessage *m, const char *field, uint64_t *val)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);
	const char *base = (const char *)m;

	if (!fd || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
	    !*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
		return false;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*val = *(const uint32_t *)(base + fd->offset);
		return true;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*val = *(const uint64_t *)(base + fd->offset);
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		*val = *(const protobuf_c_boolean *)(base + fd->offset);
		return true;
	default:
		return false;
	}
}
