/* Unit tests of the command-line parser: CRIU's spellings in, the context
 * out; bad input refused with a message that names the problem. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli.h"
#include "unit.h"

/* Parses a NULL-terminated list of words after "crisp". */
static int parse(struct crisp_opts *o, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "crisp";
	va_start(ap, err);
	for (char *w; (w = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	return cli_parse(argc, argv, o, err, 256);
}

static void test_dump_long_and_short(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, "dump", "-t", "123", "-D", "/img", "-o", "d.log",
			"-v4", "-R", NULL), 0);
	CHECK_INT(o.cmd, CMD_DUMP);
	CHECK_INT(o.tree_pid, 123);
	CHECK_STR(o.images_dir, "/img");
	CHECK_STR(o.log_file, "d.log");
	CHECK_INT(o.verbosity, 4);
	CHECK(o.leave_running);
	CHECK_INT(o.snapshot, CRISP_SNAPSHOT_DEFAULT);

	CHECK_INT(parse(&o, err, "dump", "-t", "1", "-R", "--snapshot=frozen", NULL), 0);
	CHECK_INT(o.snapshot, CRISP_SNAPSHOT_FROZEN);
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "--snapshot", "live", "-R", NULL), 0);
	CHECK_INT(o.snapshot, CRISP_SNAPSHOT_LIVE);
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "-R", "--snapshot=lazy", NULL), -EINVAL);
	CHECK_CONTAINS(err, "live or frozen");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "--snapshot=live", NULL), -EINVAL);
	CHECK_CONTAINS(err, "--leave-running only");
	CHECK_INT(parse(&o, err, "pre-dump", "-t", "1", "-R", "--snapshot=live", NULL), -EINVAL);
	CHECK_CONTAINS(err, "does not apply");

	CHECK_INT(parse(&o, err, "--tree=77", "--images-dir", "imgs", "dump",
			"--verbosity=1", "--leave-stopped", "--timeout", "5", NULL), 0);
	CHECK_INT(o.cmd, CMD_DUMP);
	CHECK_INT(o.tree_pid, 77);
	CHECK_STR(o.images_dir, "imgs");
	CHECK_INT(o.verbosity, 1);
	CHECK(o.leave_stopped);
	CHECK_INT(o.timeout, 5);

	CHECK_INT(parse(&o, err, "pre-dump", "-t77", "-Dimgs", "--prev-images-dir=../1",
			"--track-mem", NULL), 0);
	CHECK_INT(o.cmd, CMD_PRE_DUMP);
	CHECK_STR(o.images_dir, "imgs");
	CHECK_STR(o.prev_images_dir, "../1");
	CHECK(o.track_mem);
}

static void test_restore(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, "restore", "-D", "d", "-d", "-S", "-j",
			"--pidfile", "p", "--display-stats", NULL), 0);
	CHECK_INT(o.cmd, CMD_RESTORE);
	CHECK(o.restore_detached);
	CHECK(o.restore_sibling);
	CHECK(o.shell_job);
	CHECK(o.display_stats);
	CHECK_STR(o.pidfile, "p");
	CHECK_INT(o.tree_pid, 0);
}

static void test_verbosity_forms(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, "check", NULL), 0);
	CHECK_INT(o.verbosity, 2);
	CHECK_INT(parse(&o, err, "check", "-v", NULL), 0);
	CHECK_INT(o.verbosity, 3);
	CHECK_INT(parse(&o, err, "check", "-vv", NULL), 0);
	CHECK_INT(o.verbosity, 4);
	CHECK_INT(parse(&o, err, "check", "-v0", NULL), 0);
	CHECK_INT(o.verbosity, 0);
	CHECK_INT(parse(&o, err, "check", "-vvvvvv", NULL), 0);
	CHECK_INT(o.verbosity, 4);
	CHECK_INT(parse(&o, err, "check", "-v9", NULL), -EINVAL);
	CHECK_CONTAINS(err, "0 to 4");
}

static void test_help_version_check(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, "--help", NULL), 0);
	CHECK_INT(o.cmd, CMD_HELP);
	CHECK_INT(parse(&o, err, "-h", NULL), 0);
	CHECK_INT(o.cmd, CMD_HELP);
	CHECK_INT(parse(&o, err, "--version", NULL), 0);
	CHECK_INT(o.cmd, CMD_VERSION);
	CHECK_INT(parse(&o, err, "-V", NULL), 0);
	CHECK_INT(o.cmd, CMD_VERSION);
	CHECK_INT(parse(&o, err, "check", "--feature", "mem_dirty_track", NULL), 0);
	CHECK_INT(o.cmd, CMD_CHECK);
	CHECK_STR(o.feature, "mem_dirty_track");
	CHECK(o.cmd_ready);
	CHECK_INT(parse(&o, err, "check", "--feature=uffd", "--all", NULL), 0);
	CHECK_STR(o.feature, "uffd");
	CHECK(o.check_all);
}

