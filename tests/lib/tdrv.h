/* tdrv — helpers for test drivers written in C (tests/img, tests/dump,
 * tests/harness): run a command with its output captured, start and reap
 * tasks under a subreaper, whole-file and directory chores, counted checks,
 * and JSON comparison the way Python's == compares json.loads() results.
 * For drivers only: scenario tasks use crtest.h, never this.
 */
#ifndef CRISP_TDRV_H
#define CRISP_TDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json;

/* ---- counted checks (tdrv.c) ---- */

struct tdrv_checks {
	unsigned int checks;
	unsigned int failures;
};

/* Counts a check; when @cond is false prints "FAIL: <message>" to stdout
 * and counts a failure. Returns @cond. */
bool tdrv_ok(struct tdrv_checks *c, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "@name: N checks, M failed"; returns the exit code to use (0/1). */
int tdrv_summary(const struct tdrv_checks *c, const char *name);

/* ---- running commands (tdrv.c) ---- */

struct tdrv_out {
	int status;	/* exit code; 128 + signal when killed; -errno when it
			 * could not be started */
	char *out;	/* stdout, NUL-terminated (stderr too with merge_err) */
	size_t out_len;
	char *err;	/* stderr, NUL-terminated ("" with merge_err) */
	size_t err_len;
};

/*
 * Runs @argv (argv[0] a path, or a name looked up in PATH) with @in_len
 * bytes of @in on its stdin (@in NULL: /dev/null) and waits for it.
 * @merge_err sends its stderr into @o->out. Fills @o (free it with
 * tdrv_out_free) and returns 0, or -errno when the plumbing failed (@o is
 * then empty with status -errno).
 */
int tdrv_run(struct tdrv_out *o, const char *in, size_t in_len, bool merge_err,
	     char *const argv[]);
void tdrv_out_free(struct tdrv_out *o);

/* The last @max bytes of @s (for messages quoting long outputs). */
const char *tdrv_tail(const char *s, size_t max);

/* ---- tasks under a subreaper (tdrv.c) ---- */

/* Makes this process the subreaper of everything it starts. 0 or -errno. */
int tdrv_subreaper(void);

/* Starts @argv with stdin/stdout/stderr on /dev/null and no other fds
 * inherited. Returns its pid, or -errno. */
pid_t tdrv_spawn(char *const argv[]);

/* Polls (every 5 ms, at most @tries times) until @path exists. Gives up
 * early, returning false, when @pid (if > 0) has ended: it is then reaped. */
bool tdrv_wait_file(const char *path, pid_t pid, unsigned int tries);

/* Kills every pid in @pids (those > 0) and reaps every child and orphan
 * this subreaper has, until none is left. */
void tdrv_kill_reap_all(const pid_t *pids, size_t n);

/* The state letter of /proc/PID/stat ('S', 'R', ...), or 0 when gone. */
char tdrv_task_state(pid_t pid);

/* ---- files (tdrv.c) ---- */

/* Reads the whole file into a NUL-terminated @buf (free it). 0 or -errno. */
int tdrv_read_file(const char *path, char **buf, size_t *len);
/* Writes (or with @append, appends) @len bytes. 0 or -errno. */
int tdrv_write_file(const char *path, const void *buf, size_t len, bool append);
/* -1 when @path does not exist, else its size. */
long long tdrv_file_size(const char *path);
bool tdrv_exists(const char *path);

/* The names in @dir but "." and "..", sorted (free with tdrv_names_free).
 * Returns the count or -errno. */
int tdrv_list_dir(const char *dir, char ***names);
void tdrv_names_free(char **names, int n);

/* Copies the regular files of @src into a new directory @dst (flat). */
int tdrv_copy_dir(const char *src, const char *dst);
/* Removes @path and everything below it (no mount points crossed). */
int tdrv_rm_rf(const char *path);

/* ---- JSON (tdrv-json.c) ---- */

/* True when @a and @b are equal as Python compares json.loads() results:
 * objects by their key sets (the last of duplicate keys counts), numbers
 * by value (1 == 1.0). NULL equals only NULL. */
bool tdrv_json_equal(const struct json *a, const struct json *b);

/* Parses @len bytes of @text; NULL when it is not JSON. */
struct json *tdrv_json_parse(const char *text, size_t len);

/* Element @i of an array, or NULL. */
struct json *tdrv_json_at(const struct json *arr, size_t i);

/* A number (integer or not) into @v; false when @j is not one. */
bool tdrv_json_num(const struct json *j, double *v);

/* The string of @j, or NULL when it is not one. */
const char *tdrv_json_str(const struct json *j);

#endif
