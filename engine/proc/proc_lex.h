/* proc_lex — strict little scanners shared by the /proc text parsers.
 *
 * Every scanner works on a [p, end) window that need not be NUL-terminated,
 * advances *p only on success and returns 0 or -EINVAL; none reads past end.
 */
#ifndef CRISP_PROC_LEX_H
#define CRISP_PROC_LEX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline int proc_lex_digit(char c, int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < base ? d : -1;
}

/* An unsigned number in @base (8, 10 or 16): at least one digit, no sign,
 * no prefix, no overflow. */
static inline int proc_lex_u64(const char **p, const char *end, int base,
			       uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	if (s >= end || proc_lex_digit(*s, base) < 0)
		return -EINVAL;
	while (s < end && (d = proc_lex_digit(*s, base)) >= 0) {
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
		s++;
	}
	*out = v;
	*p = s;
	return 0;
}

/* A decimal number with an optional leading '-'. */
static inline int proc_lex_s64(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v;

	if (s < end && *s == '-') {
		neg = true;
		s++;
	}
	if (proc_lex_u64(&s, end, 10, &v))
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return -EINVAL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*p = s;
	return 0;
}

/* Exactly the character @c. */
static inline int proc_lex_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* Skips blanks (space and tab); returns how many were skipped. */
static inline size_t proc_lex_blanks(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	size_t n = (size_t)(s - *p);
	*p = s;
	return n;
}

/* The end of the line starting at @p: the '\n' or @end. */
static inline const char *proc_lex_eol(const char *p, const char *end)
{
	while (p < end && *p != '\n')
		p++;
	return p;
}

/* True when [p, end) starts with the NUL-terminated @word. */
static inline bool proc_lex_starts(const char *p, const char *end,
				   const char *word)
{
	for (; *word; word++, p++)
		if (p >= end || *p != *word)
			return false;
	return true;
}

#endif
