/* opts — the context every crisp command runs with.
 *
 * Filled once by the command-line parser (cli.h) and passed down by pointer;
 * nothing in the engine reads options from a global.
 */
#ifndef CRISP_OPTS_H
#define CRISP_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum crisp_cmd {
	CMD_NONE = 0,
	CMD_HELP,
	CMD_VERSION,
	CMD_DUMP,
	CMD_PRE_DUMP,
	CMD_RESTORE,
	CMD_CHECK,
};

/* --snapshot: how `dump --leave-running` copies memory */
enum crisp_snapshot {
	CRISP_SNAPSHOT_DEFAULT = 0,	/* live where the kernel allows it, else frozen */
	CRISP_SNAPSHOT_LIVE,		/* live, or fail when the kernel cannot */
	CRISP_SNAPSHOT_FROZEN,		/* every page copied while the tree is stopped */
};

struct crisp_opts {
	enum crisp_cmd cmd;
	const char *cmd_name;
	bool cmd_ready;			/* the command is implemented */

	pid_t tree_pid;			/* -t, --tree */
	const char *images_dir;		/* -D, --images-dir */
	const char *work_dir;		/* -W, --work-dir */
	const char *log_file;		/* -o, --log-file */
	int verbosity;			/* -v[N], --verbosity */
	bool log_text;			/* --log-text */
	const char *pidfile;		/* --pidfile */

	bool leave_running;		/* -R */
	bool leave_stopped;		/* -s */
	enum crisp_snapshot snapshot;	/* --snapshot MODE */
	bool shell_job;			/* -j */
	bool display_stats;		/* --display-stats */
	unsigned int timeout;		/* --timeout SEC, 0: default */

	bool restore_detached;		/* -d */
	bool restore_sibling;		/* -S */

	const char *prev_images_dir;	/* --prev-images-dir */
	bool track_mem;			/* --track-mem */

	bool ext_unix_sk;		/* --ext-unix-sk */
	bool file_locks;		/* --file-locks */
	uint64_t ghost_limit;		/* --ghost-limit, bytes */

	const char *feature;		/* check --feature NAME */
	bool check_all;			/* check --all (accepted, as CRIU) */
};

/* Fills @o with the defaults every command starts from. */
void opts_init(struct crisp_opts *o);

#endif
