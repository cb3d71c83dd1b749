/* main — the crisp binary: parse the command line, set up the log, and hand
 * the context to the command. Orchestration only; commands live elsewhere. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blog.h"
#include "check.h"
#include "cli.h"
#include "crisp-config.h"
#include "dump.h"
#include "restore.h"
#include "track.h"

typedef int (*crisp_cmd_fn)(const struct crisp_opts *o);

static int cmd_check(const struct crisp_opts *o)
{
	return check_main(o, stdout);
}

static int cmd_dump(const struct crisp_opts *o)
{
	return dump_main(o) ? 1 : 0;
}

static int cmd_restore(const struct crisp_opts *o)
{
	return restore_main(o);
}

static int cmd_pre_dump(const struct crisp_opts *o)
{
	return predump_main(o) ? 1 : 0;
}

static const crisp_cmd_fn crisp_handlers[] = {
	[CMD_CHECK] = cmd_check,
	[CMD_DUMP] = cmd_dump,
	[CMD_RESTORE] = cmd_restore,
	[CMD_PRE_DUMP] = cmd_pre_dump,
};

/* -o FILE is relative to the work dir (-W), else to the images dir (-D). */
static int crisp_open_log(const struct crisp_opts *o)
{
	const char *base = o->work_dir ? o->work_dir : o->images_dir;
	char path[4096];
	int err;

	if (!o->log_file)
		return 0;
	if (o->log_file[0] != '/' && base)
		snprintf(path, sizeof(path), "%s/%s", base, o->log_file);
	else
		snprintf(path, sizeof(path), "%s", o->log_file);
	err = blog_open_file(path, o->log_text ? BLOG_MODE_TEXT : BLOG_MODE_BINARY);
	if (err)
		fprintf(stderr, "crisp: cannot open log file %s: %s\n", path, strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	struct crisp_opts o;
	char err[256];
	int ret;

	/* a pre-dump restarting this binary to hold a task's userfaultfd */
	if (argc == 2 && !strcmp(argv[1], TRACK_KEEPER_ARG))
		return track_keeper_main();
	if (cli_parse(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "crisp: %s\n", err);
		return 1;
	}
	switch (o.cmd) {
	case CMD_HELP:
		cli_print_help(stdout);
		return 0;
	case CMD_VERSION:
		printf("crisp %s (%s)\n", CRISP_VERSION, CRISP_GITREV);
		return 0;
	default:
		break;
	}
	if (!o.cmd_ready || (size_t)o.cmd >= sizeof(crisp_handlers) / sizeof(crisp_handlers[0]) ||
	    !crisp_handlers[o.cmd]) {
		fprintf(stderr, "crisp: '%s' is not implemented yet in this version\n", o.cmd_name);
		return 1;
	}
	blog_set_level(o.verbosity);
	if (crisp_open_log(&o))
		return 1;
	ret = crisp_handlers[o.cmd](&o);
	blog_close();
	return ret;
}
