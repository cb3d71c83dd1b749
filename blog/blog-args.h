/* blog-args — argument-list helpers for blog.h's macros: counting and
 * applying a macro to each argument (up to 16). Preprocessor only; it must
 * not evaluate anything. */
#ifndef CRISP_BLOG_ARGS_H
#define CRISP_BLOG_ARGS_H

#define BLOG_MAX_ARGS 16

#define BLOG_CAT_(a, b) a##b
#define BLOG_CAT(a, b) BLOG_CAT_(a, b)

/* Number of arguments, 0 for none. */
#define BLOG_NARGS(...) BLOG_NARGS_(0, ##__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define BLOG_NARGS_(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, n, ...) n

/* m(index, argument) for each argument, juxtaposed. */
#define BLOG_FOREACH(m, ...) BLOG_CAT(BLOG_FE_, BLOG_NARGS(__VA_ARGS__))(m, ##__VA_ARGS__)
#define BLOG_FE_0(m, ...)
#define BLOG_FE_1(m, a1) \
	m(0, a1)
#define BLOG_FE_2(m, a1, a2) \
	m(0, a1) m(1, a2)
#define BLOG_FE_3(m, a1, a2, a3) \
	m(0, a1) m(1, a2) m(2, a3)
#define BLOG_FE_4(m, a1, a2, a3, a4) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4)
#define BLOG_FE_5(m, a1, a2, a3, a4, a5) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5)
#define BLOG_FE_6(m, a1, a2, a3, a4, a5, a6) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6)
#define BLOG_FE_7(m, a1, a2, a3, a4, a5, a6, a7) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7)
#define BLOG_FE_8(m, a1, a2, a3, a4, a5, a6, a7, a8) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8)
#define BLOG_FE_9(m, a1, a2, a3, a4, a5, a6, a7, a8, a9) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9)
#define BLOG_FE_10(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10)
#define BLOG_FE_11(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11)
#define BLOG_FE_12(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11) m(11, a12)
#define BLOG_FE_13(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11) m(11, a12) m(12, a13)
#define BLOG_FE_14(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11) m(11, a12) m(12, a13) m(13, a14)
#define BLOG_FE_15(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11) m(11, a12) m(12, a13) m(13, a14) m(14, a15)
#define BLOG_FE_16(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) \
	m(0, a1) m(1, a2) m(2, a3) m(3, a4) m(4, a5) m(5, a6) m(6, a7) m(7, a8) m(8, a9) m(9, a10) m(10, a11) m(11, a12) m(12, a13) m(13, a14) m(14, a15) m(15, a16)

#endif
