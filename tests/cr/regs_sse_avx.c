/* A loop in inline assembly keeps known values in every vector register —
 * zmm0-31 and k1-7 with AVX-512, ymm0-15 with AVX2, xmm0-15 otherwise (the
 * widest the CPU and kernel offer; printed before the scenario is ready) —
 * and counts in one of them, with a non-default MXCSR and x87 control word,
 * two values on the x87 stack, known r8-r11, and a chosen GS base, across
 * the checkpoint. After restore every register holds what it must.
 * An argument "sse" or "avx2" caps the level (to self-check the narrower
 * paths on a wider CPU). */
#include <asm/prctl.h>
#include <cpuid.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crtest.h"

CRT_SCENARIO("dump; restore; verify");
CRT_DAMAGE_FAILS("vector register 3 (");

#define MXCSR_TEST 0xffc0u	/* round toward zero, flush-to-zero, DAZ, all masked */
#define X87_CW_TEST 0x0a7fu	/* round up, 53-bit precision, all masked */

enum level { LEVEL_SSE, LEVEL_AVX2, LEVEL_AVX512 };

struct regs {
	uint64_t vec[32][8];	/* up to 32 registers of up to 8 qwords */
	uint64_t mask[8];	/* k0-k7 (k0 unused) */
	uint64_t gpr[4];	/* r8-r11 */
	double x87[2];
	uint32_t mxcsr;
	uint16_t x87_cw;
	uint32_t saved_mxcsr;	/* the caller's, kept by the assembly */
	uint16_t saved_x87_cw;
	uint64_t count;		/* loop iterations */
};

#define REP16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define REP16_HI(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) \
	M(28) M(29) M(30) M(31)
#define REPK(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

#define LD_X(n) "movdqu " #n "*64(%[in]), %%xmm" #n "\n\t"
#define ST_X(n) "movdqu %%xmm" #n ", " #n "*64(%[out])\n\t"
#define LD_Y(n) "vmovdqu " #n "*64(%[in]), %%ymm" #n "\n\t"
#define ST_Y(n) "vmovdqu %%ymm" #n ", " #n "*64(%[out])\n\t"
#define LD_Z(n) "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define ST_Z(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"
#define LD_K(n) "kmovw " #n "*8+2048(%[in]), %%k" #n "\n\t"
#define ST_K(n) "kmovw %%k" #n ", " #n "*8+2048(%[out])\n\t"

/* Common prologue and epilogue: GPRs, MXCSR, x87 control word and stack.
 * Offsets follow struct regs: mask at 2048, gpr at 2112, x87 at 2144,
 * mxcsr at 2160, x87_cw at 2164, saved_mxcsr at 2168, saved_x87_cw at 2172. */
#define PROLOGUE \
	"movq 2112(%[in]), %%r8\n\t" "movq 2120(%[in]), %%r9\n\t"		\
	"movq 2128(%[in]), %%r10\n\t" "movq 2136(%[in]), %%r11\n\t"		\
	"stmxcsr 2168(%[out])\n\t" "ldmxcsr 2160(%[in])\n\t"			\
	"fnstcw 2172(%[out])\n\t" "fldcw 2164(%[in])\n\t"			\
	"fldl 2144(%[in])\n\t" "fldl 2152(%[in])\n\t"
#define EPILOGUE \
	"movq %%r8, 2112(%[out])\n\t" "movq %%r9, 2120(%[out])\n\t"		\
	"movq %%r10, 2128(%[out])\n\t" "movq %%r11, 2136(%[out])\n\t"		\
	"fstpl 2152(%[out])\n\t" "fstpl 2144(%[out])\n\t"			\
	"stmxcsr 2160(%[out])\n\t" "ldmxcsr 2168(%[out])\n\t"			\
	"fnstcw 2164(%[out])\n\t" "fldcw 2172(%[out])\n\t"
#define SPIN(add) \
	"1:\n\t" add "\n\t" "incq %[count]\n\t" "pause\n\t"			\
	"cmpl $0, (%[flag])\n\t" "je 1b\n\t"

#define CLOBBER_X "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
	"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define CLOBBER_COMMON "r8", "r9", "r10", "r11", "st", "st(1)", "memory", "cc"

/* struct regs is laid out for the offsets above; checked at compile time */
_Static_assert(offsetof(struct regs, mask) == 2048, "mask offset");
_Static_assert(offsetof(struct regs, gpr) == 2112, "gpr offset");
_Static_assert(offsetof(struct regs, x87) == 2144, "x87 offset");
_Static_assert(offsetof(struct regs, mxcsr) == 2160, "mxcsr offset");
_Static_assert(offsetof(struct regs, x87_cw) == 2164, "x87_cw offset");
_Static_assert(offsetof(struct regs, saved_mxcsr) == 2168, "saved_mxcsr offset");
_Static_assert(offsetof(struct regs, saved_x87_cw) == 2172, "saved_x87_cw offset");

static void spin_sse(const struct regs *in, struct regs *out, const volatile sig_atomic_t *flag)
{
	uint64_t count = 0;

	__asm__ volatile(PROLOGUE REP16(LD_X) SPIN("paddq %%xmm14, %%xmm15") REP16(ST_X) EPILOGUE
			 : [count] "+r"(count)
			 : [in] "r"(in), [out] "r"(out), [flag] "r"(flag)
			 : CLOBBER_X, CLOBBER_COMMON);
	out->count = count;
}

