/* test-images-dump — the dump-level commands of crisp-img on the dump the
 * fixture round trips built: check passes, x ps/fds/mems/rss show what the
 * fixtures hold, anonymize hides every secret but keeps the relations (and
 * crit agrees on the anonymized images), check reports a broken copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "test-images.h"

#define PAGE 4096

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* x ps: after the header, exactly two lines, the child's name indented
 * deeper than its parent's. */
static bool ps_indents_child(const char *out)
{
	const char *line = strchr(out, '\n'), *lines[3];
	int n = 0;

	while (line && *++line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (strspn(line, " \t\r\f\v") < len) {	/* not blank */
			if (n == 2)
				return false;
			lines[n++] = line;
		}
		line = end;
	}
	if (n != 2)
		return false;
	/* "server" must sit on each line itself, not further down */
	const char *s0 = strstr(lines[0], "server"), *s1 = strstr(lines[1], "server");
	const char *e0 = strchr(lines[0], '\n'), *e1 = strchr(lines[1], '\n');

	if (!s0 || !s1 || (e0 && s0 > e0) || (e1 && s1 > e1))
		return false;
	return s1 - lines[1] > s0 - lines[0];
}

static void explore(struct timg *t)
{
	static const struct {
		const char *what, *needles[3];
	} views[] = {
		{ "fds", { "/usr/bin/server", "pipe[777]", "cwd" } },
		{ "mems", { "[heap]", "[stack]", "r-x" } },
		{ "rss", { "5 pages", "[heap]", NULL } },
	};
	struct tdrv_out r;

	timg_run(&r, NULL, 0, t->tool, "x", t->dump, "ps", NULL);
	tdrv_ok(&t->c, r.status == 0 && strstr(r.out, "server"), "x ps: %s", r.out);
	tdrv_ok(&t->c, ps_indents_child(r.out), "x ps does not indent the child: %s", r.out);
	tdrv_out_free(&r);
	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		bool all = true;

		timg_run(&r, NULL, 0, t->tool, "x", t->dump, views[v].what, NULL);
		for (int i = 0; i < 3 && views[v].needles[i]; i++)
			all = all && strstr(r.out, views[v].needles[i]);
		tdrv_ok(&t->c, all, "x %s: %s", views[v].what, r.out);
		tdrv_out_free(&r);
	}
}

/* Decodes every anonymized image (crit must agree); no secret may remain. */
static void anon_secrets(struct timg *t, const char *anon)
{
	static const char *const secrets[] = { "/usr/bin/server", "server", "worker",
		"ctl.sock", "abstract-name", "hello pipe", "build-host", "memfd:cache" };
	char **names, path[4096], *all = calloc(1, 1);
	int n = tdrv_list_dir(anon, &names);
	size_t all_len = 0;

	tdrv_ok(&t->c, n > 0 && all, "list the anonymized dump");
	for (int i = 0; i < n && all; i++) {
		struct tdrv_out r, r2;
		char *grown;

		if (!strncmp(names[i], "pages-", 6))
			continue;
		path_in(path, sizeof(path), anon, names[i]);
		timg_run(&r, NULL, 0, t->tool, "decode", "-i", path, NULL);
		tdrv_ok(&t->c, r.status == 0, "decode anonymized %s", names[i]);
		grown = realloc(all, all_len + r.out_len + 1);
		if (grown) {
			memcpy(grown + all_len, r.out, r.out_len + 1);
			all = grown;
			all_len += r.out_len;
		}
		if (t->crit) {
			timg_run(&r2, NULL, 0, t->crit, "decode", "-i", path, NULL);
			tdrv_ok(&t->c, r2.out_len == r.out_len && !memcmp(r2.out, r.out, r.out_len),
				"crit disagrees on anonymized %s", names[i]);
			tdrv_out_free(&r2);
		}
		tdrv_out_free(&r);
	}
	for (size_t s = 0; all && s < sizeof(secrets) / sizeof(secrets[0]); s++)
		tdrv_ok(&t->c, !strstr(all, secrets[s]), "anonymized dump still holds '%s'", secrets[s]);
	free(all);
	if (n > 0)
		tdrv_names_free(names, n);
}

/* The name of the regular file with @id in files.img's entries, or NULL. */
static const char *reg_name(const struct json *files, uint64_t id)
{
	const struct json *e = json_get(files, "entries");
	const char *name = NULL;

	for (size_t i = 0; e && e->type == JSON_ARR && i < e->len; i++) {
		uint64_t v;
		const struct json *reg = json_get(e->items[i], "reg");

		if (reg && json_as_u64(json_get(e->items[i], "id"), &v) && v == id)
			name = tdrv_json_str(json_get(reg, "name"));	/* the last wins */
	}
	return name;
}

/* What anonymize must keep: path relations, distinctness, the address
 * family, equal names; what it must drop: registers, pipe data. */
