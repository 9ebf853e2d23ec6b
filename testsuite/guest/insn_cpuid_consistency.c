/*
 * CPUID and XGETBV must describe the CPU the program actually runs on. The CPU model under ember differs
 * from the host by design, so this program prints no CPUID value, only the verdicts of its own checks
 * (each line "... ok" or what is wrong), which must read the same natively and under every ember CPU
 * model (-cpu max, x86-64-v1/v2/v3):
 *   - every feature bit that is set: a representative instruction of it runs without SIGILL (a longer
 *     list than cpuid.c, including extensions ember does not implement: when one is advertised it must
 *     work);
 *   - OSXSAVE set exactly when XGETBV runs; XCR0 (XGETBV 0) has x87 and SSE, is within CPUID.0xD.0
 *     EDX:EAX, has YMM exactly when AVX is advertised; CPUID.0xD.0 EBX is the XSAVE size of the enabled
 *     components (from the sub-leaves' offsets and sizes), ECX at least that; CPUID.0xD.1 XSAVEOPT/
 *     XSAVEC/XGETBV(1) bits match what runs; XSAVEC sets XCOMP_BV bit 63; XSAVE's XSTATE_BV is within XCR0;
 *   - the leaf ranges cover the leaves the set bits live in, the vendor and brand strings are text, leaf 1
 *     ignores ECX, and the feature hierarchy holds (AVX2 needs AVX needs XSAVE/OSXSAVE...).
 */
#include "insn_common.h"

#include <cpuid.h>
#include <stdlib.h>

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static unsigned max_basic, max_ext;

static int bit(unsigned leaf, unsigned sub, int reg, int b)
{
    unsigned r[4];
    if ((leaf < 0x80000000u && leaf > max_basic) || (leaf >= 0x80000000u && leaf > max_ext))
        return 0;
    cpuid(leaf, sub, r);
    return (r[reg] >> b) & 1;
}

static int runs(void (*fn)(void))
{
    if (INSN_TRY()) {
        fn();
        return 1;
    }
    return insn_fault.sig != SIGILL; /* only #UD counts as "not implemented" */
}

/* For the probes (x87 and SSE state only). The XSAVE checks below save everything XCR0 enables, which
   with AVX-512 and AMX is well over 4 KiB: they use an area sized from CPUID.0xD. */
static uint8_t area[4096] __attribute__((aligned(64)));
static uint64_t m64[4] __attribute__((aligned(32)));

