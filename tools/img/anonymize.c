/* anonymize — `crisp-img anonymize DIR OUT`: a copy of a dump that is safe
 * to attach to a bug report. Memory is zeroed (sizes kept), paths, unix
 * socket names, task names and IP addresses are renamed 1:1 across all
 * images, registers zeroed, queued stream data dropped. Ids stay, so the
 * copy passes `check`. Never writes into DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

struct anon_map {
	char **from, **to;
	size_t n, cap;
};

struct anon {
	struct anon_map names;	/* path components, socket names */
	struct anon_map comms;
	struct anon_map ips;	/* keys: address words as hex text */
	unsigned int problems;
};

/* The stable replacement of @key in @m, made by @fmt with a counter. */
static const char *map_get(struct anon_map *m, const char *key, const char *fmt)
{
	char buf[64];

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->from[i], key))
			return m->to[i];
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		char **f = realloc(m->from, cap * sizeof(*f)), **t;

		if (!f)
			return NULL;
		m->from = f;
		t = realloc(m->to, cap * sizeof(*t));
		if (!t)
			return NULL;
		m->to = t;
		m->cap = cap;
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, sizeof(buf), fmt, (unsigned int)m->n + 1);
#pragma GCC diagnostic pop
	m->from[m->n] = strdup(key);
	m->to[m->n] = strdup(buf);
	if (!m->from[m->n] || !m->to[m->n])
		return NULL;
	return m->to[m->n++];
}

static void map_free(struct anon_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->from[i]);
		free(m->to[i]);
	}
	free(m->from);
	free(m->to);
}

/* Renames each component of @path, keeping '/', '.', '..'. */
static char *anon_path(struct anon *a, const char *path, size_t len)
{
	char *out = malloc(len * 8 + 16), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		size_t j = i;
		char comp[4096];

		if (path[i] == '/') {
			*o++ = '/';
			i++;
			continue;
		}
		while (j < len && path[j] != '/')
			j++;
		if (j - i >= sizeof(comp))
			j = i + sizeof(comp) - 1;
		memcpy(comp, path + i, j - i);
		comp[j - i] = 0;
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			o += sprintf(o, "%s", comp);
		} else {
			const char *r = map_get(&a->names, comp, "n%u");

			o += sprintf(o, "%s", r ? r : "n");
		}
		i = j;
	}
	*o = 0;
	return out;
}

static void anon_string(struct anon *a, char **s)
{
	char *n;

	if (!*s || !**s)
		return;
	n = anon_path(a, *s, strlen(*s));
	if (n) {
		free(*s);
		*s = n;
	}
}

static void anon_unix_name(struct anon *a, ProtobufCBinaryData *b)
{
	char *n;
	size_t len;

	if (!b->len)
		return;
	if (b->data[0] == 0) {	/* abstract: NUL, then a name */
		char key[256];
		const char *r;

		len = b->len - 1 < sizeof(key) - 1 ? b->len - 1 : sizeof(key) - 1;
		memcpy(key, b->data + 1, len);
		key[len] = 0;
		r = map_get(&a->names, key, "n%u");
		if (!r)
			return;
		len = strlen(r);
		n = malloc(len + 1);
		if (!n)
			return;
		n[0] = 0;
		memcpy(n + 1, r, len);
		free(b->data);
		b->data = (uint8_t *)n;
		b->len = len + 1;
		return;
	}
	len = strnlen((const char *)b->data, b->len);
	n = anon_path(a, (const char *)b->data, len);
	if (n) {
		free(b->data);
		b->data = (uint8_t *)n;
		b->len = strlen(n);
	}
}

