/* blog-decode — prints blog log files as text (or JSON, or per-call-site
 * statistics): filters by level, time, call site and substring, merges
 * several files by time, follows a growing file. Options and output only;
 * the decoding itself is decode.c's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "decode.h"
#include "render.h"

struct out_item {
	uint64_t wall;
	uint64_t order;
	size_t off, len;	/* in the text arena */
};

struct site_stat {
	const struct bd_file *f;
	uint32_t id;
	uint64_t count, bytes;
};

struct dec {
	/* options */
	int max_level;
	double since, until;	/* seconds; < 0: none */
	const char *site_file;
	long site_line;		/* -1: any */
	const char *grep;
	bool json, stats, follow, sorted;
	/* state */
	uint64_t start_wall;	/* times are shown relative to this */
	char *msg, *line;
	char *arena;
	size_t arena_len, arena_cap;
	struct out_item *items;
	size_t nitems, items_cap;
	struct site_stat *sites;
	size_t nsites, sites_cap;
	struct bd_file *files;	/* kept until the end: --stats points into them */
	int nfiles;
	bool oom, errors;
};

static const char *const level_names[] = { "msg", "error", "warn", "info", "debug" };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: blog-decode [options] [FILE...]   (no FILE, or -: standard input)\n"
		"  -l, --level N       show records of level N and below (0 msg/error .. 4 debug)\n"
		"      --since SEC     only records at or after SEC seconds (as printed)\n"
		"      --until SEC     only records before SEC seconds\n"
		"  -s, --site F[:L]    only call sites whose file ends with F (and line L)\n"
		"  -g, --grep TEXT     only records whose message contains TEXT\n"
		"  -f, --follow        keep reading as the file grows (like tail -f)\n"
		"      --json          one JSON object per record\n"
		"      --stats         records and bytes per call site, most first\n"
		"      --no-sort       print in file order instead of by time\n"
		"  -h, --help\n");
}

static void json_str(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static bool site_matches(const struct dec *d, const struct blog_entry *e)
{
	size_t fl, sl;

	if (!d->site_file)
		return true;
	if (d->site_line >= 0 && e->line != (uint32_t)d->site_line)
		return false;
	fl = strlen(e->file);
	sl = strlen(d->site_file);
	return sl <= fl && !strcmp(e->file + fl - sl, d->site_file);
}

static void count_site(struct dec *d, const struct bd_rec *r)
{
	for (size_t i = 0; i < d->nsites; i++) {
		if (d->sites[i].f == r->f && d->sites[i].id == r->id) {
			d->sites[i].count++;
			d->sites[i].bytes += r->size;
			return;
		}
	}
	if (d->nsites == d->sites_cap) {
		size_t cap = d->sites_cap ? d->sites_cap * 2 : 64;
		struct site_stat *n = realloc(d->sites, cap * sizeof(*n));

		if (!n) {
			d->oom = true;
			return;
		}
		d->sites = n;
		d->sites_cap = cap;
	}
	d->sites[d->nsites++] = (struct site_stat){ r->f, r->id, 1, r->size };
}

/* Renders @r into d->msg and d->line; false if --grep rejects it. */
static bool render_record(struct dec *d, const struct bd_rec *r, uint64_t ns)
{
	size_t msg_len;

	bd_render(r, ns, d->msg, BLOG_MSG_MAX, &msg_len, d->line, BLOG_MSG_MAX + 4096);
	return !d->grep || strstr(d->msg, d->grep);
}

static void emit_json(struct dec *d, FILE *out, const struct bd_rec *r, uint64_t ns)
{
	fprintf(out, "{\"t\":%llu.%06llu,\"level\":\"%s\",\"file\":",
		(unsigned long long)(ns / 1000000000u), (unsigned long long)(ns / 1000u % 1000000u),
		level_names[r->e->level]);
	json_str(out, r->e->file, strlen(r->e->file));
	fprintf(out, ",\"line\":%u,\"pid\":%u,\"tid\":%u,\"msg\":", r->e->line, r->pid, r->tid);
	json_str(out, d->msg, strlen(d->msg));
	fputs("}\n", out);
}

static void arena_add(struct dec *d, uint64_t wall, const char *s, size_t n)
{
	if (d->arena_len + n > d->arena_cap) {
		size_t cap = d->arena_cap ? d->arena_cap : 1 << 20;
		char *a;

		while (cap < d->arena_len + n)
			cap *= 2;
		a = realloc(d->arena, cap);
		if (!a) {
			d->oom = true;
			return;
		}
		d->arena = a;
		d->arena_cap = cap;
	}
	if (d->nitems == d->items_cap) {
		size_t cap = d->items_cap ? d->items_cap * 2 : 4096;
		struct out_item *it = realloc(d->items, cap * sizeof(*it));

		if (!it) {
			d->oom = true;
			return;
		}
		d->items = it;
		d->items_cap = cap;
	}
	memcpy(d->arena + d->arena_len, s, n);
	d->items[d->nitems] = (struct out_item){ wall, d->nitems, d->arena_len, n };
	d->nitems++;
	d->arena_len += n;
}

static void on_record(void *ctx, const struct bd_rec *r)
{
	struct dec *d = ctx;
	uint64_t ns = r->wall_ns >= d->start_wall ? r->wall_ns - d->start_wall : 0;
	double t = (double)ns / 1e9;

	if (r->e->level > d->max_level || !site_matches(d, r->e))
		return;
	if ((d->since >= 0 && t < d->since) || (d->until >= 0 && t >= d->until))
		return;
	if (d->stats && !d->grep) {
		count_site(d, r);
		return;
	}
	if (!render_record(d, r, ns))
		return;
	if (d->stats) {
		count_site(d, r);
		return;
	}
	if (d->json) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = d->sorted ? open_memstream(&buf, &len) : stdout;

		if (!mem) {
			d->oom = true;
			return;
		}
		emit_json(d, mem, r, ns);
		if (d->sorted) {
			fclose(mem);
			arena_add(d, r->wall_ns, buf, len);
			free(buf);
		}
		return;
	}
	if (d->sorted)
		arena_add(d, r->wall_ns, d->line, strlen(d->line));
	else
		fputs(d->line, stdout);
}