/* The test instructions. Each leaves the registers the compiler uses as they were. */
static void t_fpu(void) { asm volatile("fld1\n\tfstp %%st(0)" ::: "memory"); }
static void t_tsc(void) { asm volatile("rdtsc" ::: "eax", "edx"); }
static void t_cx8(void) { asm volatile("xor %%eax, %%eax\n\txor %%edx, %%edx\n\tcmpxchg8b %0" : "+m"(m64[0]) : : "eax", "edx", "ebx", "ecx", "cc"); }
static void t_cx16(void) { asm volatile("xor %%eax, %%eax\n\txor %%edx, %%edx\n\tcmpxchg16b %0" : "+m"(m64[0]) : : "rax", "rdx", "rbx", "rcx", "cc"); }
static void t_cmov(void) { asm volatile("cmovz %%eax, %%eax" ::: "eax"); }
static void t_mmx(void) { asm volatile("paddb %%mm0, %%mm0\n\temms" ::: "mm0"); }
static void t_fxsr(void) { asm volatile("fxsave64 %0" : "=m"(area)); }
static void t_sse(void) { asm volatile("addps %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse2(void) { asm volatile("paddq %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse3(void) { asm volatile("addsubpd %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_pclmul(void) { asm volatile("pclmulqdq $0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_ssse3(void) { asm volatile("pshufb %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_fma(void) { asm volatile("vfmadd231ps %%xmm0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse41(void) { asm volatile("pminsd %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse42(void) { asm volatile("crc32l %%eax, %%eax" ::: "eax"); }
static void t_movbe(void) { asm volatile("movbe %0, %%eax" ::"m"(m64[0]) : "eax"); }
static void t_popcnt(void) { asm volatile("popcnt %%eax, %%eax" ::: "eax", "cc"); }
static void t_aes(void) { asm volatile("aesenc %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_xsave(void) { asm volatile("xsave64 %0" : "=m"(area) : "a"(3), "d"(0)); }
static void t_osxsave(void) { asm volatile("xgetbv" ::"c"(0) : "eax", "edx"); }
static void t_avx(void) { asm volatile("vaddps %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_f16c(void) { asm volatile("vcvtph2ps %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_rdrand(void) { asm volatile("rdrand %%eax" ::: "eax", "cc"); }
static void t_bmi1(void) { asm volatile("andn %%eax, %%eax, %%eax" ::: "eax", "cc"); }
static void t_avx2(void) { asm volatile("vpaddd %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_bmi2(void) { asm volatile("pdep %%eax, %%eax, %%eax" ::: "eax"); }
static void t_erms(void) { asm volatile("rep movsb" ::"S"(m64), "D"(m64 + 2), "c"(8) : "memory"); }
static void t_avx512f(void) { asm volatile("vpaddd %%zmm0, %%zmm0, %%zmm0\n\tvzeroupper" ::: "xmm0"); }
static void t_rdseed(void) { asm volatile("rdseed %%eax" ::: "eax", "cc"); }
static void t_adx(void) { asm volatile("adcx %%eax, %%eax" ::: "eax", "cc"); }
static void t_clflushopt(void) { asm volatile("clflushopt %0" ::"m"(m64[0])); }
static void t_clwb(void) { asm volatile("clwb %0" ::"m"(m64[0])); }
static void t_sha(void) { asm volatile("sha1msg1 %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_avx512bw(void) { asm volatile("vpaddb %%zmm0, %%zmm0, %%zmm0\n\tvzeroupper" ::: "xmm0"); }
static void t_avx512vl(void) { asm volatile("vpaddd %xmm16, %xmm16, %xmm16"); /* xmm16: never used by compiled code here */ }
static void t_gfni(void) { asm volatile("gf2p8mulb %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_vaes(void) { asm volatile("vaesenc %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_vpclmul(void) { asm volatile("vpclmulqdq $0, %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_rdpid(void) { asm volatile("rdpid %%rax" ::: "rax"); }
static void t_movdiri(void) { asm volatile("movdiri %%eax, %0" : "=m"(m64[0]) : "a"(0)); }
static void t_xsaveopt(void) { asm volatile("xsaveopt64 %0" : "+m"(area) : "a"(3), "d"(0)); }
static void t_xsavec(void) { asm volatile("xsavec64 %0" : "+m"(area) : "a"(3), "d"(0)); }
static void t_xgetbv1(void) { asm volatile("xgetbv" ::"c"(1) : "eax", "edx"); }
static void t_lahf(void) { asm volatile("lahf" ::: "ah"); }
static void t_lzcnt(void) { asm volatile("mov $1, %%eax\n\tlzcnt %%eax, %%eax\n\tcmp $31, %%eax\n\tje 1f\n\tud2\n1:" ::: "eax", "cc"); }
static void t_sse4a(void) { asm volatile("extrq $8, $0, %%xmm0" ::: "xmm0"); }
static void t_prefetchw(void) { asm volatile("prefetchw %0" ::"m"(m64[0])); }
static void t_xop(void) { asm volatile("vprotb $1, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_fma4(void) { asm volatile("vfmaddps %%xmm0, %%xmm0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_tbm(void) { asm volatile("blcfill %%eax, %%eax" ::: "eax", "cc"); }
static void t_syscall(void) { asm volatile("syscall" : : "a"(39) : "rcx", "r11", "memory"); } /* getpid */
static void t_rdtscp(void) { asm volatile("rdtscp" ::: "eax", "edx", "ecx"); }
static void t_clzero(void) { asm volatile("clzero" ::"a"(area) : "memory"); }

struct feature {
    const char *name;
    unsigned leaf, sub;
    int reg; /* 0 eax 1 ebx 2 ecx 3 edx */
    int bit;
    void (*test)(void);
};

static const struct feature features[] = {
    {"fpu", 1, 0, 3, 0, t_fpu}, {"tsc", 1, 0, 3, 4, t_tsc}, {"cx8", 1, 0, 3, 8, t_cx8},
    {"cmov", 1, 0, 3, 15, t_cmov}, {"mmx", 1, 0, 3, 23, t_mmx}, {"fxsr", 1, 0, 3, 24, t_fxsr},
    {"sse", 1, 0, 3, 25, t_sse}, {"sse2", 1, 0, 3, 26, t_sse2}, {"sse3", 1, 0, 2, 0, t_sse3},
    {"pclmulqdq", 1, 0, 2, 1, t_pclmul}, {"ssse3", 1, 0, 2, 9, t_ssse3}, {"fma", 1, 0, 2, 12, t_fma},
    {"cx16", 1, 0, 2, 13, t_cx16}, {"sse4.1", 1, 0, 2, 19, t_sse41}, {"sse4.2", 1, 0, 2, 20, t_sse42},
    {"movbe", 1, 0, 2, 22, t_movbe}, {"popcnt", 1, 0, 2, 23, t_popcnt}, {"aes", 1, 0, 2, 25, t_aes},
    {"xsave", 1, 0, 2, 26, t_xsave}, {"osxsave", 1, 0, 2, 27, t_osxsave}, {"avx", 1, 0, 2, 28, t_avx},
    {"f16c", 1, 0, 2, 29, t_f16c}, {"rdrand", 1, 0, 2, 30, t_rdrand}, {"bmi1", 7, 0, 1, 3, t_bmi1},
    {"avx2", 7, 0, 1, 5, t_avx2}, {"bmi2", 7, 0, 1, 8, t_bmi2}, {"erms", 7, 0, 1, 9, t_erms},
    {"avx512f", 7, 0, 1, 16, t_avx512f}, {"rdseed", 7, 0, 1, 18, t_rdseed}, {"adx", 7, 0, 1, 19, t_adx},
    {"clflushopt", 7, 0, 1, 23, t_clflushopt}, {"clwb", 7, 0, 1, 24, t_clwb}, {"sha", 7, 0, 1, 29, t_sha},
    {"avx512bw", 7, 0, 1, 30, t_avx512bw}, {"avx512vl", 7, 0, 1, 31, t_avx512vl}, {"gfni", 7, 0, 2, 8, t_gfni},
    {"vaes", 7, 0, 2, 9, t_vaes}, {"vpclmulqdq", 7, 0, 2, 10, t_vpclmul}, {"rdpid", 7, 0, 2, 22, t_rdpid},
    {"movdiri", 7, 0, 2, 27, t_movdiri}, {"xsaveopt", 0xd, 1, 0, 0, t_xsaveopt},
    {"xsavec", 0xd, 1, 0, 1, t_xsavec}, {"xgetbv_ecx1", 0xd, 1, 0, 2, t_xgetbv1},
    {"lahf_lm", 0x80000001, 0, 2, 0, t_lahf}, {"lzcnt", 0x80000001, 0, 2, 5, t_lzcnt},
    {"sse4a", 0x80000001, 0, 2, 6, t_sse4a}, {"prefetchw", 0x80000001, 0, 2, 8, t_prefetchw},
    {"xop", 0x80000001, 0, 2, 11, t_xop}, {"fma4", 0x80000001, 0, 2, 16, t_fma4},
    {"tbm", 0x80000001, 0, 2, 21, t_tbm}, {"syscall", 0x80000001, 0, 3, 11, t_syscall},
    {"rdtscp", 0x80000001, 0, 3, 27, t_rdtscp}, {"clzero", 0x80000008, 0, 1, 0, t_clzero},
};
#define NFEAT (sizeof features / sizeof features[0])

static int has(const char *name)
{
    for (size_t i = 0; i < NFEAT; i++)
        if (strcmp(features[i].name, name) == 0)
            return bit(features[i].leaf, features[i].sub, features[i].reg, features[i].bit);
    abort();
}

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

int main(void)
{
    insn_catch_signals();
    unsigned r[4], r2[4];
    cpuid(0, 0, r);
    max_basic = r[0];
    char vendor[13];
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    cpuid(0x80000000u, 0, r);
    max_ext = r[0];
    printf("vendor string printable: %s\n", printable(vendor, 12) && strlen(vendor) == 12 ? "ok" : "NO");
    printf("leaf ranges: %s\n", max_basic >= 1 && max_ext >= 0x80000001u ? "ok" : "TOO SMALL");
    if (max_ext >= 0x80000004u) {
        char brand[49];
        for (unsigned l = 0; l < 3; l++) {
            cpuid(0x80000002u + l, 0, r);
            memcpy(brand + 16 * l, r, 16);
        }
        brand[48] = 0;
        printf("brand string printable: %s\n", printable(brand, 48) ? "ok" : "NO");
    } else {
        printf("brand string printable: ok\n"); /* none: nothing to check */
    }
    cpuid(1, 0, r);
    cpuid(1, 5, r2);
    printf("leaf 1 ignores ECX: %s\n", r[0] == r2[0] && r[2] == r2[2] && r[3] == r2[3] ? "ok" : "NO");
    printf("family set: %s\n", ((r[0] >> 8) & 0xf) != 0 ? "ok" : "NO");

    /* every advertised feature runs */
    int bad = 0, adv_total = 0;
    for (size_t i = 0; i < NFEAT; i++) {
        const struct feature *f = &features[i];
        if (!bit(f->leaf, f->sub, f->reg, f->bit))
            continue;
        adv_total++;
        if (!runs(f->test)) {
            printf("ADVERTISED BUT #UD: %s\n", f->name);
            bad++;
        }
    }
    printf("advertised features all run: %s\n", bad == 0 && adv_total > 0 ? "yes" : "NO");

    /* the extensions' prerequisites */
    static const char *const needs[][2] = {
        {"sse2", "sse"},      {"sse3", "sse2"},     {"ssse3", "sse3"},   {"sse4.1", "ssse3"},  {"sse4.2", "sse4.1"},
        {"aes", "sse2"},      {"pclmulqdq", "sse2"}, {"osxsave", "xsave"}, {"avx", "osxsave"}, {"avx2", "avx"},
        {"fma", "avx"},       {"f16c", "avx"},      {"avx512f", "avx2"}, {"avx512bw", "avx512f"},
        {"avx512vl", "avx512f"}, {"vaes", "avx"},   {"vpclmulqdq", "avx"}, {"xsaveopt", "xsave"},
        {"xsavec", "xsave"},  {"xgetbv_ecx1", "xsave"}, {"fxsr", "fpu"}, {"sse", "fxsr"}, {"mmx", "fpu"},
    };
    int hier = 0;
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (has(needs[i][0]) && !has(needs[i][1])) {
            printf("INCONSISTENT: %s without %s\n", needs[i][0], needs[i][1]);
            hier++;
        }
    printf("feature hierarchy: %s\n", hier ? "BROKEN" : "ok");

    /* XGETBV and leaf 0xD */
    int osxsave = has("osxsave"), xgetbv_runs = runs(t_osxsave);
    printf("OSXSAVE set exactly when XGETBV runs: %s\n", osxsave == xgetbv_runs ? "ok" : "NO");
    if (osxsave && xgetbv_runs && max_basic >= 0xd) {
        unsigned lo, hi;
        asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        uint64_t xcr0 = (uint64_t)hi << 32 | lo;
        cpuid(0xd, 0, r);
        uint64_t supported = (uint64_t)r[3] << 32 | r[0];
        printf("XCR0 has x87 and SSE: %s\n", (xcr0 & 3) == 3 ? "ok" : "NO");
        printf("XCR0 within CPUID.0xD.0 EDX:EAX: %s\n", (xcr0 & ~supported) == 0 ? "ok" : "NO");
        printf("XCR0 has YMM exactly when AVX is advertised: %s\n", !!(xcr0 & 4) == has("avx") ? "ok" : "NO");
        /* the XSAVE (standard format) size of what XCR0 enables */
        unsigned size = 576;
        for (int c = 2; c < 63; c++)
            if ((xcr0 >> c) & 1) {
                unsigned s[4];
                cpuid(0xd, (unsigned)c, s);
                if (s[0] + s[1] > size)
                    size = s[0] + s[1];
            }
        printf("CPUID.0xD.0 EBX is the enabled XSAVE size: %s\n", r[1] == size ? "ok" : "NO");
        printf("CPUID.0xD.0 ECX at least EBX: %s\n", r[2] >= r[1] ? "ok" : "NO");
        /* The area: ECX, the size for every supported component (and the compacted size, leaf 0xD.1 EBX,
           for XSAVEC), however large; what XSAVE writes (EBX) must fit in it. */
        size_t xsize = r[2];
        unsigned r1[4];
        cpuid(0xd, 1, r1);
        if (has("xsavec") && r1[1] > xsize)
            xsize = r1[1];
        xsize = (xsize + 63) & ~(size_t)63;
        CHECK(xsize >= 576 && xsize <= (1u << 20));
        CHECK(r[1] <= xsize);
        uint8_t *xarea = aligned_alloc(64, xsize);
        CHECK(xarea != NULL);
        /* XSAVE writes XSTATE_BV within XCR0 (and RFBM) */
        memset(xarea, 0xff, xsize);
        memset(xarea + 512, 0, 64);
        asm volatile("xsave64 (%0)" : : "r"(xarea), "a"(lo), "d"(hi) : "memory");
        uint64_t xstate_bv;
        memcpy(&xstate_bv, xarea + 512, 8);
        printf("XSAVE's XSTATE_BV within XCR0: %s\n", (xstate_bv & ~xcr0) == 0 ? "ok" : "NO");
        if (has("xsavec")) {
            memset(xarea, 0, xsize);
            asm volatile("xsavec64 (%0)" : : "r"(xarea), "a"(lo), "d"(hi) : "memory");
            uint64_t xcomp;
            memcpy(&xcomp, xarea + 520, 8);
            printf("XSAVEC sets XCOMP_BV bit 63 and only enabled bits: %s\n",
                   (xcomp >> 63) == 1 && (xcomp & ~(1ull << 63) & ~xcr0) == 0 ? "ok" : "NO");
        } else {
            printf("XSAVEC sets XCOMP_BV bit 63 and only enabled bits: ok\n");
        }
        if (has("avx")) {
            /* YMM upper halves through XSAVE/XRSTOR */
            uint64_t in[4] = {1, 2, 0x1122334455667788ull, 0x99aabbccddeeff00ull}, out[4];
            asm volatile("vmovdqu %1, %%ymm7\n\txsave64 (%2)\n\tvpxor %%ymm7, %%ymm7, %%ymm7\n\txrstor64 (%2)\n\t"
                         "vmovdqu %%ymm7, %0\n\tvzeroupper"
                         : "=m"(out)
                         : "m"(in), "r"(xarea), "a"(lo), "d"(hi)
                         : "xmm7", "memory");
            printf("YMM state through XSAVE/XRSTOR: %s\n", memcmp(in, out, sizeof in) == 0 ? "ok" : "NO");
        } else {
            printf("YMM state through XSAVE/XRSTOR: ok\n");
        }
        free(xarea);
    } else if (!osxsave) {
        /* no XSAVE enabled: nothing else to check, print the same lines */
        static const char *const lines[] = {"XCR0 has x87 and SSE", "XCR0 within CPUID.0xD.0 EDX:EAX",
                                            "XCR0 has YMM exactly when AVX is advertised",
                                            "CPUID.0xD.0 EBX is the enabled XSAVE size", "CPUID.0xD.0 ECX at least EBX",
                                            "XSAVE's XSTATE_BV within XCR0",
                                            "XSAVEC sets XCOMP_BV bit 63 and only enabled bits",
                                            "YMM state through XSAVE/XRSTOR"};
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
            printf("%s: %s\n", lines[i], has("avx") ? "NO (AVX without OSXSAVE)" : "ok");
    } else {
        printf("OSXSAVE but leaf 0xD missing: NO\n");
    }
    return 0;
}
