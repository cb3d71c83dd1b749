/* test-images — crisp-img against its fixtures and, when given, CRIU's crit:
 * JSON -> encode -> decode gives the same JSON; binary -> decode -> encode
 * and show -> encode give the same bytes; crit decodes every image to the
 * same text (plain and pretty). Then a dump built from the fixtures is
 * checked, explored and anonymized (test-images-dump.c), and corrupt
 * images must be reported by name and offset, never crash.
 *
 *   test-images CRISP_IMG FIXTURE_DIR [CRIT]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "test-images.h"

int timg_run(struct tdrv_out *o, const char *in, size_t in_len, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0;

	va_start(ap, in_len);
	while (n < 15 && (argv[n] = (char *)va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tdrv_run(o, in, in_len, false, argv);
}

/* The JSON @cmd decode prints for @path, or NULL. */
struct json *timg_decode(const char *cmd, const char *verb, const char *path)
{
	struct tdrv_out o;
	struct json *j;

	timg_run(&o, NULL, 0, cmd, verb, "-i", path, NULL);
	j = o.status ? NULL : tdrv_json_parse(o.out, o.out_len);
	tdrv_out_free(&o);
	return j;
}

static void img_name(char *buf, size_t size, const char *dir, const char *base)
{
	bool stats = !strncmp(base, "stats-", 6);

	snprintf(buf, size, "%s/%s%s", dir, base, stats ? "" : ".img");
}

/* crit must print what crisp-img printed: @ours (decode), @pretty (show). */
static void compare_crit(struct timg *t, const char *base, const char *img,
			 const struct tdrv_out *ours, const struct tdrv_out *pretty)
{
	struct json *theirs_j, *ours_j;
	struct tdrv_out r;

	timg_run(&r, NULL, 0, t->crit, "decode", "-i", img, NULL);
	tdrv_ok(&t->c, r.status == 0, "%s: crit decode failed: %s", base, tdrv_tail(r.err, 300));
	theirs_j = tdrv_json_parse(r.out_len ? r.out : "null", r.out_len ? r.out_len : 4);
	ours_j = tdrv_json_parse(ours->out, ours->out_len);
	tdrv_ok(&t->c, theirs_j && ours_j && tdrv_json_equal(theirs_j, ours_j),
		"%s: crit's JSON differs from ours", base);
	json_free(theirs_j);
	json_free(ours_j);
	tdrv_ok(&t->c, r.out_len == ours->out_len && !memcmp(r.out, ours->out, r.out_len),
		"%s: crit's JSON text differs from ours", base);
	tdrv_out_free(&r);
	timg_run(&r, NULL, 0, t->crit, "decode", "--pretty", "-i", img, NULL);
	tdrv_ok(&t->c, r.out_len == pretty->out_len && !memcmp(r.out, pretty->out, r.out_len),
		"%s: crit's pretty JSON differs from ours", base);
	tdrv_out_free(&r);
	/* (crit 3.17's own `info` fails on Python 3, so it is not compared) */
}

static bool same_bytes(const struct tdrv_out *o, const char *buf, size_t len)
{
	return o->out_len == len && !memcmp(o->out, buf, len);
}

/* One fixture: encode it, then every round trip and the crit comparison. */
static void round_trip(struct timg *t, const char *base)
{
	char src[4096], img[4096], *text = NULL, *binary = NULL;
	struct tdrv_out enc, ours = { 0 }, pretty = { 0 }, r;
	struct json *want = NULL, *got, *info;
	size_t text_len, bin_len;

	snprintf(src, sizeof(src), "%s/%s.json", t->fixdir, base);
	img_name(img, sizeof(img), t->dump, base);
	if (!tdrv_read_file(src, &text, &text_len))
		want = tdrv_json_parse(text, text_len);
	tdrv_ok(&t->c, want, "%s: the fixture is not JSON", base);
	timg_run(&enc, NULL, 0, t->tool, "encode", "-i", src, "-o", img, NULL);
	tdrv_ok(&t->c, enc.status == 0, "%s: encode: %s", base, enc.err);
	if (enc.status || tdrv_read_file(img, &binary, &bin_len))
		goto out;

	timg_run(&ours, NULL, 0, t->tool, "decode", "-i", img, NULL);
	tdrv_ok(&t->c, ours.status == 0, "%s: decode", base);
	got = tdrv_json_parse(ours.out, ours.out_len);
	tdrv_ok(&t->c, got && want && tdrv_json_equal(got, want),
		"%s: JSON -> encode -> decode differs", base);
	json_free(got);
	timg_run(&r, ours.out, ours.out_len, t->tool, "encode", NULL);
	tdrv_ok(&t->c, same_bytes(&r, binary, bin_len),
		"%s: decode | encode is not byte-identical", base);
	tdrv_out_free(&r);

	timg_run(&pretty, NULL, 0, t->tool, "show", "-i", img, NULL);
	timg_run(&r, pretty.out, pretty.out_len, t->tool, "encode", NULL);
	tdrv_ok(&t->c, same_bytes(&r, binary, bin_len),
		"%s: show | encode is not byte-identical", base);
	tdrv_out_free(&r);

	info = timg_decode(t->tool, "info", img);
	tdrv_ok(&t->c, info && want && json_get(info, "magic") &&
		tdrv_json_equal(json_get(info, "magic"), json_get(want, "magic")),
		"%s: info magic", base);
	json_free(info);
	if (t->crit)
		compare_crit(t, base, img, &ours, &pretty);
out:
	tdrv_out_free(&enc);
	tdrv_out_free(&ours);
	tdrv_out_free(&pretty);
	json_free(want);
	free(text);
	free(binary);
}

