/* blog-wire — the byte layout of a blog log file (see FORMAT.md): constants
 * and offsets shared by the writer and the reader. Little-endian on disk.
 * Layout only: no I/O and no parsing here. */
#ifndef CRISP_BLOG_WIRE_H
#define CRISP_BLOG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define BLOG_FILE_MAGIC "\x89" "BLOG\r\n\x1a"	/* 8 bytes */
#define BLOG_FILE_VERSION 1

/* File header, fixed part (offsets). */
#define BLOG_FH_MAGIC     0	/* u8[8] */
#define BLOG_FH_VERSION   8	/* u32 */
#define BLOG_FH_HDR_LEN   12	/* u32: header + dictionary + crc */
#define BLOG_FH_FLAGS     16	/* u32: BLOG_FF_* */
#define BLOG_FH_PID       20	/* u32 */
#define BLOG_FH_CLK0      24	/* u64: clock at start */
#define BLOG_FH_MONO0     32	/* u64: CLOCK_MONOTONIC ns at start */
#define BLOG_FH_REAL0     40	/* u64: CLOCK_REALTIME ns at start */
#define BLOG_FH_BUILDID_LEN 48	/* u32 (<= 64) */
#define BLOG_FH_BUILDID   52	/* u8[64] */
#define BLOG_FH_NDICT     116	/* u32 */
#define BLOG_FH_RESERVED  120	/* u32, 0 */
#define BLOG_FH_SIZE      124	/* dictionary entries follow; then u32 crc32c */

#define BLOG_FF_CLOCK_TSC 0x1	/* record clocks are TSC ticks, else ns */

/* Dictionary entry: fixed part, then types[nargs], fmt, file (no NULs). */
#define BLOG_DE_LEN       0	/* u32: whole entry */
#define BLOG_DE_LINE      4	/* u32 */
#define BLOG_DE_LEVEL     8	/* u8 */
#define BLOG_DE_FLAGS     9	/* u8: BLOG_DF_ERRNO */
#define BLOG_DE_NARGS     10	/* u8 */
#define BLOG_DE_RESERVED  11	/* u8, 0 */
#define BLOG_DE_FMT_LEN   12	/* u16 */
#define BLOG_DE_FILE_LEN  14	/* u16 */
#define BLOG_DE_SIZE      16

/* Chunk: header, then records. */
#define BLOG_CHUNK_MAGIC  0x43474c42u	/* "BLGC" */
#define BLOG_CH_MAGIC     0	/* u32 */
#define BLOG_CH_LEN       4	/* u32: record bytes that follow the header */
#define BLOG_CH_CRC       8	/* u32: crc32c of bytes 12..39 and the records */
#define BLOG_CH_PID       12	/* u32 */
#define BLOG_CH_TID       16	/* u32 */
#define BLOG_CH_SEQ       20	/* u32: per-thread chunk counter */
#define BLOG_CH_CLK       24	/* u64: clock when written */
#define BLOG_CH_MONO      32	/* u64: CLOCK_MONOTONIC ns when written */
#define BLOG_CH_SIZE      40
#define BLOG_CHUNK_MAX    (1u << 24)	/* readers refuse longer chunks */

/* Record: u32 descriptor id, u32 length (with this header), u64 clock,
 * then the arguments in order, then u32 errno if the entry wants it. */
#define BLOG_RH_ID        0
#define BLOG_RH_LEN       4
#define BLOG_RH_CLK       8
#define BLOG_RH_SIZE      16

/* String argument: u16 n; n == 0xffff: NULL; else bit 15 set: cut; the low
 * 15 bits are the byte count that follows. */
#define BLOG_STR_NULL     0xffffu
#define BLOG_STR_CUT      0x8000u

static inline uint16_t blog_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t blog_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t blog_get64(const uint8_t *p)
{
	return (uint64_t)blog_get32(p) | (uint64_t)blog_get32(p + 4) << 32;
}

static inline void blog_set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void blog_set32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void blog_set64(uint8_t *p, uint64_t v)
{
	blog_set32(p, (uint32_t)v);
	blog_set32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32C (Castagnoli) of @len bytes, continuing from @crc (0 to start). */
uint32_t blog_crc32c(uint32_t crc, const void *buf, size_t len);

/* Bytes an argument of type code @t takes at @p (at most @avail), or -1 if
 * it does not fit or @t is unknown. */
static inline long blog_arg_size(char t, const uint8_t *p, size_t avail)
{
	size_t n;

	switch (t) {
	case 'i': n = 4; break;
	case 'l': case 'd': case 'p': n = 8; break;
	case 'D': n = 16; break;
	case 's':
		if (avail < 2)
			return -1;
		n = blog_get16(p);
		n = n == BLOG_STR_NULL ? 2 : 2 + (n & ~BLOG_STR_CUT);
		break;
	default:
		return -1;
	}
	return n <= avail ? (long)n : -1;
}

#endif
