/* tdrv — helpers for test drivers written in C (tests/img, tests/dump,
 * tests/restore, tests/track, tests/harness): run a command with its output
 * captured (or in the background), start and reap tasks under a subreaper,
 * /proc snapshots, whole-file and directory chores, counted checks, and JSON
 * comparison the way Python's == compares json.loads() results.
 * For drivers only: scenario tasks use crtest.h, never this.
 */
#ifndef CRISP_TDRV_H
#define CRISP_TDRV_H

#include <stdarg.h>
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

/* A command running in the background, its output going to memory files
 * (never a pipe that could fill while the driver does something else). */
struct tdrv_job {
	pid_t pid;
	int out_fd, err_fd;	/* memfds; err_fd -1 with merge_err */
};

/*
 * Starts @argv with stdin on /dev/null, like tdrv_run, and returns at once.
 * 0 or -errno (nothing left running then). Finish it with tdrv_run_wait.
 */
int tdrv_run_start(struct tdrv_job *j, bool merge_err, char *const argv[]);

/*
 * Waits at most @timeout_ms for the job, then fills @o as tdrv_run does.
 * On timeout the job is killed (SIGKILL) and reaped, @o holds what it
 * wrote and status 128 + SIGKILL, and -ETIMEDOUT is returned; else 0 or
 * -errno. The job is over either way.
 * Nothing else may reap it meanwhile (no tdrv_reap_exited while it runs).
 */
int tdrv_run_wait(struct tdrv_job *j, struct tdrv_out *o, unsigned int timeout_ms);

/* ---- tasks under a subreaper (tdrv.c) ---- */

/* Makes this process the subreaper of everything it starts. 0 or -errno. */
int tdrv_subreaper(void);

/* Starts @argv in a session of its own, with stdin/stdout/stderr on
 * /dev/null and no other fds inherited. Returns its pid, or -errno. */
pid_t tdrv_spawn(char *const argv[]);

/* Polls (every 5 ms, at most @tries times) until @path exists. Gives up
 * early, returning false, when @pid (if > 0) has ended: it is then reaped. */
bool tdrv_wait_file(const char *path, pid_t pid, unsigned int tries);

/* Kills every pid in @pids (those > 0) and reaps every child and orphan
 * this subreaper has, until none is left. */
void tdrv_kill_reap_all(const pid_t *pids, size_t n);

/* Reaps every child and orphan that has already ended, without waiting. */
void tdrv_reap_exited(void);

/* The state letter of /proc/PID/stat ('S', 'R', ...), or 0 when gone. */
char tdrv_task_state(pid_t pid);

/* ---- a driver's started tasks (tdrv.c) ----
 * @started is a table of @n pids that cleanup kills (tdrv_kill_reap_all);
 * 0 marks a free slot. */

/* Clears @pid from @started (it has been reaped or is someone else's). */
void tdrv_forget(pid_t *started, size_t n, pid_t pid);

/* Puts @pid into a free slot of @started (once); false when there is none. */
bool tdrv_remember(pid_t *started, size_t n, pid_t pid);

/*
 * Makes the directory @tmp/@name (its path into @work, @size bytes) and
 * starts `@target @work ARG...` there, @ap holding the ARGs (char *, up to
 * 13, NULL-terminated); remembers its pid in @started and waits (10 s)
 * until it has written @work/ready. Returns its pid, or -errno: -ENOSPC
 * when @started is full (nothing started), -ETIMEDOUT when it never got
 * ready (it stays in @started for the caller's cleanup).
 */
pid_t tdrv_start_target(pid_t *started, size_t n, const char *target, const char *tmp,
			const char *name, char *work, size_t size, va_list ap);

/*
 * The first line of @work/verdict, waiting up to 30 s for it, into @buf;
 * "no verdict" when there is none. With @pid > 0, first asks that task to
 * check itself (SIGUSR1), kills it if no verdict comes, and reaps it (the
 * caller still forgets it). Returns @buf.
 */
const char *tdrv_verdict(pid_t pid, const char *work, char *buf, size_t size);

/* ---- /proc snapshots (tdrv-proc.c) ---- */

/* The parent pid of @pid from /proc/PID/stat, or -errno. */
pid_t tdrv_task_ppid(pid_t pid);

/* The fd table of @pid as text, one "FD -> TARGET\n" per fd, sorted by
 * name: equal texts mean equal tables. NUL-terminated @text (free it);
 * 0 or -errno. */
int tdrv_proc_fds(pid_t pid, char **text);

/* The VmFlags of every mapping of @pid (from smaps) as text, one
 * "START-END: FLAG FLAG...\n" per mapping, flags sorted. 0 or -errno. */
int tdrv_proc_vmflags(pid_t pid, char **text);

/* Live (not zombie) tasks named @comm whose parent is @ppid: up to @max
 * pids into @pids; returns how many there are (even beyond @max). */
int tdrv_find_tasks(const char *comm, pid_t ppid, pid_t *pids, int max);

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
