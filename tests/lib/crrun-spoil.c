/* crrun-spoil — the driver's 'spoil N HOW' and 'unspoil N' steps: break an
 * image dir of the run (to prove that crisp refuses it cleanly) and put it
 * back as it was. Touches only the run's own img-N directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crrun.h"

#define SPOILT ".spoilt"

/* img-N of the run, N from @arg (1 .. the image dirs made so far). */
static int spoil_dir(const struct run *r, const char *arg, char *buf, size_t len)
{
	char *end;
	long n = arg ? strtol(arg, &end, 10) : 0;

	if (!arg || *end || n < 1 || n > r->images) {
		say("spoil: '%s' is not an image dir of this run (1..%d)", arg ? arg : "", r->images);
		return -1;
	}
	snprintf(buf, len, "%s/img-%ld", r->dir, n);
	return 0;
}

/* Writes a copy of @from lacking its last page as @to. */
static int spoil_copy_short(const char *from, const char *to, off_t size)
{
	char page[4096];
	off_t keep = size - (off_t)sizeof(page);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int ret = in < 0 || out < 0 ? -1 : 0;

	for (off_t off = 0; !ret && off < keep; off += (off_t)sizeof(page)) {
		size_t want = keep - off < (off_t)sizeof(page) ? (size_t)(keep - off) : sizeof(page);

		if (pread(in, page, want, off) != (ssize_t)want ||
		    pwrite(out, page, want, off) != (ssize_t)want)
			ret = -1;
	}
	if (ret)
		say("spoil: cannot write a shortened copy of %s as %s", from, to);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

/* Keeps each pages-*.img as pages-*.img.spoilt and puts a copy that lacks
 * its last page in its place. */
static int spoil_short_pages(const char *dir)
{
	char names[16][256], from[900], to[920];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d) {
		say("spoil: opendir %s: %s", dir, strerror(errno));
		return -1;
	}
	/* names first: the directory changes below */
	while (n < 16 && (de = readdir(d)))
		if (!strncmp(de->d_name, "pages-", 6) && !strstr(de->d_name, SPOILT))
			snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	closedir(d);
	if (!n) {
		say("spoil: %s has no pages file", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;

		snprintf(from, sizeof(from), "%.600s/%.255s", dir, names[i]);
		snprintf(to, sizeof(to), "%s" SPOILT, from);
		if (stat(from, &st) || st.st_size < 4096 || rename(from, to)) {
			say("spoil: %s is too short to shorten, or cannot be moved aside", from);
			return -1;
		}
		if (spoil_copy_short(to, from, st.st_size))
			return -1;
	}
	return 0;
}

int step_spoil(struct run *r, char *rest)
{
	char dir[600], moved[620], *save = NULL;
	char *n = strtok_r(rest, " \t", &save);
	char *how = strtok_r(NULL, " \t", &save);

	if (spoil_dir(r, n, dir, sizeof(dir)))
		return -1;
	if (how && !strcmp(how, "gone")) {
		snprintf(moved, sizeof(moved), "%s" SPOILT, dir);
		if (rename(dir, moved)) {
			say("spoil: rename %s: %s", dir, strerror(errno));
			return -1;
		}
	} else if (how && !strcmp(how, "short-pages")) {
		if (spoil_short_pages(dir))
			return -1;
	} else {
		say("spoil: how? 'gone' or 'short-pages', not '%s'", how ? how : "");
		return -1;
	}
	say("spoil: img-%s is now %s", n, how);
	return 0;
}

/* Undoes either kind of spoil of img-N. */
int step_unspoil(struct run *r, char *rest)
{
	char dir[600], moved[620], orig[700];
	struct dirent *de;
	DIR *d;

	if (spoil_dir(r, strtok(rest, " \t"), dir, sizeof(dir)))
		return -1;
	snprintf(moved, sizeof(moved), "%s" SPOILT, dir);
	if (!access(moved, F_OK)) {
		if (rename(moved, dir)) {
			say("unspoil: rename %s: %s", moved, strerror(errno));
			return -1;
		}
		return 0;
	}
	d = opendir(dir);
	if (!d) {
		say("unspoil: opendir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= strlen(SPOILT) || strcmp(de->d_name + len - strlen(SPOILT), SPOILT))
			continue;
		snprintf(moved, sizeof(moved), "%s/%s", dir, de->d_name);
		snprintf(orig, sizeof(orig), "%s", moved);
		orig[strlen(orig) - strlen(SPOILT)] = '\0';
		if (rename(moved, orig)) {
			say("unspoil: rename %s: %s", moved, strerror(errno));
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* 'grow NAME' appends one byte to the file NAME of the run's work dir;
 * 'shrink NAME' takes one away: a file the task has open changes size
 * between dump and restore, then is put back. */
int step_grow(struct run *r, char *rest, bool grow)
{
	char *name = strtok(rest, " \t"), path[600];
	struct stat st;
	int fd;

	if (!name || strchr(name, '/')) {
		say("grow/shrink: a file name of the work dir, not '%s'", name ? name : "");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (grow ? pwrite(fd, "+", 1, st.st_size) != 1 :
					    st.st_size < 1 || ftruncate(fd, st.st_size - 1))) {
		say("%s: %s: %s", grow ? "grow" : "shrink", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	say("%s: %s is now %lld bytes", grow ? "grow" : "shrink", name,
	    (long long)st.st_size + (grow ? 1 : -1));
	return 0;
}
