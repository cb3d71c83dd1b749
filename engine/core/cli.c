/* cli — parse crisp's command line (see cli.h).
 *
 * Everything the parser knows is in three tables: commands, options crisp
 * implements, and CRIU options it recognises but does not implement yet.
 * --help is printed from the same tables, so it cannot drift from the parser.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CMD_BIT(c)	(1u << (c))
#define CMDS_DUMPS	(CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_PRE_DUMP))
#define CMDS_CR		(CMDS_DUMPS | CMD_BIT(CMD_RESTORE))
#define CMDS_ALL	(CMDS_CR | CMD_BIT(CMD_CHECK))

struct cli_command {
	const char *name;
	enum crisp_cmd cmd;
	bool ready;		/* false: parsed, but refused as not implemented */
	const char *help;
};

static const struct cli_command cli_commands[] = {
	{ "dump",     CMD_DUMP,     true,  "checkpoint a process tree into an image directory" },
	{ "pre-dump", CMD_PRE_DUMP, true,  "copy memory of a running tree for a later dump (the tree keeps running)" },
	{ "restore",  CMD_RESTORE,  true,  "recreate a process tree from an image directory" },
	{ "check",    CMD_CHECK,    true,  "tell whether this kernel and these privileges give what crisp needs" },
};

/* CRIU commands crisp recognises and refuses with a clear message. */
static const char *const cli_unsupported_commands[] = {
	"lazy-pages", "page-server", "service", "swrk", "dedup", "cpuinfo",
	"exec", "show", "image-streamer",
};

enum {
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_TREE = 't',
	OPT_IMAGES_DIR = 'D',
	OPT_WORK_DIR = 'W',
	OPT_LOG_FILE = 'o',
	OPT_VERBOSITY = 'v',
	OPT_LEAVE_RUNNING = 'R',
	OPT_LEAVE_STOPPED = 's',
	OPT_SHELL_JOB = 'j',
	OPT_DETACHED = 'd',
	OPT_SIBLING = 'S',
	OPT_LONG_ONLY = 256,
	OPT_LOG_TEXT,
	OPT_PIDFILE,
	OPT_TIMEOUT,
	OPT_DISPLAY_STATS,
	OPT_PREV_IMAGES_DIR,
	OPT_TRACK_MEM,
	OPT_EXT_UNIX_SK,
	OPT_FILE_LOCKS,
	OPT_GHOST_LIMIT,
	OPT_FEATURE,
	OPT_ALL,
	OPT_SNAPSHOT,
	OPT_UNSUPPORTED_BASE = 1024,
};

struct cli_option {
	const char *name;
	int id;			/* short letter, or an OPT_ value past 255 */
	int has_arg;		/* no_argument, required_argument, optional_argument */
	unsigned int cmds;	/* commands it applies to */
	const char *arg;	/* name of the value in --help */
	const char *help;
};