static void anon_relations(struct timg *t, const char *anon)
{
	char path[4096];
	struct json *j, *j2;
	const char *r1, *r14, *r15, *slash, *a;
	const struct json *e, *src, *gp;

	path_in(path, sizeof(path), anon, "files.img");
	j = timg_decode(t->tool, "decode", path);
	r1 = reg_name(j, 1);
	r14 = reg_name(j, 14);
	r15 = reg_name(j, 15);
	slash = r14 ? strrchr(r14, '/') : NULL;
	tdrv_ok(&t->c, r14 && r15 && (slash ? strlen(r15) == (size_t)(slash - r14) &&
		!strncmp(r14, r15, (size_t)(slash - r14)) : !strcmp(r14, r15)),
		"path relations kept: 14 '%s', 15 '%s'", r14 ? r14 : "?", r15 ? r15 : "?");
	tdrv_ok(&t->c, r1 && r14 && strcmp(r1, r14), "different paths stay different");
	json_free(j);

	path_in(path, sizeof(path), anon, "inetsk.img");
	j = timg_decode(t->tool, "show", path);
	src = json_get(tdrv_json_at(json_get(j, "entries"), 0), "src_addr");
	a = tdrv_json_str(tdrv_json_at(src, 0));
	tdrv_ok(&t->c, src && !(src->type == JSON_ARR && src->len == 1 && a &&
		!strcmp(a, "192.168.0.1")), "IPv4 address mapped");
	tdrv_ok(&t->c, a && !strncmp(a, "10.", 3), "IPv4 mapped into 10/8: %s", a ? a : "?");
	json_free(j);

	path_in(path, sizeof(path), anon, "core-100.img");
	j = timg_decode(t->tool, "decode", path);
	e = tdrv_json_at(json_get(j, "entries"), 0);
	gp = json_get(json_get(e, "thread_info"), "gpregs");
	bool zero = gp && gp->type == JSON_OBJ;
	for (size_t i = 0; zero && i < gp->len; i++) {
		double v;
		const char *s = tdrv_json_str(gp->items[i]);

		zero = (tdrv_json_num(gp->items[i], &v) && v == 0) || (s && !strcmp(s, "NATIVE"));
	}
	tdrv_ok(&t->c, zero, "registers zeroed");
	path_in(path, sizeof(path), anon, "core-102.img");
	j2 = timg_decode(t->tool, "decode", path);
	const struct json *c100 = json_get(json_get(e, "tc"), "comm");
	const struct json *c102 = json_get(json_get(tdrv_json_at(json_get(j2, "entries"), 0),
						  "tc"), "comm");
	tdrv_ok(&t->c, c100 && c102 && tdrv_json_equal(c100, c102), "equal task names stay equal");
	json_free(j);
	json_free(j2);

	path_in(path, sizeof(path), anon, "pipes-data.img");
	j = timg_decode(t->tool, "decode", path);
	e = json_get(j, "entries");
	tdrv_ok(&t->c, e && e->type == JSON_ARR && e->len == 0, "pipe data dropped");
	json_free(j);
}

static void anonymize(struct timg *t)
{
	char anon[700], path[4096], *pages = NULL, zero[4 * PAGE] = { 0 };
	struct tdrv_out r;
	size_t len = 0;

	snprintf(anon, sizeof(anon), "%s/anon", t->work);
	timg_run(&r, NULL, 0, t->tool, "anonymize", t->dump, anon, NULL);
	tdrv_ok(&t->c, r.status == 0, "anonymize: %s", r.err);
	tdrv_out_free(&r);
	timg_run(&r, NULL, 0, t->tool, "check", anon, NULL);
	tdrv_ok(&t->c, r.status == 0, "check of the anonymized dump: %s", r.out);
	tdrv_out_free(&r);
	path_in(path, sizeof(path), anon, "pages-1.img");
	tdrv_ok(&t->c, tdrv_file_size(path) == 4 * PAGE, "pages size kept");
	tdrv_read_file(path, &pages, &len);
	tdrv_ok(&t->c, pages && len == sizeof(zero) && !memcmp(pages, zero, len), "pages zeroed");
	free(pages);
	anon_secrets(t, anon);
	anon_relations(t, anon);
}

static void broken_copy(struct timg *t)
{
	char broken[700], path[4096];
	struct tdrv_out r;

	snprintf(broken, sizeof(broken), "%s/broken", t->work);
	tdrv_ok(&t->c, !tdrv_copy_dir(t->dump, broken), "copy the dump");
	path_in(path, sizeof(path), broken, "fdinfo-2.img");
	unlink(path);
	path_in(path, sizeof(path), broken, "pages-1.img");
	tdrv_write_file(path, "x", 1, true);
	timg_run(&r, NULL, 0, t->tool, "check", broken, NULL);
	tdrv_ok(&t->c, r.status == 1 && strstr(r.out, "fdinfo-2.img is missing") &&
		strstr(r.out, "pages-1.img holds"), "check of a broken dump: %s", r.out);
	tdrv_out_free(&r);
}

void timg_dump_tools(struct timg *t)
{
	char path[4096], pages[4 * PAGE];
	struct tdrv_out r;

	/* the page files the pagemaps promise: 4 present pages for 100, 1 for 102 */
	memset(pages, 0x5a, sizeof(pages));
	path_in(path, sizeof(path), t->dump, "pages-1.img");
	tdrv_write_file(path, pages, 4 * PAGE, false);
	path_in(path, sizeof(path), t->dump, "pages-2.img");
	tdrv_write_file(path, pages, PAGE, false);

	timg_run(&r, NULL, 0, t->tool, "check", t->dump, NULL);
	tdrv_ok(&t->c, r.status == 0, "check of the fixture dump: %s", r.out);
	tdrv_out_free(&r);
	explore(t);
	anonymize(t);
	broken_copy(t);
}