__attribute__((target("avx2")))
static void spin_avx2(const struct regs *in, struct regs *out, const volatile sig_atomic_t *flag)
{
	uint64_t count = 0;

	__asm__ volatile(PROLOGUE REP16(LD_Y) SPIN("vpaddq %%ymm14, %%ymm15, %%ymm15") REP16(ST_Y)
			 "vzeroupper\n\t" EPILOGUE
			 : [count] "+r"(count)
			 : [in] "r"(in), [out] "r"(out), [flag] "r"(flag)
			 : CLOBBER_X, CLOBBER_COMMON);
	out->count = count;
}

__attribute__((target("avx512f")))
static void spin_avx512(const struct regs *in, struct regs *out, const volatile sig_atomic_t *flag)
{
	uint64_t count = 0;

	__asm__ volatile(PROLOGUE REP16(LD_Z) REP16_HI(LD_Z) REPK(LD_K)
			 SPIN("vpaddq %%zmm30, %%zmm31, %%zmm31")
			 REP16(ST_Z) REP16_HI(ST_Z) REPK(ST_K) "vzeroupper\n\t" EPILOGUE
			 : [count] "+r"(count)
			 : [in] "r"(in), [out] "r"(out), [flag] "r"(flag)
			 : CLOBBER_X, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
			   "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
			   "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7", CLOBBER_COMMON);
	out->count = count;
}

/* The widest vector level both the CPU and the kernel (XCR0) enable. */
static enum level vector_level(void)
{
	unsigned int a, b, c, d;
	uint32_t xcr0_lo = 0, xcr0_hi = 0;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return LEVEL_SSE;
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 0x6) != 0x6 || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return LEVEL_SSE;
	if ((b & bit_AVX512F) && (xcr0_lo & 0xe6) == 0xe6)
		return LEVEL_AVX512;
	return (b & bit_AVX2) ? LEVEL_AVX2 : LEVEL_SSE;
}

int main(int argc, char **argv)
{
	static const char *const level_name[] = { "xmm0-15 (SSE2)", "ymm0-15 (AVX2)",
						  "zmm0-31 and k1-7 (AVX-512F)" };
	static const char *const reg_prefix[] = { "xmm", "ymm", "zmm" };
	static const int nregs[] = { 16, 16, 32 }, nqwords[] = { 2, 4, 8 };
	static char gs_area[64];
	static struct regs in, out;
	enum level level = vector_level();
	int acc, inc;
	uint64_t fs_before = 0, fs_after = 0, gs_after = 0;

	crt_init(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "sse"))
		level = LEVEL_SSE;
	else if (argc > 1 && !strcmp(argv[1], "avx2") && level > LEVEL_AVX2)
		level = LEVEL_AVX2;
	acc = nregs[level] - 1;
	inc = nregs[level] - 2;
	for (int r = 0; r < 32; r++)
		for (int q = 0; q < 8; q++)
			in.vec[r][q] = r == inc ? 1 : crt_pattern((uint64_t)r, (uint64_t)q);
	for (int k = 1; k < 8; k++)
		in.mask[k] = crt_pattern(100 + (uint64_t)k, 0) & 0xffff;
	for (int g = 0; g < 4; g++)
		in.gpr[g] = crt_pattern(200 + (uint64_t)g, 0);
	in.x87[0] = 1.0 / 3.0;
	in.x87[1] = -2.5e300;
	in.mxcsr = MXCSR_TEST;
	in.x87_cw = X87_CW_TEST;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)gs_area))
		return 2;
	printf("regs_sse_avx: keeping values in %s\n", level_name[level]);
	crt_ready();

	if (level == LEVEL_AVX512)
		spin_avx512(&in, &out, crt_verify_flag());
	else if (level == LEVEL_AVX2)
		spin_avx2(&in, &out, crt_verify_flag());
	else
		spin_sse(&in, &out, crt_verify_flag());

	if (crt_damage())
		out.vec[3][1] ^= 1;
	for (int r = 0; r < nregs[level]; r++)
		for (int q = 0; q < nqwords[level]; q++) {
			uint64_t want = in.vec[r][q] + (r == acc ? out.count : 0);

			if (out.vec[r][q] != want) {
				crt_fail("vector register %d (%s%d) qword %d is %#llx, expected %#llx "
					 "(after %llu iterations)", r, reg_prefix[level], r, q,
					 (unsigned long long)out.vec[r][q], (unsigned long long)want,
					 (unsigned long long)out.count);
				break;
			}
		}
	if (level == LEVEL_AVX512)
		for (int k = 1; k < 8; k++)
			if (out.mask[k] != in.mask[k])
				crt_fail("mask register k%d is %#llx, expected %#llx", k,
					 (unsigned long long)out.mask[k], (unsigned long long)in.mask[k]);
	for (int g = 0; g < 4; g++)
		if (out.gpr[g] != in.gpr[g])
			crt_fail("r%d is %#llx, expected %#llx", 8 + g, (unsigned long long)out.gpr[g],
				 (unsigned long long)in.gpr[g]);
	for (int i = 0; i < 2; i++)
		if (memcmp(&out.x87[i], &in.x87[i], sizeof(double)))
			crt_fail("x87 stack value %d is %a, expected %a", i, out.x87[i], in.x87[i]);
	if (out.mxcsr != MXCSR_TEST)
		crt_fail("MXCSR is %#x, expected %#x", out.mxcsr, MXCSR_TEST);
	if (out.x87_cw != X87_CW_TEST)
		crt_fail("x87 control word is %#x, expected %#x", out.x87_cw, X87_CW_TEST);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_after);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs_after);
	if (fs_after != fs_before)
		crt_fail("FS base is %#llx, expected %#llx", (unsigned long long)fs_after,
			 (unsigned long long)fs_before);
	if (gs_after != (uint64_t)(unsigned long)gs_area)
		crt_fail("GS base is %#llx, expected %p", (unsigned long long)gs_after, (void *)gs_area);
	return crt_finish();
}
