/* render — turns a record (format, type codes, raw argument bytes) into the
 * text printf would have printed, and a message into a CRIU-shaped log line.
 * Shared by the writer's text mode and blog-decode, so both print the same
 * bytes. It validates the argument bytes and never reads past them. */
#ifndef CRISP_BLOG_RENDER_H
#define CRISP_BLOG_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One conversion specification of a printf format. */
struct blog_spec {
	size_t len;		/* bytes of the spec, from '%' through the conversion */
	char conv;		/* conversion character; 0: malformed spec */
	char lenmod;		/* 0, 'H' (hh), 'h', 'l', 'q' (ll), 'L', 'j', 'z', 't' */
	bool width_star, prec_star;
	char flags[8];		/* NUL-terminated */
	int width, prec;	/* -1: none (or given by '*') */
};

/* Parses the spec starting at @p (which points at '%'). */
void blog_spec_parse(const char *p, struct blog_spec *s);

/* Walks @fmt and writes, for each argument the format consumes, the
 * conversion that consumes it ('*' for a width or precision) into @convs
 * (at most @max). Returns the number of arguments; *has_m: %m is used. */
int blog_fmt_plan(const char *fmt, char *convs, int max, bool *has_m);

/* Checks that @len bytes at @args hold exactly the arguments of @types
 * (plus a u32 errno when @with_errno). Returns 0 or -1. */
int blog_args_check(const char *types, bool with_errno, const uint8_t *args, size_t len);

/* Renders the message of a record whose arguments passed blog_args_check
 * into @out (NUL-terminated, cut to @cap - 1). @flags: BLOG_DF_* of the
 * entry (errno suffix, %m). Returns the message length. */
size_t blog_render_msg(char *out, size_t cap, const char *fmt, const char *types,
		       unsigned int flags, const uint8_t *args, size_t len);

/* Renders a whole line: "(SS.uuuuuu) Error (file:line): msg\n" (no prefix
 * for BLOG_MSG). Returns its length (cut to @cap - 1, always ending in a
 * newline when @cap allows). */
size_t blog_render_line(char *out, size_t cap, uint64_t ns, int level, const char *file,
			unsigned int line, const char *msg, size_t msg_len);

/* Longest message blog renders; longer ones are cut. */
#define BLOG_MSG_MAX 65536

#endif