static void test_bad_input(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, NULL), -EINVAL);
	CHECK_CONTAINS(err, "no command");
	CHECK_INT(parse(&o, err, "frobnicate", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unknown command 'frobnicate'");
	CHECK_INT(parse(&o, err, "lazy-pages", NULL), -EINVAL);
	CHECK_CONTAINS(err, "does not support yet");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "--no-such-thing", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unknown option '--no-such-thing'");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "-Q", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unknown option '-Q'");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "--tcp-established", NULL), -EINVAL);
	CHECK_CONTAINS(err, "--tcp-established is a CRIU option crisp does not support yet");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "--page-server", NULL), -EINVAL);
	CHECK_CONTAINS(err, "--page-server");
	CHECK_INT(parse(&o, err, "dump", "-t", NULL), -EINVAL);
	CHECK_CONTAINS(err, "'-t' needs a value");
	CHECK_INT(parse(&o, err, "dump", "--tree", NULL), -EINVAL);
	CHECK_CONTAINS(err, "'--tree' needs a value");
	CHECK_INT(parse(&o, err, "dump", "-t", "abc", NULL), -EINVAL);
	CHECK_CONTAINS(err, "positive process id");
	CHECK_INT(parse(&o, err, "dump", "-t", "-5", NULL), -EINVAL);
	CHECK_INT(parse(&o, err, "dump", "-t", "0", NULL), -EINVAL);
	CHECK_INT(parse(&o, err, "dump", "-t", "99999999999", NULL), -EINVAL);
	CHECK_INT(parse(&o, err, "dump", "-D", "x", NULL), -EINVAL);
	CHECK_CONTAINS(err, "-t PID");
	CHECK_INT(parse(&o, err, "dump", "-t", "1", "extra", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unexpected argument 'extra'");
	CHECK_INT(parse(&o, err, "restore", "-t", "5", NULL), -EINVAL);
	CHECK_CONTAINS(err, "--tree does not apply to 'restore'");
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "-d", NULL), -EINVAL);
	CHECK_CONTAINS(err, "--restore-detached does not apply to 'dump'");
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "-R", "-s", NULL), -EINVAL);
	CHECK_CONTAINS(err, "exclude each other");
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--leave-running=yes", NULL), -EINVAL);
	CHECK_CONTAINS(err, "'--leave-running' takes no value");
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--timeout", "0", NULL), -EINVAL);
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--ghost-limit", "12Q", NULL), -EINVAL);
	CHECK_CONTAINS(err, "size such as 1M");
}

static void test_sizes(void)
{
	struct crisp_opts o;
	char err[256];

	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--ghost-limit", "64K", NULL), 0);
	CHECK_INT(o.ghost_limit, 64 * 1024);
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--ghost-limit=2G", NULL), 0);
	CHECK_INT(o.ghost_limit, 2ll << 30);
	CHECK_INT(parse(&o, err, "dump", "-t", "5", "--ghost-limit=99999999999999G", NULL), -EINVAL);
}

static void test_reparse_is_clean(void)
{
	struct crisp_opts o;
	char err[256];

	/* a second parse must not see state from the first */
	CHECK_INT(parse(&o, err, "dump", "-t", "9", "-R", NULL), 0);
	CHECK_INT(parse(&o, err, "restore", "-D", "x", NULL), 0);
	CHECK(!o.leave_running);
	CHECK_INT(o.tree_pid, 0);
}

static void test_help_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cli_print_help(f);
	fclose(f);
	CHECK_CONTAINS(buf, "--leave-running");
	CHECK_CONTAINS(buf, "-t, --tree PID");
	CHECK_CONTAINS(buf, "--verbosity[=N]");
	CHECK_CONTAINS(buf, "check");
	free(buf);
}

int main(void)
{
	test_dump_long_and_short();
	test_restore();
	test_verbosity_forms();
	test_help_version_check();
	test_bad_input();
	test_sizes();
	test_reparse_is_clean();
	test_help_text();
	return unit_summary("cli");
}