static void round_trips(struct timg *t)
{
	char **names;
	int n = tdrv_list_dir(t->fixdir, &names), found = 0;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (len > 5 && !strcmp(names[i] + len - 5, ".json"))
			found++;
	}
	tdrv_ok(&t->c, found >= 50, "fixtures found: %d", found);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (len <= 5 || strcmp(names[i] + len - 5, ".json"))
			continue;
		names[i][len - 5] = '\0';
		round_trip(t, names[i]);
	}
	if (n >= 0)
		tdrv_names_free(names, n);
}

/* Corrupt images: a clear error naming the file (and the entry and offset
 * where there is one), exit status 1, no crash. */
static void corrupt_images(struct timg *t)
{
	static const struct {
		const char *name, *msg;
	} cases[] = {
		{ "wrong-magic", "unknown magic" },
		{ "length-past-end", "past the end" },
		{ "garbage-protobuf", "do not decode" },
		{ "truncated", "past the end" },
		{ "empty", "too short" },
	};
	char path[4096], *good, buf[65536];
	size_t good_len;

	snprintf(path, sizeof(path), "%s/core-100.img", t->dump);
	if (!tdrv_ok(&t->c, !tdrv_read_file(path, &good, &good_len) && good_len >= 16 &&
		     good_len <= sizeof(buf), "core-100.img for the corrupt cases"))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		struct tdrv_out r;
		size_t len = good_len;

		memcpy(buf, good, good_len);
		if (!strcmp(name, "wrong-magic")) {
			memcpy(buf, "\x19\x43\x56\x54\x01\x02\x03\x04", 8);
		} else if (!strcmp(name, "length-past-end")) {
			memcpy(buf + 8, "\xff\xff\x00\x00", 4);
		} else if (!strcmp(name, "garbage-protobuf")) {
			memcpy(buf + 8, "\x04\x00\x00\x00\xff\xff\xff\xff", 8);
			len = 16;
		} else if (!strcmp(name, "truncated")) {
			len = good_len / 2;
		} else {
			len = 0;
		}
		snprintf(path, sizeof(path), "%s/%s.img", t->work, name);
		tdrv_write_file(path, buf, len, false);
		timg_run(&r, NULL, 0, t->tool, "decode", "-i", path, NULL);
		tdrv_ok(&t->c, r.status == 1 && strstr(r.err, cases[i].msg) && strstr(r.err, name),
			"%s: rc %d, %s", name, r.status, r.err);
		if (!strcmp(name, "length-past-end") || !strcmp(name, "garbage-protobuf"))
			tdrv_ok(&t->c, strstr(r.err, "entry 0 at offset 8"),
				"%s names entry and offset: %s", name, r.err);
		tdrv_out_free(&r);
	}
	free(good);
}

int main(int argc, char **argv)
{
	struct timg t = { 0 };
	const char *tmp = getenv("TMPDIR");
	int ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: test-images CRISP_IMG FIXTURE_DIR [CRIT]\n");
		return 2;
	}
	t.tool = argv[1];
	t.fixdir = argv[2];
	t.crit = argc > 3 ? argv[3] : NULL;
	snprintf(t.work, sizeof(t.work), "%s/crisp-img-test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(t.work)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(t.dump, sizeof(t.dump), "%s/dump", t.work);
	if (mkdir(t.dump, 0755)) {
		perror("mkdir");
		return 2;
	}
	round_trips(&t);
	timg_dump_tools(&t);
	corrupt_images(&t);
	tdrv_rm_rf(t.work);
	ret = tdrv_summary(&t.c, "test-images");
	return ret;
}