static void on_error(void *ctx, const struct bd_file *f, uint64_t off, const char *msg)
{
	struct dec *d = ctx;

	d->errors = true;
	fflush(stdout);
	if (!strncmp(msg, "offset ", 7))
		fprintf(stderr, "blog-decode: %s: %s\n", f->name, msg);
	else
		fprintf(stderr, "blog-decode: %s: offset %llu: %s\n", f->name,
			(unsigned long long)off, msg);
}

static int item_cmp(const void *a, const void *b)
{
	const struct out_item *x = a, *y = b;

	if (x->wall != y->wall)
		return x->wall < y->wall ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int stat_cmp(const void *a, const void *b)
{
	const struct site_stat *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

/* Reads all of @fd into @f (or, following, what is there now). */
static int read_some(int fd, struct bd_file *f, bool *eof)
{
	char buf[1 << 16];
	ssize_t n;

	*eof = false;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			*eof = true;
			return 0;
		}
		if (bd_feed(f, buf, (size_t)n))
			return -ENOMEM;
		if ((size_t)n < sizeof(buf) && f->len > (8u << 20))
			return 0;
	}
}

static int follow_file(struct dec *d, const char *name, int fd)
{
	struct bd_file f = { .name = name };
	struct bd_ops ops = { on_record, on_error, d };
	bool eof;
	int err;

	for (;;) {
		err = read_some(fd, &f, &eof);
		if (err)
			break;
		if (!f.have_hdr && !f.failed && f.len >= 8 && !d->start_wall) {
			struct blog_header h;
			char e[8];

			if (blog_read_header(f.buf, f.len, &h, e, sizeof(e)) > 0) {
				d->start_wall = h.real0;
				blog_header_free(&h);
			}
		}
		err = bd_process(&f, false, &ops);
		if (err)
			break;
		fflush(stdout);
		if (eof)
			usleep(100000);
	}
	bd_file_free(&f);
	return err;
}

static int decode_files(struct dec *d, int nfiles, char **names)
{
	struct bd_file *files = calloc((size_t)nfiles, sizeof(*files));
	struct bd_ops ops = { on_record, on_error, d };
	int ret = 0;

	if (!files)
		return -ENOMEM;
	d->files = files;
	d->nfiles = nfiles;
	for (int i = 0; i < nfiles; i++) {
		bool stdin_ = !strcmp(names[i], "-");
		int fd = stdin_ ? STDIN_FILENO : open(names[i], O_RDONLY | O_CLOEXEC);
		bool eof = false;

		files[i].name = stdin_ ? "<stdin>" : names[i];
		if (fd < 0) {
			fprintf(stderr, "blog-decode: %s: %s\n", names[i], strerror(errno));
			ret = -errno;
			continue;
		}
		while (!eof && !ret)
			ret = read_some(fd, &files[i], &eof);
		if (!stdin_)
			close(fd);
		if (ret) {
			fprintf(stderr, "blog-decode: %s: %s\n", names[i], strerror(-ret));
			continue;
		}
		/* the earliest start is time zero */
		{
			struct blog_header h;
			char e[8];

			if (blog_read_header(files[i].buf, files[i].len, &h, e, sizeof(e)) > 0) {
				if (!d->start_wall || h.real0 < d->start_wall)
					d->start_wall = h.real0;
				blog_header_free(&h);
			}
		}
	}
	for (int i = 0; i < nfiles; i++) {
		if (files[i].buf && bd_process(&files[i], true, &ops))
			ret = -EPROTO;
		free(files[i].buf);
		files[i].buf = NULL;
	}
	return ret;
}

