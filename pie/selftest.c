/* selftest — a tiny blob that proves the pie/ machinery: run from any
 * address, it reads its constant and writable data PC-relatively and makes
 * raw system calls. Used only by tests/engine/test_pie.c. */
#include "syscall.h"

static const char pie_selftest_msg[] = "pie selftest: hello from pid ";
static long pie_selftest_calls;	/* .bss */
static long pie_selftest_base = 40;	/* .data */

/* Returns a + base + calls so far; proves data is found from anywhere. */
long pie_selftest_add(long a);
long pie_selftest_add(long a)
{
	return a + pie_selftest_base + pie_selftest_calls++;
}

static unsigned long pie_fmt_ulong(char *out, unsigned long v)
{
	char tmp[24];
	unsigned long n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* The entry (offset 0): writes a line to @fd, then exit_group(@code). */
__attribute__((section(".text.pie_entry"), noreturn))
void pie_selftest_main(long fd, long code);
void pie_selftest_main(long fd, long code)
{
	char line[80];
	unsigned long n = 0;

	for (const char *p = pie_selftest_msg; *p; p++)
		line[n++] = *p;
	n += pie_fmt_ulong(line + n, (unsigned long)pie_getpid());
	line[n++] = ' ';
	n += pie_fmt_ulong(line + n, (unsigned long)pie_selftest_add(2));
	line[n++] = '\n';
	pie_write((int)fd, line, n);
	pie_exit_group((int)code);
}
