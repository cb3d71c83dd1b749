/* gen_blog_corpus — writes a small real blog log with every argument type,
 * two chunks, a perror and a NULL string: a seed for the decoder fuzz
 * corpus (corpus/blog-decode). Usage: gen-blog-corpus FILE. */
#include <errno.h>
#include <math.h>

#include "blog.h"

int main(int argc, char **argv)
{
	if (argc != 2 || blog_open_file(argv[1], BLOG_MODE_BINARY))
		return 1;
	blog_set_level(BLOG_DEBUG);
	for (int i = 0; i < 6; i++) {
		pr_debug("vma %#lx-%#lx prot %d %s", 0x7f0000000000UL + i * 4096UL,
			 0x7f0000001000UL + i * 4096UL, i & 7, i % 2 ? "[heap]" : "libc.so.6");
		pr_info("fd %d: %s pos %lld", i, "/dev/null", (long long)i * 100);
		pr_warn("%*.*f|%Lg|%c|%p|%hhd", 8, 2, NAN, 1.5L, 'q', (void *)0, (signed char)-3);
		errno = EPERM;
		pr_perror("cannot seize %d", 1000 + i);
		if (i == 2)
			blog_flush();
	}
	pr_err("%s", (const char *)0);
	pr_msg("done %d%%\n", 100);
	blog_close();
	return 0;
}