static void anon_ip(struct anon *a, uint32_t *w, size_t n)
{
	char key[64];
	const char *r;
	unsigned int idx;
	bool zero = true;

	if (n != 1 && n != 4)
		return;
	for (size_t i = 0; i < n; i++)
		zero = zero && !w[i];
	/* the unspecified and loopback addresses say nothing: keep them */
	if (zero || (n == 1 && (((const uint8_t *)w)[0] == 127)) ||
	    (n == 4 && !w[0] && !w[1] && !w[2] && ((const uint8_t *)w)[15] == 1 &&
	     !((const uint8_t *)w)[12] && !((const uint8_t *)w)[13] &&
	     !((const uint8_t *)w)[14]))
		return;
	snprintf(key, sizeof(key), "%zu:%08x%08x%08x%08x", n, w[0],
		 n > 1 ? w[1] : 0, n > 1 ? w[2] : 0, n > 1 ? w[3] : 0);
	r = map_get(&a->ips, key, "%u");
	if (!r)
		return;
	idx = (unsigned int)strtoul(r, NULL, 10);
	memset(w, 0, n * 4);
	if (n == 1) {		/* 10.0.0.0/8 */
		uint8_t *b = (uint8_t *)w;

		b[0] = 10;
		b[1] = (uint8_t)(idx >> 16);
		b[2] = (uint8_t)(idx >> 8);
		b[3] = (uint8_t)idx;
	} else {		/* fd00::/8 */
		uint8_t *b = (uint8_t *)w;

		b[0] = 0xfd;
		b[12] = (uint8_t)(idx >> 24);
		b[13] = (uint8_t)(idx >> 16);
		b[14] = (uint8_t)(idx >> 8);
		b[15] = (uint8_t)idx;
	}
}

static bool is_path_field(const char *msg, const char *field)
{
	static const char *const paths[][2] = {
		{ "reg_file_entry", "name" }, { "fh_entry", "path" },
		{ "irmap_cache_entry", "path" }, { "fanotify_mount_mark_entry", "path" },
		{ "unix_sk_entry", "name_dir" }, { "ghost_file_entry", "symlnk_target" },
		{ "memfd_inode_entry", "name" }, { "utsns_entry", "nodename" },
		{ "utsns_entry", "domainname" }, { "bpfmap_file_entry", "map_name" },
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!strcmp(paths[i][0], msg) && !strcmp(paths[i][1], field))
			return true;
	return false;
}

/* Walks @m; @zero: set every number below to 0 (register sets). */
static void anon_msg(struct anon *a, ProtobufCMessage *m, bool zero)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *base = (char *)m;

	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		bool rep = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t n = rep ? *(size_t *)(base + f->quantifier_offset) : 1;
		char *p = rep ? *(char **)(base + f->offset) : base + f->offset;

		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			bool z = zero || (!strcmp(d->name, "thread_info_x86") &&
					  (!strcmp(f->name, "gpregs") || !strcmp(f->name, "fpregs")));

			for (size_t k = 0; k < n; k++) {
				ProtobufCMessage *sub = ((ProtobufCMessage **)p)[k];

				if (sub)
					anon_msg(a, sub, z);
			}
			continue;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING && !rep) {
			char **s = (char **)p;

			if (!*s || *s == f->default_value)
				continue;
			if (!strcmp(f->name, "comm") && (!strcmp(d->name, "task_core_entry") ||
							 !strcmp(d->name, "thread_core_entry"))) {
				const char *r = map_get(&a->comms, *s, "task%u");
				char *c = r ? strdup(r) : NULL;

				if (c) {
					free(*s);
					*s = c;
				}
			} else if (is_path_field(d->name, f->name)) {
				anon_string(a, s);
			}
			continue;
		}
		if (f->type == PROTOBUF_C_TYPE_BYTES && !rep &&
		    !strcmp(d->name, "unix_sk_entry") && !strcmp(f->name, "name")) {
			anon_unix_name(a, (ProtobufCBinaryData *)p);
			continue;
		}
		if (rep && !strcmp(d->name, "inet_sk_entry") &&
		    (!strcmp(f->name, "src_addr") || !strcmp(f->name, "dst_addr"))) {
			anon_ip(a, (uint32_t *)p, n);
			continue;
		}
		if (zero && f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_BOOL &&
		    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES && p) {
			size_t es = (f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_INT64 ||
				     f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_FIXED64 ||
				     f->type == PROTOBUF_C_TYPE_SFIXED64 || f->type == PROTOBUF_C_TYPE_DOUBLE) ? 8 : 4;

			memset(p, 0, n * es);
		}
	}
}

