/* cli — crisp's command line, in CRIU's spellings.
 *
 * Parses argv into a struct crisp_opts: long and short forms, "--opt=value"
 * and "--opt value", options before or after the command. It only parses:
 * it never acts, opens files or prints (but for cli_print_help()).
 */
#ifndef CRISP_CLI_H
#define CRISP_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "opts.h"

/*
 * Parses @argc/@argv into @o (which it initialises first).
 *
 * Returns 0 on success. On bad input returns -EINVAL and writes a one-line
 * message for the user into @err (at most @errlen bytes, NUL-terminated):
 * an unknown command or option, a CRIU option crisp does not support yet,
 * an option that does not apply to the command, a missing or malformed value.
 * Not re-entrant (it uses getopt_long), but may be called again.
 */
int cli_parse(int argc, char **argv, struct crisp_opts *o,
	      char *err, size_t errlen);

/* Writes the usage text, built from the same tables the parser uses. */
void cli_print_help(FILE *out);

/* The name of a command as typed on the command line. */
const char *cli_cmd_name(enum crisp_cmd cmd);

#endif
