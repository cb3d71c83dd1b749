/* crc32c — CRC-32C for blog's file framing: the SSE4.2 instruction where the
 * CPU has it, a table otherwise. Pure computation, no state but the table. */
#include <stdbool.h>
#include <string.h>

#include "blog-wire.h"

static uint32_t crc32c_table[256];

static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!crc32c_table[1])
		crc32c_init_table();
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

/* Constructors run single-threaded, so the table needs no lock. */
__attribute__((constructor)) static void crc32c_setup(void)
{
	crc32c_init_table();
}

uint32_t blog_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		crc = crc32c_hw(crc, buf, len);
	else
#endif
		crc = crc32c_sw(crc, buf, len);
	return ~crc;
}