static void print_results(struct dec *d)
{
	if (d->stats) {
		uint64_t total = 0;

		qsort(d->sites, d->nsites, sizeof(*d->sites), stat_cmp);
		printf("%10s %12s  %-7s %s\n", "records", "bytes", "level", "call site");
		for (size_t i = 0; i < d->nsites; i++) {
			const struct blog_entry *e = &d->sites[i].f->h.dict[d->sites[i].id];

			total += d->sites[i].count;
			printf("%10llu %12llu  %-7s %s:%u  \"", (unsigned long long)d->sites[i].count,
			       (unsigned long long)d->sites[i].bytes, level_names[e->level],
			       e->file, e->line);
			for (const char *p = e->fmt; *p; p++)
				fputs(*p == '\n' ? "\\n" : (char[2]){ *p, 0 }, stdout);
			printf("\"\n");
		}
		printf("%10llu records at %zu call sites\n", (unsigned long long)total, d->nsites);
		return;
	}
	qsort(d->items, d->nitems, sizeof(*d->items), item_cmp);
	for (size_t i = 0; i < d->nitems; i++)
		fwrite(d->arena + d->items[i].off, 1, d->items[i].len, stdout);
}

int main(int argc, char **argv)
{
	enum { OPT_SINCE = 256, OPT_UNTIL, OPT_JSON, OPT_STATS, OPT_NOSORT };
	static const struct option longopts[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "site", required_argument, NULL, 's' },
		{ "grep", required_argument, NULL, 'g' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "no-sort", no_argument, NULL, OPT_NOSORT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dec d = { .max_level = BLOG_DEBUG, .since = -1, .until = -1, .site_line = -1,
			 .sorted = true };
	char *stdin_name[] = { "-" };
	char *end, *colon;
	int c, ret;

	while ((c = getopt_long(argc, argv, "l:s:g:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			d.max_level = (int)strtol(optarg, &end, 10);
			if (*end || d.max_level < 0 || d.max_level > BLOG_DEBUG) {
				fprintf(stderr, "blog-decode: --level wants 0..4, not '%s'\n", optarg);
				return 2;
			}
			if (d.max_level < BLOG_ERROR)
				d.max_level = BLOG_ERROR;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			*(c == OPT_SINCE ? &d.since : &d.until) = strtod(optarg, &end);
			if (*end || end == optarg) {
				fprintf(stderr, "blog-decode: bad time '%s' (seconds)\n", optarg);
				return 2;
			}
			break;
		case 's':
			d.site_file = optarg;
			colon = strrchr(optarg, ':');
			if (colon && colon[1]) {
				d.site_line = strtol(colon + 1, &end, 10);
				if (*end)
					d.site_line = -1;
				else
					*colon = 0;
			}
			break;
		case 'g': d.grep = optarg; break;
		case 'f': d.follow = true; d.sorted = false; break;
		case OPT_JSON: d.json = true; break;
		case OPT_STATS: d.stats = true; break;
		case OPT_NOSORT: d.sorted = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (d.follow && argc - optind > 1) {
		fprintf(stderr, "blog-decode: --follow takes one file\n");
		return 2;
	}
	d.msg = malloc(BLOG_MSG_MAX);
	d.line = malloc(BLOG_MSG_MAX + 4096);
	if (!d.msg || !d.line)
		return 1;
	if (d.follow) {
		const char *name = optind < argc ? argv[optind] : "-";
		int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;

		if (fd < 0) {
			fprintf(stderr, "blog-decode: %s: %s\n", name, strerror(errno));
			return 1;
		}
		ret = follow_file(&d, name, fd);
	} else if (optind < argc) {
		ret = decode_files(&d, argc - optind, argv + optind);
	} else {
		ret = decode_files(&d, 1, stdin_name);
	}
	if (!d.follow)
		print_results(&d);
	if (d.oom)
		fprintf(stderr, "blog-decode: out of memory, output incomplete\n");
	free(d.msg);
	free(d.line);
	free(d.arena);
	free(d.items);
	free(d.sites);
	for (int i = 0; i < d.nfiles; i++)
		bd_file_free(&d.files[i]);
	free(d.files);
	return ret || d.oom ? 1 : d.errors ? 3 : 0;
}