static const struct cli_option cli_options[] = {
	{ "help",            OPT_HELP,            no_argument,       CMDS_ALL, NULL, "print this help and exit" },
	{ "version",         OPT_VERSION,         no_argument,       CMDS_ALL, NULL, "print the version and exit" },
	{ "tree",            OPT_TREE,            required_argument, CMDS_DUMPS, "PID", "root of the process tree to checkpoint" },
	{ "images-dir",      OPT_IMAGES_DIR,      required_argument, CMDS_CR, "DIR", "directory of the image files" },
	{ "work-dir",        OPT_WORK_DIR,        required_argument, CMDS_CR, "DIR", "directory for logs and pid files (default: images dir)" },
	{ "log-file",        OPT_LOG_FILE,        required_argument, CMDS_ALL, "FILE", "binary log file, relative to the work dir (default: text on stderr)" },
	{ "verbosity",       OPT_VERBOSITY,       optional_argument, CMDS_ALL, "N", "log level 0 (errors) .. 4 (debug); -v alone or -vv.. raise it" },
	{ "log-text",        OPT_LOG_TEXT,        no_argument,       CMDS_ALL, NULL, "write the log file as text instead of binary records" },
	{ "pidfile",         OPT_PIDFILE,         required_argument, CMDS_CR, "FILE", "write the root's pid to FILE" },
	{ "leave-running",   OPT_LEAVE_RUNNING,   no_argument,       CMDS_DUMPS, NULL, "let the tree run on after the dump" },
	{ "snapshot",        OPT_SNAPSHOT,        required_argument, CMD_BIT(CMD_DUMP), "MODE", "with -R: live (default if the kernel allows; copy-before-write) or frozen" },
	{ "leave-stopped",   OPT_LEAVE_STOPPED,   no_argument,       CMDS_CR, NULL, "leave the tree stopped after the dump or restore" },
	{ "shell-job",       OPT_SHELL_JOB,       no_argument,       CMDS_CR, NULL, "the tree's session and terminal belong to the caller" },
	{ "timeout",         OPT_TIMEOUT,         required_argument, CMDS_DUMPS, "SEC", "give up freezing the tree after SEC seconds" },
	{ "display-stats",   OPT_DISPLAY_STATS,   no_argument,       CMDS_CR, NULL, "print the dump or restore statistics" },
	{ "restore-detached", OPT_DETACHED,       no_argument,       CMD_BIT(CMD_RESTORE), NULL, "return once the restored tree runs" },
	{ "restore-sibling", OPT_SIBLING,         no_argument,       CMD_BIT(CMD_RESTORE), NULL, "restore the root as a sibling of crisp" },
	{ "prev-images-dir", OPT_PREV_IMAGES_DIR, required_argument, CMDS_DUMPS, "DIR", "previous (pre-)dump, relative to the images dir" },
	{ "track-mem",       OPT_TRACK_MEM,       no_argument,       CMDS_DUMPS, NULL, "track written memory for the next dump" },
	{ "ext-unix-sk",     OPT_EXT_UNIX_SK,     no_argument,       CMDS_CR, NULL, "allow unix sockets that lead outside the tree" },
	{ "file-locks",      OPT_FILE_LOCKS,      no_argument,       CMDS_CR, NULL, "checkpoint and restore file locks" },
	{ "ghost-limit",     OPT_GHOST_LIMIT,     required_argument, CMDS_DUMPS, "SIZE", "largest unlinked file to save (K, M, G suffixes)" },
	{ "feature",         OPT_FEATURE,         required_argument, CMD_BIT(CMD_CHECK), "NAME", "answer for one feature only" },
	{ "all",             OPT_ALL,             no_argument,       CMD_BIT(CMD_CHECK), NULL, "check everything (crisp always does)" },
};

