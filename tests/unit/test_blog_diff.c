/* test_blog_diff — blog against glibc: every conversion, length modifier,
 * flag, width and precision (with '*') and edge value, logged through blog
 * in binary mode (then decoded) and in text mode, must print exactly what
 * snprintf prints. Also: the text line equals the decoded line. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blog.h"
#include "blog_testlib.h"
#include "check.h"
#include "unit.h"

#define NCASES 256
#define EXP_CAP 8192

static char expected[NCASES][EXP_CAP];
static unsigned int case_lines[NCASES];
static int ncases;

/* Each case: what snprintf prints, and the same call through blog. */
#define CASE(fmt, ...)                                                        \
	do {                                                                  \
		snprintf(expected[ncases], EXP_CAP, fmt, ##__VA_ARGS__);      \
		case_lines[ncases++] = __LINE__;                              \
		pr_info(fmt, ##__VA_ARGS__);                                  \
	} while (0)

static const char *volatile null_str;	/* a NULL the compiler cannot see */
static char long_str[3001];

static void run_corpus(void)
{
	const char *ns = null_str;
	char arr[8] = "array";
	unsigned char ubuf[4] = "ub";
	int x = 5;
	double nan_ = NAN, inf_ = INFINITY, negz = -0.0;

	ncases = 0;
	/* integers, every length modifier */
	CASE("d %d i %i u %u o %o x %x X %X", -42, 42, 42u, 8u, 255u, 255u);
	CASE("INT_MIN %d INT_MAX %d UINT_MAX %u", INT_MIN, INT_MAX, UINT_MAX);
	CASE("hh %hhd %hhu %hhx h %hd %hu %hx", (signed char)-128, (unsigned char)255,
	     (unsigned char)0xab, (short)-32768, (unsigned short)65535, (unsigned short)0xbeef);
	CASE("l %ld %lu %lx ll %lld %llu %llX", LONG_MIN, ULONG_MAX, 0xdeadbeefUL, LLONG_MIN,
	     ULLONG_MAX, 0x123456789abcdefULL);
	CASE("j %jd %ju z %zd %zu %zx t %td %tx", (intmax_t)INTMAX_MIN, (uintmax_t)UINTMAX_MAX,
	     (ssize_t)-1, (size_t)SIZE_MAX, (size_t)4096, (ptrdiff_t)-7, (ptrdiff_t)255);
	CASE("int8 %d uint16 %u bool %d char %d", (int8_t)-1, (uint16_t)65535, (_Bool)1, 'A');
	/* flags */
	CASE("[%-6d] [%+d] [% d] [%#o] [%#x] [%#X] [%06d] [%-+6d]", 42, 42, 42, 8u, 255u, 255u, -42, 7);
	CASE("[%+d] [%#.0o] [%#5x] [%-#10x] [%+.3d] [%+8.3d]", 5, 0u, 0u, 31u, 1, -12);
	/* width and precision, literal and with '*' */
	CASE("[%10d] [%-10u] [%.5d] [%10.4x] [%.0d] [%.0u]", 123, 456u, 12, 0xabu, 0, 0u);
	CASE("[%*d] [%-*d] [%.*d] [%*.*d]", 8, 42, 8, 42, 4, 3, 10, 5, -77);
	CASE("[%*d] [%.*d] negative star width and precision", -6, 1, -1, 23);
	CASE("[%*s] [%-*s] [%.*s] [%*.*s]", 8, "ab", 8, "cd", 2, "efgh", 6, 3, "ijklmn");
	/* characters and strings */
	CASE("c [%c] [%3c] [%-3c] [%c]", 'x', 'y', 'z', 0x7f);
	CASE("s [%s] [%10s] [%-10s] [%.2s] [%s]", "hello", "right", "left", "cut", "");
	CASE("null [%s] [%10s] [%.3s] [%.10s]", ns, ns, ns, ns);
	CASE("array [%s] const [%s] unsigned [%s]", arr, (const char *)arr, ubuf);
	CASE("long [%s]", long_str);
	CASE("long cut [%.100s] width [%3010s]", long_str, long_str);
	CASE("%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s", "a", "b", "c", "d", "e", "f", "g", "h", "i",
	     "j", "k", "l", "m", "n", "o", "p");
	/* pointers, also a char * printed with %p */
	CASE("p [%p] [%p] [%20p] [%-20p]", (void *)0, (void *)0x1234, (void *)&x, (void *)0xdead);
	CASE("char pointer as %%p: %p, then as string: %s", arr, arr);
	/* floating point */
	CASE("f %f F %F e %e E %E g %g G %G", 3.14159, 2.5, 12345.678, 0.000123, 1e-5, 1e20);
	CASE("a %a A %A float %f", 1.0, -0.5, (double)1.5f);
	CASE("[%.0f] [%.10f] [%12.3e] [%-12.2g] [%+.3f] [%#.0f] [%08.2f] [% f]", 2.5, 1.0 / 3,
	     -1234.5, 0.0001, 3.0, 1.0, -3.14159, 1.0);
	CASE("nan %f %F %e %g inf %f %F %E %G", nan_, nan_, -nan_, nan_, inf_, -inf_, inf_, -inf_);
	CASE("-0.0 %f %e %g %a [%+f]", negz, negz, negz, negz, negz);
	CASE("DBL_MAX %g %e DBL_MIN %g denorm %a %g", DBL_MAX, DBL_MAX, DBL_MIN, 4.9e-324, 4.9e-324);
	CASE("[%*.*f] [%-*.*e] [%.*g]", 12, 4, 3.14159265, 14, 2, -2.71828, 3, 123456.0);
	CASE("L %Lf %Le %Lg %La %LA", 3.14159265358979323846L, 1e-300L, (long double)LDBL_MAX,
	     1.0L, -0.75L);
	CASE("L nan %Lf inf %Lf -0 %Lf", (long double)NAN, -(long double)INFINITY, -0.0L);
	/* percent and mixes */
	CASE("100%% done, %d%% left, %%s %%d literal", 0);
	CASE("mix %s=%d (%.2f%%) at %p flags %#lx %c", "pages", 4096, 99.5, (void *)0x7f00,
	     0x8000UL, '!');
	CASE("no arguments at all");
	CASE("%d", 1);
	CASE("%s", "only a string");
	CASE("16 args %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7,
	     8, 9, 10, 11, 12, 13, 14, 15, 16);
	CASE("unsigned through signed %d %u %x", -1, (unsigned)-1, (unsigned)-1);
	CASE("enum %d size_t %zu off_t %lld", BLOG_DEBUG, sizeof(long double), (long long)-1);
	errno = ENOENT;
	CASE("%%m with errno: %m, and after: %d", 7);
}

static int decode_and_compare(const char *path, struct tl_log *l)
{
	int ret = tl_decode_file(path, l);

	CHECK_INT(ret, 0);
	CHECK_INT(l->errors, 0);
	CHECK_INT(l->n, ncases + 1);	/* + the perror record */
	for (int i = 0; i < ncases && i < (int)l->n; i++)
		UNIT_RECORD(!strcmp(l->recs[i].msg, expected[i]),
			    "case at line %u:\n  blog:     [%s]\n  snprintf: [%s]", case_lines[i],
			    l->recs[i].msg, expected[i]);
	return ret;
}

/* The perror form appends ": <strerror>" and keeps errno. */
static void log_perror(void)
{
	errno = EACCES;
	pr_perror("cannot open %s", "the/file");
	CHECK_INT(errno, EACCES);
}

int main(void)
{
	char bin[4096], txt[4096];
	struct tl_log l;
	char *text;
	size_t tlen;

	/* link the engine's check code: its call sites must be in the dictionary */
	void *volatile engine_fn = (void *)check_main;
	(void)engine_fn;
	memset(long_str, 'L', sizeof(long_str) - 1);
	blog_set_level(BLOG_DEBUG);
	tl_tmpname(bin, sizeof(bin), "diff-bin");
	tl_tmpname(txt, sizeof(txt), "diff-txt");

	/* binary mode, decoded */
	CHECK_INT(blog_open_file(bin, BLOG_MODE_BINARY), 0);
	run_corpus();
	log_perror();
	CHECK_INT(blog_flush(), 0);
	blog_close();
	decode_and_compare(bin, &l);
	if (l.n == (size_t)ncases + 1)
		CHECK_STR(l.recs[ncases].msg, "cannot open the/file: Permission denied");

	/* the dictionary holds call sites from the engine's static library */
	{
		struct bd_file f;
		struct tl_log l2;
		size_t len;
		void *buf = tl_read_file(bin, &len);
		bool found = false;

		CHECK(buf != NULL);
		tl_decode_buf(buf, len, &l2, &f);
		for (uint32_t i = 0; i < f.h.ndict; i++)
			found |= !strcmp(f.h.dict[i].file, "engine/check/check.c");
		CHECK(found);
		CHECK(f.h.ndict >= (uint32_t)ncases + 1);
		bd_file_free(&f);
		tl_free(&l2);
		free(buf);
	}

	/* text mode: the same calls; the line equals the decoded line */
	CHECK_INT(blog_open_file(txt, BLOG_MODE_TEXT), 0);
	run_corpus();
	log_perror();
	blog_close();
	text = tl_read_file(txt, &tlen);
	CHECK(text != NULL);
	if (text) {
		char *p = text, *end = text + tlen;
		size_t i = 0;

		for (; p < end && i < l.n; i++) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
			unsigned long long s, us;
			char redone[BLOG_MSG_MAX + 4096];
			/* the decoded line, re-rendered at the text line's time */
			const char *dl = l.recs[i].line, *rest = strchr(dl, ')');

			if (sscanf(p, "(%llu.%llu)", &s, &us) == 2 && rest)
				snprintf(redone, sizeof(redone), "(%02llu.%06llu%s", s, us, rest);
			else
				snprintf(redone, sizeof(redone), "%s", dl);
			UNIT_RECORD(strlen(redone) == n && !memcmp(redone, p, n),
				    "record %zu: text [%.*s] decoded [%s]", i, (int)n, p, redone);
			p += n;
		}
		CHECK_INT(i, ncases + 1);
		CHECK(p == end);
		free(text);
	}
	tl_free(&l);
	unlink(bin);
	unlink(txt);
	return unit_summary("blog-diff");
}
