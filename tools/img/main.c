/* crisp-img — the image tool: decode, encode, show, info, explore (x),
 * check and anonymize CRIU-format image files. This file parses the command
 * line and does the single-file commands; dump-wide ones live beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blog.h"
#include "imgjson.h"
#include "json.h"
#include "tool.h"

static void usage(FILE *f)
{
	fputs("usage: crisp-img COMMAND [ARGS]\n"
	      "  decode [-i IN] [-o OUT] [--pretty]  binary image to JSON (stdin/stdout by default)\n"
	      "  show   [-i IN] [-o OUT]             decode --pretty\n"
	      "  encode [-i IN] [-o OUT]             JSON back to a binary image\n"
	      "  info   [-i IN]                      the image's magic and entry count\n"
	      "  x DIR ps|fds|mems|rss               explore a dump\n"
	      "  check DIR                           validate a dump; exit 1 listing problems\n"
	      "  anonymize DIR OUT                   a copy safe to attach to a bug report\n", f);
}

int tool_load(int dfd, const char *kind_name, unsigned long id, bool optional,
	      struct img_file *f)
{
	const struct img_kind *k = img_kind_by_name(kind_name);
	char name[256];

	if (!k || img_kind_file(k, id, name, sizeof(name)))
		return -EINVAL;
	if (optional && faccessat(dfd, name, F_OK, 0))
		return -ENOENT;
	return img_read(f, dfd, name, k);
}

static int read_input(const char *in, uint8_t **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *b;
	int fd = 0;

	if (in)
		return img_slurp(AT_FDCWD, in, buf, len);
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			pr_perror("Can't read stdin");
			free(b);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

struct io_args {
	const char *in, *out;
	bool pretty;
};

static int parse_io(int argc, char **argv, struct io_args *a, bool allow_pretty)
{
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-i") || !strcmp(argv[i], "--in")) && i + 1 < argc)
			a->in = argv[++i];
		else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc)
			a->out = argv[++i];
		else if (allow_pretty && !strcmp(argv[i], "--pretty"))
			a->pretty = true;
		else {
			fprintf(stderr, "crisp-img: unexpected argument \"%s\"\n", argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int cmd_decode(int argc, char **argv, bool pretty)
{
	struct io_args a = { .pretty = pretty };
	struct img_file f;
	struct json *doc;
	uint8_t *buf;
	size_t len;
	FILE *out = stdout;
	int ret;

	if (parse_io(argc, argv, &a, true) || read_input(a.in, &buf, &len))
		return 1;
	ret = img_parse(&f, a.in ? a.in : "stdin", buf, len, NULL);
	if (ret) {
		free(buf);
		return 1;
	}
	doc = imgj_decode(&f, a.pretty);
	if (doc && a.out && !(out = fopen(a.out, "w"))) {
		pr_perror("Can't create %s", a.out);
		ret = 1;
	} else if (doc) {
		json_write(out, doc, a.pretty ? 4 : 0);
		if (!a.out)
			fputc('\n', out);
		if (fflush(out) || ferror(out)) {
			pr_perror("Can't write the JSON");
			ret = 1;
		}
		if (a.out)
			fclose(out);
	} else {
		ret = 1;
	}
	json_free(doc);
	img_file_free(&f);
	free(buf);
	return ret;
}

static int cmd_encode(int argc, char **argv)
{
	struct io_args a = { 0 };
	const struct img_kind *k;
	struct img_writer w;
	struct json *doc;
	char err[300];
	uint8_t *buf;
	size_t len;
	int fd = 1, ret;

	if (parse_io(argc, argv, &a, false) || read_input(a.in, &buf, &len))
		return 1;
	doc = json_parse((const char *)buf, len, err, sizeof(err));
	free(buf);
	if (!doc) {
		fprintf(stderr, "crisp-img: %s: not JSON: %s\n", a.in ? a.in : "stdin", err);
		return 1;
	}
	k = imgj_kind(doc);
	if (!k || k->hdr == IMG_HDR_RAW) {
		fprintf(stderr, "crisp-img: %s: no known \"magic\"\n", a.in ? a.in : "stdin");
		json_free(doc);
		return 1;
	}
	if (a.out) {
		fd = open(a.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			pr_perror("Can't create %s", a.out);
			json_free(doc);
			return 1;
		}
	}
	ret = img_writer_open_fd(&w, fd, k, a.out ? a.out : "stdout");
	err[0] = 0;
	if (!ret)
		ret = imgj_encode(doc, &w, err, sizeof(err));
	if (ret) {
		if (err[0])
			fprintf(stderr, "crisp-img: %s\n", err);
		img_writer_discard(&w);
	} else {
		ret = img_writer_close(&w);
	}
	if (a.out && close(fd) && !ret)
		ret = -errno;
	json_free(doc);
	return ret ? 1 : 0;
}

static int cmd_info(int argc, char **argv)
{
	struct io_args a = { 0 };
	struct img_file f;
	uint8_t *buf;
	size_t len;

	if (parse_io(argc, argv, &a, false) || read_input(a.in, &buf, &len))
		return 1;
	if (img_parse(&f, a.in ? a.in : "stdin", buf, len, NULL)) {
		free(buf);
		return 1;
	}
	printf("{\n    \"magic\": \"%s\",\n    \"count\": %zu\n}\n", f.kind->name,
	       f.kind->first_desc && f.n ? f.n - 1 : f.n);
	img_file_free(&f);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	cmd = argv[1];
	if (getenv("CRISP_IMG_DEBUG"))
		blog_set_level(BLOG_DEBUG);
	if (!strcmp(cmd, "decode"))
		return cmd_decode(argc - 2, argv + 2, false);
	if (!strcmp(cmd, "show"))
		return cmd_decode(argc - 2, argv + 2, true);
	if (!strcmp(cmd, "encode"))
		return cmd_encode(argc - 2, argv + 2);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 2, argv + 2);
	if (!strcmp(cmd, "x"))
		return cmd_explore(argc - 2, argv + 2);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(cmd, "anonymize"))
		return cmd_anonymize(argc - 2, argv + 2);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "crisp-img: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 1;
}