/* CRIU options crisp recognises and refuses with a clear message. */
static const struct option cli_unsupported[] = {
	{ "page-server",        no_argument,       NULL, 0 },
	{ "address",            required_argument, NULL, 0 },
	{ "port",               required_argument, NULL, 0 },
	{ "lazy-pages",         no_argument,       NULL, 0 },
	{ "tcp-established",    no_argument,       NULL, 0 },
	{ "tcp-close",          no_argument,       NULL, 0 },
	{ "skip-in-flight",     no_argument,       NULL, 0 },
	{ "manage-cgroups",     optional_argument, NULL, 0 },
	{ "cgroup-root",        required_argument, NULL, 0 },
	{ "external",           required_argument, NULL, 0 },
	{ "ext-mount-map",      required_argument, NULL, 0 },
	{ "root",               required_argument, NULL, 0 },
	{ "inherit-fd",         required_argument, NULL, 0 },
	{ "action-script",      required_argument, NULL, 0 },
	{ "exec-cmd",           no_argument,       NULL, 0 },
	{ "auto-dedup",         no_argument,       NULL, 0 },
	{ "compress",           no_argument,       NULL, 0 },
	{ "network-lock",       required_argument, NULL, 0 },
	{ "empty-ns",           required_argument, NULL, 0 },
	{ "freeze-cgroup",      required_argument, NULL, 0 },
	{ "evasive-devices",    no_argument,       NULL, 0 },
	{ "link-remap",         no_argument,       NULL, 0 },
	{ "force-irmap",        no_argument,       NULL, 0 },
	{ "stream",             no_argument,       NULL, 0 },
	{ "pre-dump-mode",      required_argument, NULL, 0 },
	{ "enable-external-sharing", no_argument,  NULL, 0 },
	{ "enable-external-masters", no_argument,  NULL, 0 },
	{ "tls",                no_argument,       NULL, 0 },
	{ "tls-cacert",         required_argument, NULL, 0 },
	{ "tls-cert",           required_argument, NULL, 0 },
	{ "tls-key",            required_argument, NULL, 0 },
	{ "lsm-profile",        required_argument, NULL, 0 },
	{ "lsm-mount-context",  required_argument, NULL, 0 },
	{ "weak-sysctls",       no_argument,       NULL, 0 },
	{ "status-fd",          required_argument, NULL, 0 },
	{ "config",             required_argument, NULL, 0 },
	{ "no-default-config",  no_argument,       NULL, 0 },
	{ "unprivileged",       no_argument,       NULL, 0 },
	{ "shell-job-ignore",   no_argument,       NULL, 0 },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define N_LONG (ARRAY_LEN(cli_options) + ARRAY_LEN(cli_unsupported))

void opts_init(struct crisp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verbosity = 2;
	o->ghost_limit = 1ull << 20;
}

const char *cli_cmd_name(enum crisp_cmd cmd)
{
	for (size_t i = 0; i < ARRAY_LEN(cli_commands); i++)
		if (cli_commands[i].cmd == cmd)
			return cli_commands[i].name;
	return "crisp";
}

static int cli_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cli_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const struct cli_option *cli_find(int id)
{
	for (size_t i = 0; i < ARRAY_LEN(cli_options); i++)
		if (cli_options[i].id == id)
			return &cli_options[i];
	return NULL;
}

/* Builds the getopt tables from cli_options and cli_unsupported. */
static void cli_build_getopt(struct option *lo, char *shorts, size_t shorts_len)
{
	size_t n = 0, s = 0;

	shorts[s++] = ':';	/* report a missing value as ':' */
	for (size_t i = 0; i < ARRAY_LEN(cli_options); i++) {
		const struct cli_option *c = &cli_options[i];

		lo[n++] = (struct option){ c->name, c->has_arg, NULL, c->id };
		if (c->id < OPT_LONG_ONLY && s + 3 < shorts_len) {
			shorts[s++] = (char)c->id;
			if (c->has_arg == required_argument)
				shorts[s++] = ':';
			else if (c->has_arg == optional_argument) {
				shorts[s++] = ':';
				shorts[s++] = ':';
			}
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(cli_unsupported); i++) {
		lo[n] = cli_unsupported[i];
		lo[n++].val = OPT_UNSUPPORTED_BASE + (int)i;
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	shorts[s] = '\0';
}

/* Parses a decimal integer in [min, max]; returns 0 or -EINVAL. */
static int cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses a size with an optional K, M or G suffix (powers of 1024). */
static int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -EINVAL;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* -v (one more), -vvv (three more), -v3 / --verbosity=3 (exactly 3). */
static int cli_parse_verbosity(const char *arg, int *level)
{
	long v;

	if (!arg) {
		(*level)++;
		return 0;
	}
	if (arg[strspn(arg, "v")] == '\0') {
		*level += 1 + (int)strlen(arg);
		return 0;
	}
	if (cli_parse_long(arg, 0, 4, &v))
		return -EINVAL;
	*level = (int)v;
	return 0;
}

/* Applies one recognised option; @shown is how the user spelled it. */
static int cli_apply(struct crisp_opts *o, int id, const char *arg,
		     const char *shown, char *err, size_t errlen)
{
	long v;

	switch (id) {
	case OPT_HELP: o->cmd = CMD_HELP; break;
	case OPT_VERSION: o->cmd = CMD_VERSION; break;
	case OPT_TREE:
		if (cli_parse_long(arg, 1, INT_MAX, &v))
			return cli_fail(err, errlen, "%s needs a positive process id, not '%s'", shown, arg);
		o->tree_pid = (pid_t)v;
		break;
	case OPT_IMAGES_DIR: o->images_dir = arg; break;
	case OPT_WORK_DIR: o->work_dir = arg; break;
	case OPT_LOG_FILE: o->log_file = arg; break;
	case OPT_VERBOSITY:
		if (cli_parse_verbosity(arg, &o->verbosity))
			return cli_fail(err, errlen, "%s takes a level from 0 to 4, not '%s'", shown, arg);
		if (o->verbosity > 4)
			o->verbosity = 4;
		break;
	case OPT_LOG_TEXT: o->log_text = true; break;
	case OPT_PIDFILE: o->pidfile = arg; break;
	case OPT_LEAVE_RUNNING: o->leave_running = true; break;
	case OPT_LEAVE_STOPPED: o->leave_stopped = true; break;
	case OPT_SHELL_JOB: o->shell_job = true; break;
	case OPT_TIMEOUT:
		if (cli_parse_long(arg, 1, 86400, &v))
			return cli_fail(err, errlen, "%s needs a number of seconds from 1 to 86400, not '%s'", shown, arg);
		o->timeout = (unsigned int)v;
		break;
	case OPT_DISPLAY_STATS: o->display_stats = true; break;
	case OPT_DETACHED: o->restore_detached = true; break;
	case OPT_SIBLING: o->restore_sibling = true; break;
	case OPT_PREV_IMAGES_DIR: o->prev_images_dir = arg; break;
	case OPT_TRACK_MEM: o->track_mem = true; break;
	case OPT_EXT_UNIX_SK: o->ext_unix_sk = true; break;
	case OPT_FILE_LOCKS: o->file_locks = true; break;
	case OPT_GHOST_LIMIT:
		if (cli_parse_size(arg, &o->ghost_limit))
			return cli_fail(err, errlen, "%s needs a size such as 1M, not '%s'", shown, arg);
		break;
	case OPT_FEATURE: o->feature = arg; break;
	case OPT_ALL: o->check_all = true; break;
	case OPT_SNAPSHOT:
		if (!strcmp(arg, "live"))
			o->snapshot = CRISP_SNAPSHOT_LIVE;
		else if (!strcmp(arg, "frozen"))
			o->snapshot = CRISP_SNAPSHOT_FROZEN;
		else
			return cli_fail(err, errlen, "%s takes live or frozen, not '%s'", shown, arg);
		break;
	default:
		return cli_fail(err, errlen, "internal error: option %s has no handler", shown);
	}
	return 0;
}

static int cli_set_command(struct crisp_opts *o, const char *word,
			   char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_LEN(cli_commands); i++) {
		if (strcmp(word, cli_commands[i].name) == 0) {
			o->cmd = cli_commands[i].cmd;
			o->cmd_name = cli_commands[i].name;
			o->cmd_ready = cli_commands[i].ready;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(cli_unsupported_commands); i++)
		if (strcmp(word, cli_unsupported_commands[i]) == 0)
			return cli_fail(err, errlen, "command '%s' is a CRIU command crisp does not support yet", word);
	return cli_fail(err, errlen, "unknown command '%s' (try 'crisp --help')", word);
}

/* Spelling of the option getopt just returned, for messages. */
static void cli_shown(char *buf, size_t len, char **argv, int optind_now,
		      int c, int longidx, const struct option *lo)
{
	if (longidx >= 0)
		snprintf(buf, len, "--%s", lo[longidx].name);
	else if (c > 0 && c < OPT_LONG_ONLY)
		snprintf(buf, len, "-%c", c);
	else
		snprintf(buf, len, "%s", argv[optind_now - 1]);
}

int cli_parse(int argc, char **argv, struct crisp_opts *o,
	      char *err, size_t errlen)
{
	struct option lo[N_LONG + 1];
	char shorts[3 * ARRAY_LEN(cli_options) + 2];
	int seen[64];
	size_t nseen = 0;
	char shown[80];
	int c, longidx, ret;

	opts_init(o);
	if (err && errlen)
		err[0] = '\0';
	cli_build_getopt(lo, shorts, sizeof(shorts));
	optind = 0;	/* full re-initialisation of glibc's getopt */
	opterr = 0;
	for (;;) {
		longidx = -1;
		c = getopt_long(argc, argv, shorts, lo, &longidx);
		if (c == -1)
			break;
		if (c == '?') {
			const char *bad = argv[optind - 1];

			if (strncmp(bad, "--", 2) == 0 && strchr(bad, '='))
				return cli_fail(err, errlen, "option '%.*s' takes no value", (int)(strchr(bad, '=') - bad), bad);
			if (optopt && optopt < OPT_LONG_ONLY)
				return cli_fail(err, errlen, "unknown option '-%c' (try 'crisp --help')", optopt);
			return cli_fail(err, errlen, "unknown option '%s' (try 'crisp --help')", argv[optind - 1]);
		}
		if (c == ':') {
			if (strncmp(argv[optind - 1], "--", 2) != 0 &&
			    optopt && optopt < OPT_LONG_ONLY)
				return cli_fail(err, errlen, "option '-%c' needs a value", optopt);
			return cli_fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		}
		cli_shown(shown, sizeof(shown), argv, optind, c, longidx, lo);
		if (c >= OPT_UNSUPPORTED_BASE)
			return cli_fail(err, errlen, "option %s is a CRIU option crisp does not support yet", shown);
		ret = cli_apply(o, c, optarg, shown, err, errlen);
		if (ret)
			return ret;
		if (c == OPT_HELP || c == OPT_VERSION)
			return 0;
		if (nseen < ARRAY_LEN(seen))
			seen[nseen++] = c;
	}

	if (optind >= argc)
		return cli_fail(err, errlen, "no command given (try 'crisp --help')");
	ret = cli_set_command(o, argv[optind], err, errlen);
	if (ret)
		return ret;
	if (optind + 1 < argc)
		return cli_fail(err, errlen, "unexpected argument '%s' after '%s'", argv[optind + 1], o->cmd_name);

	for (size_t i = 0; i < nseen; i++) {
		const struct cli_option *opt = cli_find(seen[i]);

		if (opt && !(opt->cmds & CMD_BIT(o->cmd)))
			return cli_fail(err, errlen, "option --%s does not apply to '%s'", opt->name, o->cmd_name);
	}
	if (o->leave_running && o->leave_stopped)
		return cli_fail(err, errlen, "--leave-running and --leave-stopped exclude each other");
	if (o->snapshot && !o->leave_running)
		return cli_fail(err, errlen, "--snapshot applies to --leave-running only");
	if ((o->cmd == CMD_DUMP || o->cmd == CMD_PRE_DUMP) && !o->tree_pid)
		return cli_fail(err, errlen, "'%s' needs the tree's root: -t PID", o->cmd_name);
	return 0;
}

static void cli_print_commands(FILE *out)
{
	fprintf(out, "Commands:\n");
	for (size_t i = 0; i < ARRAY_LEN(cli_commands); i++)
		fprintf(out, "  %-10s %s%s\n", cli_commands[i].name, cli_commands[i].help,
			cli_commands[i].ready ? "" : " (not implemented yet)");
}

static void cli_print_option(FILE *out, const struct cli_option *c)
{
	char left[64];
	int n = 0;

	if (c->id < OPT_LONG_ONLY)
		n = snprintf(left, sizeof(left), "-%c, ", c->id);
	else
		n = snprintf(left, sizeof(left), "    ");
	if (c->has_arg == required_argument)
		snprintf(left + n, sizeof(left) - n, "--%s %s", c->name, c->arg);
	else if (c->has_arg == optional_argument)
		snprintf(left + n, sizeof(left) - n, "--%s[=%s]", c->name, c->arg);
	else
		snprintf(left + n, sizeof(left) - n, "--%s", c->name);
	fprintf(out, "  %-28s %s\n", left, c->help);
}

void cli_print_help(FILE *out)
{
	fprintf(out,
		"Usage: crisp COMMAND [OPTIONS]\n"
		"Checkpoint a running process tree to image files and restore it.\n"
		"Images and options follow CRIU's; options may come before or after the command.\n\n");
	cli_print_commands(out);
	fprintf(out, "\nOptions:\n");
	for (size_t i = 0; i < ARRAY_LEN(cli_options); i++)
		cli_print_option(out, &cli_options[i]);
	fprintf(out,
		"\nCRIU options that crisp does not support yet are refused by name;\n"
		"see README.md for the state of each feature.\n");
}
