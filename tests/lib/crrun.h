/* crrun — what the parts of crtest-run (crrun.c: scenarios and steps,
 * crrun-proc.c: processes, crrun-mounts.c: '@' mounts) share. Internal to
 * the driver. */
#ifndef CRISP_CRRUN_H
#define CRISP_CRRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define MAX_ARGS 64
#define MAX_MOUNTS 16

/* The driver's own options of one step ('@...'). */
struct step_opts {
	bool readonly;		/* @readonly */
	const char *tmpfs_size;	/* @tmpfs=SIZE */
	const char *says;	/* @says=TEXT */
};

#define CRRUN_MAX_SQUAT 8

struct run {
	const char *crisp;
	const char *decoder;
	const char *scenario;
	char **scenario_argv;
	char steps[1024];
	char expect_fail[1024];
	char damage_fails[1024];	/* declared by the scenario */
	bool expect_fail_given;		/* --expect-fail overrides the scenario */
	bool damage;
	unsigned int timeout;
	bool keep;
	char mounts[MAX_MOUNTS][600];	/* mounted by @ options, to undo */
	int nmounts;

	char dir[512];
	pid_t pid;		/* the scenario task, 0 when gone */
	int images;		/* image dirs made so far: img-1, img-2, ... */
	bool last_predump;	/* the newest image dir is a successful pre-dump's */
	pid_t last_pid;		/* the newest task's PID, also once it is gone */
	int nstep;
	struct timespec deadline;
	const char *img_tool;	/* --img-tool: crisp-img, for "images" */
	const char *crit;	/* --crit: CRIU's crit, for "images" */
	pid_t squat[CRRUN_MAX_SQUAT];	/* tasks holding PIDs ("squat") */
	int nsquat;
};

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double now_s(void);
double deadline_s(const struct run *r);
void nap_ms(long ms);
/* Waits for @pid until the run's deadline: 0 with its status, -ETIMEDOUT,
 * or -errno. */
int wait_pid(const struct run *r, pid_t pid, int *status);
void describe_status(int st, char *buf, size_t len);
void show_tail(const char *path, int lines);
/* How many descendants this process has (orphans reparented to it too). */
size_t count_descendants(void);
/* Kills and reaps every descendant; returns how many are still left. */
size_t kill_everything(void);
/* Our descendants outside @root's tree (at most @max) into @out; their number. */
size_t others_than_tree(pid_t root, pid_t *out, size_t max);
/* Kills and reaps every descendant but @keep; the number left after 10 s. */
size_t kill_all_but(const pid_t *keep, size_t nkeep);
bool task_running(pid_t pid, char *state_out);
/* Runs @argv with its output into @out_path: its wait status or -errno. */
int run_cmd(const struct run *r, char *const argv[], const char *out_path);
void remove_tree(const char *path);

/* crrun-spoil.c: 'spoil N gone|short-pages' and 'unspoil N'; 0 or -1. */
int step_spoil(struct run *r, char *rest);
int step_unspoil(struct run *r, char *rest);
/* 'grow NAME' / 'shrink NAME': one byte more or less in a work-dir file. */
int step_grow(struct run *r, char *rest, bool grow);

/* crrun-tree.c: 'images', 'squat FILE', 'unsquat', 'hide FILE',
 * 'unhide FILE'; 0 or -1. */
int step_images(struct run *r);
int step_squat(struct run *r, char *rest);
int step_unsquat(struct run *r);
int step_hide(struct run *r, char *rest, bool hide);

/* crrun-cache.c: 'evict N': img-N's pages files out of the page cache. */
int step_evict(struct run *r, char *rest);

bool steps_need_mounts(const char *steps);
int private_mounts(void);
int mount_images_dir(struct run *r, const char *dir, const struct step_opts *o);
void unmount_all(struct run *r);

#endif