static int copy_pages(int in, int out, const char *name)
{
	struct stat st;
	int fd, ret = 0;

	if (fstatat(in, name, &st, 0))
		return -errno;
	fd = openat(out, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, st.st_size))	/* reads back as zeroes */
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

static int anon_image(struct anon *a, int in, struct img_dir *out, const char *name,
		      const struct img_kind *k, unsigned long id)
{
	struct img_file f;
	struct img_writer w;
	int ret;

	ret = img_read(&f, in, name, k);
	if (ret)
		return ret;
	ret = img_writer_open(&w, out, k, id);
	if (ret)
		goto out;
	if (!strcmp(k->name, "PIPES_DATA") || !strcmp(k->name, "FIFO_DATA") ||
	    !strcmp(k->name, "SK_QUEUES") || !strcmp(k->name, "TTY_DATA"))
		goto close;	/* queued stream contents are dropped */
	for (size_t i = 0; i < f.n && !ret; i++) {
		struct img_entry *e = &f.ents[i];

		anon_msg(a, e->msg, false);
		if (k->extra == IMG_EXTRA_TCP) {
			uint32_t zero = 0;
			const ProtobufCFieldDescriptor *fi = protobuf_c_message_descriptor_get_field_by_name(
				e->msg->descriptor, "inq_len");
			const ProtobufCFieldDescriptor *fo = protobuf_c_message_descriptor_get_field_by_name(
				e->msg->descriptor, "outq_len");

			memcpy((char *)e->msg + fi->offset, &zero, 4);
			memcpy((char *)e->msg + fo->offset, &zero, 4);
			ret = img_writer_entry(&w, e->msg);
			continue;
		}
		ret = img_writer_entry(&w, e->msg);
		if (!ret && e->extra && e->extra_len) {	/* ghost contents: zeroed */
			uint8_t *z = calloc(1, e->extra_len);

			ret = z ? img_writer_raw(&w, z, e->extra_len) : -ENOMEM;
			free(z);
		}
	}
close:
	if (ret)
		img_writer_discard(&w);
	else
		ret = img_writer_close(&w);
out:
	img_file_free(&f);
	return ret;
}

int cmd_anonymize(int argc, char **argv)
{
	struct anon a = { 0 };
	struct img_dir out;
	struct dirent *de;
	DIR *dir;
	int in, ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: crisp-img anonymize DIR OUT\n");
		return 1;
	}
	in = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in < 0 || img_dir_open(&out, argv[1], true)) {
		fprintf(stderr, "crisp-img: can't open %s\n", in < 0 ? argv[0] : argv[1]);
		if (in >= 0)
			close(in);
		return 1;
	}
	dir = fdopendir(dup(in));
	while (dir && (de = readdir(dir))) {
		const struct img_kind *k;
		unsigned long id = 0;
		struct stat st;
		int r;

		if (de->d_name[0] == '.' || fstatat(in, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISLNK(st.st_mode) && !strcmp(de->d_name, "parent")) {
			char target[4096];
			ssize_t n = readlinkat(in, de->d_name, target, sizeof(target) - 1);

			if (n > 0) {
				target[n] = 0;
				unlinkat(out.dfd, "parent", 0);
				if (symlinkat(target, out.dfd, "parent"))
					fprintf(stderr, "crisp-img: parent link not copied: %s\n",
						strerror(errno));
			}
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		k = img_kind_by_file(de->d_name, &id);
		if (!k) {
			fprintf(stderr, "crisp-img: %s: not an image crisp knows, left out\n",
				de->d_name);
			continue;
		}
		r = k->hdr == IMG_HDR_RAW ? copy_pages(in, out.dfd, de->d_name) :
					    anon_image(&a, in, &out, de->d_name, k, id);
		if (r) {
			fprintf(stderr, "crisp-img: %s: %s\n", de->d_name, strerror(-r));
			ret = 1;
		}
	}
	if (dir)
		closedir(dir);
	map_free(&a.names);
	map_free(&a.comms);
	map_free(&a.ips);
	img_dir_close(&out);
	close(in);
	return ret;
}
